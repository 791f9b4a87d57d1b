//! Where DuckDB's extensions come from. Machines without internet get the official signed
//! v1.5.5 binaries from their PyPI wheels (scripts/setup.sh unpacks them into an extension
//! directory); machines with internet can let DuckDB `INSTALL` them itself.

use crate::error::environment;
use crate::scenario::CatalogKind;
use std::path::{Path, PathBuf};

/// How an extension's copy was verified, as the report says it.
pub const SIGNATURE: &str = "signature";
/// `--allow-unsigned-extensions`: a user's own build, loaded without a signature check.
pub const UNSIGNED_ALLOWED: &str = "unsigned allowed";

/// One extension's private, verified copy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Staged {
    pub name: String,
    /// The file the copy was made from: the extension directory's, or the user's.
    pub origin: PathBuf,
    /// The read-only copy in the run's scratch directory that every instance loads.
    pub copy: PathBuf,
    /// SHA-256 of the verified bytes, hex.
    pub sha256: String,
    /// [`SIGNATURE`] or [`UNSIGNED_ALLOWED`].
    pub verified: String,
    /// "directory" (the extension directory) or "file" (lake.extensions).
    pub source: String,
}

/// What `source.allow_unsigned` means for verification.
pub fn verification(source: &ExtensionSource) -> &'static str {
    if source.allow_unsigned {
        UNSIGNED_ALLOWED
    } else {
        SIGNATURE
    }
}

/// The extensions a lake with this catalog needs, in load order (see `CatalogKind::extensions`).
pub fn required(catalog: CatalogKind) -> Vec<&'static str> {
    catalog.extensions()
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExtensionSource {
    /// DuckDB's `extension_directory`; `None` keeps DuckDB's default (~/.duckdb/extensions).
    pub dir: Option<PathBuf>,
    /// Whether to try `INSTALL` (needs internet) when `LOAD` finds nothing.
    pub allow_install: bool,
    /// Extensions loaded from a file of the user's (a patched DuckLake), by name.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, PathBuf>,
    /// DuckDB's `allow_unsigned_extensions`: only on the user's explicit flag, since an
    /// unsigned file is code nobody vouched for.
    #[serde(default)]
    pub allow_unsigned: bool,
    /// The run's verified private copies (see `staged`): when present, every instance loads
    /// these with signature checks off. A remote worker stages its own.
    #[serde(default)]
    pub staged: Vec<Staged>,
}

impl ExtensionSource {
    /// `--extension-dir`, else $DUCKLAKE_STRESS_EXTENSION_DIR, else the setup script's cache
    /// directory if it exists, else DuckDB's own default with INSTALL allowed.
    pub fn resolve(flag: Option<PathBuf>) -> Self {
        // INSTALL stays a path wherever DuckDB can reach its extension server, unless the
        // user asks for exactly the extensions on disk.
        let allow_install = std::env::var_os("DUCKLAKE_STRESS_NO_EXTENSION_INSTALL").is_none();
        let explicit = flag.or_else(|| std::env::var_os("DUCKLAKE_STRESS_EXTENSION_DIR").map(PathBuf::from));
        if let Some(dir) = explicit {
            return ExtensionSource {
                dir: Some(dir),
                ..Self::nothing(allow_install)
            };
        }
        let cache = default_cache_dir();
        if cache.is_dir() {
            return ExtensionSource {
                dir: Some(cache),
                ..Self::nothing(allow_install)
            };
        }
        Self::nothing(allow_install)
    }

    /// No directory, no files, signatures checked, nothing staged yet.
    fn nothing(allow_install: bool) -> Self {
        let files = Default::default();
        ExtensionSource {
            dir: None,
            allow_install,
            files,
            allow_unsigned: false,
            staged: Vec::new(),
        }
    }

    pub fn describe(&self) -> String {
        match &self.dir {
            Some(d) => d.display().to_string(),
            None => "DuckDB's default extension directory (~/.duckdb/extensions)".into(),
        }
    }
}

/// `$XDG_CACHE_HOME/ducklake-stress/extensions` (or ~/.cache/...), as scripts/setup.sh uses.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("ducklake-stress").join("extensions")
}

/// `LOAD`s `file`; errors name `named` (the user's or the directory's file, of which `file`
/// may be the private copy).
pub fn load_file(
    conn: &duckdb::Connection,
    name: &str,
    file: &Path,
    named: &Path,
    source: &ExtensionSource,
) -> anyhow::Result<()> {
    conn.execute_batch(&format!("LOAD {}", super::sql_str(&file.display().to_string())))
        .map_err(|e| {
            let hint = if source.allow_unsigned {
                "Check that it was built for DuckDB ".to_string() + crate::DUCKDB_VERSION + " on this platform."
            } else {
                "A file you built yourself is unsigned: DuckDB loads it only with --allow-unsigned-extensions; \
             a release file that fails its signature check was changed or damaged: fetch it again (scripts/setup.sh)."
                    .to_string()
            };
            let named = named.display();
            let what =
                format!("the DuckDB extension `{name}` could not be loaded from {named} (lake.extensions.{name})");
            environment(format!("{what}: {e}. {hint}"))
        })
}

/// The error for an extension found neither in the directory nor by INSTALL.
pub fn not_loadable(name: &str, source: &ExtensionSource, why: &str) -> anyhow::Error {
    environment(format!(
        "the DuckDB extension `{name}` (for DuckDB {}) could not be loaded from {} and INSTALL could not fetch it: \
         {why}. Run scripts/setup.sh, which unpacks the official signed extensions from their PyPI wheels \
         (duckdb-extension-{}=={}) into {}, or set DUCKLAKE_STRESS_EXTENSION_DIR / --extension-dir to a directory \
         laid out as <dir>/v{}/<platform>/{name}.duckdb_extension.",
        crate::DUCKDB_VERSION,
        source.describe(),
        name.replace('_', "-"),
        crate::DUCKDB_VERSION,
        default_cache_dir().display(),
        crate::DUCKDB_VERSION,
    ))
}

pub fn load_all(conn: &duckdb::Connection, source: &ExtensionSource, catalog: CatalogKind) -> anyhow::Result<()> {
    if !source.staged.is_empty() {
        for s in &source.staged {
            load_file(conn, &s.name, &s.copy, &s.origin, source)?;
        }
        return Ok(());
    }
    for name in required(catalog) {
        if let Some(file) = source.files.get(name) {
            load_file(conn, name, file, file, source)?;
            continue;
        }
        if conn.execute_batch(&format!("LOAD {name}")).is_ok() {
            continue;
        }
        let installed = source.allow_install && conn.execute_batch(&format!("INSTALL {name}; LOAD {name}")).is_ok();
        if !installed {
            let why = conn
                .execute_batch(&format!("LOAD {name}"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            return Err(not_loadable(name, source, &why));
        }
    }
    Ok(())
}

/// One extension as the run loaded it: enough to tell a patched DuckLake from the release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtensionInfo {
    pub name: String,
    pub version: String,
    /// The file it was loaded from.
    pub file: String,
    /// SHA-256 of that file, hex ("" if it could not be read).
    pub sha256: String,
    /// "directory" (the extension directory) or "file" (lake.extensions).
    pub source: String,
    /// How the loaded bytes were checked: "signature" (DuckDB's signature check, once per
    /// run) or "unsigned allowed" (--allow-unsigned-extensions); "" in reports before it.
    #[serde(default)]
    pub verified: String,
}

/// The loaded extensions of `conn`: the run's verified copies with the hashes taken when
/// they were made, else the files (hashed now).
pub fn loaded(conn: &duckdb::Connection, source: &ExtensionSource, catalog: CatalogKind) -> Vec<ExtensionInfo> {
    let version_of = |name: &str| -> String {
        let sql = "SELECT coalesce(extension_version, '') FROM duckdb_extensions() WHERE extension_name = ?";
        conn.query_row(sql, [name], |r| r.get(0)).unwrap_or_default()
    };
    if !source.staged.is_empty() {
        return source
            .staged
            .iter()
            .map(|s| ExtensionInfo {
                name: s.name.clone(),
                version: version_of(&s.name),
                file: s.origin.display().to_string(),
                sha256: s.sha256.clone(),
                source: s.source.clone(),
                verified: s.verified.clone(),
            })
            .collect();
    }
    let platform: String = conn
        .query_row("SELECT platform FROM pragma_platform()", [], |r| r.get(0))
        .unwrap_or_default();
    required(catalog)
        .into_iter()
        .map(|name| {
            let (file, from) = match (source.files.get(name), &source.dir) {
                (Some(f), _) => (f.clone(), "file"),
                (None, Some(dir)) => (
                    dir.join(format!("v{}", crate::DUCKDB_VERSION))
                        .join(&platform)
                        .join(format!("{name}.duckdb_extension")),
                    "directory",
                ),
                (None, None) => (PathBuf::new(), "directory"),
            };
            let sha256 = std::fs::read(&file).map(|b| sha256_hex(&b)).unwrap_or_default();
            let verified = verification(source).to_string();
            let (file, source) = (file.display().to_string(), from.to_string());
            ExtensionInfo {
                name: name.to_string(),
                version: version_of(name),
                sha256,
                file,
                source,
                verified,
            }
        })
        .collect()
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_catalog_loads_its_own_scanner_and_ducklake_last() {
        assert_eq!(
            required(CatalogKind::Postgres),
            ["parquet", "json", "httpfs", "postgres_scanner", "ducklake"]
        );
        assert_eq!(
            required(CatalogKind::Sqlite),
            ["parquet", "json", "httpfs", "sqlite_scanner", "ducklake"]
        );
        assert_eq!(required(CatalogKind::Duckdb), ["parquet", "json", "httpfs", "ducklake"]);
    }
}

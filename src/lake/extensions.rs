//! Where DuckDB's extensions come from. Machines without internet get the official signed
//! v1.5.5 binaries from their PyPI wheels (scripts/setup.sh unpacks them into an extension
//! directory); machines with internet can let DuckDB `INSTALL` them itself.

use crate::error::environment;
use crate::scenario::CatalogKind;
use std::path::PathBuf;

/// The extensions a lake with this catalog needs, in load order. Load order matters: the
/// bundled DuckDB has no built-in parquet, and DuckLake's first table scan crashes unless
/// parquet is loaded before ducklake. The catalog's own scanner (postgres or sqlite) is
/// loaded only for that catalog; a DuckDB-file catalog needs none.
pub fn required(catalog: CatalogKind) -> Vec<&'static str> {
    let scanner = match catalog {
        CatalogKind::Postgres => Some("postgres_scanner"),
        CatalogKind::Sqlite => Some("sqlite_scanner"),
        CatalogKind::Duckdb => None,
    };
    ["parquet", "json", "httpfs"].into_iter().chain(scanner).chain(["ducklake"]).collect()
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExtensionSource {
    /// DuckDB's `extension_directory`; `None` keeps DuckDB's default (~/.duckdb/extensions).
    pub dir: Option<PathBuf>,
    /// Whether to try `INSTALL` (needs internet) when `LOAD` finds nothing.
    pub allow_install: bool,
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
            return ExtensionSource { dir: Some(dir), allow_install };
        }
        let cache = default_cache_dir();
        if cache.is_dir() {
            return ExtensionSource { dir: Some(cache), allow_install };
        }
        ExtensionSource { dir: None, allow_install }
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

pub fn load_all(conn: &duckdb::Connection, source: &ExtensionSource, catalog: CatalogKind) -> anyhow::Result<()> {
    for name in required(catalog) {
        if conn.execute_batch(&format!("LOAD {name}")).is_ok() {
            continue;
        }
        let installed = source.allow_install
            && conn.execute_batch(&format!("INSTALL {name}; LOAD {name}")).is_ok();
        if !installed {
            let why = conn.execute_batch(&format!("LOAD {name}")).err().map(|e| e.to_string()).unwrap_or_default();
            return Err(environment(format!(
                "the DuckDB extension `{name}` (for DuckDB {}) could not be loaded from {} and INSTALL could not fetch it: {why}. Run scripts/setup.sh, which unpacks the official signed extensions from their PyPI wheels (duckdb-extension-{}=={}) into {}, or set DUCKLAKE_STRESS_EXTENSION_DIR / --extension-dir to a directory laid out as <dir>/v{}/<platform>/{name}.duckdb_extension.",
                crate::DUCKDB_VERSION,
                source.describe(),
                name.replace('_', "-"),
                crate::DUCKDB_VERSION,
                default_cache_dir().display(),
                crate::DUCKDB_VERSION,
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_catalog_loads_its_own_scanner_and_ducklake_last() {
        assert_eq!(required(CatalogKind::Postgres), ["parquet", "json", "httpfs", "postgres_scanner", "ducklake"]);
        assert_eq!(required(CatalogKind::Sqlite), ["parquet", "json", "httpfs", "sqlite_scanner", "ducklake"]);
        assert_eq!(required(CatalogKind::Duckdb), ["parquet", "json", "httpfs", "ducklake"]);
    }
}

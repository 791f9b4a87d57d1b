//! Verify once, load many. Checking an extension's signature means hashing the whole file:
//! about 150 ms of CPU for each 20-40 MB file, in every DuckDB instance that loads it
//! (issue 24), which made set-up of 64 writers cost minutes. So at the start of a run each
//! extension file is copied, read-only, into the run's scratch directory, the copy's hash
//! checked against the bytes read, and the copy loaded once with DuckDB's signature check
//! on. Every instance of the run then loads exactly those verified copies with the check off
//! (`allow_unsigned_extensions`, which DuckDB keeps per database): a file replaced after
//! verification is never loaded, because nobody loads the original again.

use super::extensions::{self, required, verification, ExtensionSource, Staged};
use crate::error::environment;
use crate::scenario::CatalogKind;
use std::path::{Path, PathBuf};

/// Verifies every extension file once and makes the private copies every instance of the
/// run loads, in a directory under `scratch` (the native environment's) or
/// the system's temporary directory; the copies live as long as the returned guard.
pub fn stage_run(
    target: &mut super::LakeTarget,
    scratch: Option<&std::path::Path>,
    limit: std::time::Duration,
) -> anyhow::Result<tempfile::TempDir> {
    let base = scratch.map(|p| p.to_path_buf()).unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("extensions-")
        .tempdir_in(&base)
        .map_err(|e| {
            crate::error::environment(format!(
                "cannot create a directory for the extensions' copies under {}: {e}",
                base.display()
            ))
        })?;
    let (mut source, catalog, into) = (target.extensions.clone(), target.catalog, dir.path().to_path_buf());
    target.extensions = crate::util::deadline::run_with_deadline("verifying extensions", limit, move || {
        stage(&mut source, catalog, &into)?;
        Ok(source)
    })?;
    Ok(dir)
}

/// Copies, hashes and verifies every extension `catalog` needs into `into`, and records the
/// copies in `source.staged`. A file that fails verification is an environment error (exit
/// 3) naming it, before any writer starts.
pub fn stage(source: &mut ExtensionSource, catalog: CatalogKind, into: &Path) -> anyhow::Result<()> {
    source.staged.clear();
    // The one instance that checks signatures (unless the user allowed unsigned files).
    let conn = super::instance::bare_instance(source, source.allow_unsigned)?;
    let platform: String = conn
        .query_row("SELECT platform FROM pragma_platform()", [], |r| r.get(0))
        .map_err(|e| environment(format!("DuckDB could not tell its platform: {e}")))?;
    let mut staged = Vec::new();
    for name in required(catalog) {
        let (origin, from) = origin_of(&conn, source, name, &platform)?;
        let (copy, sha256) = copy_private(name, &origin, into)?;
        extensions::load_file(&conn, name, &copy, &origin, source)?;
        staged.push(Staged {
            name: name.into(),
            origin,
            copy,
            sha256,
            verified: verification(source).into(),
            source: from.into(),
        });
    }
    source.staged = staged;
    Ok(())
}

/// The file an extension comes from: the user's (lake.extensions), else the extension
/// directory's, installed there first if it is missing and INSTALL is allowed.
fn origin_of(
    conn: &duckdb::Connection,
    source: &ExtensionSource,
    name: &str,
    platform: &str,
) -> anyhow::Result<(PathBuf, &'static str)> {
    if let Some(file) = source.files.get(name) {
        return Ok((file.clone(), "file"));
    }
    let dir = source.dir.clone().unwrap_or_else(duckdb_default_dir);
    let file = dir
        .join(format!("v{}", crate::DUCKDB_VERSION))
        .join(platform)
        .join(format!("{name}.duckdb_extension"));
    if !file.is_file() && source.allow_install {
        // INSTALL writes the file where the instance's extension_directory says (`dir`).
        let _ = conn.execute_batch(&format!("INSTALL {name}"));
    }
    if !file.is_file() {
        let why = format!("there is no file {}", file.display());
        return Err(extensions::not_loadable(name, source, &why));
    }
    Ok((file, "directory"))
}

/// DuckDB's own default extension directory, used when none is configured.
fn duckdb_default_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".duckdb").join("extensions")
}

/// Reads `origin` once, writes exactly those bytes read-only to `into/<name>.duckdb_extension`
/// (DuckDB tells an extension by its file name) and checks the copy's hash.
fn copy_private(name: &str, origin: &Path, into: &Path) -> anyhow::Result<(PathBuf, String)> {
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(origin).map_err(|e| {
        environment(format!(
            "cannot read the DuckDB extension `{name}` at {}: {e}",
            origin.display()
        ))
    })?;
    let sha256 = extensions::sha256_hex(&bytes);
    let copy = into.join(format!("{name}.duckdb_extension"));
    let cannot = |e: std::io::Error| {
        environment(format!(
            "cannot copy the DuckDB extension `{name}` to {}: {e}",
            copy.display()
        ))
    };
    std::fs::write(&copy, &bytes).map_err(cannot)?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o444)).map_err(cannot)?;
    let again = std::fs::read(&copy)
        .map(|b| extensions::sha256_hex(&b))
        .map_err(cannot)?;
    if again != sha256 {
        return Err(environment(format!(
            "the private copy {} of the DuckDB extension `{name}` (from {}) has SHA-256 {again}, not {sha256} \
             as read: the scratch directory's disk or another process changed it; check the disk and run again.",
            copy.display(),
            origin.display()
        )));
    }
    Ok((copy, sha256))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The copy is exactly the bytes read, read-only, named as DuckDB expects, and a file
    /// changed afterwards leaves the copy as it was verified.
    #[test]
    fn a_private_copy_holds_the_bytes_read_and_is_read_only() {
        let (from, into) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let origin = from.path().join("anything.bin");
        std::fs::write(&origin, b"extension bytes").unwrap();
        let (copy, sha256) = copy_private("ducklake", &origin, into.path()).unwrap();
        assert_eq!(copy, into.path().join("ducklake.duckdb_extension"));
        assert_eq!(sha256, extensions::sha256_hex(b"extension bytes"));
        assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o444);
        std::fs::write(&origin, b"replaced after verification").unwrap();
        assert_eq!(std::fs::read(&copy).unwrap(), b"extension bytes");
    }

    #[test]
    fn a_missing_file_is_an_environment_error_naming_it() {
        let into = tempfile::tempdir().unwrap();
        let missing = Path::new("/nonexistent/ducklake.duckdb_extension");
        let err = copy_private("ducklake", missing, into.path()).unwrap_err();
        assert_eq!(crate::error::exit_code_of(&err), crate::error::exit_code::ENVIRONMENT);
        assert!(
            err.to_string().contains("/nonexistent/ducklake.duckdb_extension"),
            "{err}"
        );
    }
}

//! Opens one DuckDB instance (its own in-memory database, never shared) attached to the
//! lake. `application_name` makes its catalog sessions attributable in pg_stat_activity.
//! The catalog is a Postgres database, or a SQLite or DuckDB file in the environment's
//! catalog directory.

use super::{extensions, sql_str, ExtensionSource};
use crate::environment::EnvFile;
use crate::error::{bad_input, environment};
use crate::scenario::{CatalogKind, ClientSpec, DuckLakeRetry};
use duckdb::{Config, Connection};
use std::path::PathBuf;

pub use crate::util::lake_table::LAKE_ALIAS;
/// The name DuckLake gives the attached metadata database of a lake attached `AS lake`:
/// the catalog tables of a file catalog are read through it (`__ducklake_metadata_lake.ducklake_snapshot`).
pub const METADATA_ALIAS: &str = "__ducklake_metadata_lake";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LakeTarget {
    pub env: EnvFile,
    /// Where the catalog lives (a file catalog's file is in `env.catalog_dir`).
    #[serde(default)]
    pub catalog: CatalogKind,
    /// Where the lake keeps its Parquet files (`s3://bucket/lake/` or a directory);
    /// `None` attaches an existing lake with the path recorded in its catalog.
    pub data_path: Option<String>,
    pub extensions: ExtensionSource,
    /// DuckLake's DATA_INLINING_ROW_LIMIT for this connection, if the scenario sets one.
    pub data_inlining_row_limit: Option<u64>,
}

impl LakeTarget {
    /// The data path a run uses: the env's bucket, or its local directory.
    pub fn for_run(
        env: &EnvFile,
        lake: &crate::scenario::LakeSpec,
        extensions: ExtensionSource,
    ) -> anyhow::Result<Self> {
        use crate::scenario::DataStore;
        let data_path = match lake.data {
            DataStore::S3 => {
                let s3 = env.s3.as_ref().ok_or_else(|| {
                    bad_input(
                        "the scenario says lake.data = \"s3\" but the \
                    environment has no S3 endpoint; add an `s3` section to env.json (or --s3-endpoint etc.), or use \
                    data = \"local\".",
                    )
                })?;
                format!("s3://{}/lake/", s3.bucket)
            }
            DataStore::Local => {
                let dir = env.local_data_dir.as_ref().ok_or_else(|| {
                    bad_input(
                        "the scenario says lake.data = \
                    \"local\" but the environment names no local_data_dir; set it in env.json or with \
                    --local-data-dir.",
                    )
                })?;
                std::fs::create_dir_all(dir)?;
                format!("{}/", dir.display())
            }
        };
        let mut extensions = extensions;
        extensions.files = lake.extension_files.clone();
        let target = LakeTarget {
            env: env.clone(),
            catalog: lake.catalog,
            data_path: Some(data_path),
            extensions,
            data_inlining_row_limit: lake.data_inlining_row_limit,
        };
        if let Some(file) = target.catalog_file()? {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| environment(format!("cannot create the catalog directory {}: {e}", dir.display())))?;
            }
        }
        Ok(target)
    }

    /// The catalog file of a SQLite or DuckDB catalog (`None` for Postgres): `catalog.sqlite`
    /// or `catalog.ducklake` in the environment's `catalog_dir`.
    pub fn catalog_file(&self) -> anyhow::Result<Option<PathBuf>> {
        let name = match self.catalog {
            CatalogKind::Postgres => return Ok(None),
            CatalogKind::Sqlite => "catalog.sqlite",
            CatalogKind::Duckdb => "catalog.ducklake",
        };
        let dir = self.env.catalog_dir.as_ref().ok_or_else(|| {
            bad_input(format!(
                "lake.catalog = \"{}\" keeps the catalog in a file, but the environment names no catalog_dir: add \
                    \"catalog_dir\": \"/some/dir\" to env.json (or pass --catalog-dir / DUCKLAKE_STRESS_CATALOG_DIR); \
                    the native environment (no --env-file) uses its scratch directory.",
                self.catalog.name()
            ))
        })?;
        Ok(Some(dir.join(name)))
    }

    /// The ATTACH path: `ducklake:postgres:<libpq string>`, `ducklake:sqlite:<file>` or
    /// `ducklake:<file>` (a DuckDB file).
    fn attach_path(&self, application_name: &str) -> anyhow::Result<String> {
        let file = self
            .catalog_file()?
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        Ok(match self.catalog {
            CatalogKind::Postgres => format!(
                "ducklake:postgres:{}",
                self.env.postgres.conn_string(None, Some(application_name))
            ),
            CatalogKind::Sqlite => format!("ducklake:sqlite:{file}"),
            CatalogKind::Duckdb => format!("ducklake:{file}"),
        })
    }

    /// Where the catalog is, for messages.
    fn describe_catalog(&self) -> String {
        match self.catalog_file() {
            Ok(Some(file)) => format!("the {} catalog file {}", self.catalog.name(), file.display()),
            _ => {
                let pg = &self.env.postgres;
                format!(
                    "the DuckLake catalog in Postgres {}:{} database `{}`",
                    pg.host, pg.port, pg.dbname
                )
            }
        }
    }
}

/// An in-memory instance with `source`'s extension directory, nothing loaded yet;
/// `allow_unsigned` turns DuckDB's signature check off for this database only.
pub fn bare_instance(source: &ExtensionSource, allow_unsigned: bool) -> anyhow::Result<Connection> {
    let mut config = Config::default();
    if let Some(dir) = &source.dir {
        config = config.with("extension_directory", dir.display().to_string())?;
    }
    if allow_unsigned {
        config = config.allow_unsigned_extensions()?;
    }
    Connection::open_in_memory_with_flags(config)
        .map_err(|e| environment(format!("DuckDB could not open an in-memory database: {e}")))
}

/// Opens, loads extensions, creates the S3 secret, attaches the lake as `lake`, and applies
/// DuckLake's retry settings when given.
pub fn open(target: &LakeTarget, application_name: &str, retry: Option<&DuckLakeRetry>) -> anyhow::Result<Connection> {
    open_with(target, application_name, retry, &std::collections::BTreeMap::new())
}

/// [`open`] with the scenario's `client.attach_options` appended to the ATTACH options. An
/// option DuckLake refuses is bad input naming its key.
pub fn open_with(
    target: &LakeTarget,
    application_name: &str,
    retry: Option<&DuckLakeRetry>,
    attach_options: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<Connection> {
    // The run's copies were verified once when they were made (lake::staged): this
    // instance skips the signature check, which cost ~150 ms of CPU per file.
    let source = &target.extensions;
    let conn = bare_instance(source, source.allow_unsigned || !source.staged.is_empty())?;
    extensions::load_all(&conn, source, target.catalog)?;

    if let Some(s3) = &target.env.s3 {
        conn.execute_batch(&format!(
            "CREATE OR REPLACE SECRET lake_s3 (TYPE s3, KEY_ID {}, SECRET {}, ENDPOINT {}, REGION {}, URL_STYLE {}, \
                USE_SSL {})",
            sql_str(&s3.access_key_id),
            sql_str(&s3.secret_access_key),
            sql_str(&s3.endpoint),
            sql_str(&s3.region),
            sql_str(&s3.url_style),
            s3.use_ssl
        ))
        .map_err(|e| environment(format!("creating the DuckDB S3 secret for {} failed: {e}", s3.endpoint)))?;
    }

    let mut options: Vec<String> = Vec::new();
    if let Some(p) = &target.data_path {
        options.push(format!("DATA_PATH {}", sql_str(p)));
    }
    if let Some(limit) = target.data_inlining_row_limit {
        options.push(format!("DATA_INLINING_ROW_LIMIT {limit}"));
    }
    options.extend(attach_options.iter().map(|(k, v)| format!("{k} {v}")));
    let options = if options.is_empty() {
        String::new()
    } else {
        format!(" ({})", options.join(", "))
    };
    conn.execute_batch(&format!(
        "ATTACH {} AS {LAKE_ALIAS}{options}",
        sql_str(&target.attach_path(application_name)?)
    ))
    .map_err(|e| {
        let e = e.to_string();
        match attach_options
            .keys()
            .find(|k| e.to_lowercase().contains(&k.to_lowercase()))
        {
            Some(k) => bad_input(format!(
                "client.attach_options.{k}: DuckLake refused the ATTACH option `{k} {}`: {}. Fix or remove it in \
                        the scenario's [client] attach_options (DuckLake's ATTACH options are listed in its \
                        documentation).",
                attach_options[k],
                target.mask_secrets(&e)
            )),
            None => attach_failed(target, &e),
        }
    })?;

    if let Some(r) = retry {
        conn.execute_batch(&format!(
            "SET ducklake_max_retry_count = {}; SET ducklake_retry_wait_ms = {}; SET ducklake_retry_backoff = {};",
            r.max_retry_count, r.retry_wait_ms, r.retry_backoff
        ))
        .map_err(|e| {
            environment(format!(
                "setting DuckLake's retry settings failed ({e}); this ducklake extension may predate them."
            ))
        })?;
    }
    Ok(conn)
}

/// `SET key = value` for each of the scenario's `client.settings`. A setting DuckDB refuses
/// is bad input naming `client.settings.<key>`: set-up runs this once before any writer.
pub fn apply_settings(conn: &Connection, settings: &std::collections::BTreeMap<String, String>) -> anyhow::Result<()> {
    for (key, value) in settings {
        conn.execute_batch(&format!("SET {key} = {value}")).map_err(|e| {
            bad_input(format!(
                "client.settings.{key}: DuckDB refused `SET {key} = {value}`: {e}. Fix or remove this \
                key in the scenario's [client] settings (`SELECT name FROM duckdb_settings()` lists the settings \
                DuckDB and its loaded extensions know)."
            ))
        })?;
    }
    Ok(())
}

/// The instance and settings a writer's connection gets from the scenario's `[client]`.
pub fn apply_client(conn: &Connection, client: &ClientSpec) -> anyhow::Result<()> {
    apply_settings(conn, &client.settings)
}

fn attach_failed(target: &LakeTarget, e: &str) -> anyhow::Error {
    let lower = e.to_lowercase();
    let hint = match target.catalog {
        // The catalog was reached: it remembers another data path than this run's.
        // (DuckLake: `DATA_PATH parameter "…" does not match existing data path in the catalog`.)
        _ if lower.contains("data_path") || lower.contains("data path") => {
            "The catalog was made with another data path than this run's (env.json `s3` bucket or `local_data_dir`): \
                use the same one, or a fresh catalog database."
        }
        CatalogKind::Postgres => {
            "Check that Postgres is reachable and the database exists (the env.json `postgres` \
            section or --pg-dsn)."
        }
        // DuckDB's own message names the process that holds the file (history::error_class
        // counts it as catalog_file_lock; lake sits below history, so the words are matched here).
        CatalogKind::Duckdb if e.contains("Could not set lock on file") => {
            "A DuckDB file admits one writing process \
            at a time: another process holds its lock."
        }
        _ => "Check that the catalog directory exists and is writable (env.json `catalog_dir`).",
    };
    // DuckDB's message repeats the whole connection string, password included: the error
    // ends up in reports and CI logs.
    let e = target.mask_secrets(e);
    let e = e.trim_end().trim_end_matches('.');
    environment(format!("attaching {} failed: {e}. {hint}", target.describe_catalog()))
}

fn mask_secret(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "****")
}

impl LakeTarget {
    /// `text` with the catalog's password and the S3 secret replaced: DuckDB's errors quote
    /// the whole connection string when the catalog cannot be reached, and errors end up in
    /// the history, reports and CI logs.
    pub fn mask_secrets(&self, text: &str) -> String {
        let masked = mask_secret(text, &self.env.postgres.password);
        match &self.env.s3 {
            Some(s3) => mask_secret(&masked, &s3.secret_access_key),
            None => masked,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_in_an_attach_error_is_masked() {
        let e = "Unable to connect to Postgres at \"host=127.0.0.1 port=1 user=u password=d9712ef2 dbname=c\": \
            timeout expired";
        let masked = super::mask_secret(e, "d9712ef2");
        assert!(
            !masked.contains("d9712ef2") && masked.contains("password=****"),
            "{masked}"
        );
    }
}

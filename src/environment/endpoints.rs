//! How to reach the catalog and the object store: the content of `env.json`, shared by
//! `env up`, `run --env-file`, `check` and users' own docker-compose stacks.

use crate::error::bad_input;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    pub postgres: PgEndpoint,
    /// Absent when the lake keeps its data in a local directory.
    #[serde(default)]
    pub s3: Option<S3Endpoint>,
    /// Directory for `data = "local"` lakes.
    #[serde(default)]
    pub local_data_dir: Option<PathBuf>,
    /// Directory for file catalogs (`lake.catalog = "sqlite"` or `"duckdb"`): the catalog
    /// file lives here. The native environment uses its scratch directory.
    #[serde(default)]
    pub catalog_dir: Option<PathBuf>,
    /// What serves S3 (`garage 2.5.0`, `minio`, ...), for the report.
    #[serde(default)]
    pub s3_server: Option<String>,
    /// Set by `env up`: the services' process groups and their scratch directory, so that
    /// `env down` can stop them. Absent for environments the harness did not start.
    #[serde(default)]
    pub native: Option<NativeState>,
    /// Set by `run --docker`: the image each service ran and why it was chosen (reports only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<ContainerImages>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerImages {
    pub postgres: crate::environment::images::Chosen,
    #[serde(default)]
    pub s3: Option<crate::environment::images::Chosen>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeState {
    pub process_groups: Vec<i32>,
    pub scratch_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The database that holds the DuckLake catalog tables.
    pub dbname: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Endpoint {
    /// `host:port`, without scheme (DuckDB's ENDPOINT form).
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// "path" (MinIO, Garage) or "vhost" (AWS).
    #[serde(default = "default_url_style")]
    pub url_style: String,
    #[serde(default)]
    pub use_ssl: bool,
}

impl S3Endpoint {
    /// A private server on this machine: plain HTTP, path-style URLs, us-east-1.
    pub fn loopback(port: u16, access_key_id: String, secret_access_key: String, bucket: &str) -> Self {
        S3Endpoint {
            endpoint: format!("127.0.0.1:{port}"),
            access_key_id,
            secret_access_key,
            bucket: bucket.to_string(),
            region: default_region(),
            url_style: default_url_style(),
            use_ssl: false,
        }
    }
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_url_style() -> String {
    "path".into()
}

/// Quotes a libpq keyword value so that spaces and quotes in passwords survive.
fn libpq_value(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c)) {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// libpq's connect timeout, 10 s. `DUCKLAKE_STRESS_PG_CONNECT_TIMEOUT` (seconds) lengthens it
/// for runs under valgrind (scripts/bench-instructions.sh), where a connection handshake of
/// a program slowed some 50 times can take longer than 10 s of wall time.
fn connect_timeout_seconds() -> u32 {
    std::env::var("DUCKLAKE_STRESS_PG_CONNECT_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&s| s > 0)
        .unwrap_or(10)
}

impl PgEndpoint {
    /// A libpq keyword/value connection string, optionally for another database and with
    /// an `application_name` so every session is attributable in `pg_stat_activity`.
    pub fn conn_string(&self, dbname: Option<&str>, application_name: Option<&str>) -> String {
        let mut s = format!(
            "host={} port={} user={} password={} dbname={} connect_timeout={}",
            libpq_value(&self.host),
            self.port,
            libpq_value(&self.user),
            libpq_value(&self.password),
            libpq_value(dbname.unwrap_or(&self.dbname)),
            connect_timeout_seconds(),
        );
        if let Some(app) = application_name {
            s.push_str(&format!(" application_name={}", libpq_value(app)));
        }
        s
    }

    /// Parses a DSN (`postgres://user:pw@host:port/db` or `host=... port=...`).
    pub fn from_dsn(dsn: &str, origin: &str) -> anyhow::Result<Self> {
        let cfg: tokio_postgres::Config = dsn.parse().map_err(|e| {
            bad_input(format!(
                "{origin}: the Postgres DSN does not parse ({e}); write e.g. \
                postgres://user:password@127.0.0.1:5432/ducklake or \"host=127.0.0.1 port=5432 user=u password=p \
                dbname=ducklake\"."
            ))
        })?;
        let host = cfg
            .get_hosts()
            .first()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .unwrap_or_else(|| "127.0.0.1".into());
        let password = cfg
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        Ok(PgEndpoint {
            host,
            port: cfg.get_ports().first().copied().unwrap_or(5432),
            user: cfg.get_user().unwrap_or("postgres").to_string(),
            password,
            dbname: cfg.get_dbname().unwrap_or("ducklake").to_string(),
        })
    }
}

impl EnvFile {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            bad_input(format!(
                "{}: cannot read the environment file ({e}). Create one with `ducklake-stress env up \
                --state DIR` (it writes DIR/env.json) or write it by hand as the README shows.",
                path.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            bad_input(format!(
                "{}:{}:{}: the environment file is not valid ({e}). Expected keys: postgres {{host, \
                port, user, password, dbname}}, optional s3 {{endpoint, access_key_id, secret_access_key, bucket, \
                region, url_style, use_ssl}}, optional local_data_dir, optional catalog_dir.",
                path.display(),
                e.line(),
                e.column()
            ))
        })
    }

    /// Writes the file readable by its owner only: it holds passwords.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        crate::util::write_atomically_with_mode(path, &json, 0o600)
    }

    /// The same, with passwords replaced, for reports and logs.
    pub fn masked(&self) -> EnvFile {
        let mut m = self.clone();
        m.postgres.password = "****".into();
        if let Some(s3) = &mut m.s3 {
            s3.secret_access_key = "****".into();
        }
        m
    }
}

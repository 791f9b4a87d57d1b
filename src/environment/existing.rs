//! The `existing` environment: services somebody else runs (a docker-compose stack, a
//! staging catalog). Details come from env.json or from flags / environment variables.

use super::{EnvFile, Environment, PgEndpoint, S3Endpoint};
use crate::error::bad_input;

/// Connection settings given on the command line (each also readable from the environment).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExistingArgs {
    /// Postgres DSN of the catalog database (URL or key=value form)
    #[arg(long, env = "DUCKLAKE_STRESS_PG_DSN")]
    pub pg_dsn: Option<String>,
    /// S3 endpoint as host:port (no scheme)
    #[arg(long, env = "DUCKLAKE_STRESS_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "DUCKLAKE_STRESS_S3_KEY_ID")]
    pub s3_key_id: Option<String>,
    #[arg(long, env = "DUCKLAKE_STRESS_S3_SECRET", hide_env_values = true)]
    pub s3_secret: Option<String>,
    #[arg(long, env = "DUCKLAKE_STRESS_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    #[arg(long, env = "DUCKLAKE_STRESS_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// "path" (MinIO, Garage) or "vhost"
    #[arg(long, env = "DUCKLAKE_STRESS_S3_URL_STYLE", default_value = "path")]
    pub s3_url_style: String,
    #[arg(long, env = "DUCKLAKE_STRESS_S3_USE_SSL")]
    pub s3_use_ssl: bool,
    /// Directory for lakes with data = "local"
    #[arg(long, env = "DUCKLAKE_STRESS_LOCAL_DATA_DIR")]
    pub local_data_dir: Option<std::path::PathBuf>,
    /// Directory for the catalog file of lakes with catalog = "sqlite" or "duckdb"
    #[arg(long, env = "DUCKLAKE_STRESS_CATALOG_DIR")]
    pub catalog_dir: Option<std::path::PathBuf>,
}

impl ExistingArgs {
    pub fn given(&self) -> bool {
        self.pg_dsn.is_some()
    }

    pub fn to_env(&self) -> anyhow::Result<Environment> {
        let dsn = self.pg_dsn.as_deref().ok_or_else(|| {
            bad_input("--pg-dsn (or DUCKLAKE_STRESS_PG_DSN) is required for an existing environment.")
        })?;
        let postgres = PgEndpoint::from_dsn(dsn, "--pg-dsn")?;
        let s3 = match &self.s3_endpoint {
            None => None,
            Some(endpoint) => {
                let need = |v: &Option<String>, flag: &str| {
                    v.clone().ok_or_else(|| {
                        bad_input(format!(
                            "--s3-endpoint is set, so {flag} is required too (or its DUCKLAKE_STRESS_ variable)."
                        ))
                    })
                };
                Some(S3Endpoint {
                    endpoint: endpoint
                        .trim_start_matches("http://")
                        .trim_start_matches("https://")
                        .to_string(),
                    access_key_id: need(&self.s3_key_id, "--s3-key-id")?,
                    secret_access_key: need(&self.s3_secret, "--s3-secret")?,
                    bucket: need(&self.s3_bucket, "--s3-bucket")?,
                    region: self.s3_region.clone(),
                    url_style: self.s3_url_style.clone(),
                    use_ssl: self.s3_use_ssl,
                })
            }
        };
        Ok(Environment::existing(EnvFile {
            postgres,
            s3,
            local_data_dir: self.local_data_dir.clone(),
            catalog_dir: self.catalog_dir.clone(),
            s3_server: None,
            native: None,
            containers: None,
        }))
    }
}

pub fn from_file(path: &std::path::Path) -> anyhow::Result<Environment> {
    Ok(Environment::existing(EnvFile::read(path)?))
}

//! A fresh lake for every permutation, so no permutation sees another's tables, snapshots
//! or files: on Postgres its own catalog schema (DuckLake's METADATA_SCHEMA), for a file
//! catalog its own catalog file, and always its own data path. Removed afterwards.

use super::model::ScheduleLake;
use crate::environment::EnvFile;
use crate::error::environment;
use crate::lake::{ExtensionSource, LakeTarget};
use crate::scenario::{CatalogKind, DataStore};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where a run's lakes go.
pub struct Place {
    pub env: EnvFile,
    pub lake: ScheduleLake,
    pub extensions: ExtensionSource,
    pub run_id: String,
}

pub struct FreshLake {
    pub target: Arc<LakeTarget>,
    pub attach_options: BTreeMap<String, String>,
    /// The Postgres schema holding this lake's catalog tables.
    pub pg_schema: Option<String>,
    /// Local directories to remove afterwards (catalog file's, local data).
    dirs: Vec<PathBuf>,
}

impl Place {
    /// `r`-th repetition, `p`-th permutation.
    pub fn fresh(&self, r: u32, p: usize) -> anyhow::Result<FreshLake> {
        let tag = format!("{r}-{p}");
        let sub = format!("interleave/{}/{tag}", self.run_id);
        let mut env = self.env.clone();
        let mut dirs = Vec::new();
        let data_path = match self.lake.data {
            DataStore::S3 => {
                let s3 = env.s3.as_ref().ok_or_else(|| {
                    crate::error::bad_input(
                        "the schedule says lake.data = \"s3\" but the environment has no S3 endpoint (env.json `s3`, \
                        or --s3-endpoint etc.); use data = \"local\".",
                    )
                })?;
                format!("s3://{}/{sub}/", s3.bucket)
            }
            DataStore::Local => {
                let base = env.local_data_dir.clone().ok_or_else(|| {
                    crate::error::bad_input(
                        "the schedule keeps its data locally (lake.data = \"local\", the default) but the environment \
                        names no local_data_dir: set it in env.json or with --local-data-dir.",
                    )
                })?;
                let dir = base.join(&sub);
                std::fs::create_dir_all(&dir)
                    .map_err(|e| environment(format!("cannot create the data directory {}: {e}", dir.display())))?;
                dirs.push(dir.clone());
                format!("{}/", dir.display())
            }
        };
        let mut attach_options = BTreeMap::new();
        let mut pg_schema = None;
        match self.lake.catalog {
            CatalogKind::Postgres => {
                let schema = format!(
                    "dls_il_{}_{}",
                    self.run_id.to_lowercase().replace('-', "_"),
                    tag.replace('-', "_")
                );
                create_schema(&env, &schema)?;
                attach_options.insert("METADATA_SCHEMA".to_string(), crate::util::sql_str(&schema));
                pg_schema = Some(schema);
            }
            CatalogKind::Sqlite | CatalogKind::Duckdb => {
                let base = env.catalog_dir.clone().ok_or_else(|| {
                    crate::error::bad_input(format!(
                        "lake.catalog = \"{}\" keeps the catalog in a file, but the environment names no catalog_dir: \
                        add it to env.json or pass --catalog-dir.",
                        self.lake.catalog.name()
                    ))
                })?;
                let dir = base.join(&sub);
                std::fs::create_dir_all(&dir)
                    .map_err(|e| environment(format!("cannot create the catalog directory {}: {e}", dir.display())))?;
                dirs.push(dir.clone());
                env.catalog_dir = Some(dir);
            }
        }
        let mut extensions = self.extensions.clone();
        extensions.files = self.lake.extension_files.clone();
        Ok(FreshLake {
            target: Arc::new(LakeTarget {
                env,
                catalog: self.lake.catalog,
                data_path: Some(data_path),
                extensions,
                data_inlining_row_limit: self.lake.data_inlining_row_limit,
            }),
            attach_options,
            pg_schema,
            dirs,
        })
    }
}

fn create_schema(env: &EnvFile, schema: &str) -> anyhow::Result<()> {
    crate::runtime::block_on(async {
        let client = crate::environment::pg::connect(&env.postgres, None, "ducklake-stress/interleave").await?;
        let sql = format!("CREATE SCHEMA \"{schema}\"");
        crate::environment::pg::query_with_deadline(&client, &sql, &[], Duration::from_secs(10))
            .await
            .map_err(|e| {
                environment(format!(
                    "creating the catalog schema {schema} in Postgres failed: {e:#}"
                ))
            })?;
        Ok(())
    })
}

impl FreshLake {
    /// Best effort, bounded: a session left behind may still hold a lock on the schema.
    pub fn remove(self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(schema) = &self.pg_schema {
            let pg = self.target.env.postgres.clone();
            let schema = schema.clone();
            let dropped = crate::runtime::block_on(async move {
                let client = crate::environment::pg::connect(&pg, None, "ducklake-stress/interleave").await?;
                let sql = format!("SET lock_timeout = '2s'; DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                tokio::time::timeout(Duration::from_secs(10), client.batch_execute(&sql)).await??;
                anyhow::Ok(())
            });
            if let Err(e) = dropped {
                tracing::warn!("could not drop the permutation's catalog schema: {e:#}");
            }
        }
    }
}

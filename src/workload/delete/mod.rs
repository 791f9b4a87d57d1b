//! `kind = "delete"`: deleters remove slices of the rows appenders insert (see `generator`).

mod generator;

pub use generator::*;

use super::keys::{field_names, Keys};
use super::{About, Generator, Workload, WorkloadSpec};
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteSpec {
    /// Writers 0..deleters delete; the others append.
    pub deleters: u32,
}

/// `kind = "delete"`'s keys.
#[derive(Deserialize)]
struct DeleteKeys {
    batch_rows: Option<Spanned<u32>>,
    payload_bytes: Option<Spanned<u32>>,
    deleters: Option<Spanned<u32>>,
}

pub struct Delete;

impl Workload for Delete {
    fn about(&self) -> About {
        About::new(
            "delete",
            "delete: a deleter's DELETE or an appender's INSERT (step insert)",
        )
        .judged_by("removes rows by design", &["delete_rows"])
    }

    fn keys(&self) -> &'static [&'static str] {
        field_names::<DeleteKeys>()
    }

    fn validate(&self, keys: &Keys) -> anyhow::Result<WorkloadSpec> {
        let k: DeleteKeys = keys.read()?;
        let mut spec = keys.batch(k.batch_rows.as_ref(), k.payload_bytes.as_ref(), 25)?;
        spec.delete = Some(DeleteSpec {
            deleters: k.deleters.as_ref().map(|d| *d.get_ref()).unwrap_or(1),
        });
        Ok(spec)
    }

    /// A delete run needs deleters and appenders both.
    fn writers_error(&self, spec: &WorkloadSpec, writers: u32) -> Option<(&'static str, String)> {
        let d = spec.delete.as_ref()?;
        (d.deleters == 0 || d.deleters >= writers).then(|| {
            let what = format!(
                "is {}; allowed: 1 to run.writers - 1 ({}): a delete run needs deleters and appenders both.",
                d.deleters,
                writers.saturating_sub(1)
            );
            ("deleters", what)
        })
    }

    /// Rows for the deleters to start from.
    fn seed_sql(&self, spec: &WorkloadSpec, table: &str, run_id: &str) -> Option<String> {
        Some(DeleteWorkload::new(spec, table).seed_sql(run_id))
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(DeleteWorkload::new(spec, table))
    }
}

impl Generator for DeleteWorkload {
    fn rows_for(&self, writer: u32) -> u32 {
        DeleteWorkload::rows_for(self, writer)
    }

    fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        DeleteWorkload::txn_sql(self, run_id, writer, txn)
    }
}

//! `kind = "upsert"`: each transaction replaces keys all writers share (see `generator`).

mod generator;

pub use generator::*;

use super::keys::{field_names, Keys};
use super::{About, Generator, Workload, WorkloadSpec};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// How an upsert transaction replaces its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UpsertStatement {
    /// `DELETE … WHERE row_seq IN (keys)` then `INSERT` of those keys.
    #[default]
    DeleteInsert,
    /// One `MERGE INTO … USING (VALUES …) ON key WHEN MATCHED UPDATE WHEN NOT MATCHED INSERT`.
    Merge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UpsertSpec {
    pub statement: UpsertStatement,
}

/// `kind = "upsert"`'s keys.
#[derive(Deserialize)]
struct UpsertKeys {
    batch_rows: Option<Spanned<u32>>,
    payload_bytes: Option<Spanned<u32>>,
    keys: Option<Spanned<u32>>,
    seed: Option<Spanned<bool>>,
    statement: Option<Spanned<String>>,
}

pub struct Upsert;

/// `kind = "upsert"` (what facts of older versions that had a key space ran).
pub fn kind() -> super::WorkloadKind {
    super::WorkloadKind::of(&Upsert)
}

impl Workload for Upsert {
    fn about(&self) -> About {
        About::new(
            "upsert",
            "upsert: the DELETE + INSERT (or MERGE) of the keys (step insert)",
        )
        .judged_by("replaces rows by design", &["upsert_keys"])
    }

    fn keys(&self) -> &'static [&'static str] {
        field_names::<UpsertKeys>()
    }

    fn values_of(&self, key: &str) -> Option<&'static str> {
        (key == "statement").then_some("\"delete_insert\", \"merge\"")
    }

    fn validate(&self, keys: &Keys) -> anyhow::Result<WorkloadSpec> {
        let k: UpsertKeys = keys.read()?;
        let mut spec = keys.batch(k.batch_rows.as_ref(), k.payload_bytes.as_ref(), 3)?;
        keys.key_space(&mut spec, k.keys.as_ref())?;
        spec.seed = k.seed.as_ref().is_some_and(|s| *s.get_ref());
        let statement = match k.statement.as_ref().map(|s| (s, s.get_ref().as_str())) {
            None | Some((_, "delete_insert")) => UpsertStatement::DeleteInsert,
            Some((_, "merge")) => UpsertStatement::Merge,
            Some((s, _)) => {
                return Err(keys.at(
                    s,
                    "workload.statement",
                    "for kind = \"upsert\" allowed: \
                \"delete_insert\" (DELETE the keys, INSERT them) or \"merge\" (one MERGE INTO).",
                ))
            }
        };
        spec.upsert = Some(UpsertSpec { statement });
        Ok(spec)
    }

    fn seed_sql(&self, spec: &WorkloadSpec, table: &str, run_id: &str) -> Option<String> {
        spec.seed.then(|| UpsertWorkload::new(spec, table).seed_sql(run_id))
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(UpsertWorkload::new(spec, table))
    }
}

impl Generator for UpsertWorkload {
    fn rows_for(&self, _writer: u32) -> u32 {
        self.rows()
    }

    fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        UpsertWorkload::txn_sql(self, run_id, writer, txn)
    }

    fn txn_sql_rows(&self, run_id: &str, writer: u32, txn: u64, rows: &[usize]) -> Option<String> {
        UpsertWorkload::txn_sql_rows(self, run_id, writer, txn, rows)
    }
}

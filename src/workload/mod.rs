//! What writers write (Jepsen's workload/generator): `append` inserts new rows; `upsert`
//! replaces keys all writers share.

pub mod append;
pub mod upsert;

use crate::scenario::{WorkloadKind, WorkloadSpec};

pub enum Workload {
    Append(append::AppendWorkload),
    Upsert(upsert::UpsertWorkload),
}

impl Workload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        match spec.kind {
            WorkloadKind::Append => Workload::Append(append::AppendWorkload::new(spec, table)),
            WorkloadKind::Upsert => Workload::Upsert(upsert::UpsertWorkload::new(spec, table)),
        }
    }

    /// Rows one transaction writes.
    pub fn rows(&self) -> u32 {
        match self {
            Workload::Append(w) => w.rows(),
            Workload::Upsert(w) => w.rows(),
        }
    }

    /// The statements of transaction `txn` of `writer`, between BEGIN and the tag.
    pub fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        match self {
            Workload::Append(w) => w.insert_sql(run_id, writer, txn),
            Workload::Upsert(w) => w.txn_sql(run_id, writer, txn),
        }
    }

    /// What the table must hold before the writers start, if anything.
    pub fn seed_sql(&self, run_id: &str) -> Option<String> {
        match self {
            Workload::Upsert(w) => Some(w.seed_sql(run_id)),
            Workload::Append(_) => None,
        }
    }
}

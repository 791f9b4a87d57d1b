//! A workload as validated, written into every report (`scenario.workload`) and `facts.json`.
//! Key names are a contract with users' files and reports: add, never rename.

use super::bank::BankSpec;
use super::counter::CounterSpec;
use super::delete::DeleteSpec;
use super::sql::SqlSpec;
use super::upsert::UpsertSpec;
use super::WorkloadKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadSpec {
    pub kind: WorkloadKind,
    /// Rows per transaction (for `upsert`: keys replaced per transaction).
    pub batch_rows: u32,
    pub payload_bytes: u32,
    /// The key space the upsert writers share (0 for append).
    #[serde(default)]
    pub keys: u32,
    /// Upsert: write every key once before the writers start (else the table starts empty).
    #[serde(default)]
    pub seed: bool,
    /// The counter workload's options (`kind = "counter"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<CounterSpec>,
    /// The bank workload's options (`kind = "bank"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<BankSpec>,
    /// The delete workload's options (`kind = "delete"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<DeleteSpec>,
    /// The sql workload's statements and expectation (`kind = "sql"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<SqlSpec>,
    /// The upsert workload's statement (`kind = "upsert"` only; absent: delete_insert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upsert: Option<UpsertSpec>,
}

impl WorkloadSpec {
    /// `kind` with `batch_rows` rows of `payload_bytes` per transaction and no options.
    pub fn new(kind: WorkloadKind, batch_rows: u32, payload_bytes: u32) -> Self {
        WorkloadSpec {
            kind,
            batch_rows,
            payload_bytes,
            keys: 0,
            seed: false,
            counter: None,
            bank: None,
            delete: None,
            sql: None,
            upsert: None,
        }
    }

    /// The upsert workload's key space; 0 for every other workload.
    pub fn upsert_keys(&self) -> u32 {
        if self.upsert.is_some() {
            self.keys
        } else {
            0
        }
    }
}

impl Default for WorkloadSpec {
    /// A scenario without `[workload]`: append, 25 rows of 64 bytes.
    fn default() -> Self {
        WorkloadSpec::new(Default::default(), 25, 64)
    }
}

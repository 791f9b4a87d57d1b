//! What a writer process and its parent say to each other, one JSON object per line.
//! Parent to child on stdin: the spec, then `go`, `stop`, `abort`. Child to parent on
//! stdout: history entries (the history's own `{"type":..}` lines) and control lines
//! (`{"msg":..}`).

use crate::fleet::Step;
use crate::lake::LakeTarget;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};

/// What the parent sends first (on stdin, so that passwords never show in `ps`).
#[derive(Debug, Serialize, Deserialize)]
pub struct WriterSpec {
    pub run_id: String,
    pub writer: u32,
    pub scenario: Scenario,
    pub target: LakeTarget,
    /// The first transaction number (a restarted writer goes on where the killed one was).
    #[serde(default)]
    pub first_txn: u64,
}

/// A control line from a writer process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum Control {
    Ready { setup_ms: u64 },
    SetupFailed { error: String },
    Status { step: Step, txn: u64, attempt: u32, commits: u64, failed: u64, indeterminate: u64, retries: u64 },
    Done,
}

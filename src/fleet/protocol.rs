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
    /// The catalog as the harness reaches it, for the process's resolver session, when
    /// `target` routes the writer through the fault proxy (faults never blind the resolver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_postgres: Option<crate::environment::PgEndpoint>,
}

/// A control line from a writer process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum Control {
    Ready {
        setup_ms: u64,
    },
    SetupFailed {
        error: String,
    },
    Status {
        step: Step,
        txn: u64,
        attempt: u32,
        commits: u64,
        failed: u64,
        indeterminate: u64,
        retries: u64,
    },
    Done,
}

/// What a remote worker (`ducklake-stress worker --coordinator`) says to the coordinator,
/// one JSON object per line over TCP. Its writers are child processes that speak the
/// process protocol above; their lines are relayed as they are, tagged with the writer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum FromWorker {
    /// The first line: the run's token (a worker without it is refused), and who it is.
    Hello {
        token: String,
        host: String,
        pid: u32,
        version: String,
    },
    /// A line writer `w` wrote on its standard output (a history entry or a control line).
    Line { w: u32, line: String },
    /// Writer `w`'s process ended.
    Exit {
        w: u32,
        pid: i32,
        code: Option<i32>,
        signal: Option<String>,
        stderr_tail: Vec<String>,
    },
    /// Sent every second, so that a worker cut off from the network is noticed even while
    /// its writers are blocked and say nothing.
    Beat,
}

/// What the coordinator says to a remote worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ToWorker {
    /// The writers `first_writer..first_writer + count` this worker runs, and what they
    /// run. The worker puts its own extension directory into `target`.
    Spec {
        run_id: String,
        index: u32,
        first_writer: u32,
        count: u32,
        scenario: Box<Scenario>,
        target: Box<LakeTarget>,
    },
    /// The token was wrong, or the run has all its workers.
    Refused {
        reason: String,
    },
    Go,
    Stop,
    Abort,
}

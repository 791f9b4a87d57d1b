//! One line of `history.ndjson`. Times are seconds on the run clock, which starts when the
//! writers start writing (set-up happens before zero and is reported apart).

use super::ErrorClass;
use serde::{Deserialize, Serialize};

/// How an attempt ended, in Jepsen's terms: `info` means nobody knows whether it
/// committed; it is resolved later from its commit tag, never guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    Ok,
    Fail,
    Info,
}

/// Where in its transaction a writer is (also what the hang diagnosis shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Step {
    Starting,
    Connecting,
    Ready,
    Begin,
    Insert,
    Tag,
    Commit,
    Rollback,
    Resolve,
    Backoff,
    Done,
    SetupFailed,
    /// Waiting for the next transaction's arrival (`run.rate`) or in `run.think_time`.
    Pacing,
}

impl Step {
    pub const ALL: [Step; 13] = [
        Step::Starting,
        Step::Connecting,
        Step::Ready,
        Step::Begin,
        Step::Insert,
        Step::Tag,
        Step::Commit,
        Step::Rollback,
        Step::Resolve,
        Step::Backoff,
        Step::Done,
        Step::SetupFailed,
        Step::Pacing,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// First line: what the file belongs to.
    Run {
        run_id: String,
        writers: u32,
        started_at: String,
    },
    /// An attempt of a transaction begins (before BEGIN). `scheduled_at`: with a rate (open
    /// model), when the transaction was due to start, on its first attempt; its retries
    /// belong to the same scheduled transaction.
    Invoke {
        writer: u32,
        txn: u64,
        attempt: u32,
        at: f64,
        rows: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scheduled_at: Option<f64>,
    },
    /// The attempt ended. `step` is where it ended (commit for a commit that went through).
    Complete {
        writer: u32,
        txn: u64,
        attempt: u32,
        at: f64,
        outcome: OpOutcome,
        step: Step,
        /// How long the COMMIT statement ran, when one was sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit_seconds: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class: Option<ErrorClass>,
        /// The error's first line.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// An `info` attempt looked up in the catalog by its commit tag.
    Resolve {
        writer: u32,
        txn: u64,
        attempt: u32,
        at: f64,
        /// `Some(true)`: its snapshot exists; `Some(false)`: it does not and cannot appear
        /// any more; `None`: still unknown (the catalog could not be asked).
        committed: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot_id: Option<i64>,
        how: String,
    },
    /// The snapshot a committed attempt made, joined from the catalog by its tag once the
    /// writers have stopped (asking per commit would add catalog round trips to every
    /// commit, and a catalog transaction the rollback counter would see).
    Snapshot {
        writer: u32,
        txn: u64,
        attempt: u32,
        snapshot_id: i64,
    },
    /// `client.cleanup = "always_rollback"`: the ROLLBACK sent after a committed attempt,
    /// and DuckDB's answer (`error` None: it was accepted).
    Cleanup {
        writer: u32,
        txn: u64,
        attempt: u32,
        at: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class: Option<ErrorClass>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A fault began or ended (Jepsen's nemesis operations share the history).
    Nemesis { kind: String, at: f64, phase: String },
    /// A `maintenance` actor's operation (`merge_adjacent_files`, ...): when it was sent,
    /// when it ended, and its error if it failed.
    Maintenance {
        writer: u32,
        operation: String,
        at: f64,
        end: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class: Option<ErrorClass>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A `reader` actor's read and what it saw: a point lookup of transaction
    /// (`target_writer`, `target_txn`) found `seen` rows, or a count at `snapshot` was `seen`.
    Read {
        writer: u32,
        /// "lookup" or "count".
        what: String,
        at: f64,
        end: f64,
        /// Read from an instance opened and attached for this read.
        fresh: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_writer: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_txn: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seen: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class: Option<ErrorClass>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

impl Event {
    /// Entries of the `maintenance` and `reader` actors (their checks read these).
    pub fn is_actor(&self) -> bool {
        matches!(self, Event::Maintenance { .. } | Event::Read { .. })
    }

    pub fn key(&self) -> Option<(u32, u64, u32)> {
        match self {
            Event::Invoke {
                writer, txn, attempt, ..
            }
            | Event::Complete {
                writer, txn, attempt, ..
            }
            | Event::Resolve {
                writer, txn, attempt, ..
            }
            | Event::Snapshot {
                writer, txn, attempt, ..
            } => Some((*writer, *txn, *attempt)),
            _ => None,
        }
    }
}

/// An error message on one line (DuckDB puts the cause on later lines: "Failed to commit
/// DuckLake transaction.\nExceeded the maximum retry count..."), cut to what a report
/// line can carry.
pub fn one_line(message: &str) -> String {
    message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(400)
        .collect()
}

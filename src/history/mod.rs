//! The history of a run (Jepsen's invoke/complete operations, made for DuckLake): every
//! attempt of every transaction, when it started and ended on one run-relative clock, how
//! it ended (`ok`, `fail`, or `info` = unknown), and for a commit that went through the
//! snapshot it made. Every checker reads the history, never the writers' memory.
//!
//! - `event`       the entries as they stand in `history.ndjson`
//! - `recorder`    streams entries to the file as they happen (a crash leaves them on disk)
//! - `transaction` folds entries into one outcome per transaction
//! - `tag`         the commit tag that joins a catalog snapshot to its history entry
//! - `error_class` sorting error messages into the classes the report counts
//! - `conflict`    DuckLake's conflict messages taken apart (operation, other side, table id)

pub mod cleanup;
pub mod conflict;
pub mod error_class;
pub mod event;
pub mod recorder;
pub mod tag;
pub mod transaction;

pub use error_class::ErrorClass;
pub use event::{Event, OpOutcome, Step};
pub use recorder::Recorder;
pub use tag::CommitTag;
pub use transaction::{Outcome, Txn};

/// The history file's name inside a run directory.
pub const FILE: &str = "history.ndjson";

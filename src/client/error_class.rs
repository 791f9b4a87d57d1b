//! Sorting DuckDB/DuckLake error messages into the classes the report counts. The
//! patterns are the messages these versions actually print; "other" keeps the rest visible.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// DuckLake gave up: "Exceeded the maximum retry count".
    RetriesExhausted,
    /// A real write-write conflict DuckLake refuses to retry.
    Conflict,
    /// Two commits raced for the same snapshot id in the Postgres catalog.
    CatalogPrimaryKey,
    /// The catalog connection went away.
    ConnectionLost,
    /// Reading or writing Parquet files in the object store failed.
    S3Http,
    /// The harness interrupted the statement (deadline or Ctrl-C).
    InterruptedByDeadline,
    Other,
}

impl ErrorClass {
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::RetriesExhausted => "retries_exhausted",
            ErrorClass::Conflict => "conflict",
            ErrorClass::CatalogPrimaryKey => "catalog_primary_key",
            ErrorClass::ConnectionLost => "connection_lost",
            ErrorClass::S3Http => "s3_http",
            ErrorClass::InterruptedByDeadline => "interrupted_by_deadline",
            ErrorClass::Other => "other",
        }
    }
}

pub fn classify(message: &str) -> ErrorClass {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&["interrupt"]) {
        ErrorClass::InterruptedByDeadline
    } else if any(&["exceeded the maximum retry count", "maximum retry count"]) {
        ErrorClass::RetriesExhausted
    } else if any(&["duplicate key value violates unique constraint", "violates primary key", "primary key constraint"]) {
        ErrorClass::CatalogPrimaryKey
    } else if any(&[
        "server closed the connection",
        "terminating connection",
        "connection to server",
        "no connection to the server",
        "could not connect",
        "connection refused",
        "broken pipe",
        "connection reset",
        "lost connection",
        "ssl syscall",
        // DuckLake's own ROLLBACK after a failed catalog commit failed too: the session is gone.
        "failed to execute query \"rollback\"",
    ]) {
        ErrorClass::ConnectionLost
    } else if any(&["conflict", "concurrent", "serializ"]) {
        ErrorClass::Conflict
    } else if any(&["http", "s3://", "httpfs", "s3 ", "nosuchkey", "nosuchbucket", "accessdenied"]) {
        ErrorClass::S3Http
    } else {
        ErrorClass::Other
    }
}

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
    /// Another process holds the lock on a DuckDB catalog file ("Could not set lock on
    /// file"): DuckDB admits one writing process per database file.
    CatalogFileLock,
    /// SQLite refused the catalog write: another connection holds its write lock ("database
    /// is locked", SQLITE_BUSY). DuckLake does not retry it.
    CatalogBusy,
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
            ErrorClass::CatalogFileLock => "catalog_file_lock",
            ErrorClass::CatalogBusy => "catalog_busy",
            ErrorClass::InterruptedByDeadline => "interrupted_by_deadline",
            ErrorClass::Other => "other",
        }
    }

    /// A COMMIT that failed with this class is known not to have committed: DuckLake (or
    /// Postgres) rolled the catalog transaction back cleanly. Any other COMMIT error leaves
    /// the outcome unknown (`info`) until the commit tag is looked up.
    pub fn is_clean_abort(self) -> bool {
        matches!(
            self,
            ErrorClass::RetriesExhausted | ErrorClass::Conflict | ErrorClass::CatalogPrimaryKey
        )
    }
}

pub fn classify(message: &str) -> ErrorClass {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&["interrupt"]) {
        ErrorClass::InterruptedByDeadline
    } else if any(&["could not set lock on file"]) {
        // Before "conflict": DuckDB's message goes on "Conflicting lock is held in ...".
        ErrorClass::CatalogFileLock
    } else if any(&["database is locked", "database table is locked"]) {
        ErrorClass::CatalogBusy
    } else if any(&["exceeded the maximum retry count", "maximum retry count"]) {
        ErrorClass::RetriesExhausted
    } else if any(&[
        "duplicate key value violates unique constraint",
        "violates primary key",
        "primary key constraint",
    ]) {
        ErrorClass::CatalogPrimaryKey
    } else if any(&[
        "error for http ",
        "http error",
        "http put",
        "http get",
        "http head",
        "http post",
        "http delete",
    ]) {
        // Before the connection patterns: httpfs says "Could not connect to server error for
        // HTTP PUT" when the object store is down, which is S3's failure, not the catalog's.
        ErrorClass::S3Http
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
    } else if any(&[
        "http",
        "s3://",
        "httpfs",
        "s3 ",
        "nosuchkey",
        "nosuchbucket",
        "accessdenied",
    ]) {
        ErrorClass::S3Http
    } else {
        ErrorClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The first three, and the two file-catalog locks, are verbatim from this project's runs (DuckDB 1.5.5, ducklake
    // d8a1881e); the others follow DuckDB's and Postgres's message formats.
    #[test]
    fn real_messages_land_in_their_class() {
        let cases = [
            (
                "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction. Exceeded \
                the maximum retry count of 0 set by the ducklake_max_retry_count setting.",
                ErrorClass::RetriesExhausted,
            ),
            (
                "Invalid Error: Failed to query most recent snapshot for DuckLake: Failed to execute query \"BEGIN \
                TRANSACTION ISOLATION LEVEL REPEATABLE READ\": server closed the connection unexpectedly\n\tThis \
                probably means the server terminated abnormally",
                ErrorClass::ConnectionLost,
            ),
            (
                "TransactionContext Error: Failed to commit: Failed to execute query \"ROLLBACK\": ",
                ErrorClass::ConnectionLost,
            ),
            ("INTERRUPT Error: Interrupted!", ErrorClass::InterruptedByDeadline),
            (
                "duplicate key value violates unique constraint \"ducklake_snapshot_pkey\"",
                ErrorClass::CatalogPrimaryKey,
            ),
            (
                "IO Error: Could not connect to server error for HTTP PUT to \
                'http://127.0.0.1:35285/ducklake-stress/lake/main/entries/ducklake-019ac.parquet'",
                ErrorClass::S3Http,
            ),
            (
                "HTTP Error: Unable to connect to URL \"http://127.0.0.1:9/b/lake/x.parquet\": 503 (Service \
                    Unavailable)",
                ErrorClass::S3Http,
            ),
            ("Binder Error: Table with name nope does not exist!", ErrorClass::Other),
            (
                "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction. Failed to flush \
                changes into DuckLake: database is locked",
                ErrorClass::CatalogBusy,
            ),
            (
                "IO Error: Failed to attach DuckLake MetaData \"__ducklake_metadata_lake\" at path + \
                \"/tmp/d/catalog.ducklake\"Could not set lock on file \"/tmp/d/catalog.ducklake\": Conflicting lock \
                is held in /root/dls-target-catalogs/release/ducklake-stress (PID 21385). See also \
                https://duckdb.org/docs/stable/connect/concurrency",
                ErrorClass::CatalogFileLock,
            ),
        ];
        for (message, class) in cases {
            assert_eq!(classify(message), class, "{message}");
        }
    }
}

//! A writer (Jepsen's client): one thread, one DuckDB instance, one transaction at a time
//! with explicit BEGIN / COMMIT, ROLLBACK only on error, and the harness's retry loop.

pub mod error_class;
pub mod retry_policy;
pub mod status;
pub mod writer;

pub use error_class::ErrorClass;
pub use status::{Step, WriterStatus};

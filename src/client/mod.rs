//! A writer (Jepsen's client): one thread, one DuckDB instance, one transaction at a time
//! with explicit BEGIN / COMMIT, ROLLBACK only on error, and the harness's retry loop.

pub mod maintenance;
pub mod reader;
pub mod retry_policy;
pub mod shared_instance;
pub mod writer;

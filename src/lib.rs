//! ducklake-stress: concurrency stress tests for DuckLake (Postgres catalog, S3 data).
//!
//! Where things live:
//! - `scenario/`    parsing and validating scenario files
//! - `environment/` provisioning or reaching Postgres and the S3 server
//! - `lake/`        DuckDB instances attached to the lake (extensions, secret, ATTACH)
//! - `workload/`    what writers write
//! - `client/`      a writer: its transaction loop, retry policy, error classes
//! - `nemesis/`     faults injected during a run
//! - `monitor/`     watching pg_locks / pg_stat_activity, hang diagnosis
//! - `benchmark/`   the runner, metrics, progress
//! - `checker/`     checks after the run, one module each
//! - `export/`      report formats (JSON, Markdown, console)

pub mod benchmark;
pub mod checker;
pub mod cli;
pub mod client;
pub mod commands;
pub mod environment;
pub mod error;
pub mod export;
pub mod lake;
pub mod monitor;
pub mod nemesis;
pub mod pg;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod workload;

/// The DuckDB version the bundled build and the extensions must share.
pub const DUCKDB_VERSION: &str = "1.5.5";

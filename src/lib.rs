//! ducklake-stress: concurrency stress tests for DuckLake (Postgres catalog, S3 data).
//!
//! Where things live, lowest layer first (each uses only the ones above it):
//! - `util/`        bounded waits, Ctrl-C, atomic writes, ids (`error`, `runtime` beside it)
//! - `stats/`       intervals and tests for comparisons (bootstrap, Mann-Whitney, proportions)
//! - `scenario/`    parsing and validating scenario files, `--set` overrides
//! - `parameter/`   `--param` lists and the matrix of a sweep
//! - `environment/` provisioning or reaching Postgres and the S3 server, the harness's own sessions
//! - `lake/`        DuckDB instances attached to the lake (extensions, secret, ATTACH)
//! - `history/`     the run's invoke/complete entries, commit tags, unknown outcomes
//! - `proxy/`       the fault proxy between the writers and their services (faults on the wire)
//! - `metrics/`     latencies, throughput, fairness, timeline, computed from the history
//! - `workload/`    what writers write
//! - `fleet/`       the writers as a group (`Fleet` trait, threads), shared state, each one's step
//! - `client/`      a writer: its transaction loop and retry policy
//! - `monitor/`     watching pg_locks / pg_stat_activity, hang diagnosis
//! - `nemesis/`     faults injected during a run
//! - `checker/`     checks after the run, one module each
//! - `findings/`    known upstream findings (`findings/known.toml`) matched to check results
//! - `verdict`      thresholds and the verdict, in one place
//! - `report`       the report's content; `export/` its formats (JSON, Markdown, console)
//! - `runner/`      one run from scenario to report
//! - `interleave/`  deterministic schedules of steps on sessions (isolation-tester style), `conflicts`
//! - `repro/`       a failed run's transactions as the smallest schedule that still fails, and its files
//! - `campaign/`    many runs: executor (child processes), plan, aggregates, sweep table, comparison
//! - `export/`      report, sweep and comparison formats (above `campaign/`, whose types it writes)
//! - `deploy/`      manifests for running elsewhere (Kubernetes)
//! - `commands/`, `cli` the command line

pub mod campaign;
pub mod checker;
pub mod cli;
pub mod client;
pub mod commands;
pub mod deploy;
pub mod environment;
pub mod error;
pub mod export;
pub mod findings;
pub mod fleet;
pub mod history;
pub mod interleave;
pub mod lake;
pub mod metrics;
pub mod monitor;
pub mod nemesis;
pub mod parameter;
pub mod proxy;
pub mod report;
pub mod repro;
pub mod runner;
pub mod runtime;
pub mod scenario;
pub mod stats;
pub mod util;
pub mod verdict;
pub mod workload;

/// The DuckDB version the bundled build and the extensions must share.
pub const DUCKDB_VERSION: &str = "1.5.5";

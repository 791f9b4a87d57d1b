//! Command-line interface.

use crate::environment::existing::ExistingArgs;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "ducklake-stress", version, about = "Concurrency stress tests for DuckLake: many writers, a Postgres catalog, S3 data, and checks that say whether it held.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log level for the harness's own messages (error, warn, info, debug)
    #[arg(long, global = true, default_value = "warn", env = "DUCKLAKE_STRESS_LOG")]
    pub log: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write results/<timestamp>-<name>/report.json
    Run(RunArgs),
    /// Check scenario files without running them
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Start or stop a native environment that outlives one run
    Env {
        #[command(subcommand)]
        action: EnvAction,
    },
    /// Run the integrity checks on an existing lake (e.g. after an incident)
    Check(CheckArgs),
    /// One writer as a process (started by `run` with mode = "process"; reads its spec on stdin)
    #[command(hide = true)]
    Writer,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub scenario: PathBuf,
    /// Use a running environment described by this env.json instead of starting one
    #[arg(long, conflicts_with = "pg_dsn")]
    pub env_file: Option<PathBuf>,
    #[command(flatten)]
    pub existing: ExistingArgs,
    /// Start Postgres and an S3 server as containers (docker CLI; images from DLS_POSTGRES_IMAGE, DLS_S3_IMAGE)
    #[arg(long, conflicts_with_all = ["env_file", "pg_dsn"])]
    pub docker: bool,
    /// Where run directories are created
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
    /// Keep the native environment's scratch directory (data, server logs) after the run
    #[arg(long)]
    pub keep_env: bool,
    /// DuckDB extension directory (default: $DUCKLAKE_STRESS_EXTENSION_DIR, else the setup script's cache)
    #[arg(long)]
    pub extension_dir: Option<PathBuf>,
    /// No progress line
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum EnvAction {
    /// Start Postgres and an S3 server, write DIR/env.json (mode 0600), leave them running
    Up {
        #[arg(long)]
        state: PathBuf,
        /// Start no S3 server (for lakes with data = "local")
        #[arg(long)]
        no_s3: bool,
    },
    /// Stop what `env up` started and remove its data
    Down {
        #[arg(long)]
        state: PathBuf,
    },
    /// Write the env.json for docker-compose.yml's stack (reads the same DLS_* variables)
    Compose {
        #[arg(long, default_value = "env.json")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(long, conflicts_with = "pg_dsn")]
    pub env_file: Option<PathBuf>,
    #[command(flatten)]
    pub existing: ExistingArgs,
    /// Table to check (default with --run-dir: the run's table)
    #[arg(long)]
    pub table: Option<String>,
    /// A run directory (with history.ndjson and facts.json) to check that run's
    /// transactions one by one, also after the harness crashed
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    #[arg(long)]
    pub extension_dir: Option<PathBuf>,
    /// Where the lake's catalog is: postgres, or a sqlite / duckdb file in the
    /// environment's catalog_dir (--catalog-dir)
    #[arg(long, default_value = "postgres", value_parser = ["postgres", "sqlite", "duckdb"])]
    pub catalog: String,
    /// Fail when more orphan files than this are found
    #[arg(long)]
    pub max_orphan_files: Option<u64>,
    /// Write the check results as JSON here too
    #[arg(long)]
    pub json: Option<PathBuf>,
}

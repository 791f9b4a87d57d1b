//! Command-line interface.

use crate::environment::existing::ExistingArgs;
use crate::parameter::Param;
use crate::scenario::Override;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ducklake-stress",
    version,
    about = "Concurrency stress tests for DuckLake: many writers, a Postgres catalog, S3 data, and checks that say \
        whether it held."
)]
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
        /// Override a scenario key as `run` would (repeatable), e.g. --set run.writers=16
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
    },
    /// Start or stop a native environment that outlives one run
    Env {
        #[command(subcommand)]
        action: EnvAction,
    },
    /// Run the integrity checks on an existing lake (e.g. after an incident)
    Check(CheckArgs),
    /// Run every combination of parameter values (each in its own process, in a shuffled
    /// order, on a fresh table) and tabulate them, with the envelope of clean writer counts
    Sweep(SweepArgs),
    /// Baseline against candidate (reports, directories of reports, or scenarios to run
    /// interleaved): each figure with a 95 % interval, and a verdict
    Compare(CompareArgs),
    /// Print Kubernetes manifests that run SCENARIO with its writers spread over N worker
    /// pods (a coordinator Job and Service, an Indexed Job of workers, a Secret, a ConfigMap)
    K8s(K8sArgs),
    /// Join a run started with `run --coordinate` on this host or another: run the writers
    /// it gives this worker, each as its own process with its own DuckDB instance
    Worker(WorkerArgs),
    /// Run DuckLake's documented conflict rules (scenarios/conflicts/, interleaving scenarios)
    /// on each catalog and print the matrix rule x catalog: expected, observed, verdict
    Conflicts(ConflictsArgs),
    /// From a run whose check failed (RUN_DIR), the smallest interleaving schedule that still
    /// fails: replayed, shrunk, and written to RUN_DIR/repro/ (schedule, SQL, Python, sqllogictest)
    Repro(ReproArgs),
    /// One writer as a process (started by `run` with mode = "process"; reads its spec on stdin)
    #[command(hide = true)]
    Writer,
    /// One session of an interleaving scenario as a process (mode = "process"; reads its spec on stdin)
    #[command(hide = true)]
    Session,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub scenario: PathBuf,
    #[command(flatten)]
    pub env: EnvArgs,
    /// Keep the native environment's scratch directory (data, server logs) after the run
    #[arg(long)]
    pub keep_env: bool,
    #[command(flatten)]
    pub tuning: Tuning,
    /// Run the scenario N times (each in its own process, on a fresh table, in one
    /// environment) and aggregate them: median and range of each figure, merged latencies
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Also write the JUnit XML here (every run directory has its junit.xml anyway)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run the writers on remote workers: listen here (e.g. 0.0.0.0:7878) for
    /// `ducklake-stress worker --coordinator HOST:PORT` and split the writers over --workers
    /// of them; the checks and the report stay here
    #[arg(long, value_name = "ADDR:PORT", requires = "workers")]
    pub coordinate: Option<String>,
    /// How many workers the run waits for (with --coordinate)
    #[arg(long, requires = "coordinate", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub workers: Option<u32>,
    /// The run's token, which every worker must present (with --coordinate; default: a
    /// random one, printed)
    #[arg(long, env = "DLS_RUN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReproArgs {
    /// A results directory of `ducklake-stress run` (report.json, history.ndjson, facts.json)
    pub run_dir: PathBuf,
    /// Run the replay, and the shrunk schedule, N times each and count the failures
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Runs of each candidate while shrinking
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub shrink_repeat: u32,
    /// Write the replay as it is, without shrinking it
    #[arg(long)]
    pub no_shrink: bool,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// A catalog to run the rules on (repeatable; default: postgres, sqlite and duckdb)
    #[arg(long = "catalog", value_parser = ["postgres", "sqlite", "duckdb"])]
    pub catalogs: Vec<String>,
    /// The directory of rule files
    #[arg(long, default_value = "scenarios/conflicts")]
    pub dir: PathBuf,
    /// Where the lakes keep their data: local (a directory) or s3
    #[arg(long, default_value = "local", value_parser = ["local", "s3"])]
    pub data: String,
    /// Run each rule N times: a rule whose outcome varies is reported as not deterministic
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    #[command(flatten)]
    pub tuning: Tuning,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The coordinator's address (`run --coordinate`), as this host reaches it
    #[arg(long, value_name = "HOST:PORT")]
    pub coordinator: String,
    /// The run's token
    #[arg(long, env = "DLS_RUN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The catalog and S3 as this host reaches them (env.json), when not at the
    /// coordinator's addresses
    #[arg(long)]
    pub env_file: Option<PathBuf>,
    /// DuckDB extension directory on this host (default: $DUCKLAKE_STRESS_EXTENSION_DIR, else the setup script's cache)
    #[arg(long)]
    pub extension_dir: Option<PathBuf>,
    /// How long to keep trying to reach the coordinator, e.g. 2m
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub connect_within: std::time::Duration,
}

fn parse_override(s: &str) -> Result<Override, String> {
    s.parse::<Override>().map_err(|e| format!("{e:#}"))
}

fn parse_param(s: &str) -> Result<Param, String> {
    s.parse::<Param>().map_err(|e| format!("{e:#}"))
}

/// Changes to the scenario on the command line, for run, sweep and compare alike.
#[derive(Debug, Args, Clone, Default)]
pub struct Tuning {
    /// Override a scenario key as if written in the file (repeatable), e.g.
    /// --set run.writers=16 --set retry.ducklake.max_retry_count=100
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub set: Vec<Override>,
    /// Load an extension from this file instead of the extension directory (a DuckLake
    /// you built), e.g. --extension ducklake=build/release/extension/ducklake/ducklake.duckdb_extension
    #[arg(long = "extension", value_name = "NAME=PATH", value_parser = parse_override)]
    pub extension: Vec<Override>,
    /// Let DuckDB load unsigned extension files (needed for one you built yourself)
    #[arg(long)]
    pub allow_unsigned_extensions: bool,
    /// Fail checks that a known upstream finding explains (findings/known.toml), instead of
    /// reporting them as known: the same as --set checks.known_findings=fail
    #[arg(long)]
    pub strict: bool,
}

impl Tuning {
    /// `--set` and `--extension` as overrides of the scenario (an extension is the key
    /// lake.extensions.NAME, its path always a string).
    pub fn overrides(&self) -> Vec<Override> {
        let extensions = self.extension.iter().map(|e| Override {
            key: format!("lake.extensions.{}", e.key),
            value: toml_edit::Value::from(e.value.as_str()).to_string().trim().to_string(),
        });
        let strict = self.strict.then(|| Override {
            key: "checks.known_findings".into(),
            value: "\"fail\"".into(),
        });
        self.set.iter().cloned().chain(extensions).chain(strict).collect()
    }
}

/// Where runs (of `run`, `sweep`, `compare`) happen and where their results go.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Use a running environment described by this env.json instead of starting one
    #[arg(long, conflicts_with = "pg_dsn")]
    pub env_file: Option<PathBuf>,
    #[command(flatten)]
    pub existing: ExistingArgs,
    /// Start Postgres and an S3 server as containers (docker CLI): images from DLS_POSTGRES_IMAGE and
    /// DLS_S3_IMAGE, else postgres:16 and minio/minio if present, else the project's (scripts/build-images.sh)
    #[arg(long, conflicts_with_all = ["env_file", "pg_dsn"])]
    pub docker: bool,
    /// With --docker: build the project's images first (runs scripts/build-images.sh; seconds when current)
    #[arg(long, requires = "docker")]
    pub build_images: bool,
    /// Where run (or sweep, comparison) directories are created
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
    /// DuckDB extension directory (default: $DUCKLAKE_STRESS_EXTENSION_DIR, else the setup script's cache)
    #[arg(long)]
    pub extension_dir: Option<PathBuf>,
    /// No progress lines
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    pub scenario: PathBuf,
    /// Worker pods; the scenario's writers are split over them
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub workers: u32,
    /// The ducklake-stress image the pods run (the repository's Dockerfile, pushed where
    /// the cluster pulls from)
    #[arg(long)]
    pub image: String,
    /// The catalog and S3 as the pods reach them (env.json format; goes into a Secret)
    #[arg(long)]
    pub env_file: PathBuf,
    #[arg(long)]
    pub namespace: Option<String>,
    /// Base name of every object (default: "dls-" and the scenario's name)
    #[arg(long)]
    pub name: Option<String>,
    /// Override a scenario key (repeatable), as for run
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub set: Vec<Override>,
    /// The token workers must present (default: random)
    #[arg(long, env = "DLS_RUN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A PersistentVolumeClaim for the coordinator's results directory (default: an
    /// emptyDir; the report is then in the coordinator's log only)
    #[arg(long)]
    pub results_claim: Option<String>,
    /// Write the manifests here (mode 0600: the Secret holds passwords) instead of stdout
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    pub scenario: PathBuf,
    /// A scenario key and the values it takes (repeatable; every combination runs), e.g.
    /// --param run.writers=4,8,16,32 --param retry.ducklake.max_retry_count=10,100
    #[arg(long = "param", value_name = "KEY=V1,V2,...", required = true, value_parser = parse_param)]
    pub params: Vec<Param>,
    /// Runs per point
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Seed of the shuffled order (default: random, recorded in sweep.json)
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub tuning: Tuning,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A report.json, a directory of runs (every report.json under it), or a scenario to run
    pub baseline: PathBuf,
    /// The same kinds as BASELINE
    pub candidate: PathBuf,
    /// Runs per scenario side (sides run alternately: A B B A ...)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Override a key of the baseline's scenario only (repeatable)
    #[arg(long = "baseline-set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub baseline_set: Vec<Override>,
    /// Override a key of the candidate's scenario only (repeatable)
    #[arg(long = "candidate-set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub candidate_set: Vec<Override>,
    /// Exit 1 when the verdict is `worse`, or when the candidate failed a check in any run
    /// that the baseline never failed (for CI)
    #[arg(long)]
    pub fail_if_worse: bool,
    /// Where comparison.json and comparison.md go (default: a new directory under --results-dir)
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub tuning: Tuning,
    #[command(flatten)]
    pub env: EnvArgs,
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

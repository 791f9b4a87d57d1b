//! The v1 scenario schema. Key names are a contract with users' files: add, never rename.

use crate::workload::WorkloadSpec;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use toml::Spanned;

/// A scenario as validated; durations already parsed. Written into every report (durations
/// as milliseconds) and read back from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub run: RunSpec,
    pub lake: LakeSpec,
    pub retry: RetrySpec,
    pub workload: WorkloadSpec,
    pub checks: ChecksSpec,
    pub nemesis: Vec<NemesisSpec>,
    /// How every writer uses DuckDB: patterns seen in users' pipelines (`[client]`).
    #[serde(default)]
    pub client: ClientSpec,
    /// `[[actors]]`: the groups of actors, writers first (empty: every writer writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<super::actors::ActorGroup>,
}

/// `[client]`: client patterns from the field, so a claimed fix can be measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientSpec {
    pub cleanup: Cleanup,
    pub instance: InstanceMode,
    /// `SET <key> = <value>` on every writer's connection after ATTACH; values already
    /// rendered as SQL literals.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub settings: std::collections::BTreeMap<String, String>,
    /// Appended to the writers' and set-up's ATTACH options (`KEY value`), SQL literals.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub attach_options: std::collections::BTreeMap<String, String>,
}

/// What a writer does after a transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cleanup {
    /// ROLLBACK only after an error (what DuckDB's own clients do).
    #[default]
    RollbackOnError,
    /// ROLLBACK after every transaction, committed or not: the `finally: ROLLBACK` of
    /// pipelines that were blamed for hangs.
    AlwaysRollback,
}

/// Whose DuckDB instance a writer uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceMode {
    /// Each writer opens its own in-memory instance and ATTACHes the lake.
    #[default]
    Own,
    /// All writers use connections (`try_clone`) of one instance attached once.
    Shared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriterMode {
    Thread,
    Process,
}

/// How long the writers keep going: for a fixed time or for a fixed number of commits each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCondition {
    #[serde(with = "humantime_serde_ms")]
    Duration(Duration),
    CommitsPerWriter(u64),
}

impl std::fmt::Display for StopCondition {
    /// In words, as `validate` prints it: `for 15s`, `12 commits per writer`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopCondition::Duration(d) => write!(f, "for {}", humantime::format_duration(*d)),
            StopCondition::CommitsPerWriter(n) => write!(f, "{n} commits per writer"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpec {
    pub writers: u32,
    pub mode: WriterMode,
    pub stop: StopCondition,
    /// The whole run, hang or not, ends by then.
    #[serde(with = "humantime_serde_ms")]
    pub deadline: Duration,
    /// No transaction completed for this long: a stall, diagnosed at once (the deadline
    /// still ends the run). Default: DuckLake's longest retry wait plus 5 s.
    #[serde(with = "humantime_serde_ms", default = "defaults::stall_after")]
    pub stall_after: Duration,
    /// `rate` / `rate_total` / `think_time`: how the writing actors pace their transactions.
    #[serde(default, skip_serializing_if = "super::Pacing::is_back_to_back")]
    pub pacing: super::Pacing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataStore {
    S3,
    Local,
}

/// Where DuckLake keeps its catalog. Written as these lowercase words in scenario files
/// and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CatalogKind {
    /// Tables in a Postgres database: many processes can write.
    #[default]
    Postgres,
    /// A SQLite file in the environment's catalog directory (DuckDB's sqlite_scanner).
    Sqlite,
    /// A DuckDB database file in the environment's catalog directory: one process at a time
    /// holds its lock.
    Duckdb,
}

impl CatalogKind {
    pub fn name(self) -> &'static str {
        match self {
            CatalogKind::Postgres => "postgres",
            CatalogKind::Sqlite => "sqlite",
            CatalogKind::Duckdb => "duckdb",
        }
    }

    pub fn is_postgres(self) -> bool {
        self == CatalogKind::Postgres
    }

    /// Why a Postgres-only check or monitor does not apply, `None` for Postgres.
    pub fn no_postgres(self) -> Option<String> {
        (!self.is_postgres()).then(|| format!("catalog = {}: no Postgres catalog to inspect", self.name()))
    }

    /// The DuckDB extensions a lake with this catalog loads, in load order. Load order
    /// matters: the bundled DuckDB has no built-in parquet, and DuckLake's first table scan
    /// crashes unless parquet is loaded before ducklake. The catalog's own scanner (postgres
    /// or sqlite) is loaded only for that catalog; a DuckDB-file catalog needs none.
    pub fn extensions(self) -> Vec<&'static str> {
        let scanner = match self {
            CatalogKind::Postgres => Some("postgres_scanner"),
            CatalogKind::Sqlite => Some("sqlite_scanner"),
            CatalogKind::Duckdb => None,
        };
        ["parquet", "json", "httpfs"]
            .into_iter()
            .chain(scanner)
            .chain(["ducklake"])
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LakeSpec {
    pub catalog: CatalogKind,
    pub data: DataStore,
    pub table: String,
    /// DuckLake writes inserts of at most this many rows into the catalog instead of
    /// Parquet files (DuckLake's default is 10; 0 turns inlining off). `None` keeps the
    /// default.
    pub data_inlining_row_limit: Option<u64>,
    /// The same limit persisted on the scenario's table (`set_option(…, table_name => …)`
    /// at set-up): it then holds for every client of the lake, not just this run's ATTACH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_data_inlining_row_limit: Option<u64>,
    /// Extensions loaded from these files instead of the extension directory (a patched
    /// DuckLake under test): name -> absolute path of `<name>.duckdb_extension`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub extension_files: std::collections::BTreeMap<String, std::path::PathBuf>,
}

/// DuckLake's own retry settings, SET on every writer's connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuckLakeRetry {
    #[serde(default = "defaults::ducklake_max_retry_count")]
    pub max_retry_count: u64,
    #[serde(default = "defaults::ducklake_retry_wait_ms")]
    pub retry_wait_ms: u64,
    #[serde(default = "defaults::ducklake_retry_backoff")]
    pub retry_backoff: f64,
}

/// The harness's own retry loop around each whole transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarnessRetry {
    #[serde(default = "defaults::harness_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "defaults::harness_base_wait_ms")]
    pub base_wait_ms: u64,
    #[serde(default = "defaults::harness_backoff")]
    pub backoff: f64,
    #[serde(default = "defaults::yes")]
    pub jitter: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    #[serde(default)]
    pub ducklake: DuckLakeRetry,
    #[serde(default)]
    pub harness: HarnessRetry,
}

/// Thresholds that decide the verdict. `None` means "report, don't judge".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSpec {
    #[serde(default = "defaults::zero")]
    pub max_failed_commits: Option<u64>,
    #[serde(default = "defaults::zero")]
    pub max_indeterminate_commits: Option<u64>,
    #[serde(default)]
    pub max_orphan_files: Option<u64>,
    #[serde(default)]
    pub max_catalog_rollbacks: Option<u64>,
    /// Catalog sessions the run's writers may leave open after closing their instances
    /// (DuckDB's client-side leak); unset: reported as a warning only.
    #[serde(default)]
    pub max_leaked_sessions: Option<u64>,
    /// "exact" (default): record_count must equal a scan; "report": a difference warns.
    #[serde(default)]
    pub table_stats: TableStatsMode,
    /// Writer processes that may crash (mode = "process"); default 0.
    #[serde(default = "defaults::zero")]
    pub max_writer_crashes: Option<u64>,
    /// "known" (default): a check failure that a known upstream finding explains
    /// (`findings/known.toml`) is reported as known and does not fail the run; "fail": it
    /// fails as any other (`--strict`).
    #[serde(default)]
    pub known_findings: KnownFindingsMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KnownFindingsMode {
    #[default]
    Known,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TableStatsMode {
    #[default]
    Exact,
    Report,
}

/// A fault injected during the run (Jepsen's nemesis).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NemesisSpec {
    pub kind: NemesisKind,
    /// Catalog table to lock (for `lock_catalog_table`).
    pub table: String,
    #[serde(with = "humantime_serde_ms")]
    pub after: Duration,
    /// How long to hold; `None` holds until the run ends.
    #[serde(with = "option_humantime_ms")]
    pub hold: Option<Duration>,
    /// Repeat the fault at this interval (for `terminate_writer_sessions`).
    #[serde(with = "option_humantime_ms")]
    pub every: Option<Duration>,
    /// The timeout to set (for `idle_in_transaction_timeout`).
    #[serde(default, with = "option_humantime_ms")]
    pub timeout: Option<Duration>,
    /// When to strike (for `terminate_writer_sessions`): at once, or only a session caught
    /// committing, so that the commit's outcome is unknown to the writer.
    #[serde(default)]
    pub during: FaultMoment,
    /// How Postgres shuts down (for `restart_catalog`).
    #[serde(default)]
    pub mode: RestartMode,
    /// Which connections get slower (for `latency`).
    #[serde(default)]
    pub target: Option<LatencyTarget>,
    /// Added one-way delay, and its random variation (for `latency`).
    #[serde(default, with = "option_humantime_ms")]
    pub delay: Option<Duration>,
    #[serde(default, with = "option_humantime_ms")]
    pub jitter: Option<Duration>,
    /// Start a killed writer process again (for `kill_writer`).
    #[serde(default)]
    pub restart: bool,
    /// How `latency` acts: the fault proxy or `tc netem`; `None`: netem where it works, else
    /// the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<LatencyMechanism>,
    /// How many commits or uploads a proxy fault hits before it ends (`lost_ack`,
    /// `failed_upload`, `slow_upload`); `None`: every one until `hold` ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The share of eligible commits or uploads hit, 0 < f <= 1 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Only this writer's catalog connections (proxy faults on the catalog).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<u32>,
    /// The throughput left each way (for `bandwidth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<u64>,
}

/// What adds the delay of a `latency` fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyMechanism {
    /// The harness's fault proxy, between the writers and the service: no root, any kernel.
    Proxy,
    /// Linux `tc netem` on the loopback device: root and sch_netem.
    Netem,
}

/// Postgres's shutdown modes: `fast` ends sessions and checkpoints, `immediate` quits
/// without a checkpoint (the restart then runs crash recovery), as a power cut would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RestartMode {
    #[default]
    Fast,
    Immediate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyTarget {
    Catalog,
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FaultMoment {
    #[default]
    Any,
    /// A session caught writing its commit into the catalog (the commit is then absent).
    Commit,
    /// A session whose catalog COMMIT is already durable but not yet acknowledged: Postgres
    /// is made to wait for a synchronous standby that does not exist, and the waiting
    /// writers' sessions are ended (the commit then happened, but the writer cannot know).
    /// Needs a superuser catalog connection (the native environment has one).
    CommitAck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NemesisKind {
    /// A session takes `LOCK TABLE … IN ACCESS EXCLUSIVE MODE` on a catalog table and sits
    /// idle in transaction: the classic "someone left a psql open" hang.
    LockCatalogTable,
    /// `pg_terminate_backend` on every catalog session of the run's writers: a Postgres
    /// restart or failover as the writers see it. Commits caught mid-flight become
    /// indeterminate.
    TerminateWriterSessions,
    /// SIGSEGV to one writer process (mode = "process"): what a DuckDB crash looks like,
    /// to prove the harness survives it and reports it.
    CrashWriter,
    /// SIGKILL to one writer process (mode = "process"), with `during = "commit"` one caught
    /// writing its commit into the catalog: a pipeline worker killed by its orchestrator.
    KillWriter,
    /// SIGSTOP to the catalog's Postgres (all its processes) for `hold`, then SIGCONT: a
    /// stall without a disconnect. Needs services the harness started (native).
    PauseCatalog,
    /// The same for the S3 server.
    PauseS3,
    /// Postgres's `idle_in_transaction_session_timeout` set to `timeout` (for `hold`, or
    /// until the run ends): a common production setting that ends a writer's catalog
    /// transaction while DuckDB writes Parquet. Needs a superuser catalog connection.
    IdleInTransactionTimeout,
    /// Postgres shut down (`mode` fast or immediate), down for `hold` (default 0), started
    /// again; repeated `every`. Every session ends: writers must reconnect. Native only.
    RestartCatalog,
    /// SIGKILL to the S3 server, down for `hold` (default 5 s), then started again on the
    /// same port and data. Native only.
    KillS3,
    /// The S3 server stopped cleanly (SIGTERM) and started again at once (after `hold`).
    RestartS3,
    /// Delay (`delay`, `jitter`) each way between the writers and the catalog or the S3
    /// server, for `hold` or until the run ends: through the fault proxy, or with Linux
    /// `tc netem` on the loopback device (root, sch_netem, services on this machine).
    Latency,
    /// The fault proxy stops carrying traffic to the catalog or the S3 server for `hold`
    /// (default 3 s): open connections stall, new ones are held; then it heals.
    Partition,
    /// The fault proxy cuts (RST) every writer connection to the service, once or `every`.
    Reset,
    /// The fault proxy carries at most `bytes_per_second` each way, for `hold`.
    Bandwidth,
    /// The fault proxy lets a writer's catalog COMMIT through, swallows the reply and cuts the
    /// connection: the commit is durable, the writer gets an error.
    LostAck,
    /// The fault proxy holds each S3 PUT for `delay` before passing it on.
    SlowUpload,
    /// The fault proxy answers an S3 PUT with HTTP 503 (never passing it on) and closes.
    FailedUpload,
    /// The last remote worker to join (`run --coordinate`) cut off from every network its
    /// container is on (`docker network disconnect`), for the rest of the run: a pipeline
    /// host that drops off the network mid-transaction. Needs workers in Docker containers
    /// on this machine's engine (a container's host name is its id).
    DisconnectWorker,
}

// ---- the file as written: spans kept where validation needs to point at a line ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub run: Spanned<RawRun>,
    #[serde(default)]
    pub lake: Option<Spanned<RawLake>>,
    #[serde(default)]
    pub retry: RetrySpec,
    #[serde(default)]
    pub workload: Option<Spanned<RawTable>>,
    #[serde(default)]
    pub checks: ChecksSpec,
    #[serde(default)]
    pub nemesis: Vec<Spanned<RawNemesis>>,
    #[serde(default)]
    pub client: Option<Spanned<RawClient>>,
    #[serde(default)]
    pub actors: Vec<Spanned<RawTable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub cleanup: Option<Spanned<Cleanup>>,
    pub instance: Option<Spanned<InstanceMode>>,
    pub settings: Option<Spanned<std::collections::BTreeMap<String, toml::Value>>>,
    pub attach_options: Option<Spanned<std::collections::BTreeMap<String, toml::Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRun {
    pub writers: Spanned<u32>,
    #[serde(default)]
    pub mode: Option<Spanned<WriterMode>>,
    pub duration: Option<Spanned<String>>,
    pub commits_per_writer: Option<Spanned<u64>>,
    pub deadline: Option<Spanned<String>>,
    pub stall_after: Option<Spanned<String>>,
    pub rate: Option<Spanned<String>>,
    pub rate_total: Option<Spanned<String>>,
    pub think_time: Option<Spanned<String>>,
    pub rate_seed: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLake {
    pub catalog: Option<Spanned<String>>,
    pub data: Option<DataStore>,
    pub table: Option<Spanned<String>>,
    pub data_inlining_row_limit: Option<u64>,
    pub table_data_inlining_row_limit: Option<u64>,
    pub extensions: Option<Spanned<std::collections::BTreeMap<String, String>>>,
}

/// A table whose keys depend on a `kind` (`[workload]`, `[[actors]]`): each key and the
/// span of its value; what they mean is read again by whoever takes them (`workload::Keys`).
pub(crate) type RawTable = std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNemesis {
    pub kind: NemesisKind,
    pub table: Option<Spanned<String>>,
    pub after: Option<Spanned<String>>,
    pub hold: Option<Spanned<String>>,
    pub every: Option<Spanned<String>>,
    pub during: Option<Spanned<FaultMoment>>,
    pub timeout: Option<Spanned<String>>,
    pub mode: Option<Spanned<RestartMode>>,
    /// `service` is the same key, as the proxy faults' documentation names it.
    #[serde(alias = "service")]
    pub target: Option<Spanned<LatencyTarget>>,
    pub delay: Option<Spanned<String>>,
    pub jitter: Option<Spanned<String>>,
    pub restart: Option<Spanned<bool>>,
    pub mechanism: Option<Spanned<LatencyMechanism>>,
    pub count: Option<Spanned<u64>>,
    pub fraction: Option<Spanned<f64>>,
    pub writer: Option<Spanned<u32>>,
    pub bytes_per_second: Option<Spanned<u64>>,
}

impl DuckLakeRetry {
    /// How long one COMMIT can spend in DuckLake's retry waits before it gives up.
    pub fn longest_wait(&self) -> Duration {
        let ms: f64 = (0..self.max_retry_count.min(1000))
            .map(|i| self.retry_wait_ms as f64 * self.retry_backoff.powi(i as i32))
            .sum();
        Duration::from_millis(ms.min(3_600_000.0) as u64)
    }
}

impl Default for DuckLakeRetry {
    fn default() -> Self {
        DuckLakeRetry {
            max_retry_count: defaults::ducklake_max_retry_count(),
            retry_wait_ms: defaults::ducklake_retry_wait_ms(),
            retry_backoff: defaults::ducklake_retry_backoff(),
        }
    }
}

impl Default for HarnessRetry {
    fn default() -> Self {
        HarnessRetry {
            max_attempts: defaults::harness_max_attempts(),
            base_wait_ms: defaults::harness_base_wait_ms(),
            backoff: defaults::harness_backoff(),
            jitter: true,
        }
    }
}

impl Default for ChecksSpec {
    fn default() -> Self {
        ChecksSpec {
            max_failed_commits: Some(0),
            max_indeterminate_commits: Some(0),
            max_orphan_files: None,
            max_catalog_rollbacks: None,
            max_leaked_sessions: None,
            table_stats: TableStatsMode::Exact,
            max_writer_crashes: Some(0),
            known_findings: KnownFindingsMode::Known,
        }
    }
}

mod defaults {
    // DuckLake's documented defaults: 10 attempts, 100 ms apart, growing by 1.5x.
    pub fn ducklake_max_retry_count() -> u64 {
        10
    }
    pub fn ducklake_retry_wait_ms() -> u64 {
        100
    }
    pub fn ducklake_retry_backoff() -> f64 {
        1.5
    }
    pub fn harness_max_attempts() -> u32 {
        3
    }
    pub fn harness_base_wait_ms() -> u64 {
        50
    }
    pub fn harness_backoff() -> f64 {
        2.0
    }
    pub fn yes() -> bool {
        true
    }
    pub fn zero() -> Option<u64> {
        Some(0)
    }
    pub fn stall_after() -> std::time::Duration {
        std::time::Duration::from_secs(16)
    }
}

/// Durations are written to the report as milliseconds, which every consumer can read.
pub(crate) mod humantime_serde_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

pub(crate) mod option_humantime_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_millis() as u64),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

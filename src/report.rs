//! The report of one run, as written to report.json (schema_version 2). Everything a
//! person or CI needs to judge the run, with secrets masked; it reads back with serde, so
//! later runs can be merged and compared (the latency histograms travel raw).

use crate::checker::CheckResult;
use crate::environment::EnvFile;
pub use crate::lake::extensions::ExtensionInfo;
use crate::metrics::{ErrorCount, Fairness, Latencies, Second, Totals, WriterFigures};
use crate::monitor::diagnosis::Diagnosis;
use crate::monitor::pg_watch::WatchSummary;
use crate::nemesis::NemesisLog;
use crate::scenario::Scenario;
use crate::verdict::{Threshold, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub run_id: String,
    pub scenario_file: String,
    /// `--set key=value` given on the command line; `scenario` below has them applied.
    #[serde(default)]
    pub overrides: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    /// From the start of `run` until the writers started writing: the environment, the
    /// lake's table, extensions and ATTACH of every writer. The deadline covers it too.
    pub setup_seconds: f64,
    /// The measured window: from the moment every writer was ready (they start together)
    /// until the planned stop (timed runs) or the last writer's end (counted runs). The
    /// run clock (history, timeline, faults) starts at its beginning.
    pub run_seconds: f64,
    /// After the window, until every writer had finished its last transaction.
    pub drain_seconds: f64,
    pub scenario: Scenario,
    pub environment: EnvironmentInfo,
    pub versions: Versions,
    pub totals: Totals,
    pub latency_ms: Latencies,
    pub fairness: Fairness,
    /// `run.rate` / `run.think_time`: the pace asked for and kept, the schedule lag, and
    /// latency from each transaction's due time (absent when writers ran back to back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<crate::metrics::pacing::PacingSummary>,
    pub writers: Vec<WriterFigures>,
    pub errors: BTreeMap<String, ErrorCount>,
    pub timeline: Vec<Second>,
    pub postgres: WatchSummary,
    pub nemesis: Vec<NemesisLog>,
    /// Writer processes that died without being asked to (mode = "process").
    pub crashes: Vec<crate::fleet::WriterCrash>,
    /// The writers' process ids, in writer order (mode = "process").
    pub writer_pids: Vec<i32>,
    pub history: HistoryInfo,
    /// The catalog snapshots the run's commits made, joined by their tags.
    pub snapshots: SnapshotRange,
    pub checks: Vec<CheckResult>,
    /// How the checks relate to the way the run ended (e.g. run after a hang).
    pub checks_note: Option<String>,
    /// Known upstream findings this scenario shows in every run that this run did not
    /// show ("fixed?"); see `findings/known.toml`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_not_seen: Vec<String>,
    pub thresholds: Vec<Threshold>,
    pub diagnosis: Option<Diagnosis>,
    /// Stretches in which no transaction completed for `run.stall_after`, each diagnosed
    /// when it was noticed.
    pub stalls: Vec<crate::monitor::diagnosis::Stall>,
    /// `client.cleanup = "always_rollback"`: the ROLLBACKs after COMMIT and DuckDB's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<crate::history::cleanup::CleanupSummary>,
    /// `run --coordinate`: every remote worker, its writers' figures, and whether it was lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_workers: Vec<crate::fleet::RemoteWorker>,
    /// Connections to the coordinator that were refused (wrong token, one worker too many).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub workers_refused: u64,
    pub verdict: Verdict,
    pub verdict_reason: String,
    pub exit_code: i32,
    pub harness: HarnessUsage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "ducklake-stress".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    pub kind: String,
    /// Connection details with passwords masked.
    pub endpoints: EnvFile,
    pub startup_ms: u64,
    pub extension_dir: String,
    pub kept_scratch_dir: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Versions {
    pub duckdb: String,
    pub ducklake: String,
    pub postgres: String,
    pub s3_server: String,
    /// Each extension the lake loaded, from which file, with its hash.
    #[serde(default)]
    pub extensions: Vec<ExtensionInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SnapshotRange {
    pub count: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

/// Where the run's history is, and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct HistoryInfo {
    pub file: String,
    pub entries: u64,
    /// Entries that could not be written (a full disk): the history is then incomplete.
    pub write_errors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct HarnessUsage {
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
    /// Writer processes (mode = "process"): their CPU in all, and the largest one's peak RSS.
    pub children_cpu_seconds: f64,
    pub children_peak_rss_mb: f64,
    pub env_startup_ms: u64,
    /// CPU and memory include the writers' DuckDB instances, which run in this process.
    pub note: String,
}

impl HarnessUsage {
    pub fn measure(env_startup_ms: u64) -> Self {
        use nix::sys::resource::{getrusage, UsageWho};
        let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else {
            return HarnessUsage::default();
        };
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        let children = getrusage(UsageWho::RUSAGE_CHILDREN).ok();
        HarnessUsage {
            cpu_seconds: secs(u.user_time()) + secs(u.system_time()),
            peak_rss_mb: u.max_rss() as f64 / 1024.0,
            children_cpu_seconds: children
                .map(|c| secs(c.user_time()) + secs(c.system_time()))
                .unwrap_or(0.0),
            children_peak_rss_mb: children.map(|c| c.max_rss() as f64 / 1024.0).unwrap_or(0.0),
            env_startup_ms,
            note: "this process (with the writer threads' DuckDB instances) and, apart, its writer processes; \
                children include the native services the harness started and waited for"
                .into(),
        }
    }
}

/// Reads a report.json back (for `check`, comparisons, tests).
pub fn read(path: &std::path::Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::error::bad_input(format!("{}: cannot read the report ({e}).", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        crate::error::bad_input(format!(
            "{}: not a report of this version of ducklake-stress ({e}).",
            path.display()
        ))
    })
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

//! The report of one run, as written to report.json (schema_version 1). Everything a
//! person or CI needs to judge the run, with secrets masked.

use crate::benchmark::metrics::{ErrorCount, LatencySummary, Second};
use crate::checker::CheckResult;
use crate::environment::EnvFile;
use crate::monitor::diagnosis::Diagnosis;
use crate::monitor::pg_watch::WatchSummary;
use crate::nemesis::NemesisLog;
use crate::scenario::Scenario;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Hang,
    Interrupted,
    Error,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        use crate::error::exit_code::*;
        match self {
            Verdict::Pass => PASS,
            Verdict::Fail => CHECK_FAILED,
            Verdict::Hang => HANG,
            Verdict::Interrupted => INTERRUPTED,
            Verdict::Error => ENVIRONMENT,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub run_id: String,
    pub scenario_file: String,
    pub started_at: String,
    pub finished_at: String,
    /// The measured window: from the moment every writer was ready (they start together,
    /// after loading extensions and attaching) until writing ended.
    pub run_seconds: f64,
    /// Where the measured window starts on the timeline, whose seconds count from the
    /// start of writer set-up.
    pub measured_from_second: f64,
    pub scenario: Scenario,
    pub environment: EnvironmentInfo,
    pub versions: Versions,
    pub totals: Totals,
    pub latency_ms: Latencies,
    pub writers: Vec<WriterReport>,
    pub errors: BTreeMap<String, ErrorCount>,
    pub timeline: Vec<Second>,
    pub postgres: WatchSummary,
    pub nemesis: Vec<NemesisLog>,
    pub checks: Vec<CheckResult>,
    pub thresholds: Vec<Threshold>,
    pub diagnosis: Option<Diagnosis>,
    pub verdict: Verdict,
    pub verdict_reason: String,
    pub exit_code: i32,
    pub harness: HarnessUsage,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentInfo {
    pub kind: &'static str,
    /// Connection details with passwords masked.
    pub endpoints: EnvFile,
    pub startup_ms: u64,
    pub extension_dir: String,
    pub kept_scratch_dir: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Versions {
    pub duckdb: String,
    pub ducklake: String,
    pub postgres: String,
    pub s3_server: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Totals {
    pub transactions: u64,
    pub commits: u64,
    pub failed: u64,
    pub indeterminate: u64,
    pub attempts: u64,
    pub harness_retries: u64,
    /// pg_stat_database.xact_rollback delta of the catalog database.
    pub catalog_rollbacks: Option<u64>,
    pub rows_committed: u64,
    pub commits_per_second: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Latencies {
    /// Each successful COMMIT statement.
    pub commit: LatencySummary,
    /// Whole committed transactions, retries included.
    pub transaction: LatencySummary,
    /// COMMIT statements that failed, until they failed (DuckLake's retries included).
    pub failed_commit: LatencySummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct WriterReport {
    pub writer: u32,
    pub commits: u64,
    pub failed: u64,
    pub indeterminate: u64,
    pub attempts: u64,
    pub harness_retries: u64,
    pub rows_committed: u64,
    pub setup_ms: Option<u64>,
    pub setup_error: Option<String>,
    pub latency_ms: Latencies,
    pub errors: BTreeMap<String, ErrorCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Threshold {
    pub name: &'static str,
    pub limit: u64,
    pub actual: u64,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct HarnessUsage {
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
    pub env_startup_ms: u64,
    /// CPU and memory include the writers' DuckDB instances, which run in this process.
    pub note: &'static str,
}

impl HarnessUsage {
    pub fn measure(env_startup_ms: u64) -> Self {
        use nix::sys::resource::{getrusage, UsageWho};
        let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else { return HarnessUsage::default() };
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        HarnessUsage {
            cpu_seconds: secs(u.user_time()) + secs(u.system_time()),
            peak_rss_mb: u.max_rss() as f64 / 1024.0,
            env_startup_ms,
            note: "process totals, including the writers' DuckDB instances and the harness's own threads",
        }
    }
}

//! Turns what a run measured into a [`Report`]: totals, per-writer summaries, thresholds
//! and the verdict with its reason.

use super::metrics::{ErrorCount, LatencySummary, Outcome, Second, WriterMetrics};
use crate::checker::CheckResult;
use crate::client::ErrorClass;
use crate::environment::Environment;
use crate::monitor::diagnosis::Diagnosis;
use crate::monitor::pg_watch::WatchSummary;
use crate::nemesis::NemesisLog;
use crate::report::*;
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::time::SystemTime;

pub struct Pieces<'a> {
    pub run_id: String,
    pub scenario_file: String,
    pub started_at: SystemTime,
    pub run_seconds: f64,
    pub measured_from_second: f64,
    pub scenario: Scenario,
    pub env: &'a Environment,
    pub extension_dir: String,
    pub kept_scratch: Option<String>,
    pub versions: Versions,
    pub writers: &'a [WriterMetrics],
    pub total: &'a WriterMetrics,
    pub rollbacks: Option<u64>,
    pub timeline: Vec<Second>,
    pub postgres: WatchSummary,
    pub nemesis: Vec<NemesisLog>,
    pub checks: Vec<CheckResult>,
    pub diagnosis: Option<Diagnosis>,
    /// Hang, interrupted or error: decided by how the run ended, not by the checks.
    pub forced_verdict: Option<Verdict>,
    pub setup_errors: Vec<String>,
}

fn errors_by_name(e: &BTreeMap<ErrorClass, ErrorCount>) -> BTreeMap<String, ErrorCount> {
    e.iter().map(|(k, v)| (k.name().to_string(), v.clone())).collect()
}

fn latencies(m: &WriterMetrics) -> Latencies {
    Latencies {
        commit: LatencySummary::of(&m.commit_latency),
        transaction: LatencySummary::of(&m.txn_latency),
        failed_commit: LatencySummary::of(&m.failed_commit_latency),
    }
}

pub fn totals(total: &WriterMetrics, rollbacks: Option<u64>, run_seconds: f64) -> Totals {
    let commits = total.count(Outcome::Committed);
    Totals {
        transactions: total.ledger.len() as u64,
        commits,
        failed: total.count(Outcome::Failed),
        indeterminate: total.count(Outcome::Indeterminate),
        attempts: total.attempts,
        harness_retries: total.retries,
        catalog_rollbacks: rollbacks,
        rows_committed: total.rows_committed(),
        commits_per_second: if run_seconds > 0.0 { commits as f64 / run_seconds } else { 0.0 },
    }
}

pub fn thresholds(scenario: &Scenario, t: &Totals) -> Vec<Threshold> {
    let c = &scenario.checks;
    [("max_failed_commits", c.max_failed_commits, t.failed), ("max_indeterminate_commits", c.max_indeterminate_commits, t.indeterminate)]
        .into_iter()
        .filter_map(|(name, limit, actual)| limit.map(|limit| Threshold { name, limit, actual, passed: actual <= limit }))
        .collect()
}

pub fn report(p: Pieces) -> Report {
    let totals = totals(p.total, p.rollbacks, p.run_seconds);
    let thresholds = thresholds(&p.scenario, &totals);
    let failed_checks: Vec<&str> = p.checks.iter().filter(|c| c.failed()).map(|c| c.name).collect();
    let failed_thresholds: Vec<String> = thresholds.iter().filter(|t| !t.passed).map(|t| format!("{} ({} > {})", t.name, t.actual, t.limit)).collect();
    // A fault that never happened makes a passing run meaningless.
    let idle_nemeses: Vec<String> = p
        .nemesis
        .iter()
        .filter(|n| n.error.is_some() || n.started_at_seconds.is_none())
        .map(|n| format!("{} on {}: {}", n.kind, n.target, n.error.as_deref().unwrap_or("never started")))
        .collect();
    let (verdict, reason) = match p.forced_verdict {
        Some(Verdict::Hang) => (Verdict::Hang, p.diagnosis.as_ref().map(|d| d.summary.clone()).unwrap_or_else(|| "the deadline passed".into())),
        Some(Verdict::Interrupted) => (Verdict::Interrupted, "interrupted by Ctrl-C or SIGTERM; the report holds what was measured until then".into()),
        Some(Verdict::Error) => (Verdict::Error, format!("writers could not start: {}", p.setup_errors.join("; "))),
        _ if failed_checks.is_empty() && failed_thresholds.is_empty() && idle_nemeses.is_empty() => {
            (Verdict::Pass, "all checks and thresholds passed".into())
        }
        _ => {
            let mut why = Vec::new();
            if !failed_checks.is_empty() {
                why.push(format!("checks failed: {}", failed_checks.join(", ")));
            }
            if !failed_thresholds.is_empty() {
                why.push(format!("thresholds exceeded: {}", failed_thresholds.join(", ")));
            }
            if !idle_nemeses.is_empty() {
                why.push(format!("faults did not happen: {}", idle_nemeses.join("; ")));
            }
            (Verdict::Fail, why.join("; "))
        }
    };
    let writers = p
        .writers
        .iter()
        .enumerate()
        .map(|(i, m)| WriterReport {
            writer: i as u32,
            commits: m.count(Outcome::Committed),
            failed: m.count(Outcome::Failed),
            indeterminate: m.count(Outcome::Indeterminate),
            attempts: m.attempts,
            harness_retries: m.retries,
            rows_committed: m.rows_committed(),
            setup_ms: m.setup.map(|d| d.as_millis() as u64),
            setup_error: m.setup_error.clone(),
            latency_ms: latencies(m),
            errors: errors_by_name(&m.errors),
        })
        .collect();
    let startup_ms = p.env.startup.as_millis() as u64;
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo { name: "ducklake-stress", version: env!("CARGO_PKG_VERSION") },
        run_id: p.run_id,
        scenario_file: p.scenario_file,
        started_at: humantime::format_rfc3339_millis(p.started_at).to_string(),
        finished_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        run_seconds: p.run_seconds,
        measured_from_second: p.measured_from_second,
        scenario: p.scenario,
        environment: EnvironmentInfo {
            kind: match (&p.env.native, &p.env.containers) {
                (Some(_), _) => "native",
                (None, Some(_)) => "docker",
                (None, None) => "existing",
            },
            endpoints: p.env.endpoints.masked(),
            startup_ms,
            extension_dir: p.extension_dir,
            kept_scratch_dir: p.kept_scratch,
        },
        versions: p.versions,
        totals,
        latency_ms: latencies(p.total),
        writers,
        errors: errors_by_name(&p.total.errors),
        timeline: p.timeline,
        postgres: p.postgres,
        nemesis: p.nemesis,
        checks: p.checks,
        thresholds,
        diagnosis: p.diagnosis,
        exit_code: verdict.exit_code(),
        verdict,
        verdict_reason: reason,
        harness: HarnessUsage::measure(startup_ms),
    }
}

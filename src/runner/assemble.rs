//! Turns what a run produced into a [`Report`]: the history folded and measured, the
//! checks, the thresholds and the verdict with its reason.

use super::writers::Writing;
use crate::checker::{CheckResult, RunRecord};
use crate::environment::Environment;
use crate::fleet::WriterShared;
use crate::history::{transaction, Event};
use crate::metrics::{summary, timeline};
use crate::monitor::pg_watch::WatchSummary;
use crate::report::*;
use crate::scenario::Scenario;
use crate::verdict::{self, Circumstances};
use std::time::SystemTime;

pub struct Pieces<'a> {
    pub run_id: String,
    pub scenario_file: String,
    pub started_at: SystemTime,
    pub setup_seconds: f64,
    pub scenario: Scenario,
    pub env: &'a Environment,
    pub extension_dir: String,
    pub kept_scratch: Option<String>,
    pub versions: Versions,
    pub shared: &'a WriterShared,
    pub events: &'a [Event],
    pub record: &'a RunRecord,
    pub writing: Writing,
    pub postgres: WatchSummary,
    pub checks: Vec<CheckResult>,
    pub checks_note: Option<String>,
    pub history_file: String,
    pub history_write_errors: u64,
}

pub fn report(p: Pieces) -> Report {
    let txns = transaction::fold(p.events);
    let mut measured = summary::summarize(&txns, p.scenario.run.writers, p.writing.window);
    measured.totals.catalog_rollbacks = p.record.catalog_rollbacks_before.zip(p.record.catalog_rollbacks_after).filter(|_| p.record.catalog_rollbacks_untrusted.is_none()).map(|(b, a)| (a - b).max(0) as u64);
    let mut setup_errors = Vec::new();
    for (figures, slot) in measured.writers.iter_mut().zip(&p.shared.writers) {
        let setup = slot.setup().clone();
        figures.setup_ms = setup.took.map(|d| d.as_millis() as u64);
        if let Some(e) = &setup.error {
            setup_errors.push(format!("w{}: {e}", figures.writer));
        }
        figures.setup_error = setup.error;
    }
    let killed: Vec<i32> = p.writing.nemesis.iter().flat_map(|n| n.killed_pids.iter().copied()).collect();
    let mut crashes = p.writing.crashes;
    for c in &mut crashes {
        c.expected = killed.contains(&c.pid);
    }
    let unexpected = crashes.iter().filter(|c| !c.expected).count() as u64;
    let thresholds = verdict::thresholds(&p.scenario.checks, &measured.totals, unexpected, &p.checks);
    // A fault that never happened makes a passing run meaningless.
    let idle_nemeses = if p.writing.started {
        p.writing.nemesis.iter().filter_map(|n| n.idle_reason().map(|why| format!("{} on {}: {why}", n.kind, n.target))).collect()
    } else {
        Vec::new()
    };
    let circumstances = Circumstances { ending: p.writing.ending, diagnosis: p.writing.diagnosis.as_ref().map(|d| d.summary.as_str()), setup_errors: &setup_errors, idle_nemeses };
    let (verdict, verdict_reason) = verdict::decide(&circumstances, &p.checks, &thresholds);
    let startup_ms = p.env.startup.as_millis() as u64;
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::default(),
        run_id: p.run_id,
        scenario_file: p.scenario_file,
        started_at: humantime::format_rfc3339_millis(p.started_at).to_string(),
        finished_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        setup_seconds: p.setup_seconds,
        run_seconds: p.writing.window.end,
        drain_seconds: measured.totals.drain_seconds,
        scenario: p.scenario,
        environment: EnvironmentInfo {
            kind: match (&p.env.native, &p.env.containers) {
                (Some(_), _) => "native",
                (None, Some(_)) => "docker",
                (None, None) => "existing",
            }
            .into(),
            endpoints: p.env.endpoints.masked(),
            startup_ms,
            extension_dir: p.extension_dir,
            kept_scratch_dir: p.kept_scratch,
        },
        versions: p.versions,
        totals: measured.totals,
        latency_ms: measured.latency_ms,
        fairness: measured.fairness,
        writers: measured.writers,
        errors: measured.errors,
        timeline: timeline::build(&txns, &p.shared.lock_samples.all(), &stall_spans(&p.writing.stalls, p.writing.window.writers_done)),
        postgres: p.postgres,
        nemesis: p.writing.nemesis,
        crashes,
        writer_pids: p.writing.pids,
        history: HistoryInfo { file: p.history_file, entries: p.events.len() as u64, write_errors: p.history_write_errors },
        snapshots: snapshot_range(&txns),
        checks: p.checks,
        checks_note: p.checks_note,
        thresholds,
        diagnosis: p.writing.diagnosis,
        stalls: p.writing.stalls,
        exit_code: verdict.exit_code(),
        verdict,
        verdict_reason,
        harness: HarnessUsage::measure(startup_ms),
    }
}

fn snapshot_range(txns: &[crate::history::Txn]) -> SnapshotRange {
    let ids: Vec<i64> = txns.iter().filter_map(|t| t.snapshot_id).collect();
    SnapshotRange { count: ids.len() as u64, first: ids.iter().min().copied(), last: ids.iter().max().copied() }
}

fn stall_spans(stalls: &[crate::monitor::diagnosis::Stall], end: f64) -> Vec<(f64, f64)> {
    stalls.iter().map(|s| (s.from, s.until.unwrap_or(end))).collect()
}

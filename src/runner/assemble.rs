//! Turns what a run produced into a [`Report`]: the history folded and measured, the
//! checks, the thresholds and the verdict with its reason.

use super::writers::Writing;
use crate::checker::{CheckResult, RunRecord};
use crate::environment::Environment;
use crate::fleet::{WriterCrash, WriterShared};
use crate::history::error_class::classify;
use crate::history::{transaction, ErrorClass, Event};
use crate::metrics::{summary, timeline};
use crate::monitor::pg_watch::WatchSummary;
use crate::nemesis::NemesisLog;
use crate::report::*;
use crate::scenario::Scenario;
use crate::verdict::{self, Circumstances};
use std::time::SystemTime;

pub struct Pieces<'a> {
    pub run_id: String,
    pub scenario_file: String,
    pub overrides: Vec<String>,
    pub started_at: SystemTime,
    pub setup_seconds: f64,
    pub scenario: Scenario,
    pub env: &'a Environment,
    pub extension_dir: String,
    pub kept_scratch: Option<String>,
    pub versions: Versions,
    pub shared: &'a WriterShared,
    pub events: &'a [Event],
    /// The history folded (once, by the runner).
    pub txns: &'a [transaction::Txn],
    pub record: &'a RunRecord,
    pub writing: Writing,
    pub postgres: WatchSummary,
    pub checks: Vec<CheckResult>,
    pub checks_note: Option<String>,
    pub history_file: String,
    pub history_write_errors: u64,
    /// The conflicts' table ids named from the catalog after the run.
    pub conflict_names: crate::metrics::conflicts::CatalogNames,
}

pub fn report(mut p: Pieces) -> Report {
    let known_not_seen = known_findings(&mut p);
    let txns = p.txns;
    let (measured, setup) = measure(&p);
    let crashes = mark_expected_crashes(std::mem::take(&mut p.writing.crashes), &p.writing.nemesis);
    let unexpected = crashes.iter().filter(|c| !c.expected).count() as u64;
    let thresholds = verdict::thresholds(&p.scenario.checks, &measured.totals, unexpected, &p.checks);
    let (verdict, verdict_reason) = decide(&p, &setup, &thresholds);
    let startup_ms = p.env.startup.as_millis() as u64;
    let pacing = crate::metrics::pacing::summarize(txns, &p.scenario, p.writing.window);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::default(),
        run_id: p.run_id,
        scenario_file: p.scenario_file,
        overrides: p.overrides,
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
        pacing,
        writers: measured.writers.clone(),
        errors: measured.errors,
        timeline: timeline::build(
            txns,
            &p.shared.lock_samples.all(),
            &stall_spans(&p.writing.stalls, p.writing.window.writers_done),
        ),
        postgres: p.postgres,
        nemesis: p.writing.nemesis,
        crashes,
        writer_pids: p.writing.pids,
        history: HistoryInfo {
            file: p.history_file,
            entries: p.events.len() as u64,
            write_errors: p.history_write_errors,
        },
        snapshots: snapshot_range(txns),
        checks: p.checks,
        checks_note: p.checks_note,
        known_not_seen,
        thresholds,
        diagnosis: p.writing.diagnosis,
        stalls: p.writing.stalls,
        cleanup: crate::history::cleanup::summarize(p.events),
        remote_workers: per_worker(p.writing.remote_workers, &measured.writers),
        workers_refused: p.writing.workers_refused,
        exit_code: verdict.exit_code(),
        verdict,
        verdict_reason,
        harness: HarnessUsage::measure(startup_ms),
    }
}

/// The history's figures, with the catalog's rollback count, set-up errors noted per
/// writer and each conflict attributed to its tables.
fn measure(p: &Pieces) -> (summary::Summary, SetupErrors) {
    let mut measured = summary::summarize(p.txns, p.scenario.run.writers, p.writing.window);
    measured.totals.catalog_rollbacks = p
        .record
        .catalog_rollbacks_before
        .zip(p.record.catalog_rollbacks_after)
        .filter(|_| p.record.catalog_rollbacks_untrusted.is_none())
        .map(|(b, a)| (a - b).max(0) as u64);
    let setup = note_setup_errors(&mut measured, p.shared, &p.writing.pids);
    let all_errors = measured
        .writers
        .iter_mut()
        .map(|w| &mut w.errors)
        .chain([&mut measured.errors]);
    for e in all_errors.flat_map(|errors| errors.values_mut()) {
        crate::metrics::conflicts::attribute(&mut e.conflicts, &p.conflict_names, &p.scenario);
    }
    (measured, setup)
}

/// Writer processes a fault killed on purpose are expected deaths, not crashes.
fn mark_expected_crashes(mut crashes: Vec<WriterCrash>, nemesis: &[NemesisLog]) -> Vec<WriterCrash> {
    let killed: Vec<i32> = nemesis.iter().flat_map(|n| n.killed_pids.iter().copied()).collect();
    for c in &mut crashes {
        // A worker cut off by a fault marked its writers' ends expected already.
        c.expected = c.expected || killed.contains(&c.pid);
    }
    crashes
}

/// The verdict and its reason, from how the run ended, the checks and the thresholds.
fn decide(
    p: &Pieces,
    setup: &SetupErrors,
    thresholds: &[crate::verdict::Threshold],
) -> (crate::verdict::Verdict, String) {
    // A fault that never happened makes a passing run meaningless.
    let idle_nemeses = if p.writing.started {
        p.writing
            .nemesis
            .iter()
            .filter_map(|n| n.idle_reason().map(|why| format!("{} on {}: {why}", n.kind, n.target)))
            .collect()
    } else {
        Vec::new()
    };
    let circumstances = Circumstances {
        ending: p.writing.ending,
        diagnosis: p.writing.diagnosis.as_ref().map(|d| d.summary.as_str()),
        setup_errors: &setup.errors,
        setup_failure_is_finding: setup.lock_among_writers,
        idle_nemeses,
    };
    verdict::decide(&circumstances, &p.checks, thresholds)
}

/// Marks the check results a known upstream finding explains (before the verdict weighs
/// them) and returns the notes on findings this scenario should have shown.
fn known_findings(p: &mut Pieces) -> Vec<String> {
    let word = |v: serde_json::Result<serde_json::Value>| {
        v.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    };
    let kind = word(serde_json::to_value(p.record.workload_kind()));
    let mut workloads = vec![kind.clone()];
    if kind == "upsert" {
        // The registry tells the upsert's two statements apart ("upsert:merge"): a finding of
        // DELETE + INSERT need not be MERGE's.
        let statement = p
            .scenario
            .workload
            .upsert
            .as_ref()
            .map(|u| u.statement)
            .unwrap_or_default();
        workloads.push(format!("upsert:{}", word(serde_json::to_value(statement))));
    }
    let run = crate::findings::RunTraits {
        scenario: &p.scenario.name,
        workloads,
        ducklake: &p.versions.ducklake,
        duckdb: &p.versions.duckdb,
    };
    crate::findings::apply(&mut p.checks, &run, p.scenario.checks.known_findings)
}

/// The writers' set-up failures: in their figures, in the errors by class, and whether
/// they are a finding about the lake rather than a broken environment.
struct SetupErrors {
    /// "w<N>: message", for the verdict's reason.
    errors: Vec<String>,
    /// Every failure is a DuckDB catalog file locked by another writer of this very run
    /// (DuckDB names the holder's pid): the catalog admits fewer writers than the scenario.
    lock_among_writers: bool,
}

fn note_setup_errors(measured: &mut summary::Summary, shared: &WriterShared, pids: &[i32]) -> SetupErrors {
    let mut errors = Vec::new();
    let mut lock_among_writers = true;
    for (figures, slot) in measured.writers.iter_mut().zip(&shared.writers) {
        let setup = slot.setup().clone();
        figures.setup_ms = setup.took.map(|d| d.as_millis() as u64);
        if let Some(e) = &setup.error {
            errors.push(format!("w{}: {e}", figures.writer));
            let class = classify(e);
            summary::note_error(&mut figures.errors, class, e);
            summary::note_error(&mut measured.errors, class, e);
            lock_among_writers &=
                class == ErrorClass::CatalogFileLock && lock_holder(e).is_some_and(|pid| pids.contains(&pid));
        }
        figures.setup_error = setup.error;
    }
    SetupErrors {
        lock_among_writers: lock_among_writers && !errors.is_empty(),
        errors,
    }
}

/// The pid in DuckDB's "Conflicting lock is held in <program> (PID <n>)".
fn lock_holder(message: &str) -> Option<i32> {
    let rest = &message[message.find("(PID ")? + 5..];
    rest[..rest.find(')')?].trim().parse().ok()
}

fn snapshot_range(txns: &[crate::history::Txn]) -> SnapshotRange {
    let ids: Vec<i64> = txns.iter().filter_map(|t| t.snapshot_id).collect();
    SnapshotRange {
        count: ids.len() as u64,
        first: ids.iter().min().copied(),
        last: ids.iter().max().copied(),
    }
}

fn stall_spans(stalls: &[crate::monitor::diagnosis::Stall], end: f64) -> Vec<(f64, f64)> {
    stalls.iter().map(|s| (s.from, s.until.unwrap_or(end))).collect()
}

/// Each remote worker with the sums of its writers' figures.
fn per_worker(
    mut workers: Vec<crate::fleet::RemoteWorker>,
    writers: &[summary::WriterFigures],
) -> Vec<crate::fleet::RemoteWorker> {
    for w in &mut workers {
        let mine = writers
            .iter()
            .filter(|f| (w.first_writer..w.first_writer + w.writers).contains(&f.writer));
        for f in mine {
            w.commits += f.counts.commits;
            w.failed += f.counts.failed;
            w.indeterminate += f.counts.indeterminate;
        }
    }
    workers
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lock_holder_is_read_from_duckdbs_message() {
        // Verbatim from DuckDB 1.5.5 (the path shortened).
        let m = "IO Error: Failed to attach DuckLake MetaData \"__ducklake_metadata_lake\" at path + \
            \"/tmp/d/catalog.ducklake\"Could not set lock on file \"/tmp/d/catalog.ducklake\": Conflicting lock is \
            held in /root/dls-target-catalogs/release/ducklake-stress (PID 21385). See also \
            https://duckdb.org/docs/stable/connect/concurrency";
        assert_eq!(super::lock_holder(m), Some(21385));
        assert_eq!(super::lock_holder("IO Error: Could not set lock on file"), None);
    }
}

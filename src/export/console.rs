//! summary.txt: the console summary table, also printed at the end of a run.

use super::Exporter;
pub use crate::checker::status_word;
use crate::metrics::LatencySummary;
use crate::report::Report;
use std::fmt::Write;

pub struct ConsoleExporter;

impl Exporter for ConsoleExporter {
    fn file_name(&self) -> &'static str {
        "summary.txt"
    }

    fn render(&self, report: &Report) -> anyhow::Result<Vec<u8>> {
        Ok(render(report).into_bytes())
    }
}

fn latency_row(out: &mut String, name: &str, l: &LatencySummary) {
    let _ = writeln!(
        out,
        "  {name:<13}{:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        l.count, l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    );
}

/// The whole summary, also printed at the end of a run.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    header(&mut o, r);
    latencies(&mut o, r);
    totals(&mut o, r);
    for line in r.pacing.iter().flat_map(|p| p.lines()) {
        let _ = writeln!(o, "  {line}");
    }
    events(&mut o, r);
    judgement(&mut o, r);
    o
}

/// Scenario, run, times, environment and versions.
fn header(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "ducklake-stress {} | scenario {} | run {} | {} writers ({:?}) | set-up {:.1} s | measured {:.1} s (+{:.1} s \
            drain)",
        r.tool.version,
        r.scenario.name,
        r.run_id,
        r.scenario.run.writers,
        r.scenario.run.mode,
        r.setup_seconds,
        r.run_seconds,
        r.drain_seconds
    );
    let _ = writeln!(
        o,
        "environment: {} (up in {:.1} s) | DuckDB {} | ducklake {} | catalog: {} | S3: {}",
        r.environment.kind,
        r.environment.startup_ms as f64 / 1000.0,
        r.versions.duckdb,
        r.versions.ducklake,
        catalog(r),
        r.versions.s3_server
    );
}

/// The catalog the lake ran on: Postgres and its version, or the catalog file.
fn catalog(r: &Report) -> String {
    use crate::scenario::CatalogKind;
    let dir = r
        .environment
        .endpoints
        .catalog_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    match r.scenario.lake.catalog {
        CatalogKind::Postgres => format!("PostgreSQL {}", r.versions.postgres),
        CatalogKind::Sqlite => format!("SQLite file {dir}/catalog.sqlite"),
        CatalogKind::Duckdb => format!("DuckDB file {dir}/catalog.ducklake"),
    }
}

/// The latency table, rows for failures and unknown outcomes only when there were any.
fn latencies(o: &mut String, r: &Report) {
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  latency (ms)    count       p50       p90       p99     p99.9       max      mean"
    );
    let l = &r.latency_ms;
    latency_row(o, "commit", &l.commit);
    latency_row(o, "transaction", &l.transaction);
    for (name, h) in [
        ("failed commit", &l.failed_commit),
        ("unknown commit", &l.indeterminate_commit),
        ("failed txn", &l.failed_transaction),
    ] {
        if h.count > 0 {
            latency_row(o, name, h);
        }
    }
}

/// Counts, throughput, unknown outcomes, fairness, the catalog watch.
fn totals(o: &mut String, r: &Report) {
    let t = &r.totals;
    let c = &t.counts;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  transactions {} | committed {} | failed {} | indeterminate {} | attempts {} | harness retries {} | catalog \
            rollbacks {} | rows {} | {:.1} commits/s",
        c.transactions,
        c.commits,
        c.failed,
        c.indeterminate,
        c.attempts,
        c.harness_retries,
        t.catalog_rollbacks.map(|c| c.to_string()).unwrap_or("n/a".into()),
        super::rows_committed(r),
        t.commits_per_second
    );
    if t.drain_commits > 0 {
        let _ = writeln!(
            o,
            "  {} commits in the measured window, {} more in the {:.1} s drain tail",
            t.commits_in_window, t.drain_commits, t.drain_seconds
        );
    }
    if t.uncertain_attempts > 0 {
        let _ = writeln!(
            o,
            "  unknown commit outcomes {} | resolved from their tags: committed {}, absent {} | still unknown {}",
            t.uncertain_attempts, t.resolved_committed, t.resolved_absent, t.unresolved
        );
    }
    let f = &r.fairness;
    let _ = writeln!(
        o,
        "  fairness: commits per writer min {} / median {} / max {} | longest without a commit {:.1} s{}",
        f.commits_min,
        f.commits_median,
        f.commits_max,
        f.longest_without_commit_seconds,
        f.longest_without_commit_writer
            .map(|w| format!(" (w{w} from {:.1} s)", f.longest_without_commit_from))
            .unwrap_or_default()
    );
    if let Some(why) = &r.postgres.skipped {
        let _ = writeln!(o, "  postgres: not watched ({why})");
        return;
    }
    let _ = writeln!(
        o,
        "  postgres: lock waiters peak {} | longest lock wait {:.2} s | idle in transaction peak {} | sessions peak \
            {} | {} samples",
        r.postgres.peak_lock_waiters,
        r.postgres.longest_lock_wait_seconds,
        r.postgres.peak_idle_in_transaction,
        r.postgres.peak_sessions,
        r.postgres.samples
    );
}

/// Errors by class, faults, writer crashes, remote workers.
fn events(o: &mut String, r: &Report) {
    remote_workers(o, r);
    if !r.errors.is_empty() {
        let _ = writeln!(o, "\n  errors by class:");
        for (class, e) in &r.errors {
            // The whole message: DuckDB's prefix alone takes 80 characters before the cause.
            let _ = writeln!(
                o,
                "    {class:<24} {:>6}  e.g. {}",
                e.count,
                crate::history::event::one_line(&e.example)
            );
            for c in &e.conflicts {
                let _ = writeln!(o, "      {:>6} x {}", c.count, c.describe());
            }
        }
    }
    if !r.nemesis.is_empty() {
        let _ = writeln!(o, "\n  nemesis:");
        for n in &r.nemesis {
            let when = match (n.started_at_seconds, n.ended_at_seconds) {
                (Some(a), Some(b)) => format!("from {a:.1} s to {b:.1} s"),
                (Some(a), None) => format!("from {a:.1} s until the end"),
                _ => "never started".to_string(),
            };
            let error = n.error.as_ref().map(|e| format!(", error: {e}")).unwrap_or_default();
            let _ = writeln!(o, "    {} on {} {when}{}{error}", n.kind, n.target, nemesis_details(n));
        }
    }
    if !r.crashes.is_empty() {
        let _ = writeln!(o, "\n  writer crashes:");
        for c in &r.crashes {
            let how = c
                .signal
                .clone()
                .unwrap_or_else(|| format!("exit code {}", c.exit_code.map(|e| e.to_string()).unwrap_or("?".into())));
            let last = c
                .stderr_tail
                .last()
                .map(|l| format!(", last stderr: {l}"))
                .unwrap_or_default();
            let why = if c.expected { " (the fault's doing)" } else { "" };
            let _ = writeln!(
                o,
                "    w{} (pid {}) {how}{why} at {:.1} s in {:?}{last}",
                c.writer, c.pid, c.at, c.step
            );
        }
    }
}

/// `run --coordinate`: one line per worker, and what was refused.
fn remote_workers(o: &mut String, r: &Report) {
    if r.remote_workers.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n  remote workers ({} refused):", r.workers_refused);
    for w in &r.remote_workers {
        let lost = match (w.lost_at_seconds, &w.lost_reason) {
            (Some(at), Some(why)) => format!(
                ", LOST at {at:.1} s ({why}{}; {} catalog sessions fenced)",
                if w.expected_loss { ", the fault's doing" } else { "" },
                w.sessions_fenced
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "    worker {} {} ({}): w{}..w{}, {} commits, {} failed, {} unknown{lost}",
            w.index,
            w.host,
            w.peer,
            w.first_writer,
            w.first_writer + w.writers - 1,
            w.commits,
            w.failed,
            w.indeterminate
        );
    }
}

/// The known upstream findings the checks matched, and those this scenario did not show.
fn known_findings(o: &mut String, r: &Report) {
    let known = crate::findings::lines(&r.checks);
    if !known.is_empty() {
        let _ = writeln!(
            o,
            "\n  known upstream findings (reported, not failing; --strict fails them):"
        );
        for line in known {
            let _ = writeln!(o, "    {line}");
        }
    }
    for note in &r.known_not_seen {
        let _ = writeln!(o, "  {note}");
    }
}

/// Checks, thresholds, stalls, the diagnosis, the harness itself, the verdict.
fn judgement(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n  checks:{}",
        r.checks_note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
    );
    for c in r
        .checks
        .iter()
        .filter(|c| c.status != crate::checker::CheckStatus::Skipped)
    {
        let _ = writeln!(o, "    {:<5} {:<22} {}", status_word(c.status), c.name, c.summary);
    }
    if let Some(line) = crate::checker::not_applicable_line(&r.checks) {
        let _ = writeln!(o, "    SKIP  {line}");
    }
    known_findings(o, r);
    if !r.thresholds.is_empty() {
        let _ = writeln!(o, "\n  thresholds:");
        for th in &r.thresholds {
            let actual = th
                .actual
                .map(|a| a.to_string())
                .unwrap_or_else(|| "not measured".into());
            let note = th.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default();
            let _ = writeln!(
                o,
                "    {:<5} {:<26} {actual} (limit {}){note}",
                if th.passed { "PASS" } else { "FAIL" },
                th.name,
                th.limit
            );
        }
    }
    for st in &r.stalls {
        let until = st
            .until
            .map(|u| format!("until {u:.1} s"))
            .unwrap_or_else(|| "until the end".into());
        let _ = writeln!(o, "\n  stall from {:.1} s {until}: {}", st.from, st.diagnosis.summary);
    }
    if let Some(d) = &r.diagnosis {
        let _ = writeln!(o, "\n  diagnosis: {}", d.summary);
    }
    let _ = writeln!(
        o,
        "\n  harness: {:.1} CPU s, peak RSS {:.0} MB | history: {} ({} entries{})",
        r.harness.cpu_seconds,
        r.harness.peak_rss_mb,
        r.history.file,
        r.history.entries,
        if r.history.write_errors > 0 {
            format!(", {} NOT WRITTEN", r.history.write_errors)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "\nverdict: {} (exit {}) - {}",
        format!("{:?}", r.verdict).to_uppercase(),
        r.exit_code,
        r.verdict_reason
    );
}

/// What a fault did, beyond when: sessions ended, processes killed, restarts and downtime.
fn nemesis_details(n: &crate::nemesis::NemesisLog) -> String {
    let mut parts = Vec::new();
    if n.sessions_terminated > 0 {
        parts.push(format!("{} sessions terminated", n.sessions_terminated));
    }
    if !n.killed_pids.is_empty() {
        parts.push(format!("{} writer processes killed", n.killed_pids.len()));
    }
    if !n.restarted_pids.is_empty() {
        parts.push(format!("{} restarted", n.restarted_pids.len()));
    }
    if !n.restarts.is_empty() {
        let downs: Vec<String> = n
            .restarts
            .iter()
            .map(|r| match r.ready_at_seconds {
                Some(up) => format!("{:.1} s at {:.1} s", up - r.stopped_at_seconds, r.stopped_at_seconds),
                None => format!("not back after {:.1} s", r.stopped_at_seconds),
            })
            .collect();
        parts.push(format!("{} restarts, down {}", n.restarts.len(), downs.join(", ")));
    }
    if let Some(rule) = &n.rule {
        parts.push(rule.clone());
    }
    parts.extend(n.mechanism_summary());
    parts.iter().map(|p| format!(", {p}")).collect()
}

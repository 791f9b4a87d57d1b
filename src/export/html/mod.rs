//! report.html: one self-contained page per run (inline CSS and SVG, no script, no fonts,
//! nothing fetched), so it opens offline, from a CI artifact or a mail attachment. The
//! charts come from `charts`, which takes plain series so sweeps and comparisons reuse it.

pub mod campaign;
pub mod charts;

use super::Exporter;
use crate::checker::{status_word, CheckStatus};
use crate::metrics::LatencySummary;
use crate::report::Report;
use crate::verdict::Verdict;
use charts::{Band, BandKind, Series, TimeChart};
use std::fmt::Write;

pub struct HtmlExporter;

impl Exporter for HtmlExporter {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn render(&self, report: &Report) -> anyhow::Result<Vec<u8>> {
        Ok(render(report).into_bytes())
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The page's style, shared with the sweep and comparison pages.
pub const STYLE: &str = r#"
body { font-family: sans-serif; margin: 24px auto; max-width: 1000px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 4px; } h2 { font-size: 1.25em; margin-top: 32px; border-bottom: 1px solid #ddd; }
.verdict { display: inline-block; padding: 4px 12px; border-radius: 4px; color: #fff; font-weight: bold;
  letter-spacing: .05em; }
.v-pass { background: #2c7a2c; }
.v-fail { background: #c62828; }
.v-hang { background: #d2691e; }
.v-interrupted { background: #666; }
.v-error { background: #6a1b9a; }
.reason { font-size: 1.05em; margin: 8px 0 16px; }
table { border-collapse: collapse; margin: 8px 0; font-size: .92em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.s-pass { color: #2c7a2c; font-weight: bold; }
.s-warn { color: #b8860b; font-weight: bold; }
.s-fail, .s-error { color: #c62828; font-weight: bold; }
.s-skipped { color: #777; }
figure.chart { margin: 16px 0; } figure.chart svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .88em; color: #555; }
pre { background: #f8f8f8; padding: 8px; overflow-x: auto; font-size: .85em; max-height: 420px; }
.chart-error { color: #c62828; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
"#;

/// A chart in a figure, or, if it could not be drawn, the reason in its place.
pub fn figure(id: &str, caption: &str, chart: anyhow::Result<String>) -> String {
    let body = match chart {
        Ok(svg) => svg,
        Err(e) => format!(
            r#"<p class="chart-error">This chart could not be drawn: {}</p>"#,
            esc(&format!("{e:#}"))
        ),
    };
    format!(
        "<figure class=\"chart\" id=\"{}\">\n{body}\n<figcaption>{}</figcaption>\n</figure>\n",
        esc(id),
        esc(caption)
    )
}

/// A self-contained page around `body` (HTML), in the run page's style: for sweep and
/// comparison pages too.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta \
        charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

/// The whole page of one run.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    header(&mut o, r);
    totals(&mut o, r);
    timeline(&mut o, r);
    latency(&mut o, r);
    fairness(&mut o, r);
    if let Some(p) = &r.pacing {
        let _ = writeln!(o, "<h2>Pacing</h2>");
        for line in p.lines() {
            let _ = writeln!(o, "<p class=\"pacing\">{}</p>", esc(&line));
        }
    }
    errors(&mut o, r);
    checks(&mut o, r);
    faults(&mut o, r);
    let _ = writeln!(
        o,
        "<footer><p>ducklake-stress {}; history: {} ({} entries). Generated from report.json (schema {}).</p></footer>",
        esc(&r.tool.version),
        esc(&r.history.file),
        r.history.entries,
        r.schema_version
    );
    page(
        &format!("{} — {} — ducklake-stress", r.scenario.name, verdict_word(r.verdict)),
        &o,
    )
}

pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Hang => "HANG",
        Verdict::Interrupted => "INTERRUPTED",
        Verdict::Error => "ERROR",
    }
}

fn header(o: &mut String, r: &Report) {
    let class = format!("v-{}", verdict_word(r.verdict).to_lowercase());
    let _ = writeln!(o, "<h1>{}</h1>", esc(&r.scenario.name));
    let _ = writeln!(
        o,
        "<div><span class=\"verdict {class}\" id=\"verdict\">{} (exit {})</span></div>",
        verdict_word(r.verdict),
        r.exit_code
    );
    let _ = writeln!(
        o,
        "<p class=\"reason\" id=\"verdict-reason\">{}</p>",
        esc(&r.verdict_reason)
    );
    if let Some(d) = r.scenario.description.as_deref().filter(|d| !d.is_empty()) {
        let _ = writeln!(o, "<p>{}</p>", esc(d));
    }
    let v = &r.versions;
    let facts = [
        ("scenario file", r.scenario_file.clone()),
        ("run", r.run_id.clone()),
        ("started / finished", format!("{} / {}", r.started_at, r.finished_at)),
        (
            "writers",
            format!("{} ({:?})", r.scenario.run.writers, r.scenario.run.mode),
        ),
        (
            "times",
            format!(
                "set-up {:.1} s, measured {:.1} s, drain {:.1} s",
                r.setup_seconds, r.run_seconds, r.drain_seconds
            ),
        ),
        (
            "environment",
            format!(
                "{} (up in {:.1} s)",
                r.environment.kind,
                r.environment.startup_ms as f64 / 1000.0
            ),
        ),
        (
            "versions",
            format!(
                "DuckDB {} | ducklake {} | PostgreSQL {} | S3 {}",
                v.duckdb, v.ducklake, v.postgres, v.s3_server
            ),
        ),
    ];
    let _ = writeln!(o, "<dl class=\"facts\">");
    for (k, v) in facts {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    let _ = writeln!(o, "</dl>");
}

fn totals(o: &mut String, r: &Report) {
    let t = &r.totals;
    let c = &t.counts;
    let _ = writeln!(
        o,
        "<h2>Totals</h2>\n<table \
        id=\"totals\"><tr><th>transactions</th><th>committed</th><th>failed</th><th>indeterminate</th>\
            <th>attempts</th><th>harness retries</th><th>catalog rollbacks</th><th>rows</th><th>commits/s</th></tr>"
    );
    let rollbacks = t
        .catalog_rollbacks
        .map(|c| c.to_string())
        .unwrap_or_else(|| "n/a".into());
    let _ = writeln!(
        o,
        "<tr><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td \
            class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td \
            class=num>{:.1}</td></tr></table>",
        c.transactions,
        c.commits,
        c.failed,
        c.indeterminate,
        c.attempts,
        c.harness_retries,
        rollbacks,
        super::rows_committed(r),
        t.commits_per_second
    );
    let _ = writeln!(
        o,
        "<p>{} commits in the measured window, {} in the {:.1} s drain tail.",
        t.commits_in_window, t.drain_commits, t.drain_seconds
    );
    if t.uncertain_attempts > 0 {
        let _ = write!(
            o,
            " Unknown commit outcomes: {} (committed {}, absent {}, still unknown {}).",
            t.uncertain_attempts, t.resolved_committed, t.resolved_absent, t.unresolved
        );
    }
    let _ = writeln!(o, "</p>");
}

/// A fault's kind as the scenario file spells it (the report keeps Rust's `LockCatalogTable`).
pub fn snake_case(kind: &str) -> String {
    let mut o = String::new();
    for (i, c) in kind.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                o.push('_');
            }
            o.push(c.to_ascii_lowercase());
        } else {
            o.push(c);
        }
    }
    o
}

/// Faults, service restarts, writer crashes and stalls as shaded stretches of the run clock.
pub fn bands(r: &Report, run_end: f64) -> Vec<Band> {
    let mut out = Vec::new();
    for n in &r.nemesis {
        let kind = snake_case(&n.kind);
        let label = if n.target.is_empty() {
            kind.clone()
        } else {
            format!("{kind} {}", n.target)
        };
        if !n.restarts.is_empty() {
            for s in &n.restarts {
                out.push(Band {
                    from: s.stopped_at_seconds,
                    to: s.ready_at_seconds.unwrap_or(run_end),
                    label: format!("{kind} (down)"),
                    kind: BandKind::Fault,
                });
            }
        } else if let Some(from) = n.started_at_seconds {
            out.push(Band {
                from,
                to: n.ended_at_seconds.unwrap_or(run_end),
                label: label.clone(),
                kind: BandKind::Fault,
            });
        }
    }
    for c in &r.crashes {
        let how = c
            .signal
            .clone()
            .or(c.exit_code.map(|e| format!("exit {e}")))
            .unwrap_or_default();
        out.push(Band {
            from: c.at,
            to: c.at,
            label: format!("w{} died {how}", c.writer),
            kind: BandKind::Fault,
        });
    }
    for s in &r.stalls {
        out.push(Band {
            from: s.from,
            to: s.until.unwrap_or(run_end),
            label: "stall".into(),
            kind: BandKind::Stall,
        });
    }
    out
}

fn timeline(o: &mut String, r: &Report) {
    let run_end = (r.timeline.len() as f64).max(r.run_seconds + r.drain_seconds);
    let bands = bands(r, run_end);
    let per_second = |f: fn(&crate::metrics::Second) -> u64| {
        r.timeline
            .iter()
            .map(|s| (s.second as f64 + 0.5, f(s) as f64))
            .collect::<Vec<_>>()
    };
    let series = [
        Series {
            name: "commits".into(),
            points: per_second(|s| s.commits),
        },
        Series {
            name: "failures".into(),
            points: per_second(|s| s.failures),
        },
        Series {
            name: "harness retries".into(),
            points: per_second(|s| s.retries),
        },
    ];
    let waiters = [Series {
        name: "lock waiters".into(),
        points: per_second(|s| s.lock_waiters),
    }];
    let _ = writeln!(o, "<h2>Over time</h2>");
    let chart = charts::time_chart(&TimeChart {
        title: "Commits and failures per second",
        y_label: "transactions per second",
        series: &series,
        bands: &bands,
        x_end: run_end,
    });
    o.push_str(&figure(
        "chart-timeline",
        "Each second of the run: transactions committed, transactions that failed or \
        ended unknown, harness retries started. Shaded: faults (red) and stalls (grey).",
        chart,
    ));
    let chart = charts::time_chart(&TimeChart {
        title: "Sessions waiting on a lock in the catalog",
        y_label: "lock waiters (peak of the second)",
        series: &waiters,
        bands: &bands,
        x_end: run_end,
    });
    let pg = &r.postgres;
    let caption = match &pg.skipped {
        Some(why) => format!("Not sampled: {why}"),
        None => format!(
            "From pg_locks, {} samples: peak {} waiters, longest wait {:.2} s.",
            pg.samples, pg.peak_lock_waiters, pg.longest_lock_wait_seconds
        ),
    };
    o.push_str(&figure("chart-lock-waiters", &caption, chart));
}

/// (quantile, milliseconds) along the whole distribution, densest in the tail.
pub fn quantile_points(l: &LatencySummary) -> Vec<(f64, f64)> {
    let Ok(h) = l.histogram() else { return Vec::new() };
    if h.is_empty() {
        return Vec::new();
    }
    (0..=30)
        .map(|t| 1.0 - 10f64.powf(-(t as f64) / 10.0))
        .map(|q| (q, h.value_at_quantile(q) as f64 / 1000.0))
        .collect()
}

/// Buckets (from ms, to ms, count) of growing width (x1.26 each: three per doubling).
pub fn buckets(l: &LatencySummary) -> Vec<(f64, f64, u64)> {
    let Ok(h) = l.histogram() else { return Vec::new() };
    if h.is_empty() {
        return Vec::new();
    }
    let mut from = 0.1f64;
    let mut out = Vec::new();
    for v in h.iter_log(100, 2f64.powf(1.0 / 3.0)) {
        let to = v.value_iterated_to() as f64 / 1000.0;
        out.push((from, to, v.count_since_last_iteration()));
        from = to;
    }
    // Leading empty buckets only stretch the axis.
    let first = out.iter().position(|b| b.2 > 0).unwrap_or(0);
    out.split_off(first)
}

fn latency(o: &mut String, r: &Report) {
    let l = &r.latency_ms;
    let named = [
        ("commit", &l.commit),
        ("transaction", &l.transaction),
        ("failed commit", &l.failed_commit),
        ("unknown commit", &l.indeterminate_commit),
        ("failed transaction", &l.failed_transaction),
    ];
    let _ = writeln!(
        o,
        "<h2>Latency</h2>\n<table \
        id=\"latency\"><tr><th>ms</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>\
            <th>max</th><th>mean</th></tr>"
    );
    for (name, s) in named.iter().filter(|(_, s)| s.count > 0) {
        let _ = writeln!(
            o,
            "<tr><td>{name}</td><td class=num>{}</td><td class=num>{:.1}</td><td class=num>{:.1}</td><td \
                class=num>{:.1}</td><td class=num>{:.1}</td><td class=num>{:.1}</td><td class=num>{:.1}</td></tr>",
            s.count, s.p50, s.p90, s.p99, s.p999, s.max, s.mean
        );
    }
    let _ = writeln!(o, "</table>");
    let series: Vec<Series> = named
        .iter()
        .filter(|(_, s)| s.count > 0)
        .map(|(n, s)| Series {
            name: n.to_string(),
            points: quantile_points(s),
        })
        .collect();
    o.push_str(&figure(
        "chart-latency-percentiles",
        "Latency by percentile (log scale): COMMIT statements that went through, whole committed transactions \
            (harness retries included), and failed or unknown ones when there were any.",
        charts::percentile_chart("Latency by percentile", &series),
    ));
    let c = &l.commit;
    let markers = if c.count > 0 {
        vec![
            ("p50".to_string(), c.p50),
            ("p90".into(), c.p90),
            ("p99".into(), c.p99),
            ("max".into(), c.max),
        ]
    } else {
        Vec::new()
    };
    o.push_str(&figure(
        "chart-commit-distribution",
        "Distribution of the COMMITs that went through (log scale; three buckets per doubling).",
        charts::distribution_chart("Commit latency distribution", &buckets(c), &markers),
    ));
}

fn fairness(o: &mut String, r: &Report) {
    let f = &r.fairness;
    let labels: Vec<String> = r.writers.iter().map(|w| format!("w{}", w.writer)).collect();
    let values: Vec<f64> = r.writers.iter().map(|w| w.counts.commits as f64).collect();
    let _ = writeln!(o, "<h2>Fairness</h2>");
    let who = f
        .longest_without_commit_writer
        .map(|w| format!(" (w{w} from {:.1} s)", f.longest_without_commit_from))
        .unwrap_or_default();
    let caption = format!(
        "Commits per writer: min {} / median {} / max {}; longest any writer went without a commit {:.1} s{who}.",
        f.commits_min, f.commits_median, f.commits_max, f.longest_without_commit_seconds
    );
    o.push_str(&figure(
        "chart-writers",
        &caption,
        charts::bar_chart("Commits per writer", "commits", &labels, &values),
    ));
}

fn errors(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Errors by class</h2>");
    if r.errors.is_empty() {
        let _ = writeln!(o, "<p id=\"errors\">No errors.</p>");
        return;
    }
    let labels: Vec<String> = r.errors.keys().cloned().collect();
    let values: Vec<f64> = r.errors.values().map(|e| e.count as f64).collect();
    o.push_str(&figure(
        "chart-errors",
        "Failed attempts and set-up failures by error class.",
        charts::bar_chart("Errors by class", "count", &labels, &values),
    ));
    let _ = writeln!(
        o,
        "<table id=\"errors\"><tr><th>class</th><th>count</th><th>first example</th></tr>"
    );
    for (class, e) in &r.errors {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=num>{}</td><td>{}</td></tr>",
            esc(class),
            e.count,
            esc(&e.example)
        );
        for c in &e.conflicts {
            let _ = writeln!(
                o,
                "<tr><td></td><td class=num>{}</td><td>{}</td></tr>",
                c.count,
                esc(&c.describe())
            );
        }
    }
    let _ = writeln!(o, "</table>");
}

fn status_class(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "s-pass",
        CheckStatus::Warn | CheckStatus::Known => "s-warn",
        CheckStatus::Fail => "s-fail",
        CheckStatus::Skipped => "s-skipped",
        CheckStatus::Error => "s-error",
    }
}

/// Evidence is capped: a check that lists thousands of rows would otherwise make the page
/// heavier than the run; report.json keeps all of it.
const EVIDENCE_CHARS: usize = 20_000;

pub fn evidence_text(v: &serde_json::Value) -> Option<String> {
    if v.is_null() {
        return None;
    }
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    if s.len() > EVIDENCE_CHARS {
        let mut cut = EVIDENCE_CHARS;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n… (cut here; report.json has all of it)");
    }
    Some(s)
}

fn checks(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Checks</h2>");
    if let Some(note) = &r.checks_note {
        let _ = writeln!(o, "<p>{}</p>", esc(note));
    }
    let _ = writeln!(
        o,
        "<table id=\"checks\"><tr><th>check</th><th>status</th><th>summary and evidence</th></tr>"
    );
    for c in &r.checks {
        let evidence = evidence_text(&c.evidence)
            .map(|e| format!("<details><summary>evidence</summary><pre>{}</pre></details>", esc(&e)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}{evidence}</td></tr>",
            esc(&c.name),
            status_class(c.status),
            status_word(c.status),
            esc(&c.summary)
        );
    }
    let _ = writeln!(o, "</table>");
    for line in crate::findings::lines(&r.checks).iter().chain(&r.known_not_seen) {
        let _ = writeln!(o, "<p class=\"known\">{}</p>", esc(line));
    }
    let _ = writeln!(
        o,
        "<h2>Thresholds</h2>\n<table \
        id=\"thresholds\"><tr><th>threshold</th><th>status</th><th>actual</th><th>limit</th><th>note</th></tr>"
    );
    for t in &r.thresholds {
        let (class, word) = if t.passed {
            ("s-pass", "PASS")
        } else {
            ("s-fail", "FAIL")
        };
        let actual = t.actual.map(|a| a.to_string()).unwrap_or_else(|| "not measured".into());
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"{class}\">{word}</td><td class=num>{actual}</td><td \
            class=num>{}</td><td>{}</td></tr>",
            esc(&t.name),
            t.limit,
            esc(t.note.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(o, "</table>");
}

fn faults(o: &mut String, r: &Report) {
    if r.nemesis.is_empty() && r.stalls.is_empty() && r.crashes.is_empty() && r.diagnosis.is_none() {
        return;
    }
    let _ = writeln!(o, "<h2>Faults, stalls and diagnosis</h2>");
    if !r.nemesis.is_empty() {
        let _ = writeln!(
            o,
            "<table id=\"faults\"><tr><th>fault</th><th>target</th><th>from (s)</th><th>until \
            (s)</th><th>what it did</th></tr>"
        );
        for n in &r.nemesis {
            let t = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
            let mut did = Vec::new();
            if n.sessions_terminated > 0 {
                did.push(format!("{} sessions terminated", n.sessions_terminated));
            }
            if !n.restarts.is_empty() {
                did.push(format!("{} restarts", n.restarts.len()));
            }
            if !n.killed_pids.is_empty() {
                did.push(format!("killed pids {:?}", n.killed_pids));
            }
            did.extend(n.mechanism_summary());
            if let Some(e) = &n.error {
                did.push(format!("error: {e}"));
            }
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td>{}</td></tr>",
                esc(&snake_case(&n.kind)),
                esc(&n.target),
                t(n.started_at_seconds),
                t(n.ended_at_seconds),
                esc(&did.join("; "))
            );
        }
        let _ = writeln!(o, "</table>");
    }
    for s in &r.stalls {
        let until = s.until.map(|u| format!("{u:.1} s")).unwrap_or_else(|| "the end".into());
        let _ = writeln!(
            o,
            "<p class=\"stall\"><b>Stall</b> from {:.1} s until {until}: {}</p>",
            s.from,
            esc(&s.diagnosis.summary)
        );
    }
    for c in &r.crashes {
        let _ = writeln!(
            o,
            "<p class=\"crash\"><b>Writer w{} (pid {}) died</b> at {:.1} s: {}</p>",
            c.writer,
            c.pid,
            c.at,
            esc(&c.signal.clone().unwrap_or_else(|| format!("exit {:?}", c.exit_code)))
        );
    }
    if let Some(d) = &r.diagnosis {
        let _ = writeln!(o, "<p id=\"diagnosis\"><b>Diagnosis:</b> {}</p>", esc(&d.summary));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_pages_stand_alone() {
        assert_eq!(esc(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(snake_case("LockCatalogTable"), "lock_catalog_table");
        let p = page(
            "a <b>",
            &figure(
                "chart-x",
                "caption & more",
                charts::bar_chart("t", "y", &["w0".into()], &[1.0]),
            ),
        );
        assert!(
            p.contains("<title>a &lt;b&gt;</title>")
                && p.contains("<figure class=\"chart\" id=\"chart-x\">")
                && p.contains("caption &amp; more")
        );
        for outside in ["<script", "<link", "https://", "@import"] {
            assert!(!p.contains(outside), "{outside}");
        }
        let failed = figure("chart-y", "c", Err(anyhow::anyhow!("no <data>")));
        assert!(failed.contains("could not be drawn: no &lt;data&gt;"), "{failed}");
    }
}

//! summary.md: the same summary as Markdown tables, for CI job pages and pull requests.

use super::console::status_word;
use super::Exporter;
use crate::report::Report;
use std::fmt::Write;

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn render(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        let mut o = String::new();
        heading(&mut o, r)?;
        totals(&mut o, r)?;
        latency(&mut o, r)?;
        fairness_and_pacing(&mut o, r)?;
        errors(&mut o, r)?;
        checks(&mut o, r)?;
        Ok(o.into_bytes())
    }
}

/// The verdict, its reason, and what ran against what.
fn heading(o: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(
        o,
        "# {} — verdict **{:?}** (exit {})\n",
        r.scenario.name, r.verdict, r.exit_code
    )?;
    writeln!(o, "{}\n", r.verdict_reason)?;
    writeln!(
        o,
        "Run `{}`: {} writers, set-up {:.1} s, measured window {:.1} s (+{:.1} s drain). DuckDB {}, ducklake {}, \
            PostgreSQL {}, S3 {}.\n",
        r.run_id,
        r.scenario.run.writers,
        r.setup_seconds,
        r.run_seconds,
        r.drain_seconds,
        r.versions.duckdb,
        r.versions.ducklake,
        r.versions.postgres,
        r.versions.s3_server
    )
}

fn totals(o: &mut String, r: &Report) -> std::fmt::Result {
    let t = &r.totals;
    writeln!(
        o,
        "| transactions | committed | failed | indeterminate | attempts | harness retries | catalog \
        rollbacks | rows | commits/s |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|---|---|---|")?;
    writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
        t.counts.transactions,
        t.counts.commits,
        t.counts.failed,
        t.counts.indeterminate,
        t.counts.attempts,
        t.counts.harness_retries,
        t.catalog_rollbacks.map(|c| c.to_string()).unwrap_or("n/a".into()),
        super::rows_committed(r),
        t.commits_per_second
    )
}

fn latency(o: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(o, "| latency (ms) | count | p50 | p90 | p99 | p99.9 | max | mean |")?;
    writeln!(o, "|---|---|---|---|---|---|---|---|")?;
    let lat = &r.latency_ms;
    for (name, l) in [
        ("commit", &lat.commit),
        ("transaction", &lat.transaction),
        ("failed commit", &lat.failed_commit),
        ("unknown commit", &lat.indeterminate_commit),
        ("failed transaction", &lat.failed_transaction),
    ] {
        writeln!(
            o,
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            l.count, l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        )?;
    }
    Ok(())
}

/// Fairness, the unknown commit outcomes (when there were any) and the pacing lines.
fn fairness_and_pacing(o: &mut String, r: &Report) -> std::fmt::Result {
    let (f, t) = (&r.fairness, &r.totals);
    writeln!(
        o,
        "\nFairness: commits per writer min {} / median {} / max {}; longest without a commit {:.1} s{}.",
        f.commits_min,
        f.commits_median,
        f.commits_max,
        f.longest_without_commit_seconds,
        f.longest_without_commit_writer
            .map(|w| format!(" (w{w})"))
            .unwrap_or_default()
    )?;
    if t.uncertain_attempts > 0 {
        writeln!(
            o,
            "\nUnknown commit outcomes: {} (committed {}, absent {}, still unknown {}).",
            t.uncertain_attempts, t.resolved_committed, t.resolved_absent, t.unresolved
        )?;
    }
    for line in r.pacing.iter().flat_map(|p| p.lines()) {
        writeln!(
            o,
            "\n{}",
            if line.starts_with("rate not kept") {
                format!("**{line}**")
            } else {
                line
            }
        )?;
    }
    Ok(())
}

/// The checks that judged, then the known findings, the known ones not seen and the diagnosis.
fn checks(o: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(o, "\n| check | status | summary |")?;
    writeln!(o, "|---|---|---|")?;
    for c in r
        .checks
        .iter()
        .filter(|c| c.status != crate::checker::CheckStatus::Skipped)
    {
        writeln!(
            o,
            "| {} | {} | {} |",
            c.name,
            status_word(c.status),
            c.summary.replace('|', "\\|")
        )?;
    }
    if let Some(line) = crate::checker::not_applicable_line(&r.checks) {
        writeln!(o, "| | SKIP | {line} |")?;
    }
    for line in crate::findings::lines(&r.checks) {
        writeln!(o, "\nKnown upstream finding: {line}")?;
    }
    for note in &r.known_not_seen {
        writeln!(o, "\n{note}")?;
    }
    if let Some(d) = &r.diagnosis {
        writeln!(o, "\n**Diagnosis:** {}", d.summary)?;
    }
    Ok(())
}

/// The checks, weighed first: how each side's runs ended for every check that judged.
fn comparison_checks(o: &mut String, c: &crate::campaign::compare::Comparison) -> std::fmt::Result {
    use crate::campaign::correctness::CheckComparison;
    if c.checks.is_empty() {
        return Ok(());
    }
    writeln!(
        o,
        "\n| check | baseline | candidate | failing runs, difference (95 % interval) | judgement |"
    )?;
    writeln!(o, "|---|---|---|---|---|")?;
    for k in &c.checks {
        let diff = k
            .interval
            .map(|i| {
                format!(
                    "{:+.0}% ({:+.0}% to {:+.0}%)",
                    i.estimate * 100.0,
                    i.low * 100.0,
                    i.high * 100.0
                )
            })
            .unwrap_or_else(|| "not judged on both sides".into());
        let known = k.known_reference().map(|r| format!(" (known {r})")).unwrap_or_default();
        writeln!(
            o,
            "| {}{known} | {} | {} | {diff} | {} |",
            k.name,
            CheckComparison::side_text(&k.baseline),
            CheckComparison::side_text(&k.candidate),
            k.judgement.word()
        )?;
    }
    Ok(())
}

/// Failed and unknown-outcome transactions by class, with what moves each class.
fn comparison_classes(o: &mut String, c: &crate::campaign::compare::Comparison) -> std::fmt::Result {
    if c.classes.is_empty() {
        return Ok(());
    }
    writeln!(
        o,
        "\n| transactions by class | baseline | candidate | difference (95 % interval) | judgement | what moves it |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|")?;
    for k in &c.classes {
        let pct = |x: f64| {
            if x.is_finite() {
                format!("{:.2}%", x * 100.0)
            } else {
                "n/a".into()
            }
        };
        let diff = k
            .interval
            .map(|i| format!("{} ({} to {})", pct(i.estimate), pct(i.low), pct(i.high)))
            .unwrap_or_default();
        writeln!(
            o,
            "| {} `{}` | {} ({}) | {} ({}) | {diff} | {} | {} |",
            k.outcome,
            k.class,
            k.baseline,
            pct(k.baseline_rate),
            k.candidate,
            pct(k.candidate_rate),
            k.judgement.word(),
            k.note
        )?;
    }
    Ok(())
}

/// Errors of every attempt by class, and conflicts by what conflicted, side by side: the
/// retried ones that failed no transaction included.
fn comparison_errors(o: &mut String, c: &crate::campaign::compare::Comparison) -> std::fmt::Result {
    let (a, b) = (&c.baseline.aggregate, &c.candidate.aggregate);
    let rows = |x: &std::collections::BTreeMap<String, u64>, y: &std::collections::BTreeMap<String, u64>| {
        x.keys()
            .chain(y.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|k| {
                (
                    k.clone(),
                    x.get(k).copied().unwrap_or(0),
                    y.get(k).copied().unwrap_or(0),
                )
            })
            .collect::<Vec<_>>()
    };
    let errors = rows(&a.errors_by_class, &b.errors_by_class);
    if errors.is_empty() {
        return Ok(());
    }
    writeln!(
        o,
        "\n| errors of every attempt (retried ones included) | baseline | candidate |"
    )?;
    writeln!(o, "|---|---|---|")?;
    for (class, x, y) in errors {
        writeln!(o, "| `{class}` | {x} | {y} |")?;
    }
    for (what, x, y) in rows(&a.conflicts, &b.conflicts) {
        writeln!(o, "| conflict: {} | {x} | {y} |", what.replace('|', "\\|"))?;
    }
    Ok(())
}

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "n/a".into()
    }
}

/// `12.5 (11.0–14.2)`: median and range over repetitions; the median alone for one run.
fn spread(s: &crate::stats::spread::Spread, digits: usize) -> String {
    match s.n {
        0 => "n/a".into(),
        1 => num(s.median, digits),
        _ => format!(
            "{} ({}–{})",
            num(s.median, digits),
            num(s.min, digits),
            num(s.max, digits)
        ),
    }
}

/// sweep.md: the sweep's table (median and range over repetitions) and its envelope.
pub struct SweepMarkdown;

impl Exporter<crate::campaign::sweep::SweepResult> for SweepMarkdown {
    fn file_name(&self) -> &'static str {
        "sweep.md"
    }

    fn render(&self, s: &crate::campaign::sweep::SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut o = String::new();
        let runs: usize = s.points.iter().map(|p| p.aggregate.runs).sum();
        writeln!(
            o,
            "# Sweep of {} — {} points × {} repetitions = {runs} runs{}\n",
            s.scenario_file,
            s.points.len(),
            s.repeat,
            if s.interrupted { " (interrupted)" } else { "" }
        )?;
        writeln!(
            o,
            "Order shuffled with seed {}; environment {}; medians with the range over repetitions in \
            brackets; latency percentiles of all repetitions' commits merged.\n",
            s.seed, s.environment
        )?;
        writeln!(
            o,
            "| point | commits/s | failed | indeterminate | harness retries | catalog rollbacks/commit | \
            commit p50 ms | p99 ms | max ms | starvation s | verdicts |"
        )?;
        writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|")?;
        for p in &s.points {
            let a = &p.aggregate;
            let l = &a.commit_latency_ms;
            writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                p.label,
                spread(&a.commits_per_second, 1),
                spread(&a.failed_commits, 0),
                spread(&a.indeterminate_commits, 0),
                spread(&a.harness_retries, 0),
                spread(&a.catalog_rollbacks_per_commit, 2),
                num(l.p50, 1),
                num(l.p99, 1),
                num(l.max, 1),
                spread(&a.starvation_seconds, 1),
                a.verdict_counts().replace('|', "\\|")
            )?;
        }
        writeln!(o, "\n## Envelope\n")?;
        match &s.envelope.note {
            Some(note) => writeln!(o, "{note}.")?,
            None => {
                writeln!(
                    o,
                    "The largest writer count at which every repetition passed with zero failed commits.\n"
                )?;
                writeln!(o, "| setting | largest clean writer count | not clean below it |")?;
                writeln!(o, "|---|---|---|")?;
                for r in &s.envelope.rows {
                    let below: Vec<String> = r.unclean_below.iter().map(|w| w.to_string()).collect();
                    writeln!(
                        o,
                        "| {} | {} | {} |",
                        r.setting,
                        r.largest_clean_writers.map(|w| w.to_string()).unwrap_or("none".into()),
                        if below.is_empty() {
                            "—".into()
                        } else {
                            below.join(", ")
                        }
                    )?;
                }
            }
        }
        Ok(o.into_bytes())
    }
}

/// comparison.md: each figure side by side with its interval, and the verdict.
pub struct ComparisonMarkdown;

impl Exporter<crate::campaign::compare::Comparison> for ComparisonMarkdown {
    fn file_name(&self) -> &'static str {
        "comparison.md"
    }

    fn render(&self, c: &crate::campaign::compare::Comparison) -> anyhow::Result<Vec<u8>> {
        let mut o = String::new();
        writeln!(o, "# Comparison — **{}**\n", c.verdict.words())?;
        writeln!(o, "{}.\n", c.verdict_reason)?;
        for (name, side) in [("baseline", &c.baseline), ("candidate", &c.candidate)] {
            let ext = side.ducklake();
            writeln!(
                o,
                "- **{name}**: {} — {} runs ({}){}",
                side.source,
                side.aggregate.runs,
                side.aggregate.verdict_counts(),
                if ext.is_empty() {
                    String::new()
                } else {
                    format!("; {ext}")
                }
            )?;
        }
        comparison_checks(&mut o, c)?;
        writeln!(
            o,
            "\n| figure | baseline | candidate | difference (95 % interval) | method | judgement |"
        )?;
        writeln!(o, "|---|---|---|---|---|---|")?;
        for f in &c.figures {
            let t = f.text();
            writeln!(
                o,
                "| {} ({}) | {} | {} | {} | {} | {} |",
                f.name, f.unit, t.baseline, t.candidate, t.difference, f.method, t.judgement
            )?;
        }
        comparison_classes(&mut o, c)?;
        comparison_errors(&mut o, c)?;
        Ok(o.into_bytes())
    }
}

/// Errors by class with an example each (the whole first line), and what conflicted.
fn errors(o: &mut String, r: &Report) -> std::fmt::Result {
    if r.errors.is_empty() {
        return Ok(());
    }
    let cell = |s: &str| crate::history::event::one_line(s).replace('|', "\\|");
    writeln!(o, "\n| error class | count | example |")?;
    writeln!(o, "|---|---|---|")?;
    for (class, e) in &r.errors {
        writeln!(o, "| {class} | {} | {} |", e.count, cell(&e.example))?;
    }
    for (class, e) in &r.errors {
        for c in &e.conflicts {
            writeln!(o, "\n- `{class}` {} x {}", c.count, cell(&c.describe()))?;
        }
    }
    Ok(())
}

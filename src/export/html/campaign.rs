//! sweep.html and comparison.html: the campaign pages, self-contained like report.html
//! and drawn with the same chart functions: a sweep's heatmaps and envelope, a comparison's
//! latency percentiles side by side and its figures with their intervals.

use super::charts::{self, Series};
use super::{esc, figure, page, quantile_points};
use crate::campaign::compare::Comparison;
use crate::campaign::sweep::{SweepPoint, SweepResult, WRITERS_KEY};
use crate::campaign::Aggregate;
use crate::export::Exporter;
use std::fmt::Write;

pub struct SweepHtml;

impl Exporter<SweepResult> for SweepHtml {
    fn file_name(&self) -> &'static str {
        "sweep.html"
    }

    fn render(&self, s: &SweepResult) -> anyhow::Result<Vec<u8>> {
        Ok(render_sweep(s).into_bytes())
    }
}

pub struct ComparisonHtml;

impl Exporter<Comparison> for ComparisonHtml {
    fn file_name(&self) -> &'static str {
        "comparison.html"
    }

    fn render(&self, c: &Comparison) -> anyhow::Result<Vec<u8>> {
        Ok(render_comparison(c).into_bytes())
    }
}

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "n/a".into()
    }
}

/// Rows and columns of the heatmaps: the other parameters' settings by writer count when
/// the writer count was swept, else one row per point.
struct Grid {
    rows: Vec<String>,
    cols: Vec<String>,
    cell: Vec<Vec<Option<usize>>>,
}

fn grid(points: &[SweepPoint]) -> Grid {
    let swept = points.first().is_some_and(|p| p.point.get(WRITERS_KEY).is_some());
    if !swept {
        let rows: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
        let cell = (0..points.len()).map(|i| vec![Some(i)]).collect();
        return Grid {
            rows,
            cols: vec!["all runs".into()],
            cell,
        };
    }
    let setting = |p: &SweepPoint| crate::campaign::sweep::setting_of(&p.point);
    let (mut rows, mut cols): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for p in points {
        let (r, c) = (
            setting(p),
            format!("{} writers", p.point.get(WRITERS_KEY).unwrap_or("?")),
        );
        if !rows.contains(&r) {
            rows.push(r);
        }
        if !cols.contains(&c) {
            cols.push(c);
        }
    }
    let mut cell = vec![vec![None; cols.len()]; rows.len()];
    for (i, p) in points.iter().enumerate() {
        let r = rows.iter().position(|x| *x == setting(p)).expect("row collected above");
        let c = cols
            .iter()
            .position(|x| *x == format!("{} writers", p.point.get(WRITERS_KEY).unwrap_or("?")))
            .expect("column collected above");
        cell[r][c] = Some(i);
    }
    Grid { rows, cols, cell }
}

fn heatmap_of(
    s: &SweepResult,
    g: &Grid,
    title: &str,
    value: fn(&Aggregate) -> f64,
    digits: usize,
) -> anyhow::Result<String> {
    let values: Vec<Vec<Option<f64>>> = g
        .cell
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| c.map(|i| value(&s.points[i].aggregate)).filter(|v| v.is_finite()))
                .collect()
        })
        .collect();
    let labels: Vec<Vec<String>> = g
        .cell
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| {
                    c.map(|i| {
                        let a = &s.points[i].aggregate;
                        format!("{} ({})", num(value(a), digits), a.verdict_tally())
                    })
                    .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    charts::heatmap(title, &g.rows, &g.cols, &values, &labels)
}

fn render_sweep(s: &SweepResult) -> String {
    let mut o = String::new();
    let runs: usize = s.points.iter().map(|p| p.aggregate.runs).sum();
    let _ = writeln!(o, "<h1>Sweep of {}</h1>", esc(&s.scenario_file));
    let _ = writeln!(
        o,
        "<p class=\"reason\">{} points × {} repetitions = {runs} runs{}; order shuffled with seed {}; \
        environment {}; {} to {}.</p>",
        s.points.len(),
        s.repeat,
        if s.interrupted { " (interrupted)" } else { "" },
        s.seed,
        esc(&s.environment),
        esc(&s.started_at),
        esc(&s.finished_at)
    );
    if !s.overrides.is_empty() {
        let _ = writeln!(
            o,
            "<p>Every point with: <code>{}</code></p>",
            esc(&s.overrides.join(" "))
        );
    }
    let g = grid(&s.points);
    o.push_str("<h2>Heatmaps</h2>\n");
    o.push_str(&figure(
        "chart-sweep-throughput",
        "Commits per second, median over repetitions (dark = more), with the runs' verdicts.",
        heatmap_of(s, &g, "commits/s (median)", |a| a.commits_per_second.median, 1),
    ));
    o.push_str(&figure(
        "chart-sweep-failed",
        "Failed commits per run, median over repetitions (dark = more).",
        heatmap_of(s, &g, "failed commits (median)", |a| a.failed_commits.median, 0),
    ));
    o.push_str(&figure(
        "chart-sweep-p99",
        "Commit latency p99 in ms, all repetitions' commits merged (dark = slower).",
        heatmap_of(s, &g, "commit p99 ms", |a| a.commit_latency_ms.p99, 0),
    ));
    sweep_table(&mut o, s);
    envelope(&mut o, s);
    page(&format!("sweep of {} — ducklake-stress", s.scenario_file), &o)
}

fn sweep_table(o: &mut String, s: &SweepResult) {
    o.push_str(
        "<h2>Points</h2>\n<table><tr><th>point</th><th>commits/s</th><th>failed</th>\
        <th>indeterminate</th><th>harness retries</th><th>catalog rollbacks/commit</th><th>p50 ms</th>\
            <th>p99 ms</th><th>max ms</th><th>starvation s</th><th>verdicts</th></tr>\n",
    );
    for p in &s.points {
        let a = &p.aggregate;
        let sp = |x: &crate::stats::spread::Spread, d: usize| {
            if x.n > 1 {
                format!("{} ({}–{})", num(x.median, d), num(x.min, d), num(x.max, d))
            } else {
                num(x.median, d)
            }
        };
        let l = &a.commit_latency_ms;
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td \
                class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td \
                class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&p.label),
            sp(&a.commits_per_second, 1),
            sp(&a.failed_commits, 0),
            sp(&a.indeterminate_commits, 0),
            sp(&a.harness_retries, 0),
            sp(&a.catalog_rollbacks_per_commit, 2),
            num(l.p50, 1),
            num(l.p99, 1),
            num(l.max, 1),
            sp(&a.starvation_seconds, 1),
            esc(&a.verdict_counts())
        );
    }
    o.push_str("</table>\n");
}

fn envelope(o: &mut String, s: &SweepResult) {
    o.push_str("<h2>Envelope</h2>\n");
    if let Some(note) = &s.envelope.note {
        let _ = writeln!(o, "<p>{}.</p>", esc(note));
        return;
    }
    o.push_str(
        "<p>The largest writer count at which every repetition passed with zero failed commits.</p>\n<table \
        id=\"envelope\"><tr><th>setting</th><th>largest clean writer count</th><th>not clean below it</th></tr>\n",
    );
    for r in &s.envelope.rows {
        let below: Vec<String> = r.unclean_below.iter().map(|w| w.to_string()).collect();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&r.setting),
            r.largest_clean_writers.map(|w| w.to_string()).unwrap_or("none".into()),
            if below.is_empty() {
                "—".into()
            } else {
                below.join(", ")
            }
        );
    }
    o.push_str("</table>\n");
}

/// The CSS class of a judgement word.
fn judgement_class(word: &str) -> &'static str {
    match word {
        "better" => "s-pass",
        "worse" => "s-fail",
        "inconclusive" => "s-warn",
        _ => "s-skipped",
    }
}

/// The checks, weighed before the figures: each side's runs per check.
fn comparison_checks(o: &mut String, c: &Comparison) {
    use crate::campaign::correctness::CheckComparison;
    if c.checks.is_empty() {
        return;
    }
    o.push_str(
        "<h2>Checks</h2>\n<table \
        id=\"checks\"><tr><th>check</th><th>baseline</th><th>candidate</th><th>judgement</th></tr>\n",
    );
    for k in &c.checks {
        let word = k.judgement.word();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{word}</td></tr>",
            esc(&k.name),
            esc(&CheckComparison::side_text(&k.baseline)),
            esc(&CheckComparison::side_text(&k.candidate)),
            judgement_class(word)
        );
    }
    o.push_str("</table>\n");
}

/// Failed and unknown-outcome transactions by class, with what moves each class.
fn comparison_classes(o: &mut String, c: &Comparison) {
    if c.classes.is_empty() {
        return;
    }
    o.push_str(
        "<h2>Transactions by class</h2>\n<table id=\"classes\"><tr><th>outcome and \
        class</th><th>baseline</th><th>candidate</th><th>judgement</th><th>what moves it</th></tr>\n",
    );
    for k in &c.classes {
        let word = k.judgement.word();
        let _ = writeln!(
            o,
            "<tr><td>{} {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td \
            class=\"{}\">{word}</td><td>{}</td></tr>",
            esc(&k.outcome),
            esc(&k.class),
            k.baseline,
            k.candidate,
            judgement_class(word),
            esc(&k.note)
        );
    }
    o.push_str("</table>\n");
}

fn render_comparison(c: &Comparison) -> String {
    let mut o = String::new();
    comparison_heading(&mut o, c);
    comparison_checks(&mut o, c);
    comparison_figures(&mut o, c);
    comparison_classes(&mut o, c);
    comparison_charts(&mut o, c);
    page("comparison — ducklake-stress", &o)
}

/// The verdict, its reason, and what each side is.
fn comparison_heading(o: &mut String, c: &Comparison) {
    let class = match c.verdict {
        crate::campaign::compare::Verdict::Better => "v-pass",
        crate::campaign::compare::Verdict::Worse => "v-fail",
        _ => "v-interrupted",
    };
    let _ = writeln!(
        o,
        "<h1>Comparison</h1>\n<p><span class=\"verdict {class}\">{}</span></p>\n<p class=\"reason\">{}.</p>",
        esc(&c.verdict.words().to_uppercase()),
        esc(&c.verdict_reason)
    );
    o.push_str("<dl class=\"facts\">\n");
    for side in [&c.baseline, &c.candidate] {
        let _ = writeln!(
            o,
            "<dt>{}</dt><dd>{} — {} runs ({}) {}</dd>",
            esc(&side.label),
            esc(&side.source),
            side.aggregate.runs,
            esc(&side.aggregate.verdict_counts()),
            esc(&side.ducklake())
        );
    }
    o.push_str("</dl>\n");
}

/// Each figure side by side with its interval, method and judgement.
fn comparison_figures(o: &mut String, c: &Comparison) {
    o.push_str(
        "<h2>Figures</h2>\n<table \
        id=\"figures\"><tr><th>figure</th><th>baseline</th><th>candidate</th><th>difference (95 % \
        interval)</th><th>method</th><th>judgement</th></tr>\n",
    );
    for f in &c.figures {
        let t = f.text();
        let _ = writeln!(
            o,
            "<tr><td>{} ({})</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td \
            class=\"num\">{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&f.name),
            esc(&f.unit),
            esc(&t.baseline),
            esc(&t.candidate),
            esc(&t.difference),
            esc(&f.method),
            judgement_class(t.judgement),
            t.judgement
        );
    }
    o.push_str("</table>\n");
}

/// Commit latency by percentile and the failed-commit rate, one series or bar per side.
fn comparison_charts(o: &mut String, c: &Comparison) {
    o.push_str("<h2>Commit latency</h2>\n");
    let series = vec![
        Series {
            name: "baseline".into(),
            points: quantile_points(&c.baseline.aggregate.commit_latency_ms),
        },
        Series {
            name: "candidate".into(),
            points: quantile_points(&c.candidate.aggregate.commit_latency_ms),
        },
    ];
    o.push_str(&figure(
        "chart-compare-latency",
        "Commit latency by percentile, every run's commits merged per side.",
        charts::percentile_chart("commit latency (ms) by percentile", &series),
    ));
    let labels = vec!["baseline".to_string(), "candidate".to_string()];
    let rate = |a: &Aggregate| {
        if a.transactions == 0 {
            0.0
        } else {
            100.0 * a.failed_total as f64 / a.transactions as f64
        }
    };
    o.push_str(&figure(
        "chart-compare-failed",
        "Failed commits, percent of transactions (pooled over runs).",
        charts::bar_chart(
            "failed commits (% of transactions)",
            "%",
            &labels,
            &[rate(&c.baseline.aggregate), rate(&c.candidate.aggregate)],
        ),
    ));
}

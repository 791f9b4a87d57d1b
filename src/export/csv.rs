//! sweep.csv: one line per run of a sweep (not per point), so a spreadsheet or pandas can
//! aggregate any way it likes; the point's parameters come first, one column each.

use super::Exporter;
use crate::campaign::sweep::SweepResult;
use crate::campaign::RunFigures;
use std::fmt::Write;

pub struct SweepCsv;

const FIGURES: &str =
    "verdict,commits_per_second,transactions,commits,failed_commits,indeterminate_commits,harness_retries,\
    catalog_rollbacks_per_commit,commit_p50_ms,commit_p99_ms,commit_max_ms,starvation_seconds,reason";

fn figures_row(f: &RunFigures) -> String {
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x:.3}")
        } else {
            String::new()
        }
    };
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{}",
        f.verdict,
        num(f.commits_per_second),
        f.transactions,
        f.commits,
        f.failed_commits,
        f.indeterminate_commits,
        f.harness_retries,
        num(f.catalog_rollbacks_per_commit),
        num(f.commit_p50_ms),
        num(f.commit_p99_ms),
        num(f.commit_max_ms),
        num(f.starvation_seconds),
        field(&f.reason)
    )
}

/// A field quoted when it holds a comma, quote or newline (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Exporter<SweepResult> for SweepCsv {
    fn file_name(&self) -> &'static str {
        "sweep.csv"
    }

    fn render(&self, s: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut o = String::new();
        let keys: Vec<String> = s.params.iter().map(|p| field(&p.key)).collect();
        writeln!(
            o,
            "{}{}repetition,report,{FIGURES}",
            keys.join(","),
            if keys.is_empty() { "" } else { "," }
        )?;
        for p in &s.points {
            let values: Vec<String> = p.point.values.iter().map(|(_, v)| field(v)).collect();
            let prefix = if values.is_empty() {
                String::new()
            } else {
                format!("{},", values.join(","))
            };
            for (i, f) in p.aggregate.per_run.iter().enumerate() {
                let report = p.aggregate.report_files.get(i).map(|r| field(r)).unwrap_or_default();
                writeln!(o, "{prefix}{},{report},{}", i + 1, figures_row(f))?;
            }
            for broken in &p.aggregate.broken {
                writeln!(o, "{prefix},{},broken", field(broken))?;
            }
        }
        Ok(o.into_bytes())
    }
}

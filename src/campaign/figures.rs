//! The figures of one run that campaigns compare, and their aggregate over the runs of
//! one point or side: median and range of per-run figures, pooled counts, and the commit
//! latencies of all runs merged into one histogram (not an average of percentiles).

use super::executor::{Job, Outcome};
use crate::metrics::LatencySummary;
use crate::report::Report;
use crate::stats::spread::Spread;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One run's figures, as they go into a sweep's CSV.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunFigures {
    pub commits_per_second: f64,
    pub transactions: u64,
    pub commits: u64,
    pub failed_commits: u64,
    pub indeterminate_commits: u64,
    pub harness_retries: u64,
    /// Catalog transactions rolled back (DuckLake's hidden retries) per commit; NaN when
    /// the run could not count them.
    pub catalog_rollbacks_per_commit: f64,
    pub commit_p50_ms: f64,
    pub commit_p99_ms: f64,
    pub commit_max_ms: f64,
    /// The longest stretch a writer went without a commit.
    pub starvation_seconds: f64,
    pub verdict: String,
}

impl RunFigures {
    pub fn of(r: &Report) -> RunFigures {
        let c = &r.totals.counts;
        RunFigures {
            commits_per_second: r.totals.commits_per_second,
            transactions: c.transactions,
            commits: c.commits,
            failed_commits: c.failed,
            indeterminate_commits: c.indeterminate,
            harness_retries: c.harness_retries,
            catalog_rollbacks_per_commit: match (r.totals.catalog_rollbacks, c.commits) {
                (Some(rb), n) if n > 0 => rb as f64 / n as f64,
                _ => f64::NAN,
            },
            commit_p50_ms: r.latency_ms.commit.p50,
            commit_p99_ms: r.latency_ms.commit.p99,
            commit_max_ms: r.latency_ms.commit.max,
            starvation_seconds: r.fairness.longest_without_commit_seconds,
            verdict: verdict_word(r),
        }
    }
}

pub fn verdict_word(r: &Report) -> String {
    serde_json::to_value(r.verdict).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The runs of one point (or one side), summed up.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Aggregate {
    /// Runs planned, and how many gave a report.
    pub runs: usize,
    pub reports: usize,
    /// Runs without a report, each with why (crash, limit, not run).
    pub broken: Vec<String>,
    /// Verdicts counted: {"pass": 3, "fail": 1}.
    pub verdicts: BTreeMap<String, usize>,
    pub commits_per_second: Spread,
    pub failed_commits: Spread,
    pub indeterminate_commits: Spread,
    pub harness_retries: Spread,
    pub catalog_rollbacks_per_commit: Spread,
    pub starvation_seconds: Spread,
    /// Pooled over the runs.
    pub transactions: u64,
    pub commits: u64,
    pub failed_total: u64,
    pub indeterminate_total: u64,
    pub harness_retries_total: u64,
    /// Every run's commit latencies in one histogram.
    pub commit_latency_ms: LatencySummary,
    /// Every run gave a report and passed.
    pub all_passed: bool,
    /// Every run gave a report and no commit failed for good.
    pub zero_failed: bool,
    pub report_files: Vec<String>,
    /// The extensions the first run loaded (file, version, SHA-256): which build a side ran.
    #[serde(default)]
    pub extensions: Vec<crate::report::ExtensionInfo>,
    /// Each run's own figures, in the order of `report_files`.
    #[serde(default)]
    pub per_run: Vec<RunFigures>,
}

impl Aggregate {
    pub fn of<'a>(results: impl IntoIterator<Item = &'a (Job, Outcome)>) -> Aggregate {
        let mut a = Aggregate::default();
        let mut merged = crate::metrics::latency::new_histogram();
        for (job, outcome) in results {
            a.runs += 1;
            match outcome {
                Outcome::Report { path, report } => {
                    a.reports += 1;
                    a.report_files.push(path.display().to_string());
                    a.add_report(report, &mut merged);
                }
                Outcome::Broken { why, .. } => a.broken.push(format!("job {}: {why}", job.index)),
                Outcome::NotRun { why } => a.broken.push(format!("job {}: not run ({why})", job.index)),
            }
        }
        a.finish(&merged);
        a
    }

    /// "3 pass, 1 fail, 1 without report": how the runs ended, for tables.
    pub fn verdict_counts(&self) -> String {
        let mut parts: Vec<String> = self.verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        if !self.broken.is_empty() {
            parts.push(format!("{} without report", self.broken.len()));
        }
        parts.join(", ")
    }

    /// From reports read back (a directory of earlier runs).
    pub fn of_reports(reports: &[(String, Report)]) -> Aggregate {
        let mut a = Aggregate::default();
        let mut merged = crate::metrics::latency::new_histogram();
        for (path, report) in reports {
            a.runs += 1;
            a.reports += 1;
            a.report_files.push(path.clone());
            a.add_report(report, &mut merged);
        }
        a.finish(&merged);
        a
    }

    fn add_report(&mut self, report: &Report, merged: &mut hdrhistogram::Histogram<u64>) {
        if self.extensions.is_empty() {
            self.extensions = report.versions.extensions.clone();
        }
        let f = RunFigures::of(report);
        *self.verdicts.entry(f.verdict.clone()).or_default() += 1;
        self.transactions += f.transactions;
        self.commits += f.commits;
        self.failed_total += f.failed_commits;
        self.indeterminate_total += f.indeterminate_commits;
        self.harness_retries_total += f.harness_retries;
        if let Ok(h) = report.latency_ms.commit.histogram() {
            // Same bounds everywhere (new_histogram), so adding cannot fail in practice.
            let _ = merged.add(&h);
        }
        self.per_run.push(f);
    }

    fn finish(&mut self, merged: &hdrhistogram::Histogram<u64>) {
        let spread = |get: fn(&RunFigures) -> f64| Spread::of(&self.per_run.iter().map(get).collect::<Vec<_>>());
        self.commits_per_second = spread(|f| f.commits_per_second);
        self.failed_commits = spread(|f| f.failed_commits as f64);
        self.indeterminate_commits = spread(|f| f.indeterminate_commits as f64);
        self.harness_retries = spread(|f| f.harness_retries as f64);
        self.catalog_rollbacks_per_commit = spread(|f| f.catalog_rollbacks_per_commit);
        self.starvation_seconds = spread(|f| f.starvation_seconds);
        self.commit_latency_ms = LatencySummary::of(merged);
        let complete = self.runs > 0 && self.reports == self.runs;
        self.all_passed = complete && self.per_run.iter().all(|f| f.verdict == "pass");
        self.zero_failed = complete && self.failed_total == 0;
    }
}

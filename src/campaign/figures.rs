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
    /// Why the run did not pass (its failing checks, or its verdict's reason); empty when
    /// it passed.
    #[serde(default)]
    pub reason: String,
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
            reason: failure_reason(r),
        }
    }
}

/// The longest reason a table shows for one run; report.json has the rest.
const REASON_CHARS: usize = 160;

/// "`upsert_keys`: problems: duplicate_key x3": the failing checks of a run that did not
/// pass, else its verdict's reason; empty for a pass.
pub fn failure_reason(r: &Report) -> String {
    if r.verdict == crate::verdict::Verdict::Pass {
        return String::new();
    }
    let failing: Vec<String> = r
        .checks
        .iter()
        .filter(|c| c.failed())
        .map(|c| format!("`{}`: {}", c.name, c.summary))
        .collect();
    let text = if failing.is_empty() {
        r.verdict_reason.clone()
    } else {
        failing.join("; ")
    };
    crate::history::event::one_line(&text)
        .chars()
        .take(REASON_CHARS)
        .collect()
}

/// What conflicted, in words that stay the same from run to run of a campaign (each run
/// writes its own table or schema, so the table's name does not): the kind, and the
/// statement that last wrote the table, else the object.
fn conflict_key(c: &crate::metrics::conflicts::ConflictCount) -> String {
    let statement = c
        .statement
        .as_deref()
        .map(|s| s.split(':').next().unwrap_or(s).to_string());
    format!(
        "{} ({})",
        c.conflict.kind,
        statement.unwrap_or_else(|| c.conflict.object.clone())
    )
}

/// How one check ended over the runs of one side.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct CheckTally {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    /// Failed, but explained by a known upstream finding (`findings/known.toml`), and of
    /// those, the ones the registry says a comparison weighs (the data is wrong).
    pub known: usize,
    #[serde(default)]
    pub known_weighed: usize,
    pub error: usize,
    pub skipped: usize,
    /// Problem kinds the failing runs reported, with how many runs reported each.
    pub problems: BTreeMap<String, usize>,
    /// The known finding that explained its failures, e.g. "duckdb/ducklake#1393".
    pub known_as: Option<String>,
}

impl CheckTally {
    /// Runs in which the check judged the lake or tried to (not skipped).
    pub fn judged(&self) -> usize {
        self.pass + self.warn + self.fail + self.known + self.error
    }

    /// Runs in which the property did not hold, or could not be judged (a side whose runs
    /// cannot be judged is not better for it). A known finding counts when the registry
    /// says comparisons weigh it: a duplicated key does, a bookkeeping count does not.
    pub fn failing(&self) -> usize {
        self.fail + self.known_weighed + self.error
    }

    fn add(&mut self, c: &crate::checker::CheckResult) {
        use crate::checker::CheckStatus::*;
        match c.status {
            Pass => self.pass += 1,
            Warn => self.warn += 1,
            Fail => self.fail += 1,
            Known => self.known += 1,
            Error => self.error += 1,
            Skipped => self.skipped += 1,
        }
        if let Some(k) = &c.known {
            self.known_as.get_or_insert_with(|| k.reference.clone());
            if c.status == Known && k.weigh {
                self.known_weighed += 1;
            }
        }
        if matches!(c.status, Fail | Known | Error) {
            for kind in c.problem_kinds() {
                *self.problems.entry(kind).or_default() += 1;
            }
        }
    }
}

pub fn verdict_word(r: &Report) -> String {
    serde_json::to_value(r.verdict)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
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
    /// Every check's outcomes over the runs, by check name.
    #[serde(default)]
    pub checks: BTreeMap<String, CheckTally>,
    /// Failed and unknown-outcome transactions by the class of their last error, pooled.
    #[serde(default)]
    pub failed_by_class: BTreeMap<String, u64>,
    #[serde(default)]
    pub indeterminate_by_class: BTreeMap<String, u64>,
    /// Errors of every attempt, retried ones included, by class, pooled; and the conflicts
    /// among them by what conflicted ("insert vs delete (workload.statements[1])").
    #[serde(default)]
    pub errors_by_class: BTreeMap<String, u64>,
    #[serde(default)]
    pub conflicts: BTreeMap<String, u64>,
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

    /// "3 pass, 1 fail, 1 without report": how the runs ended, for tables, with the reason
    /// of the runs that did not pass ("2 fail: `table_stats`: ... (2 runs)").
    pub fn verdict_counts(&self) -> String {
        let reasons = self.reasons();
        if reasons.is_empty() {
            self.verdict_tally()
        } else {
            format!("{}: {}", self.verdict_tally(), reasons.join("; "))
        }
    }

    /// "3 pass, 1 fail": the counts alone, where a cell has no room for reasons.
    pub fn verdict_tally(&self) -> String {
        let mut parts: Vec<String> = self.verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        if !self.broken.is_empty() {
            parts.push(format!("{} without report", self.broken.len()));
        }
        parts.join(", ")
    }

    /// The distinct reasons of the runs that did not pass, most frequent first, with how
    /// many runs gave each (at most three, then how many more).
    pub fn reasons(&self) -> Vec<String> {
        let mut counted: Vec<(String, usize)> = Vec::new();
        let whys = self
            .per_run
            .iter()
            .map(|f| f.reason.clone())
            .chain(self.broken.iter().cloned());
        for why in whys.filter(|r| !r.is_empty()) {
            match counted.iter_mut().find(|(r, _)| *r == why) {
                Some((_, n)) => *n += 1,
                None => counted.push((why, 1)),
            }
        }
        counted.sort_by_key(|c| std::cmp::Reverse(c.1));
        let more = counted.len().saturating_sub(3);
        let mut out: Vec<String> = counted
            .into_iter()
            .take(3)
            .map(|(r, n)| if n > 1 { format!("{r} ({n} runs)") } else { r })
            .collect();
        if more > 0 {
            out.push(format!("{more} other reason(s): see report.json"));
        }
        out
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
        for c in &report.checks {
            self.checks.entry(c.name.clone()).or_default().add(c);
        }
        for (class, n) in &report.totals.failed_by_class {
            *self.failed_by_class.entry(class.clone()).or_default() += n;
        }
        for (class, n) in &report.totals.indeterminate_by_class {
            *self.indeterminate_by_class.entry(class.clone()).or_default() += n;
        }
        for (class, e) in &report.errors {
            *self.errors_by_class.entry(class.clone()).or_default() += e.count;
            for c in &e.conflicts {
                *self.conflicts.entry(conflict_key(c)).or_default() += c.count;
            }
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

//! Totals, per-writer figures and fairness, from the folded history.

use super::latency::{new_histogram, record_seconds, Latencies, LatencySummary};
use crate::history::{ErrorClass, OpOutcome, Outcome, Step, Txn};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the measured window ends on the run clock (it starts at zero, when the writers
/// start): the planned stop for a timed run, the last writer's end for a counted one.
/// What completes after it is the drain tail.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
pub struct Window {
    pub end: f64,
    /// When the last writer finished (or was abandoned).
    pub writers_done: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ErrorCount {
    pub count: u64,
    /// The first message seen of this class (its first line).
    pub example: String,
    /// The conflicts among them, by what conflicted (DuckLake's conflict messages parsed;
    /// tables and statements named after the run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<super::conflicts::ConflictCount>,
}

/// How transactions ended, for the whole run or one writer.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Counts {
    pub transactions: u64,
    pub commits: u64,
    pub failed: u64,
    pub indeterminate: u64,
    pub attempts: u64,
    pub harness_retries: u64,
    pub rows_committed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Totals {
    #[serde(flatten)]
    pub counts: Counts,
    /// Commits that completed inside the measured window, and their rate over it.
    pub commits_in_window: u64,
    pub commits_per_second: f64,
    /// Commits that completed after the window, while writers finished their last transaction.
    pub drain_commits: u64,
    pub drain_seconds: f64,
    /// Attempts whose outcome was unknown when their COMMIT returned, by how they resolved.
    pub uncertain_attempts: u64,
    pub resolved_committed: u64,
    pub resolved_absent: u64,
    pub unresolved: u64,
    /// pg_stat_database.xact_rollback delta of the catalog database (set by the runner).
    pub catalog_rollbacks: Option<u64>,
    /// Transactions that failed for good, and those whose outcome stayed unknown, by the
    /// error class of their last attempt: a failed commit is not always lost work (a clean
    /// conflict refused is the lake working), so comparisons say which class moved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_by_class: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indeterminate_by_class: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct WriterFigures {
    pub writer: u32,
    #[serde(flatten)]
    pub counts: Counts,
    /// The longest stretch this writer went without a commit (starvation).
    pub longest_without_commit_seconds: f64,
    pub setup_ms: Option<u64>,
    pub setup_error: Option<String>,
    pub latency_ms: Latencies,
    pub errors: BTreeMap<String, ErrorCount>,
}

/// How evenly the writers got through: a writer starving in backoff looks like a "hang"
/// that pg_locks cannot see.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Fairness {
    pub commits_min: u64,
    pub commits_median: f64,
    pub commits_max: u64,
    pub longest_without_commit_seconds: f64,
    pub longest_without_commit_writer: Option<u32>,
    /// Where on the run clock that stretch began.
    pub longest_without_commit_from: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Summary {
    pub totals: Totals,
    pub latency_ms: Latencies,
    pub writers: Vec<WriterFigures>,
    pub fairness: Fairness,
    pub errors: BTreeMap<String, ErrorCount>,
}

#[derive(Default)]
struct Hists {
    commit: Option<Histogram<u64>>,
    failed_commit: Option<Histogram<u64>>,
    indeterminate_commit: Option<Histogram<u64>>,
    transaction: Option<Histogram<u64>>,
    failed_transaction: Option<Histogram<u64>>,
}

fn rec(h: &mut Option<Histogram<u64>>, seconds: f64) {
    record_seconds(h.get_or_insert_with(new_histogram), seconds);
}

impl Hists {
    fn add_txn(&mut self, t: &Txn) {
        for a in &t.attempts {
            if a.step == Some(Step::Commit) {
                if let Some(s) = a.commit_seconds {
                    match a.outcome {
                        Some(OpOutcome::Ok) => rec(&mut self.commit, s),
                        Some(OpOutcome::Fail) => rec(&mut self.failed_commit, s),
                        _ => rec(&mut self.indeterminate_commit, s),
                    }
                }
            }
        }
        let span = t.last_complete().map(|end| end - t.first_invoke());
        match (t.outcome, t.committing().and_then(|a| a.complete_at), span) {
            (Outcome::Committed, Some(end), _) => rec(&mut self.transaction, end - t.first_invoke()),
            (Outcome::Failed, _, Some(s)) => rec(&mut self.failed_transaction, s),
            _ => {}
        }
    }

    fn summarize(&self) -> Latencies {
        let of = |h: &Option<Histogram<u64>>| h.as_ref().map(LatencySummary::of).unwrap_or_default();
        Latencies {
            commit: of(&self.commit),
            failed_commit: of(&self.failed_commit),
            indeterminate_commit: of(&self.indeterminate_commit),
            transaction: of(&self.transaction),
            failed_transaction: of(&self.failed_transaction),
        }
    }
}

/// Counts one error under its class, keeping the first message as the example.
pub fn note_error(errors: &mut BTreeMap<String, ErrorCount>, class: ErrorClass, message: &str) {
    let e = errors.entry(class.name().to_string()).or_default();
    if e.count == 0 {
        e.example = message.to_string();
    }
    e.count += 1;
    super::conflicts::note(&mut e.conflicts, message);
}

/// The error class of a transaction's last attempt that had one ("unknown" when none did:
/// an outcome the COMMIT never answered).
fn last_class(t: &Txn) -> String {
    t.attempts
        .iter()
        .rev()
        .find_map(|a| a.error_class)
        .map(|c| c.name().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn count_txn(t: &Txn, totals: &mut Totals, errors: &mut BTreeMap<String, ErrorCount>, window: Window) {
    let counts = &mut totals.counts;
    counts.transactions += 1;
    counts.attempts += t.attempts.len() as u64;
    counts.harness_retries += t.attempts.len().saturating_sub(1) as u64;
    match t.outcome {
        Outcome::Committed => {
            counts.commits += 1;
            counts.rows_committed += t.rows as u64;
            match t.committing().and_then(|a| a.complete_at) {
                Some(at) if at > window.end => totals.drain_commits += 1,
                _ => totals.commits_in_window += 1,
            }
        }
        Outcome::Failed => {
            totals.counts.failed += 1;
            *totals.failed_by_class.entry(last_class(t)).or_default() += 1;
        }
        Outcome::Indeterminate => {
            totals.counts.indeterminate += 1;
            *totals.indeterminate_by_class.entry(last_class(t)).or_default() += 1;
        }
    }
    for a in &t.attempts {
        if let (Some(class), Some(msg)) = (a.error_class, &a.error) {
            note_error(errors, class, msg);
        }
        if a.was_uncertain() {
            totals.uncertain_attempts += 1;
            match a.committed() {
                Some(true) => totals.resolved_committed += 1,
                Some(false) => totals.resolved_absent += 1,
                None => totals.unresolved += 1,
            }
        }
    }
}

/// The longest stretch without a commit for one writer's transactions, and where it began.
fn longest_gap(txns: &[&Txn], window: Window) -> (f64, f64) {
    let mut commits: Vec<f64> = txns
        .iter()
        .filter_map(|t| t.committing().and_then(|a| a.complete_at))
        .collect();
    commits.sort_by(f64::total_cmp);
    // A writer whose last attempt never completed was still stuck when the run ended.
    let still_busy = txns.last().is_some_and(|t| t.last_complete().is_none());
    let end = if still_busy {
        window.writers_done
    } else {
        txns.iter().filter_map(|t| t.last_complete()).fold(0.0, f64::max)
    };
    let mut points = vec![0.0];
    points.extend(commits);
    points.push(end.max(*points.last().unwrap_or(&0.0)));
    points
        .windows(2)
        .map(|w| (w[1] - w[0], w[0]))
        .fold((0.0, 0.0), |best, g| if g.0 > best.0 { g } else { best })
}

/// Everything measured, from the history's transactions. `writers` is how many there were
/// (a writer with no transaction still gets its row).
pub fn summarize(txns: &[Txn], writers: u32, window: Window) -> Summary {
    let mut totals = Totals::default();
    let mut errors = BTreeMap::new();
    let mut all = Hists::default();
    let mut per_writer = Vec::new();
    let mut fairness = Fairness::default();
    for w in 0..writers {
        let mine: Vec<&Txn> = txns.iter().filter(|t| t.writer == w).collect();
        let mut t = Totals::default();
        let mut e = BTreeMap::new();
        let mut h = Hists::default();
        for txn in &mine {
            count_txn(txn, &mut t, &mut e, window);
            count_txn(txn, &mut totals, &mut errors, window);
            h.add_txn(txn);
            all.add_txn(txn);
        }
        let (gap, from) = longest_gap(&mine, window);
        if gap > fairness.longest_without_commit_seconds {
            fairness.longest_without_commit_seconds = gap;
            fairness.longest_without_commit_writer = Some(w);
            fairness.longest_without_commit_from = from;
        }
        per_writer.push(WriterFigures {
            writer: w,
            counts: t.counts,
            longest_without_commit_seconds: gap,
            latency_ms: h.summarize(),
            errors: e,
            ..Default::default()
        });
    }
    let mut commits: Vec<u64> = per_writer.iter().map(|w| w.counts.commits).collect();
    commits.sort_unstable();
    if let (Some(min), Some(max)) = (commits.first(), commits.last()) {
        fairness.commits_min = *min;
        fairness.commits_max = *max;
        let n = commits.len();
        fairness.commits_median = if n % 2 == 1 {
            commits[n / 2] as f64
        } else {
            (commits[n / 2 - 1] + commits[n / 2]) as f64 / 2.0
        };
    }
    totals.commits_per_second = if window.end > 0.0 {
        totals.commits_in_window as f64 / window.end
    } else {
        0.0
    };
    totals.drain_seconds = (window.writers_done - window.end).max(0.0);
    Summary {
        totals,
        latency_ms: all.summarize(),
        writers: per_writer,
        fairness,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{transaction::fold, Event};

    fn txn_events(writer: u32, txn: u64, start: f64, end: f64, outcome: OpOutcome) -> Vec<Event> {
        vec![
            Event::Invoke {
                writer,
                txn,
                attempt: 1,
                at: start,
                rows: 10,
                scheduled_at: None,
            },
            Event::Complete {
                writer,
                txn,
                attempt: 1,
                at: end,
                outcome,
                step: Step::Commit,
                commit_seconds: Some(end - start),
                snapshot_id: None,
                error_class: (outcome != OpOutcome::Ok).then_some(ErrorClass::RetriesExhausted),
                error: (outcome != OpOutcome::Ok).then(|| "Exceeded the maximum retry count".into()),
            },
        ]
    }

    #[test]
    fn throughput_counts_the_window_and_fairness_finds_the_starved_writer() {
        let mut events = Vec::new();
        // w0 commits every second for 10 s; w1 commits at 1 s, then fails until 9 s, then
        // commits once more in the drain tail (after the 10 s window).
        for i in 0..10 {
            events.extend(txn_events(0, i, i as f64, i as f64 + 0.5, OpOutcome::Ok));
        }
        events.extend(txn_events(1, 0, 0.0, 1.0, OpOutcome::Ok));
        events.extend(txn_events(1, 1, 1.0, 9.0, OpOutcome::Fail));
        events.extend(txn_events(1, 2, 9.0, 10.5, OpOutcome::Ok));
        let s = summarize(
            &fold(&events),
            2,
            Window {
                end: 10.0,
                writers_done: 10.5,
            },
        );
        assert_eq!(s.totals.counts.commits, 12);
        assert_eq!(s.totals.commits_in_window, 11);
        assert_eq!(s.totals.drain_commits, 1);
        assert!((s.totals.commits_per_second - 1.1).abs() < 1e-9);
        assert!((s.totals.drain_seconds - 0.5).abs() < 1e-9);
        assert_eq!(s.totals.counts.failed, 1);
        assert_eq!(s.errors["retries_exhausted"].count, 1);
        assert_eq!(s.fairness.longest_without_commit_writer, Some(1));
        assert!(
            (s.fairness.longest_without_commit_seconds - 9.5).abs() < 1e-9,
            "{:?}",
            s.fairness
        );
        assert_eq!((s.fairness.commits_min, s.fairness.commits_max), (2, 10));
        assert_eq!(s.latency_ms.commit.count, 12);
        assert_eq!(s.latency_ms.failed_commit.count, 1);
        assert_eq!(s.latency_ms.failed_transaction.count, 1);
    }
}

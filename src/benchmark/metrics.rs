//! What a run measures. Writers update their own `WriterMetrics` behind a mutex after each
//! transaction, so the runner can snapshot them at any moment: a run that hangs or is
//! interrupted still reports everything measured up to then.

use crate::client::ErrorClass;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Latency histograms record microseconds from 1 µs to 1 hour at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = (d.as_micros() as u64).clamp(1, h.high());
    let _ = h.record(us);
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl LatencySummary {
    /// In milliseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        LatencySummary {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ErrorCount {
    pub count: u64,
    /// The first message seen of this class, verbatim.
    pub example: String,
}

/// How one transaction ended. Indeterminate: the connection was lost during COMMIT, so
/// nobody knows whether it committed; the checker looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Committed,
    Failed,
    Indeterminate,
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct TxnRecord {
    pub seq: u64,
    pub outcome: Outcome,
    pub attempts: u32,
    pub rows: u32,
}

#[derive(Debug, Clone)]
pub struct WriterMetrics {
    /// Each successful COMMIT statement.
    pub commit_latency: Histogram<u64>,
    /// Whole transactions that committed, first BEGIN to COMMIT, retries included.
    pub txn_latency: Histogram<u64>,
    /// COMMIT statements that failed, until they failed.
    pub failed_commit_latency: Histogram<u64>,
    pub attempts: u64,
    pub retries: u64,
    pub errors: BTreeMap<ErrorClass, ErrorCount>,
    pub ledger: Vec<TxnRecord>,
    pub setup: Option<Duration>,
    pub setup_error: Option<String>,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        WriterMetrics {
            commit_latency: new_histogram(),
            txn_latency: new_histogram(),
            failed_commit_latency: new_histogram(),
            attempts: 0,
            retries: 0,
            errors: BTreeMap::new(),
            ledger: Vec::new(),
            setup: None,
            setup_error: None,
        }
    }
}

impl WriterMetrics {
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.ledger.iter().filter(|t| t.outcome == outcome).count() as u64
    }

    pub fn rows_committed(&self) -> u64 {
        self.ledger.iter().filter(|t| t.outcome == Outcome::Committed).map(|t| t.rows as u64).sum()
    }

    pub fn note_error(&mut self, class: ErrorClass, message: &str) {
        let e = self.errors.entry(class).or_default();
        if e.count == 0 {
            e.example = message.chars().take(500).collect();
        }
        e.count += 1;
    }
}

/// One second of the run, for the timeline.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Second {
    pub second: u64,
    pub commits: u64,
    pub failures: u64,
    pub retries: u64,
    /// The most sessions waiting on a lock in any sample of this second.
    pub lock_waiters: u64,
}

#[derive(Default)]
pub struct Timeline {
    seconds: Mutex<Vec<Second>>,
}

pub enum Event {
    Commit,
    Failure,
    Retry,
    LockWaiters(u64),
}

impl Timeline {
    pub fn record(&self, at: Duration, event: Event) {
        let s = at.as_secs();
        let mut v = self.seconds.lock().unwrap_or_else(|p| p.into_inner());
        while v.len() as u64 <= s {
            let next = v.len() as u64;
            v.push(Second { second: next, ..Default::default() });
        }
        let slot = &mut v[s as usize];
        match event {
            Event::Commit => slot.commits += 1,
            Event::Failure => slot.failures += 1,
            Event::Retry => slot.retries += 1,
            Event::LockWaiters(n) => slot.lock_waiters = slot.lock_waiters.max(n),
        }
    }

    pub fn snapshot(&self) -> Vec<Second> {
        self.seconds.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Aggregates the per-writer metrics into run totals.
pub fn merge<'a>(all: impl Iterator<Item = &'a WriterMetrics>) -> WriterMetrics {
    let mut total = WriterMetrics::default();
    for m in all {
        let _ = total.commit_latency.add(&m.commit_latency);
        let _ = total.txn_latency.add(&m.txn_latency);
        let _ = total.failed_commit_latency.add(&m.failed_commit_latency);
        total.attempts += m.attempts;
        total.retries += m.retries;
        for (class, e) in &m.errors {
            let t = total.errors.entry(*class).or_default();
            if t.count == 0 {
                t.example = e.example.clone();
            }
            t.count += e.count;
        }
        total.ledger.extend(m.ledger.iter().copied());
    }
    total
}

//! One writer's life: open its own DuckDB instance, then BEGIN / insert one batch / COMMIT
//! until told to stop, ROLLBACK only after an error, retrying by the harness policy.

use super::error_class::{classify, ErrorClass};
use super::retry_policy;
use super::status::{Step, WriterStatus};
use crate::benchmark::metrics::{record, Event, Outcome, Timeline, TxnRecord, WriterMetrics};
use crate::lake::{self, LakeTarget};
use crate::scenario::{Scenario, StopCondition};
use crate::workload::append::AppendWorkload;
use duckdb::{Connection, InterruptHandle};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything the runner shares with one writer.
pub struct WriterShared {
    pub run_id: String,
    pub scenario: Arc<Scenario>,
    pub target: Arc<LakeTarget>,
    pub clock: Instant,
    /// Finish the current transaction, start no new one.
    pub stop: AtomicBool,
    /// The deadline passed or the user pressed Ctrl-C: abandon work now.
    pub abort: AtomicBool,
    /// Writers that have finished opening their instance (successfully or not).
    pub ready: AtomicUsize,
    /// Set once every writer is ready: all start writing at the same moment, and the
    /// measured window does not include loading extensions and attaching.
    pub go: AtomicBool,
    pub timeline: Timeline,
    pub live: LiveCounters,
    pub writers: Vec<WriterSlot>,
}

/// Counters the progress line reads.
#[derive(Default)]
pub struct LiveCounters {
    pub commits: AtomicU64,
    pub failed: AtomicU64,
    pub indeterminate: AtomicU64,
    pub retries: AtomicU64,
    pub lock_waiters: AtomicU64,
}

pub struct WriterSlot {
    pub status: WriterStatus,
    pub metrics: Mutex<WriterMetrics>,
    pub interrupt: Mutex<Option<Arc<InterruptHandle>>>,
}

impl WriterSlot {
    pub fn new(clock: Instant) -> Self {
        WriterSlot { status: WriterStatus::new(clock), metrics: Mutex::new(WriterMetrics::default()), interrupt: Mutex::new(None) }
    }

    pub fn metrics(&self) -> std::sync::MutexGuard<'_, WriterMetrics> {
        self.metrics.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn application_name(run_id: &str, writer: u32) -> String {
    format!("ducklake-stress/{run_id}/w{writer}")
}

pub fn run(shared: &WriterShared, id: u32) {
    let slot = &shared.writers[id as usize];
    slot.status.enter(Step::Connecting);
    let started = Instant::now();
    let retry = &shared.scenario.retry.ducklake;
    let conn = match lake::open(&shared.target, &application_name(&shared.run_id, id), Some(retry)) {
        Ok(c) => c,
        Err(e) => {
            slot.metrics().setup_error = Some(format!("{e:#}"));
            slot.status.enter(Step::SetupFailed);
            shared.ready.fetch_add(1, Ordering::AcqRel);
            return;
        }
    };
    slot.metrics().setup = Some(started.elapsed());
    *slot.interrupt.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn.interrupt_handle());
    slot.status.enter(Step::Ready);
    shared.ready.fetch_add(1, Ordering::AcqRel);
    while !shared.go.load(Ordering::Acquire) && !shared.abort.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(2));
    }

    let workload = AppendWorkload::new(&shared.scenario.workload, &shared.scenario.lake.table);
    let mut seq: u64 = 0;
    while !shared.stop.load(Ordering::Acquire) && !shared.abort.load(Ordering::Acquire) {
        // Like pgbench -t: every transaction counts, committed or not, so a writer whose
        // commits keep failing still finishes instead of running into the deadline.
        if let StopCondition::CommitsPerWriter(n) = shared.scenario.run.stop {
            if seq >= n {
                break;
            }
        }
        let sql = workload.insert_sql(&shared.run_id, id, seq);
        let record = transaction(shared, slot, &conn, &sql, seq, workload.rows());
        if let Some(r) = record {
            slot.metrics().ledger.push(r);
        }
        seq += 1;
    }
    // Dropping the instance closes its catalog sessions before we report Done, so the
    // leftover-session check sees only what DuckDB failed to close.
    slot.interrupt.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(conn);
    slot.status.enter(Step::Done);
}

/// Runs one transaction with the harness's retries. `None`: abandoned before any attempt.
fn transaction(shared: &WriterShared, slot: &WriterSlot, conn: &Connection, sql: &str, seq: u64, rows: u32) -> Option<TxnRecord> {
    let policy = &shared.scenario.retry.harness;
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        if shared.abort.load(Ordering::Acquire) {
            // An interrupt is forgotten once the next statement starts: never begin one
            // after the run was aborted. The last attempt's error is already counted.
            return (attempt > 0).then(|| ended(shared, Outcome::Failed, seq, attempt, rows));
        }
        if attempt > 0 {
            slot.metrics().retries += 1;
            shared.live.retries.fetch_add(1, Ordering::Relaxed);
            shared.timeline.record(shared.clock.elapsed(), Event::Retry);
        }
        attempt += 1;
        slot.status.set_txn(seq, attempt);
        let result = attempt_once(shared, slot, conn, sql);
        let mut m = slot.metrics();
        m.attempts += 1;
        let (step, message, spent) = match result {
            Ok(commit_time) => {
                record(&mut m.commit_latency, commit_time);
                record(&mut m.txn_latency, started.elapsed());
                drop(m);
                return Some(ended(shared, Outcome::Committed, seq, attempt, rows));
            }
            Err(e) => e,
        };
        if step == Step::Commit {
            // How long a COMMIT that did not go through kept the writer (DuckLake's own
            // retries happen inside it): the cost of a lost race, per retry setting.
            record(&mut m.failed_commit_latency, spent);
        }
        let aborting = shared.abort.load(Ordering::Acquire);
        let class = if aborting { ErrorClass::InterruptedByDeadline } else { classify(&message) };
        m.note_error(class, &message);
        drop(m);
        // The outcome of a COMMIT whose connection broke (or that we interrupted) is unknown.
        let unknown = step == Step::Commit && matches!(class, ErrorClass::ConnectionLost | ErrorClass::InterruptedByDeadline);
        slot.status.enter(Step::Rollback);
        let _ = conn.execute_batch("ROLLBACK"); // "no transaction is active" is fine here
        if unknown {
            return Some(ended(shared, Outcome::Indeterminate, seq, attempt, rows));
        }
        if attempt >= policy.max_attempts || aborting {
            return Some(ended(shared, Outcome::Failed, seq, attempt, rows));
        }
        slot.status.enter(Step::Backoff);
        sleep_unless_aborted(shared, retry_policy::wait_after(policy, attempt));
    }
}

/// Counts a transaction's outcome in the live counters and the timeline.
fn ended(shared: &WriterShared, outcome: Outcome, seq: u64, attempts: u32, rows: u32) -> TxnRecord {
    let (counter, event) = match outcome {
        Outcome::Committed => (&shared.live.commits, Event::Commit),
        Outcome::Failed => (&shared.live.failed, Event::Failure),
        Outcome::Indeterminate => (&shared.live.indeterminate, Event::Failure),
    };
    counter.fetch_add(1, Ordering::Relaxed);
    shared.timeline.record(shared.clock.elapsed(), event);
    TxnRecord { seq, outcome, attempts, rows }
}

/// BEGIN, insert, COMMIT. Ok: how long COMMIT took. Err: the step that failed, why, and
/// how long the failing statement ran.
fn attempt_once(shared: &WriterShared, slot: &WriterSlot, conn: &Connection, sql: &str) -> Result<Duration, (Step, String, Duration)> {
    let exec = |step: Step, stmt: &str| {
        if shared.abort.load(Ordering::Acquire) {
            return Err((step, "interrupted: the run was aborted before this statement".to_string(), Duration::ZERO));
        }
        slot.status.enter(step);
        let t = Instant::now();
        conn.execute_batch(stmt).map_err(|e| (step, e.to_string(), t.elapsed()))
    };
    exec(Step::Begin, "BEGIN TRANSACTION")?;
    exec(Step::Insert, sql)?;
    let t = Instant::now();
    exec(Step::Commit, "COMMIT")?;
    Ok(t.elapsed())
}

fn sleep_unless_aborted(shared: &WriterShared, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until && !shared.abort.load(Ordering::Acquire) {
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
    }
}

//! One writer's life: open its own DuckDB instance, then BEGIN / the workload's statements / tag /
//! COMMIT until told to stop, ROLLBACK only after an error (or after every transaction, with
//! `client.cleanup = "always_rollback"`), retrying by the harness policy.
//! Every attempt is written to the history as it starts and as it ends.

use super::retry_policy;
use crate::fleet::{Step, WriterShared, WriterSlot};
use crate::history::error_class::classify;
use crate::history::recorder::Completion;
use crate::history::tag::{self, CommitTag, Resolution, TagKey};
use crate::history::{ErrorClass, Event, OpOutcome, Outcome};
use crate::lake;
use crate::scenario::{ActorKind, Cleanup, InstanceMode, StopCondition};
use crate::util::LockExt;
use duckdb::Connection;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a writer waits for the catalog to settle before looking up an unknown commit.
const RESOLVE_LIMIT: Duration = Duration::from_secs(5);

pub use crate::util::ids::writer_application_name as application_name;

/// What one writer works with while it writes.
struct Writer<'a> {
    shared: &'a WriterShared,
    slot: &'a WriterSlot,
    conn: Connection,
    id: u32,
    app: String,
}

pub fn run(shared: &WriterShared, id: u32) {
    let slot = shared.slot(id);
    slot.status.enter(Step::Connecting);
    let app = application_name(&shared.run_id, id);
    let Some(pass) = shared.setup_gate.enter(|| shared.aborted()) else {
        slot.setup().error = Some("the run was aborted before this writer could set up".into());
        slot.status.enter(Step::SetupFailed);
        shared.ready.fetch_add(1, Ordering::AcqRel);
        return;
    };
    let started = Instant::now();
    let opened = open(shared, &app);
    drop(pass);
    let conn = match opened {
        Ok(c) => c,
        Err(e) => {
            slot.setup().error = Some(shared.target.mask_secrets(&format!("{e:#}")));
            slot.status.enter(Step::SetupFailed);
            shared.ready.fetch_add(1, Ordering::AcqRel);
            return;
        }
    };
    slot.setup().took = Some(started.elapsed());
    *slot.interrupt.locked() = Some(conn.interrupt_handle());
    slot.status.enter(Step::Ready);
    shared.ready.fetch_add(1, Ordering::AcqRel);
    while !shared.go.load(Ordering::Acquire) && !shared.aborted() {
        // 10 ms, not less: hundreds of writers polling faster starve the ones still attaching.
        std::thread::sleep(Duration::from_millis(10));
    }

    let w = Writer {
        shared,
        slot,
        conn,
        id,
        app,
    };
    // `[[actors]]`: the other kinds of actor share the writers' set-up and wind-down.
    match shared.scenario.actor_kind(id) {
        ActorKind::Writer => w.write_all(),
        ActorKind::Maintenance => super::maintenance::run(shared, &w.conn, id),
        ActorKind::Reader => super::reader::run(shared, &w.conn, id, &w.app),
    }
    // Dropping the instance closes its catalog sessions before we report Done, so the
    // session checks see only what DuckDB failed to close.
    slot.interrupt.locked().take();
    drop(w);
    if shared.scenario.client.instance == InstanceMode::Shared {
        super::shared_instance::release(&shared.run_id);
    }
    slot.status.enter(Step::Done);
}

/// This writer's connection: its own instance, or a clone of the run's shared one; with the
/// scenario's `client.settings` SET on it.
fn open(shared: &WriterShared, app: &str) -> anyhow::Result<Connection> {
    let client = &shared.scenario.client;
    let conn = match client.instance {
        InstanceMode::Own => lake::open_with(
            &shared.target,
            app,
            Some(&shared.scenario.retry.ducklake),
            &client.attach_options,
        )?,
        InstanceMode::Shared => {
            let conn = super::shared_instance::connect(shared, app);
            if conn.is_err() {
                // It will not reach the end of `run`, where the others let go.
                super::shared_instance::release(&shared.run_id);
            }
            conn?
        }
    };
    lake::apply_client(&conn, client)?;
    Ok(conn)
}

/// Why an attempt failed: where, the message, how long the failing statement ran, and
/// whether that statement was sent at all (a COMMIT never sent cannot have committed).
struct Failure {
    step: Step,
    message: String,
    spent: Duration,
    sent: bool,
}

impl Writer<'_> {
    /// Transactions of the workload until told to stop.
    fn write_all(&self) {
        let (shared, id) = (self.shared, self.id);
        let workload = crate::workload::generator(&shared.scenario.workload, &shared.scenario.lake.table);
        let mut seq: u64 = shared.first_txn;
        let pacing = shared.scenario.run.pacing;
        // A writer process that takes over (first_txn > 0) skips the arrivals already had.
        let mut schedule = pacing.schedule(id).map(|s| s.skip(seq as usize));
        while !shared.stopping() {
            // Like pgbench -t: every transaction counts, committed or not, so a writer whose
            // commits keep failing still finishes instead of running into the deadline.
            if let StopCondition::CommitsPerWriter(n) = shared.scenario.run.stop {
                if seq >= n {
                    break;
                }
            }
            // Open model: wait for the transaction's arrival; a writer that is behind starts
            // at once, and its latency still counts from the arrival.
            let due = schedule.as_mut().and_then(|s| s.next());
            if due.is_some_and(|at| !self.wait_for(at)) {
                break;
            }
            let body = |conn: &Connection| workload.run_txn(conn, &shared.run_id, id, seq);
            if let Some(outcome) = self.transaction(&body, seq, workload.rows_for(id), due) {
                let counter = match outcome {
                    Outcome::Committed => &shared.live.commits,
                    Outcome::Failed => &shared.live.failed,
                    Outcome::Indeterminate => &shared.live.indeterminate,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            seq += 1;
            if let Some(think) = pacing.think() {
                self.sleep_unless_stopping(think);
            }
        }
    }

    /// Sleeps until `at` seconds on the run clock. False: the run stopped (or was aborted)
    /// before then.
    fn wait_for(&self, at: f64) -> bool {
        let Some(origin) = self.shared.history.origin() else {
            return !self.shared.stopping();
        };
        let until = origin + Duration::from_secs_f64(at);
        self.sleep_unless_stopping(until.saturating_duration_since(Instant::now()));
        !self.shared.stopping()
    }

    fn sleep_unless_stopping(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        self.slot.status.enter(Step::Pacing);
        let until = Instant::now() + d;
        while Instant::now() < until && !self.shared.stopping() {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
        }
    }

    /// One transaction with the harness's retries (all of them belong to the transaction
    /// `due` at that time, with a rate). `None`: abandoned before any attempt.
    fn transaction(
        &self,
        body: &dyn Fn(&Connection) -> Result<(), String>,
        seq: u64,
        rows: u32,
        due: Option<f64>,
    ) -> Option<Outcome> {
        let (shared, history) = (self.shared, &self.shared.history);
        let policy = &shared.scenario.retry.harness;
        let mut attempt = 0;
        loop {
            if shared.aborted() {
                // An interrupt is forgotten once the next statement starts: never begin one
                // after the run was aborted. The last attempt is already in the history.
                return (attempt > 0).then_some(Outcome::Failed);
            }
            if attempt > 0 {
                shared.live.retries.fetch_add(1, Ordering::Relaxed);
            }
            attempt += 1;
            self.slot.status.set_txn(seq, attempt);
            let tag = CommitTag {
                run_id: &shared.run_id,
                key: TagKey {
                    writer: self.id,
                    txn: seq,
                    attempt,
                },
            };
            match due {
                Some(at) if attempt == 1 => history.invoke_scheduled(self.id, seq, rows, at),
                _ => history.invoke(self.id, seq, attempt, rows),
            }
            let failure = match self.attempt_once(body, &tag.sql(), seq) {
                Ok(commit) => {
                    self.record_commit(seq, attempt, commit);
                    return Some(Outcome::Committed);
                }
                Err(f) => f,
            };
            let (uncertain, aborting) = self.record_failure(seq, attempt, failure);
            if uncertain {
                if aborting {
                    return Some(Outcome::Indeterminate); // looked up after the run
                }
                match self.resolve(&tag) {
                    Some(true) => return Some(Outcome::Committed),
                    None => return Some(Outcome::Indeterminate),
                    Some(false) => {} // it did not commit: retrying is safe
                }
            }
            if attempt >= policy.max_attempts || aborting {
                return Some(Outcome::Failed);
            }
            self.slot.status.enter(Step::Backoff);
            self.sleep_unless_aborted(retry_policy::wait_after(policy, attempt));
        }
    }

    /// A committed attempt into the history (its snapshot id is joined from the catalog by
    /// tag after the run), then the pipeline's cleanup ROLLBACK if the scenario asks for it.
    fn record_commit(&self, seq: u64, attempt: u32, commit: Duration) {
        let done = Completion {
            outcome: OpOutcome::Ok,
            step: Step::Commit,
            commit_seconds: Some(commit.as_secs_f64()),
            snapshot_id: None,
            error: None,
        };
        self.shared.history.complete(self.id, seq, attempt, done);
        if self.shared.scenario.client.cleanup == Cleanup::AlwaysRollback {
            self.cleanup_rollback(seq, attempt);
        }
    }

    /// Rolls a failed attempt back and records it: a failure at COMMIT after the COMMIT
    /// was sent is `info` (it may have committed), any other a failure. Returns (uncertain,
    /// aborting).
    fn record_failure(&self, seq: u64, attempt: u32, failure: Failure) -> (bool, bool) {
        let aborting = self.shared.aborted();
        let class = if aborting {
            ErrorClass::InterruptedByDeadline
        } else {
            classify(&failure.message)
        };
        self.slot.status.enter(Step::Rollback);
        // "no transaction is active" is fine here. always_rollback's pipelines did this
        // same ROLLBACK after a failure, so only the one after COMMIT is recorded.
        let _ = self.conn.execute_batch("ROLLBACK");
        let at_commit = failure.step == Step::Commit;
        let uncertain = at_commit && failure.sent && !class.is_clean_abort();
        let done = Completion {
            outcome: if uncertain { OpOutcome::Info } else { OpOutcome::Fail },
            step: failure.step,
            commit_seconds: at_commit.then_some(failure.spent.as_secs_f64()),
            snapshot_id: None,
            error: Some((class, failure.message)),
        };
        self.shared.history.complete(self.id, seq, attempt, done);
        (uncertain, aborting)
    }

    /// `client.cleanup = "always_rollback"`: the ROLLBACK the seeds' pipelines sent after
    /// every COMMIT, recorded with what DuckDB answered (after a COMMIT there is no
    /// transaction, so an error is expected; anything else is a finding).
    fn cleanup_rollback(&self, seq: u64, attempt: u32) {
        self.slot.status.enter(Step::Rollback);
        let r = self.conn.execute_batch("ROLLBACK");
        let error = r.err().map(|e| self.shared.target.mask_secrets(&e.to_string()));
        let error_class = error.as_deref().map(classify);
        let history = &self.shared.history;
        history.append(&Event::Cleanup {
            writer: self.id,
            txn: seq,
            attempt,
            at: history.now(),
            error_class,
            error,
        });
    }

    /// Looks an unknown commit up by its tag and records what the catalog said.
    fn resolve(&self, tag: &CommitTag) -> Option<bool> {
        if !self.shared.target.catalog.is_postgres() {
            // A file catalog has no server to ask while the writers hold it: the attempt
            // stays unknown and is looked up by its tag once the writers have ended.
            return None;
        }
        self.slot.status.enter(Step::Resolve);
        let r = crate::runtime::block_on(async {
            // A catalog that is restarting refuses connections for a moment: keep asking
            // (within the limit) rather than leave the outcome unknown.
            // (Its connection can also die under a lookup: that is asked again too.)
            let until = Instant::now() + RESOLVE_LIMIT;
            loop {
                let r = match self.shared.resolver.client().await {
                    Ok(catalog) => {
                        tag::resolve(
                            &catalog,
                            tag,
                            &self.app,
                            until.saturating_duration_since(Instant::now()),
                        )
                        .await
                    }
                    Err(e) => Resolution::Unknown(format!(
                        "the catalog could not be reached to look the tag up within {} s: {e:#}",
                        RESOLVE_LIMIT.as_secs()
                    )),
                };
                if !matches!(r, Resolution::Unknown(_)) || Instant::now() >= until || self.shared.aborted() {
                    break r;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let (snapshot_id, how) = match &r {
            Resolution::Committed(s) => (
                Some(*s),
                format!("tag found in ducklake_snapshot_changes (snapshot {s}) by the writer"),
            ),
            Resolution::Absent => (
                None,
                "tag absent from ducklake_snapshot_changes and no session of the writer running a query: retried"
                    .to_string(),
            ),
            Resolution::Unknown(why) => (None, why.clone()),
        };
        let k = tag.key;
        self.shared.history.append(&Event::Resolve {
            writer: k.writer,
            txn: k.txn,
            attempt: k.attempt,
            at: self.shared.history.now(),
            committed: r.committed(),
            snapshot_id,
            how,
        });
        r.committed()
    }

    /// BEGIN, the workload's statements, tag, COMMIT. Ok: how long COMMIT took.
    fn attempt_once(
        &self,
        body: &dyn Fn(&Connection) -> Result<(), String>,
        tag_sql: &str,
        seq: u64,
    ) -> Result<Duration, Failure> {
        let run = |step: Step, what: &dyn Fn() -> Result<(), String>| {
            if self.shared.aborted() {
                let message = "interrupted: the run was aborted before this statement".to_string();
                return Err(Failure {
                    step,
                    message,
                    spent: Duration::ZERO,
                    sent: false,
                });
            }
            self.slot.status.enter(step);
            let t = Instant::now();
            what().map_err(|e| Failure {
                step,
                message: self.shared.target.mask_secrets(&e),
                spent: t.elapsed(),
                sent: true,
            })
        };
        let exec = |step: Step, stmt: &str| run(step, &|| self.conn.execute_batch(stmt).map_err(|e| e.to_string()));
        exec(Step::Begin, "BEGIN TRANSACTION")?;
        run(Step::Insert, &|| body(&self.conn))?;
        self.hold_open(seq);
        exec(Step::Tag, tag_sql)?;
        let t = Instant::now();
        exec(Step::Commit, "COMMIT")?;
        Ok(t.elapsed())
    }

    /// A maintenance group's `long_transaction`: writer 0 keeps every fifth transaction
    /// open (written, not committed) this long, so maintenance runs while it is open.
    fn hold_open(&self, seq: u64) {
        if let (0, 0, Some(d)) = (self.id, seq % 5, self.shared.scenario.long_transaction()) {
            self.sleep_unless_aborted(d);
        }
    }

    fn sleep_unless_aborted(&self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.shared.aborted() {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
        }
    }
}

//! The writing phase: start one thread per writer, open the start barrier once all have
//! attached, enforce the stop and the deadline, honour Ctrl-C, and wind the writers down.
//! Nothing here waits without a limit.

use super::progress::Progress;
use crate::client::writer;
use crate::fleet::{Step, WriterShared};
use crate::metrics::Window;
use crate::monitor::diagnosis::{self, Diagnosis};
use crate::monitor::pg_watch::PgWatch;
use crate::monitor::snapshot;
use crate::nemesis::{Nemeses, NemesisLog};
use crate::scenario::StopCondition;
use crate::util::interrupt;
use crate::verdict::Ending;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long writers get to wind down after being told to stop or interrupted.
pub const WIND_DOWN: Duration = Duration::from_secs(10);

pub struct Writing {
    pub ending: Ending,
    pub window: Window,
    pub diagnosis: Option<Diagnosis>,
    pub nemesis: Vec<NemesisLog>,
    /// Whether every writer thread ended (else some are stuck and were left behind).
    pub all_stopped: bool,
    /// Whether the writers were let go (false: the run ended in set-up).
    pub started: bool,
    /// xact_rollback of the catalog database when the writers were let go.
    pub rollbacks_at_go: Option<i64>,
}

/// What the writing phase needs besides the writers' shared state.
pub struct Services<'a> {
    pub catalog: &'a tokio_postgres::Client,
    pub pg: &'a crate::environment::PgEndpoint,
    pub watch: &'a PgWatch,
}

pub fn run(shared: &Arc<WriterShared>, services: &Services, deadline_at: Instant, quiet: bool) -> anyhow::Result<Writing> {
    let writers = shared.scenario.run.writers as usize;
    // Writers block in DuckDB and libpq, so each gets a thread of its own: a pool sized to
    // the writers, never to the cores.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(writers).thread_name(|i| format!("w{i}")).build()?;
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let for_writers = shared.clone();
    pool.spawn_broadcast(move |ctx| {
        let id = ctx.index() as u32;
        // A panic inside a pool job would abort the process and orphan the services.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| writer::run(&for_writers, id)));
        if let Err(panic) = outcome {
            let what = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            let slot = &for_writers.writers[id as usize];
            slot.setup().error = Some(format!("writer panicked: {what}"));
            slot.status.enter(Step::Done);
            for_writers.ready.fetch_add(1, Ordering::AcqRel);
        }
        let _ = done_tx.send(());
    });

    let mut progress = Progress::new(quiet);
    let mut wait = Waiting { shared, services, done: &done_rx, deadline_at, finished: 0, nemeses: None, rollbacks_at_go: None, stop_at: None };
    let ending = wait.until_done(&mut progress);
    let writers_done_at = shared.history.now();
    let mut diagnosis = None;
    if ending == Ending::Deadline {
        diagnosis = Some(diagnose(shared, services, &format!("the deadline of {} passed", humantime::format_duration(shared.scenario.run.deadline))));
    }
    let nemesis = wait.nemeses.take().map(Nemeses::finish).unwrap_or_default();
    let left = writers - wait.finished;
    let release = || {
        shared.abort_all();
        // Writers blocked inside Postgres do not see DuckDB's interrupt; ending their
        // backends releases them so the threads can finish and close their instances.
        terminate_writer_sessions(services.catalog, &shared.run_id);
    };
    let stuck = matches!(ending, Ending::Deadline | Ending::Interrupted);
    if stuck && left > 0 {
        release();
    }
    let stopped = drain(&done_rx, left, WIND_DOWN, || {
        if stuck {
            release();
        }
    });
    progress.finish();
    let end = match (wait.stop_at, shared.history.origin()) {
        (Some(stop), Some(origin)) => stop.saturating_duration_since(origin).as_secs_f64().min(writers_done_at),
        _ => writers_done_at,
    };
    let window = Window { end, writers_done: shared.history.now().max(end) };
    let ending = if ending == Ending::Completed && shared.writers.iter().any(|w| w.setup().error.is_some()) { Ending::SetupFailed } else { ending };
    let started = shared.history.origin().is_some();
    Ok(Writing { ending, window, diagnosis, nemesis, all_stopped: stopped == left, started, rollbacks_at_go: wait.rollbacks_at_go })
}

struct Waiting<'a> {
    shared: &'a Arc<WriterShared>,
    services: &'a Services<'a>,
    done: &'a Receiver<()>,
    deadline_at: Instant,
    finished: usize,
    nemeses: Option<Nemeses>,
    rollbacks_at_go: Option<i64>,
    stop_at: Option<Instant>,
}

impl Waiting<'_> {
    /// Waits until every writer has finished, the deadline passes or the user interrupts;
    /// lets the writers go together once all are ready.
    fn until_done(&mut self, progress: &mut Progress) -> Ending {
        let shared = self.shared;
        let writers = shared.scenario.run.writers as usize;
        let mut interrupted_at: Option<Instant> = None;
        loop {
            if !shared.go.load(Ordering::Acquire) && shared.ready.load(Ordering::Acquire) >= writers {
                self.let_go();
            }
            match self.done.recv_timeout(Duration::from_millis(250)) {
                Ok(()) => self.finished += 1,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.finished = writers,
            }
            progress.update(Duration::from_secs_f64(shared.history.now()), &shared.live, self.finished, shared.scenario.run.writers);
            if self.finished >= writers {
                return if interrupted_at.is_some() { Ending::Interrupted } else { Ending::Completed };
            }
            let now = Instant::now();
            if self.stop_at.is_some_and(|t| now >= t) {
                shared.stop.store(true, Ordering::Release);
            }
            if interrupt::is_interrupted() && interrupted_at.is_none() {
                interrupted_at = Some(now);
                shared.abort_all();
            }
            if interrupted_at.is_some_and(|t| now >= t + WIND_DOWN) {
                return Ending::Interrupted;
            }
            if now >= self.deadline_at {
                return if interrupted_at.is_some() { Ending::Interrupted } else { Ending::Deadline };
            }
        }
    }

    /// Every writer has attached: take the rollback baseline, start the run clock and the
    /// faults, and open the barrier. With a writer that could not attach, nobody starts.
    fn let_go(&mut self) {
        let shared = self.shared;
        if shared.writers.iter().any(|w| w.status.step() == Step::SetupFailed) {
            shared.abort_all();
        } else {
            self.rollbacks_at_go = super::catalog::read_rollbacks(self.services.catalog);
            let origin = shared.history.start_clock();
            if let StopCondition::Duration(d) = shared.scenario.run.stop {
                self.stop_at = Some(origin + d);
            }
            self.nemeses = Some(Nemeses::start(&shared.scenario.nemesis, self.services.pg, &shared.run_id, &shared.history));
        }
        shared.go.store(true, Ordering::Release);
    }
}

/// The picture of a stuck run: every writer's step, and the catalog's blocking chains.
pub fn diagnose(shared: &WriterShared, services: &Services, reason: &str) -> Diagnosis {
    let pg = crate::runtime::block_on(async { tokio::time::timeout(Duration::from_secs(3), snapshot::take(services.catalog, shared.clock.elapsed())).await.ok()?.ok() })
        .or_else(|| services.watch.summary.lock().ok().and_then(|s| s.latest.clone()));
    diagnosis::diagnose(reason, shared.snapshots(), pg)
}

/// Waits up to `limit` for `expected` more writers to report done, calling `nudge` every
/// 250 ms meanwhile (to interrupt again whatever a writer started since). Returns how many did.
fn drain(done: &Receiver<()>, expected: usize, limit: Duration, nudge: impl Fn()) -> usize {
    let until = Instant::now() + limit;
    let mut n = 0;
    while n < expected && Instant::now() < until {
        match done.recv_timeout(Duration::from_millis(250).min(until.saturating_duration_since(Instant::now()))) {
            Ok(()) => n += 1,
            Err(RecvTimeoutError::Timeout) => nudge(),
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    n
}

pub fn terminate_writer_sessions(catalog: &tokio_postgres::Client, run_id: &str) {
    let pattern = format!("{}w%", crate::util::ids::session_prefix(run_id));
    let _ = crate::runtime::block_on(crate::environment::pg::query_with_deadline(
        catalog,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1",
        &[&pattern],
        Duration::from_secs(3),
    ));
}

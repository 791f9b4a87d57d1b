//! The writing phase with real writers and services: start the fleet, let the supervisor
//! schedule it (barrier, stop, deadline, Ctrl-C), take the baselines and start the faults
//! when the writers start, diagnose a hang, and wind the writers down.

use super::progress::Progress;
use super::supervise::{self, Hooks, Plan};
use crate::client::writer;
use crate::environment::pg::Session;
use crate::environment::process::ServiceHandle;
use crate::fleet::{
    Fleet, ProcessFleet, RemoteFleet, RemoteOptions, RemoteWorker, Restarter, ThreadFleet, Workers, WriterCrash,
    WriterShared,
};
use crate::metrics::Window;
use crate::monitor::diagnosis::{self, Diagnosis, Stall};
use crate::monitor::pg_watch::PgWatch;
use crate::monitor::snapshot;
use crate::nemesis::{Nemeses, NemesisLog};
use crate::scenario::{StopCondition, WriterMode};
use crate::util::interrupt;
use crate::util::LockExt;
use crate::verdict::Ending;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long writers get to wind down after being told to stop or interrupted.
pub const WIND_DOWN: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(250);

pub struct Writing {
    pub ending: Ending,
    pub window: Window,
    pub diagnosis: Option<Diagnosis>,
    pub nemesis: Vec<NemesisLog>,
    /// Whether every writer ended (else some are stuck and were left behind).
    pub all_stopped: bool,
    /// Whether the writers were let go (false: the run ended in set-up).
    pub started: bool,
    /// xact_rollback of the catalog database when the writers were let go.
    pub rollbacks_at_go: Option<i64>,
    /// Writer processes that died without being asked to.
    pub crashes: Vec<WriterCrash>,
    /// The writers' process ids (mode = "process").
    pub pids: Vec<i32>,
    /// Stretches without a completed transaction, each diagnosed when noticed.
    pub stalls: Vec<Stall>,
    /// The remote workers (`--coordinate`), with what happened to each.
    pub remote_workers: Vec<RemoteWorker>,
    /// Connections to `--coordinate` that were refused (wrong token, one too many).
    pub workers_refused: u64,
}

/// What the writing phase needs besides the writers' shared state.
pub struct Services<'a> {
    /// The harness's own catalog session (reopened after a catalog restart).
    pub catalog: &'a Session,
    pub endpoints: &'a crate::environment::EnvFile,
    pub watch: &'a PgWatch,
    /// The services the harness started (for faults that pause, kill or restart them).
    pub service_handles: Vec<ServiceHandle>,
    /// The containers of `run --docker`, (service, id), for faults that pause them.
    pub containers: Vec<(&'static str, String)>,
    /// `--coordinate`: the workers' options and the socket they join on (taken when the
    /// writers start).
    pub remote: std::sync::Mutex<Option<(RemoteOptions, std::net::TcpListener)>>,
    /// The fault proxies the writers reach their services through, when a fault on the
    /// wire is scheduled.
    pub proxies: Option<Arc<crate::proxy::Proxies>>,
}

/// The runner's side of the supervisor's moments.
struct RunHooks<'a> {
    shared: &'a WriterShared,
    services: &'a Services<'a>,
    progress: Progress,
    nemeses: Option<Nemeses>,
    rollbacks_at_go: Option<i64>,
    writer_pids: Vec<i32>,
    /// Kills and restarts writer processes (for `kill_writer` with `restart`).
    restarter: Option<Arc<dyn Restarter>>,
    /// The remote workers (for `disconnect_worker`).
    workers: Option<Arc<dyn Workers>>,
    /// Transactions completed so far, and when that number last changed (run clock).
    completed: (u64, f64),
    stalls: Vec<Stall>,
}

impl RunHooks<'_> {
    /// Notices a stall (nothing completed for `stall_after`) and diagnoses it at once; the
    /// stall ends when a transaction completes again.
    fn watch_for_stalls(&mut self) {
        let (s, now) = (self.shared, self.shared.history.now());
        if s.history.origin().is_none() {
            return; // set-up: the deadline covers it
        }
        let l = &s.live;
        let done = l.commits.load(Ordering::Relaxed)
            + l.failed.load(Ordering::Relaxed)
            + l.indeterminate.load(Ordering::Relaxed);
        let open = self.stalls.last().is_some_and(|st| st.until.is_none());
        if done != self.completed.0 {
            self.completed = (done, now);
            if open {
                if let Some(st) = self.stalls.last_mut() {
                    st.until = Some(now);
                }
            }
        } else if !open && !s.stopping() && now - self.completed.1 >= s.scenario.run.stall_after.as_secs_f64() {
            let reason = format!(
                "no transaction completed for {:.1} s (stall_after {})",
                now - self.completed.1,
                humantime::format_duration(s.scenario.run.stall_after)
            );
            let mut diagnosis = diagnose(s, self.services, &reason);
            // Postgres cannot see a fault on the wire (its sessions just look idle): name it.
            let faults = self.nemeses.as_ref().map(Nemeses::in_force).unwrap_or_default();
            if !faults.is_empty() {
                diagnosis
                    .summary
                    .push_str(&format!(" Faults in force: {}.", faults.join("; ")));
            }
            self.stalls.push(Stall {
                from: self.completed.1,
                until: None,
                diagnosis,
            });
        }
    }
}

impl Hooks for RunHooks<'_> {
    fn on_go(&mut self) -> Instant {
        // The baseline excludes ATTACH's own catalog work; faults count from the start.
        self.rollbacks_at_go = self
            .services
            .catalog
            .client_blocking()
            .ok()
            .and_then(|c| super::catalog::read_rollbacks(&c));
        let origin = self.shared.history.start_clock();
        crate::util::callgrind::mark("zero");
        let on = crate::nemesis::FaultTargets {
            endpoints: self.services.endpoints,
            writer_pids: &self.writer_pids,
            services: &self.services.service_handles,
            containers: &self.services.containers,
            restarter: self.restarter.clone(),
            workers: self.workers.clone(),
            proxies: self.services.proxies.clone(),
        };
        self.nemeses = Some(Nemeses::start(
            &self.shared.scenario.nemesis,
            &self.shared.run_id,
            &self.shared.history,
            on,
        ));
        origin
    }

    fn on_tick(&mut self, ended: usize) {
        let s = self.shared;
        self.progress.update(
            Duration::from_secs_f64(s.history.now()),
            &s.live,
            ended,
            s.scenario.run.writers,
        );
        self.watch_for_stalls();
    }

    fn interrupted(&self) -> bool {
        interrupt::is_interrupted()
    }
}

/// The writers as a fleet of the scenario's kind, and what faults and the report need of it.
struct Started {
    fleet: Arc<dyn Fleet>,
    /// Restarts writer processes (kill_writer with restart); processes only.
    restarter: Option<Arc<dyn Restarter>>,
    /// `--coordinate`: the remote workers.
    remote: Option<Arc<RemoteFleet>>,
}

fn start_fleet(shared: &Arc<WriterShared>, services: &Services, deadline_at: Instant) -> anyhow::Result<Started> {
    let remote = services.remote.locked().take();
    Ok(match (remote, shared.scenario.run.mode) {
        (Some((opts, listener)), _) => {
            // Workers that have not joined two seconds before the deadline never will in time.
            let join_by = deadline_at.checked_sub(Duration::from_secs(2)).unwrap_or(deadline_at);
            let workers = Arc::new(RemoteFleet::start(shared.clone(), listener, opts, join_by)?);
            Started {
                fleet: workers.clone(),
                restarter: None,
                remote: Some(workers),
            }
        }
        (None, WriterMode::Thread) => Started {
            fleet: Arc::new(ThreadFleet::start(shared.clone(), writer::run)?),
            restarter: None,
            remote: None,
        },
        (None, WriterMode::Process) => {
            let processes = Arc::new(ProcessFleet::start(shared.clone())?);
            Started {
                fleet: processes.clone(),
                restarter: Some(processes),
                remote: None,
            }
        }
    })
}

/// Starts the writers and supervises them until they are done, the deadline passes or the
/// run is interrupted; then stops, releases and drains them.
pub fn run(
    shared: &Arc<WriterShared>,
    services: &Services,
    deadline_at: Instant,
    quiet: bool,
) -> anyhow::Result<Writing> {
    let Started {
        fleet,
        restarter,
        remote,
    } = start_fleet(shared, services, deadline_at)?;
    let duration = match shared.scenario.run.stop {
        StopCondition::Duration(d) => Some(d),
        StopCondition::CommitsPerWriter(_) => None,
    };
    let plan = Plan {
        deadline_at,
        duration,
        poll: POLL,
        wind_down: WIND_DOWN,
    };
    let mut hooks = RunHooks {
        shared,
        services,
        progress: Progress::new(quiet),
        nemeses: None,
        rollbacks_at_go: None,
        writer_pids: fleet.pids(),
        restarter,
        workers: remote.clone().map(|w| w as Arc<dyn Workers>),
        completed: (0, 0.0),
        stalls: Vec::new(),
    };
    let s = supervise::until_done(fleet.as_ref(), &plan, &mut hooks);
    let writers_done_at = shared.history.now();
    let diagnosis = (s.ending == Ending::Deadline).then(|| {
        let deadline = humantime::format_duration(shared.scenario.run.deadline);
        diagnose(shared, services, &format!("the deadline of {deadline} passed"))
    });
    let nemesis = hooks.nemeses.take().map(Nemeses::finish).unwrap_or_default();
    let ended = release_and_drain(shared, services, fleet.as_ref(), &s);
    hooks.progress.finish();
    crate::util::callgrind::mark("dump=writing");
    let window = window_of(shared, &s, writers_done_at);
    let ending = if s.ending == Ending::Completed && shared.writers.iter().any(|w| w.setup().error.is_some()) {
        Ending::SetupFailed
    } else {
        s.ending
    };
    Ok(Writing {
        ending,
        window,
        diagnosis,
        nemesis,
        all_stopped: ended >= fleet.size(),
        started: s.started,
        rollbacks_at_go: hooks.rollbacks_at_go,
        crashes: fleet.crashes(),
        pids: fleet.pids(),
        stalls: hooks.stalls,
        remote_workers: remote.as_ref().map(|w| w.workers()).unwrap_or_default(),
        workers_refused: remote.as_ref().map_or(0, |w| w.refused()),
    })
}

/// Waits for the writers to end; returns how many did. Writers blocked inside Postgres do
/// not see DuckDB's interrupt: after a hang or an interrupt, ending their backends releases
/// them so the threads can finish and close their instances.
fn release_and_drain(
    shared: &WriterShared,
    services: &Services,
    fleet: &dyn Fleet,
    s: &supervise::Supervised,
) -> usize {
    let release = || {
        fleet.abort();
        terminate_writer_sessions(services.catalog, &shared.run_id);
    };
    let stuck = matches!(s.ending, Ending::Deadline | Ending::Interrupted) && s.ended < fleet.size();
    if stuck {
        release();
    }
    supervise::drain(fleet, s.ended, WIND_DOWN, POLL, || {
        if stuck {
            release();
        }
    })
}

/// The measured window: from the start to when the writers were told to stop (or ended).
fn window_of(shared: &WriterShared, s: &supervise::Supervised, writers_done_at: f64) -> Window {
    let end = match (s.stop_at, shared.history.origin()) {
        (Some(stop), Some(origin)) => stop
            .saturating_duration_since(origin)
            .as_secs_f64()
            .min(writers_done_at),
        _ => writers_done_at,
    };
    Window {
        end,
        writers_done: shared.history.now().max(end),
    }
}

/// The picture of a stuck run: every writer's step, and the catalog's blocking chains.
pub fn diagnose(shared: &WriterShared, services: &Services, reason: &str) -> Diagnosis {
    let fresh = crate::runtime::block_on(async {
        let catalog = tokio::time::timeout(Duration::from_secs(3), services.catalog.client())
            .await
            .ok()?
            .ok()?;
        tokio::time::timeout(Duration::from_secs(3), snapshot::take(&catalog, shared.clock.elapsed()))
            .await
            .ok()?
            .ok()
    });
    if fresh.is_some() {
        return diagnosis::diagnose(reason, shared.snapshots(), fresh);
    }
    // The catalog does not answer (stopped, overloaded, locked): say so, and show its last
    // picture for what it is.
    let latest = services.watch.summary.lock().ok().and_then(|s| s.latest.clone());
    let age = latest
        .as_ref()
        .map(|l| shared.clock.elapsed().as_secs_f64() - l.at_seconds);
    let reason = match age {
        Some(age) => format!(
            "{reason}; the catalog database did not answer within 3 s (its last picture, {age:.1} s old, is shown)"
        ),
        None => format!("{reason}; the catalog database did not answer within 3 s"),
    };
    diagnosis::diagnose(&reason, shared.snapshots(), latest)
}

pub fn terminate_writer_sessions(session: &Session, run_id: &str) {
    let pattern = format!("{}w%", crate::util::ids::session_prefix(run_id));
    let _ = crate::runtime::block_on(async {
        let catalog = session.client().await?;
        crate::environment::pg::query_with_deadline(
            &catalog,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1",
            &[&pattern],
            Duration::from_secs(3),
        )
        .await
    });
}

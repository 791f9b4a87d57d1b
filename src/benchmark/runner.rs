//! One run from start to verdict: provision the environment, prepare the lake, start the
//! writers (one thread and one DuckDB instance each), watch Postgres, enforce the duration
//! and the deadline, run the checks, and write the report. The runner never waits without
//! a deadline, so a stuck run ends as verdict `hang` with a diagnosis, not as a stuck tool.

use super::assemble::{self, Pieces};
use super::deadline::run_with_deadline;
use super::interrupt;
use super::metrics::merge;
use super::progress::Progress;
use crate::checker::{self, CheckResult, RunFacts};
use crate::client::writer::{self, LiveCounters, WriterShared, WriterSlot};
use crate::environment::{self, existing::ExistingArgs, Environment};
use crate::lake::{self, ExtensionSource, LakeTarget};
use crate::monitor::{diagnosis, pg_watch::PgWatch, snapshot};
use crate::nemesis::Nemeses;
use crate::report::{Report, Verdict, Versions};
use crate::scenario::{self, Scenario, StopCondition};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How long writers get to wind down after being told to stop or interrupted.
const WIND_DOWN: Duration = Duration::from_secs(10);
/// Limits for the phases outside the writers' deadline.
const SETUP_DEADLINE: Duration = Duration::from_secs(60);
const CHECKS_DEADLINE: Duration = Duration::from_secs(180);

pub enum EnvChoice {
    Native,
    Docker,
    File(PathBuf),
    Flags(ExistingArgs),
}

pub struct RunOptions {
    pub scenario_path: PathBuf,
    pub env: EnvChoice,
    pub results_dir: PathBuf,
    pub keep_env: bool,
    pub extension_dir: Option<PathBuf>,
    pub quiet: bool,
}

pub struct RunOutcome {
    pub report: Report,
    pub run_dir: PathBuf,
}

enum Ending {
    Completed,
    Deadline,
    Interrupted,
}

pub fn provision(choice: &EnvChoice, needs_s3: bool) -> anyhow::Result<Environment> {
    match choice {
        EnvChoice::Native => environment::native::start(needs_s3),
        EnvChoice::Docker => {
            let (mut env, containers) = environment::containers::start(needs_s3)?;
            env.containers = Some(containers);
            Ok(env)
        }
        EnvChoice::File(path) => environment::existing::from_file(path),
        EnvChoice::Flags(args) => args.to_env(),
    }
}

pub fn run(opts: &RunOptions) -> anyhow::Result<RunOutcome> {
    let scenario = Arc::new(scenario::load_file(&opts.scenario_path)?);
    let started_at = SystemTime::now();
    let run_id = new_run_id(started_at);
    let run_dir = opts.results_dir.join(format!("{run_id}-{}", scenario.name));

    let mut env = provision(&opts.env, scenario.lake.data == scenario::DataStore::S3)?;
    interrupt::bail_if_interrupted()?;
    let extensions = ExtensionSource::resolve(opts.extension_dir.clone());
    let target = Arc::new(LakeTarget::for_run(&env.endpoints, &scenario.lake, extensions)?);
    let harness_app = format!("ducklake-stress/{run_id}/harness");
    let catalog = Arc::new(crate::runtime::block_on(crate::pg::connect(&env.endpoints.postgres, None, &harness_app))?);
    let versions = prepare_lake(&target, &scenario, &run_id, &env, &catalog)?;
    interrupt::bail_if_interrupted()?;

    let clock = Instant::now();
    let shared = Arc::new(WriterShared {
        run_id: run_id.clone(),
        scenario: scenario.clone(),
        target: target.clone(),
        clock,
        stop: false.into(),
        abort: false.into(),
        ready: 0.into(),
        go: false.into(),
        timeline: Default::default(),
        live: LiveCounters::default(),
        writers: (0..scenario.run.writers).map(|_| WriterSlot::new(clock)).collect(),
    });
    let rollbacks_before = read_rollbacks(&catalog);
    let watch = PgWatch::start(&env.endpoints.postgres, &run_id, shared.clone())?;
    let nemeses = Nemeses::start(&scenario.nemesis, &env.endpoints.postgres, &run_id, clock);

    // Writers block in DuckDB and libpq, so each gets a thread of its own: a pool sized to
    // the writers, never to the cores.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(scenario.run.writers as usize)
        .thread_name(|i| format!("w{i}"))
        .build()?;
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let for_writers = shared.clone();
    pool.spawn_broadcast(move |ctx| {
        let id = ctx.index() as u32;
        // A panic inside a pool job would abort the process and orphan the services.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| writer::run(&for_writers, id)));
        if let Err(panic) = outcome {
            let what = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            let slot = &for_writers.writers[id as usize];
            slot.metrics().setup_error = Some(format!("writer panicked: {what}"));
            slot.status.enter(crate::client::Step::Done);
            for_writers.ready.fetch_add(1, Ordering::AcqRel);
        }
        let _ = done_tx.send(());
    });

    let mut progress = Progress::new(opts.quiet);
    let (ending, finished, measured_from) = wait_for_writers(&shared, &done_rx, &mut progress);
    let writing_ended = Instant::now();
    let mut diagnosis = None;
    if matches!(ending, Ending::Deadline) {
        let snaps = writer_snapshots(&shared);
        let pg = crate::runtime::block_on(async {
            tokio::time::timeout(Duration::from_secs(3), snapshot::take(&catalog, clock.elapsed())).await.ok()?.ok()
        })
        .or_else(|| watch.summary.lock().ok().and_then(|s| s.latest.clone()));
        let reason = format!("the deadline of {} passed", humantime::format_duration(scenario.run.deadline));
        diagnosis = Some(diagnosis::diagnose(&reason, snaps, pg));
        abort_writers(&shared);
        // Writers blocked inside Postgres do not see DuckDB's interrupt; ending their
        // backends releases them so the threads can finish and close their instances.
        terminate_writer_sessions(&catalog, &run_id);
    }
    let nemesis_log = nemeses.finish();
    let run_seconds = writing_ended.duration_since(measured_from.unwrap_or(clock)).as_secs_f64();
    drain(&done_rx, scenario.run.writers as usize - finished, WIND_DOWN, || {
        if matches!(ending, Ending::Deadline | Ending::Interrupted) {
            abort_writers(&shared);
            terminate_writer_sessions(&catalog, &run_id);
        }
    });
    progress.finish();
    let watch_summary = watch.finish();

    let slots: Vec<_> = shared.writers.iter().map(|s| s.metrics().clone()).collect();
    let total = merge(slots.iter());
    let setup_errors: Vec<String> = slots.iter().enumerate().filter_map(|(i, m)| m.setup_error.as_ref().map(|e| format!("w{i}: {e}"))).collect();

    let (checks, rollbacks_after) = match ending {
        Ending::Completed if setup_errors.is_empty() => {
            wait_for_writer_sessions_to_close(&catalog, &run_id);
            let after = read_rollbacks(&catalog);
            let facts = RunFacts {
                run_id: run_id.clone(),
                batch_rows: scenario.workload.batch_rows,
                ledger: slots.iter().enumerate().map(|(i, m)| (i as u32, m.ledger.clone())).collect::<BTreeMap<_, _>>(),
                catalog_rollbacks_before: rollbacks_before,
                catalog_rollbacks_after: after,
                harness_retries: total.retries,
                failed_attempts: total.attempts - total.count(super::metrics::Outcome::Committed),
            };
            if let Err(e) = write_ledger(&run_dir, &facts) {
                tracing::warn!("could not write ledger.json: {e:#}");
            }
            (run_checks(&target, &catalog, &env, &scenario, facts, &run_id), after)
        }
        _ => {
            let why = match ending {
                Ending::Deadline => "the run hung; checks were not run (see the diagnosis)",
                Ending::Interrupted => "the run was interrupted; checks were not run",
                Ending::Completed => "writers could not start; checks were not run",
            };
            (checker::all().iter().map(|c| CheckResult::skipped(c.name(), why)).collect(), None)
        }
    };

    let kept_scratch = match (&mut env.native, opts.keep_env) {
        (Some(native), true) => Some(native.keep_scratch().display().to_string()),
        _ => None,
    };
    let forced = match ending {
        Ending::Deadline => Some(Verdict::Hang),
        Ending::Interrupted => Some(Verdict::Interrupted),
        Ending::Completed if !setup_errors.is_empty() => Some(Verdict::Error),
        Ending::Completed => None,
    };
    let report = assemble::report(Pieces {
        run_id,
        scenario_file: opts.scenario_path.display().to_string(),
        started_at,
        run_seconds,
        measured_from_second: measured_from.map(|t| t.duration_since(clock).as_secs_f64()).unwrap_or(0.0),
        scenario: (*scenario).clone(),
        env: &env,
        extension_dir: target.extensions.describe(),
        kept_scratch,
        versions,
        writers: &slots,
        total: &total,
        rollbacks: rollbacks_before.zip(rollbacks_after).map(|(b, a)| (a - b).max(0) as u64),
        timeline: shared.timeline.snapshot(),
        postgres: watch_summary,
        nemesis: nemesis_log,
        checks,
        diagnosis,
        forced_verdict: forced,
        setup_errors,
    });
    crate::export::write_all(&report, &run_dir)?;
    drop(env); // tear down services only after the report is safely on disk
    Ok(RunOutcome { report, run_dir })
}

fn new_run_id(at: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(at).to_string().replace(['-', ':'], "");
    // 20261123T143000Z -> 16 chars, then a random suffix so parallel runs never collide.
    format!("{}-{}", &stamp[..16], environment::native::random_hex(3))
}

/// Creates the table once, before any writer attaches, and reads the versions in play.
fn prepare_lake(target: &Arc<LakeTarget>, scenario: &Scenario, run_id: &str, env: &Environment, catalog: &tokio_postgres::Client) -> anyhow::Result<Versions> {
    let (target, table, app) = (target.clone(), scenario.lake.table.clone(), format!("ducklake-stress/{run_id}/setup"));
    let (duckdb, ducklake) = run_with_deadline("preparing the lake", SETUP_DEADLINE, move || {
        let conn = lake::open(&target, &app, None)?;
        conn.execute_batch(&lake::table::create_sql(&table))
            .map_err(|e| crate::error::environment(format!("creating table {table} in the lake failed: {e}")))?;
        let duckdb: String = conn.query_row("SELECT library_version FROM pragma_version()", [], |r| r.get(0)).unwrap_or_default();
        let ducklake: String = conn
            .query_row("SELECT coalesce(extension_version, '') FROM duckdb_extensions() WHERE extension_name = 'ducklake'", [], |r| r.get(0))
            .unwrap_or_default();
        Ok((duckdb, ducklake))
    })?;
    let postgres = crate::runtime::block_on(crate::pg::query_with_deadline(catalog, "SHOW server_version", &[], Duration::from_secs(5)))
        .ok()
        .and_then(|rows| rows.first().map(|r| r.get::<_, String>(0)))
        .unwrap_or_default();
    let s3_server = match (&env.endpoints.s3, &env.endpoints.s3_server) {
        (None, _) => "none (local data)".into(),
        (Some(_), Some(v)) => v.clone(),
        (Some(s3), None) => format!("external ({})", s3.endpoint),
    };
    Ok(Versions { duckdb, ducklake, postgres, s3_server })
}

/// Waits until every writer has finished, the deadline passes or the user interrupts.
/// Also starts the writers together once all are ready, and returns when that was (the
/// start of the measured window).
fn wait_for_writers(shared: &WriterShared, done: &std::sync::mpsc::Receiver<()>, progress: &mut Progress) -> (Ending, usize, Option<Instant>) {
    let writers = shared.scenario.run.writers as usize;
    let deadline = shared.clock + shared.scenario.run.deadline;
    let mut measured_from: Option<Instant> = None;
    let mut stop_at: Option<Instant> = None;
    let mut finished = 0;
    let mut interrupted_at: Option<Instant> = None;
    loop {
        if measured_from.is_none() && !shared.go.load(Ordering::Acquire) && shared.ready.load(Ordering::Acquire) >= writers {
            if shared.writers.iter().any(|w| w.status.step() == crate::client::Step::SetupFailed) {
                // No point measuring with fewer writers than asked for: end now, report why.
                abort_writers(shared);
            } else {
                let now = Instant::now();
                measured_from = Some(now);
                if let StopCondition::Duration(d) = shared.scenario.run.stop {
                    stop_at = Some(now + d);
                }
            }
            shared.go.store(true, Ordering::Release);
        }
        match done.recv_timeout(Duration::from_millis(250)) {
            Ok(()) => finished += 1,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => finished = writers,
        }
        progress.update(measured_from.unwrap_or(shared.clock).elapsed(), &shared.live, finished, shared.scenario.run.writers);
        if finished >= writers {
            return (if interrupted_at.is_some() { Ending::Interrupted } else { Ending::Completed }, finished, measured_from);
        }
        let now = Instant::now();
        if stop_at.is_some_and(|t| now >= t) {
            shared.stop.store(true, Ordering::Release);
        }
        if interrupt::is_interrupted() && interrupted_at.is_none() {
            interrupted_at = Some(now);
            abort_writers(shared);
        }
        if interrupted_at.is_some_and(|t| now >= t + WIND_DOWN) {
            return (Ending::Interrupted, finished, measured_from);
        }
        if now >= deadline {
            return (if interrupted_at.is_some() { Ending::Interrupted } else { Ending::Deadline }, finished, measured_from);
        }
    }
}

/// Waits up to `limit` for `expected` more writers to report done, calling `nudge` every
/// 250 ms meanwhile (to interrupt again whatever a writer started since).
fn drain(done: &std::sync::mpsc::Receiver<()>, expected: usize, limit: Duration, nudge: impl Fn()) {
    let until = Instant::now() + limit;
    let mut n = 0;
    while n < expected && Instant::now() < until {
        match done.recv_timeout(Duration::from_millis(250).min(until.saturating_duration_since(Instant::now()))) {
            Ok(()) => n += 1,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => nudge(),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
}

fn abort_writers(shared: &WriterShared) {
    shared.stop.store(true, Ordering::Release);
    shared.abort.store(true, Ordering::Release);
    for slot in &shared.writers {
        if let Some(handle) = slot.interrupt.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            handle.interrupt();
        }
    }
}

fn writer_snapshots(shared: &WriterShared) -> Vec<crate::client::status::WriterSnapshot> {
    shared.writers.iter().enumerate().map(|(i, s)| s.status.snapshot(i as u32)).collect()
}

fn writer_pattern(run_id: &str) -> String {
    format!("ducklake-stress/{run_id}/w%")
}

fn terminate_writer_sessions(catalog: &tokio_postgres::Client, run_id: &str) {
    let pattern = writer_pattern(run_id);
    let _ = crate::runtime::block_on(crate::pg::query_with_deadline(
        catalog,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1",
        &[&pattern],
        Duration::from_secs(3),
    ));
}

/// Backend exit is asynchronous: give the writers' sessions a moment to disappear so the
/// rollback counter includes them and the leftover check sees only real leftovers.
fn wait_for_writer_sessions_to_close(catalog: &tokio_postgres::Client, run_id: &str) {
    let pattern = writer_pattern(run_id);
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let open = crate::runtime::block_on(crate::pg::query_with_deadline(
            catalog,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1",
            &[&pattern],
            Duration::from_secs(2),
        ))
        .ok()
        .and_then(|rows| rows.first().map(|r| r.get::<_, i64>(0)));
        if open == Some(0) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn read_rollbacks(catalog: &tokio_postgres::Client) -> Option<i64> {
    crate::runtime::block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(3), catalog.batch_execute("SELECT pg_stat_clear_snapshot()")).await;
        let rows = crate::pg::query_with_deadline(
            catalog,
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()",
            &[],
            Duration::from_secs(3),
        )
        .await
        .ok()?;
        rows.first().map(|r| r.get::<_, i64>(0))
    })
}

fn write_ledger(run_dir: &Path, facts: &RunFacts) -> anyhow::Result<()> {
    crate::export::write_atomically(&run_dir.join("ledger.json"), &serde_json::to_vec(facts)?)
}

/// Runs the checks within CHECKS_DEADLINE; the report is written either way.
fn run_checks(
    target: &Arc<LakeTarget>,
    catalog: &Arc<tokio_postgres::Client>,
    env: &Environment,
    scenario: &Scenario,
    facts: RunFacts,
    run_id: &str,
) -> Vec<CheckResult> {
    let prefix = format!("ducklake-stress/{run_id}/");
    checker::bounded::run_within(
        checker::bounded::CheckRequest {
            target: target.clone(),
            catalog: catalog.clone(),
            endpoints: env.endpoints.clone(),
            table: scenario.lake.table.clone(),
            run: Some(facts),
            thresholds: scenario.checks.clone(),
            application_name: format!("{prefix}checker"),
            own_sessions: vec![format!("{prefix}harness"), format!("{prefix}monitor")],
        },
        CHECKS_DEADLINE,
    )
}

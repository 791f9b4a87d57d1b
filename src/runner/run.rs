//! One run from start to verdict: provision the environment, prepare the lake, let the
//! writers write, check what they wrote (also after a hang or Ctrl-C, bounded in time),
//! and write the report. The scenario's deadline holds from the first moment: a set-up
//! that is stuck (e.g. ATTACH behind a lock) ends as verdict `hang` with its diagnosis.

use super::assemble::{self, Pieces};
use super::catalog::{
    join_catalog, read_rollbacks, tagged_in_file_catalog, tagged_in_postgres, wait_for_writer_sessions_to_close,
};
use super::setup::{self, EnvChoice};
use super::writers::{self, Services, Writing};
use crate::checker::{self, CheckResult, RunFacts, RunRecord};
use crate::environment::pg::Session;
use crate::environment::Environment;
use crate::fleet::{Members, WriterShared};
use crate::history::transaction::Txn;
use crate::history::Event;
use crate::history::{self, Recorder};
use crate::lake::{ExtensionSource, LakeTarget};
use crate::metrics::conflicts::CatalogNames;
use crate::metrics::Window;
use crate::monitor::pg_watch::{PgWatch, WatchSummary};
use crate::report::{Report, Versions};
use crate::scenario;
use crate::util::{ids, interrupt};
use crate::verdict::Ending;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Limits for the phases the scenario's deadline does not bound by itself.
/// Preparing the lake gets a tenth of the scenario's deadline, at least this long: a stuck
/// ATTACH is diagnosed long before a long deadline, yet a slow machine (or valgrind, 50x
/// slower at loading extensions) is not cut off.
const SETUP_DEADLINE: Duration = Duration::from_secs(60);
const CHECKS_DEADLINE: Duration = Duration::from_secs(180);
/// Checks after a hang or an interrupt get less time: the user is waiting for an answer.
const CHECKS_AFTER_TROUBLE: Duration = Duration::from_secs(60);

pub struct RunOptions {
    pub scenario_path: PathBuf,
    /// `--set key=value`, applied to the file before it is parsed.
    pub overrides: Vec<scenario::Override>,
    /// `--allow-unsigned-extensions`: a DuckLake the user built may be loaded.
    pub allow_unsigned_extensions: bool,
    pub env: EnvChoice,
    pub results_dir: PathBuf,
    pub keep_env: bool,
    pub extension_dir: Option<PathBuf>,
    pub quiet: bool,
    /// `--coordinate`: the writers run on remote workers.
    pub remote: Option<crate::fleet::RemoteOptions>,
}

pub struct RunOutcome {
    pub report: Report,
    pub run_dir: PathBuf,
}

/// One run, phase by phase: each phase returns what the next ones read.
pub fn run(opts: &RunOptions) -> anyhow::Result<RunOutcome> {
    let mut prepared = prepare(opts)?;
    let written = write(&mut prepared, opts.quiet)?;
    let settled = settle(&mut prepared, &written.writing);
    let judged = judge(&prepared, &settled, &written.writing);
    report(opts, prepared, written, settled, judged)
}

/// Everything set up before a writer starts: the services, where the lake is, the
/// harness's own catalog session, the history file and the monitor.
struct Prepared {
    t0: Instant,
    started_at: SystemTime,
    deadline_at: Instant,
    scenario: Arc<scenario::Scenario>,
    run_id: String,
    run_dir: PathBuf,
    /// Torn down only after the report is safely on disk (when this is dropped).
    env: Environment,
    /// The extensions' verified copies, which writers load until the end of the run.
    _extension_copies: tempfile::TempDir,
    /// Where the lake is, reached directly (the writers' copy may go through the proxies).
    target: Arc<LakeTarget>,
    catalog: Arc<Session>,
    history: Arc<Recorder>,
    shared: Arc<WriterShared>,
    /// Watches from the start, so a set-up stuck behind a lock is diagnosed too; taken
    /// (finished) when the writers have stopped.
    watch: Option<PgWatch>,
    /// `--coordinate`: the workers' options and the socket they join on.
    remote: Option<(crate::fleet::RemoteOptions, std::net::TcpListener)>,
    /// The fault proxies the writers reach their services through, when a fault on the
    /// wire is scheduled.
    proxies: Option<Arc<crate::proxy::Proxies>>,
    /// The facts the checks read (facts.json), filled in as the run goes.
    record: RunRecord,
}

/// What the writing phase left: the lake's versions, how writing ended, and the monitor's
/// summary.
struct Written {
    versions: Versions,
    writing: Writing,
    setup_seconds: f64,
    watch_summary: WatchSummary,
}

/// The run's history once nothing can change it any more, read from disk and folded once:
/// unknown outcomes resolved from the catalog's tags, and a catalog connection for the
/// checks (or why the checks cannot run).
struct Settled {
    events: Vec<Event>,
    txns: Vec<Txn>,
    judging: Result<Arc<tokio_postgres::Client>, NotJudged>,
}

/// Why the checks did not run: they were not meant to (skipped) or could not (error).
enum NotJudged {
    Skipped(String),
    Error(String),
}

/// The checks' results, with a note when they ran on a run that did not complete.
struct Judged {
    checks: Vec<CheckResult>,
    checks_note: Option<String>,
}

/// Provisions the services, resolves and stages the extensions, opens the harness's catalog
/// session, the history and the monitor. The scenario's deadline holds from here.
fn prepare(opts: &RunOptions) -> anyhow::Result<Prepared> {
    let t0 = Instant::now();
    let started_at = SystemTime::now();
    let scenario = Arc::new(scenario::load_with(&opts.scenario_path, &opts.overrides)?);
    let deadline_at = t0 + scenario.run.deadline;
    let run_id = ids::new_run_id(started_at);
    let run_dir = opts.results_dir.join(format!("{run_id}-{}", scenario.name));
    // Bound before anything else, so a taken address is reported at once and workers that
    // start early wait in its backlog.
    let listener = opts.remote.as_ref().map(|r| listen(r, &scenario)).transpose()?;
    let env = setup::provision(&opts.env, scenario.lake.data == scenario::DataStore::S3)?;
    interrupt::bail_if_interrupted()?;
    let mut extensions = ExtensionSource::resolve(opts.extension_dir.clone());
    extensions.allow_unsigned = opts.allow_unsigned_extensions;
    let mut target = LakeTarget::for_run(&env.endpoints, &scenario.lake, extensions)?;
    let scratch = env.native.as_ref().map(|n| n.scratch_path.as_path());
    let extension_copies = crate::lake::staged::stage_run(&mut target, scratch, setup_limit(&scenario, deadline_at))?;
    let target = Arc::new(target);
    let prefix = ids::session_prefix(&run_id);
    let catalog = Arc::new(crate::runtime::block_on(Session::open(
        &env.endpoints.postgres,
        &format!("{prefix}harness"),
    ))?);
    let history = Arc::new(Recorder::create(
        &run_dir.join(history::FILE),
        &run_id,
        scenario.run.writers,
    )?);
    // The writers reach their services through the fault proxies, if any; set-up, the
    // monitor, the resolver and the checks keep `target`, direct.
    let (proxies, writer_target) = start_proxies(&scenario, &target, &env.endpoints, &history, opts.remote.is_some())?;
    let shared = Arc::new(WriterShared::new(Members {
        run_id: run_id.clone(),
        scenario: scenario.clone(),
        target: writer_target,
        history: history.clone(),
        resolver: catalog.clone(),
        first: 0,
        count: scenario.run.writers,
        first_txn: 0,
    }));
    let watch = PgWatch::start(&env.endpoints.postgres, &run_id, shared.clone())?;
    let record = record_for(&run_id, &scenario);
    Ok(Prepared {
        t0,
        started_at,
        deadline_at,
        record,
        run_id,
        run_dir,
        env,
        _extension_copies: extension_copies,
        target,
        catalog,
        history,
        shared,
        watch: Some(watch),
        remote: opts.remote.clone().zip(listener),
        proxies,
        scenario,
    })
}

/// The facts the checks read besides the history, as far as the scenario gives them.
fn record_for(run_id: &str, scenario: &scenario::Scenario) -> RunRecord {
    RunRecord {
        run_id: run_id.to_string(),
        table: scenario.lake.table.clone(),
        writers: scenario.run.writers,
        batch_rows: scenario.workload.batch_rows,
        upsert_keys: scenario.workload.upsert_keys(),
        seeded: scenario.workload.seed,
        workload: Some(scenario.workload.clone()),
        payload_bytes: scenario.workload.payload_bytes,
        ..Default::default()
    }
}

/// Preparing the lake gets a tenth of the scenario's deadline, at least `SETUP_DEADLINE`,
/// and never beyond the deadline.
fn setup_limit(scenario: &scenario::Scenario, deadline_at: Instant) -> Duration {
    deadline_at
        .saturating_duration_since(Instant::now())
        .min(SETUP_DEADLINE.max(scenario.run.deadline / 10))
}

/// Prepares the lake (table, seed), then lets the writers write until they are done, the
/// deadline passes or the run is interrupted; finishes the monitor.
fn write(p: &mut Prepared, quiet: bool) -> anyhow::Result<Written> {
    let watch = p.watch.take().expect("the monitor is finished once, here");
    let env = &p.env;
    let services = Services {
        catalog: &p.catalog,
        endpoints: &env.endpoints,
        watch: &watch,
        service_handles: env.native.as_ref().map(|n| n.handles()).unwrap_or_default(),
        containers: env.containers.as_ref().map(|c| c.ids().to_vec()).unwrap_or_default(),
        remote: std::sync::Mutex::new(p.remote.take()),
        proxies: p.proxies.clone(),
    };
    let limit = setup_limit(&p.scenario, p.deadline_at);
    let catalog_client = p.catalog.client_blocking()?;
    let (versions, writing) = match setup::prepare_lake(&p.target, &p.scenario, &p.run_id, env, &catalog_client, limit)
    {
        Ok(versions) => {
            interrupt::bail_if_interrupted()?;
            p.record.objects_before = setup::objects_now(env, &p.target);
            p.record.write(&p.run_dir)?;
            (versions, writers::run(&p.shared, &services, p.deadline_at, quiet)?)
        }
        Err(_) if Instant::now() + Duration::from_secs(1) >= p.deadline_at => {
            (Versions::default(), stuck_in_setup(&p.shared, &services))
        }
        Err(e) => return Err(e),
    };
    let setup_seconds = p
        .history
        .origin()
        .unwrap_or_else(Instant::now)
        .duration_since(p.t0)
        .as_secs_f64();
    drop(services);
    Ok(Written {
        versions,
        writing,
        setup_seconds,
        watch_summary: watch.finish(),
    })
}

/// The deadline passed while the lake was being prepared: no writer started.
fn stuck_in_setup(shared: &WriterShared, services: &Services) -> Writing {
    let reason = format!(
        "the deadline of {} passed during set-up (preparing the lake: extensions, ATTACH, CREATE TABLE)",
        humantime::format_duration(shared.scenario.run.deadline)
    );
    Writing {
        ending: Ending::Deadline,
        window: Window::default(),
        diagnosis: Some(writers::diagnose(shared, services, &reason)),
        nemesis: Vec::new(),
        all_stopped: true,
        started: false,
        rollbacks_at_go: None,
        crashes: Vec::new(),
        pids: Vec::new(),
        stalls: Vec::new(),
        remote_workers: Vec::new(),
        workers_refused: 0,
    }
}

/// Once the writers have stopped: wait for their catalog sessions to end, read the
/// rollback counter, resolve unknown outcomes from the commit tags, save the facts, and read
/// the history (once). After a hang or an interrupt too; not when writers may still write.
fn settle(p: &mut Prepared, writing: &Writing) -> Settled {
    let judging = judging_connection(p, writing);
    let mut events = read_history(&p.history);
    let mut txns = history::transaction::fold(&events);
    if let Ok(catalog) = &judging {
        let (settled, tagged) = resolve_from_catalog(p, writing, catalog);
        let added = join_catalog(tagged, &p.history, &txns, settled);
        if !added.is_empty() {
            // Folded again only when the catalog resolved something.
            events.extend(added);
            txns = history::transaction::fold(&events);
        }
        if let Err(e) = p.record.write(&p.run_dir) {
            tracing::warn!("could not write facts.json: {e:#}");
        }
    }
    Settled { events, txns, judging }
}

fn read_history(history: &Recorder) -> Vec<Event> {
    history::recorder::load(history.path()).unwrap_or_default()
}

/// A catalog connection for resolving outcomes and the checks (a fresh session if a fault,
/// such as a catalog restart, ended the harness's own), or why the checks cannot run.
fn judging_connection(p: &Prepared, writing: &Writing) -> Result<Arc<tokio_postgres::Client>, NotJudged> {
    if writing.ending == Ending::SetupFailed {
        return Err(NotJudged::Skipped(
            "writers could not start; checks were not run".into(),
        ));
    }
    if !writing.started {
        return Err(NotJudged::Skipped(
            "no writer started (the run ended during set-up); checks were not run".into(),
        ));
    }
    if !writing.all_stopped {
        return Err(NotJudged::Skipped(
            "some writers could not be stopped (stuck in DuckDB); checks were not run, to not judge a lake \
            still being written"
                .into(),
        ));
    }
    p.catalog.client_blocking().map_err(|e| {
        NotJudged::Error(format!(
            "the catalog could not be reached after the writers stopped: {e:#}"
        ))
    })
}

/// Waits until no commit can still land, records the catalog's rollback counter, and
/// reads the commit tags in the catalog: (why nothing can land any more, if so; the tags).
fn resolve_from_catalog(
    p: &mut Prepared,
    writing: &Writing,
    catalog: &tokio_postgres::Client,
) -> (
    Option<&'static str>,
    anyhow::Result<Vec<crate::history::tag::TaggedSnapshot>>,
) {
    if !p.scenario.lake.catalog.is_postgres() {
        // A file catalog commits inside the writer's own process, and every writer has
        // ended (checked before): no commit can still land. No rollback counter to read.
        return (
            Some("every writer has ended (a file catalog commits inside the writer's own process)"),
            tagged_in_file_catalog(&p.target, &p.run_id),
        );
    }
    let settled = wait_for_writer_sessions_to_close(catalog, &p.run_id);
    p.record.catalog_rollbacks_before = writing.rollbacks_at_go;
    p.record.catalog_rollbacks_after = read_rollbacks(catalog);
    let immediate = p
        .scenario
        .nemesis
        .iter()
        .any(|n| n.kind == scenario::NemesisKind::RestartCatalog && n.mode == scenario::RestartMode::Immediate);
    if immediate {
        // Measured: after an immediate shutdown Postgres 15 starts with xact_rollback at 0.
        p.record.catalog_rollbacks_untrusted = Some(
            "the catalog was restarted in immediate mode, which discards \
            Postgres's statistics: the rollback counter started again from 0 mid-run"
                .into(),
        );
    }
    (
        settled.then_some("no session of the writers runs a query"),
        tagged_in_postgres(catalog, &p.run_id),
    )
}

/// Runs the checks on the settled run, for less time after a hang or an interrupt.
fn judge(p: &Prepared, settled: &Settled, writing: &Writing) -> Judged {
    let catalog = match &settled.judging {
        Ok(catalog) => catalog,
        Err(NotJudged::Skipped(why)) => {
            return Judged {
                checks: checker::all()
                    .iter()
                    .map(|c| CheckResult::skipped(c.name(), why))
                    .collect(),
                checks_note: Some(why.clone()),
            }
        }
        Err(NotJudged::Error(why)) => {
            return Judged {
                checks: checker::fill_missing(Vec::new(), checker::CheckStatus::Error, why),
                checks_note: Some(why.clone()),
            }
        }
    };
    let (limit, checks_note) = match writing.ending {
        Ending::Completed | Ending::SetupFailed => (CHECKS_DEADLINE, None),
        Ending::Deadline => (
            CHECKS_AFTER_TROUBLE,
            Some("the run hung; the checks ran after the writers were stopped, on what they had written".to_string()),
        ),
        Ending::Interrupted => (
            CHECKS_AFTER_TROUBLE,
            Some(
                "the run was interrupted; the checks ran after the writers were stopped, on what they had written"
                    .to_string(),
            ),
        ),
    };
    let facts = RunFacts {
        record: p.record.clone(),
        txns: settled.txns.clone(),
        actor_events: settled.events.iter().filter(|e| e.is_actor()).cloned().collect(),
    };
    Judged {
        checks: run_checks(&p.shared, &p.target, catalog, &p.env, facts, limit),
        checks_note,
    }
}

/// Names the conflicts' tables, assembles the report and writes every export, then tears
/// the services down (dropping `p`).
fn report(
    opts: &RunOptions,
    mut p: Prepared,
    written: Written,
    settled: Settled,
    judged: Judged,
) -> anyhow::Result<RunOutcome> {
    let mut writing = written.writing;
    if interrupt::is_interrupted() && writing.ending == Ending::Completed {
        // Ctrl-C during the checks: the run is reported as interrupted (exit 130), with the
        // checks that finished; the rest say they were cut short.
        writing.ending = Ending::Interrupted;
    }
    let conflict_names = match (p.scenario.lake.catalog.is_postgres(), p.catalog.client_blocking()) {
        (true, Ok(client)) => super::catalog::conflict_names(&client, &settled.events),
        (true, Err(e)) => {
            CatalogNames::not_looked_up(format!("not looked up: the catalog could not be reached ({e:#})"))
        }
        (false, _) => super::catalog::conflict_names_in_file_catalog(&p.target, &p.run_id, &settled.events),
    };
    let kept_scratch = match (&mut p.env.native, opts.keep_env) {
        (Some(native), true) => Some(native.keep_scratch().display().to_string()),
        _ => None,
    };
    let report = assemble::report(Pieces {
        run_id: p.run_id.clone(),
        scenario_file: opts.scenario_path.display().to_string(),
        overrides: opts.overrides.iter().map(|o| o.to_string()).collect(),
        started_at: p.started_at,
        setup_seconds: written.setup_seconds,
        scenario: (*p.scenario).clone(),
        env: &p.env,
        extension_dir: p.target.extensions.describe(),
        kept_scratch,
        versions: written.versions,
        shared: &p.shared,
        events: &settled.events,
        txns: &settled.txns,
        record: &p.record,
        writing,
        postgres: written.watch_summary,
        checks: judged.checks,
        checks_note: judged.checks_note,
        history_file: p.history.path().display().to_string(),
        history_write_errors: p.history.write_errors(),
        conflict_names,
    });
    crate::export::write_all(&report, &p.run_dir)?;
    let run_dir = p.run_dir.clone();
    drop(p); // tear down services only after the report is safely on disk
    Ok(RunOutcome { report, run_dir })
}

fn run_checks(
    shared: &WriterShared,
    target: &Arc<LakeTarget>,
    catalog: &Arc<tokio_postgres::Client>,
    env: &crate::environment::Environment,
    facts: RunFacts,
    limit: Duration,
) -> Vec<CheckResult> {
    let prefix = ids::session_prefix(&shared.run_id);
    checker::bounded::run_within(
        checker::bounded::CheckRequest {
            target: target.clone(),
            catalog: catalog.clone(),
            endpoints: env.endpoints.clone(),
            table: shared.scenario.lake.table.clone(),
            run: Some(facts),
            thresholds: shared.scenario.checks.clone(),
            application_name: format!("{prefix}checker"),
            own_sessions: vec![
                format!("{prefix}harness"),
                format!("{prefix}monitor"),
                format!("{prefix}setup"),
            ],
        },
        limit,
    )
}

/// The fault proxies, when a scheduled fault acts on the wire; none otherwise, and the
/// writers then reach their services directly.
/// Returns them and the lake target the writers use (routed through them, or `target`).
fn start_proxies(
    scenario: &scenario::Scenario,
    target: &Arc<LakeTarget>,
    endpoints: &crate::environment::EnvFile,
    history: &Arc<Recorder>,
    remote: bool,
) -> anyhow::Result<(Option<Arc<crate::proxy::Proxies>>, Arc<LakeTarget>)> {
    let (mut catalog, mut s3) = crate::nemesis::proxy_faults::services_needed(&scenario.nemesis);
    if std::env::var_os("DUCKLAKE_STRESS_PROXY").is_some_and(|v| v == "always") {
        // Every service through the proxy without a fault: what the proxy costs, and its trace.
        (catalog, s3) = (true, scenario.lake.data == scenario::DataStore::S3);
    }
    if !catalog && !s3 {
        return Ok((None, target.clone()));
    }
    if remote {
        return Err(crate::error::bad_input(
            "the scenario has a fault the harness's fault proxy carries out (latency, partition, reset, \
            bandwidth, lost_ack, slow_upload, failed_upload), but --coordinate runs the writers on other hosts, \
            which do not reach the services through this machine's proxy. Run it without --coordinate, or \
            use latency with mechanism = \"netem\".",
        ));
    }
    let proxies = crate::proxy::Proxies::start(endpoints, catalog, s3, history)?;
    let routed = Arc::new(LakeTarget {
        env: proxies.route(&target.env),
        ..(**target).clone()
    });
    Ok((Some(Arc::new(proxies)), routed))
}

/// The coordinator's listening socket, after checking the run can be split as asked.
fn listen(
    remote: &crate::fleet::RemoteOptions,
    scenario: &scenario::Scenario,
) -> anyhow::Result<std::net::TcpListener> {
    use crate::error::bad_input;
    if remote.workers > scenario.run.writers {
        return Err(bad_input(format!(
            "--workers {} is more than the scenario's run.writers = {}: every worker runs at \
            least one writer. Ask for fewer workers or more writers (--set run.writers=N).",
            remote.workers, scenario.run.writers
        )));
    }
    if scenario.client.instance == scenario::InstanceMode::Shared {
        return Err(bad_input(
            "client.instance = \"shared\" cannot be spread over workers: a remote worker runs each \
            writer as its own process with its own DuckDB instance. Use instance = \"own\" with --coordinate.",
        ));
    }
    std::net::TcpListener::bind(&remote.listen).map_err(|e| {
        bad_input(format!(
            "--coordinate {}: cannot listen there ({e}). Give a local address and a free port, e.g. 0.0.0.0:7878.",
            remote.listen
        ))
    })
}

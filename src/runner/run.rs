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
use crate::fleet::{Members, WriterShared};
use crate::history::{self, Recorder};
use crate::lake::{ExtensionSource, LakeTarget};
use crate::metrics::conflicts::CatalogNames;
use crate::metrics::Window;
use crate::monitor::pg_watch::PgWatch;
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

pub fn run(opts: &RunOptions) -> anyhow::Result<RunOutcome> {
    let t0 = Instant::now();
    let started_at = SystemTime::now();
    let scenario = Arc::new(scenario::load_with(&opts.scenario_path, &opts.overrides)?);
    let deadline_at = t0 + scenario.run.deadline;
    let run_id = ids::new_run_id(started_at);
    let run_dir = opts.results_dir.join(format!("{run_id}-{}", scenario.name));
    // Bound before anything else, so a taken address is reported at once and workers that
    // start early wait in its backlog.
    let listener = opts.remote.as_ref().map(|r| listen(r, &scenario)).transpose()?;

    let mut env = setup::provision(&opts.env, scenario.lake.data == scenario::DataStore::S3)?;
    interrupt::bail_if_interrupted()?;
    let mut extensions = ExtensionSource::resolve(opts.extension_dir.clone());
    extensions.allow_unsigned = opts.allow_unsigned_extensions;
    let mut target = LakeTarget::for_run(&env.endpoints, &scenario.lake, extensions)?;
    let setup_limit = SETUP_DEADLINE.max(scenario.run.deadline / 10);
    let limit = deadline_at.saturating_duration_since(Instant::now()).min(setup_limit);
    let scratch = env.native.as_ref().map(|n| n.scratch_path.as_path());
    // Dropped after the report, with the services: writers load these copies until then.
    let _extension_copies = crate::lake::staged::stage_run(&mut target, scratch, limit)?;
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
    // The monitor watches from the start, so a set-up stuck behind a lock is diagnosed too.
    let watch = PgWatch::start(&env.endpoints.postgres, &run_id, shared.clone())?;
    let service_handles = env.native.as_ref().map(|n| n.handles()).unwrap_or_default();
    let containers = env.containers.as_ref().map(|c| c.ids().to_vec()).unwrap_or_default();
    let remote = opts.remote.clone().zip(listener);
    let services = Services {
        catalog: &catalog,
        endpoints: &env.endpoints,
        watch: &watch,
        service_handles,
        containers,
        remote: std::sync::Mutex::new(remote),
        proxies,
    };
    let mut record = RunRecord {
        run_id: run_id.clone(),
        table: scenario.lake.table.clone(),
        writers: scenario.run.writers,
        batch_rows: scenario.workload.batch_rows,
        upsert_keys: if scenario.workload.kind == scenario::WorkloadKind::Upsert {
            scenario.workload.keys
        } else {
            0
        },
        seeded: scenario.workload.seed,
        workload: Some(scenario.workload.clone()),
        payload_bytes: scenario.workload.payload_bytes,
        ..Default::default()
    };

    let limit = deadline_at
        .saturating_duration_since(Instant::now())
        .min(SETUP_DEADLINE.max(scenario.run.deadline / 10));
    let (versions, writing) =
        match setup::prepare_lake(&target, &scenario, &run_id, &env, &*catalog.client_blocking()?, limit) {
            Ok(versions) => {
                interrupt::bail_if_interrupted()?;
                record.objects_before = setup::objects_now(&env, &target);
                record.write(&run_dir)?;
                (versions, writers::run(&shared, &services, deadline_at, opts.quiet)?)
            }
            Err(_) if Instant::now() + Duration::from_secs(1) >= deadline_at => {
                (Versions::default(), stuck_in_setup(&shared, &services))
            }
            Err(e) => return Err(e),
        };
    let setup_seconds = history
        .origin()
        .unwrap_or_else(Instant::now)
        .duration_since(t0)
        .as_secs_f64();
    let watch_summary = watch.finish();

    let (checks, checks_note) = after_writing(&shared, &target, &catalog, &env, &mut record, &writing, &run_dir);
    let mut writing = writing;
    if interrupt::is_interrupted() && writing.ending == Ending::Completed {
        // Ctrl-C during the checks: the run is reported as interrupted (exit 130), with the
        // checks that finished; the rest say they were cut short.
        writing.ending = Ending::Interrupted;
    }
    let events = history::recorder::load(history.path()).unwrap_or_default();
    let conflict_names = match (scenario.lake.catalog.is_postgres(), catalog.client_blocking()) {
        (true, Ok(client)) => super::catalog::conflict_names(&client, &events),
        (true, Err(e)) => {
            CatalogNames::not_looked_up(format!("not looked up: the catalog could not be reached ({e:#})"))
        }
        (false, _) => super::catalog::conflict_names_in_file_catalog(&target, &run_id, &events),
    };
    let kept_scratch = match (&mut env.native, opts.keep_env) {
        (Some(native), true) => Some(native.keep_scratch().display().to_string()),
        _ => None,
    };
    let report = assemble::report(Pieces {
        run_id,
        scenario_file: opts.scenario_path.display().to_string(),
        overrides: opts.overrides.iter().map(|o| o.to_string()).collect(),
        started_at,
        setup_seconds,
        scenario: (*scenario).clone(),
        env: &env,
        extension_dir: target.extensions.describe(),
        kept_scratch,
        versions,
        shared: &shared,
        events: &events,
        record: &record,
        writing,
        postgres: watch_summary,
        checks,
        checks_note,
        history_file: history.path().display().to_string(),
        history_write_errors: history.write_errors(),
        conflict_names,
    });
    crate::export::write_all(&report, &run_dir)?;
    drop(env); // tear down services only after the report is safely on disk
    Ok(RunOutcome { report, run_dir })
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

/// Once the writers have stopped: resolve unknown outcomes, read the rollback counter,
/// save the facts, and run the checks (after a hang or an interrupt too, for less time).
fn after_writing(
    shared: &WriterShared,
    target: &Arc<LakeTarget>,
    session: &Session,
    env: &crate::environment::Environment,
    record: &mut RunRecord,
    writing: &Writing,
    run_dir: &std::path::Path,
) -> (Vec<CheckResult>, Option<String>) {
    let skip = |why: &str| {
        (
            checker::all()
                .iter()
                .map(|c| CheckResult::skipped(c.name(), why))
                .collect(),
            Some(why.to_string()),
        )
    };
    if writing.ending == Ending::SetupFailed {
        return skip("writers could not start; checks were not run");
    }
    if !writing.started {
        return skip("no writer started (the run ended during set-up); checks were not run");
    }
    if !writing.all_stopped {
        return skip(
            "some writers could not be stopped (stuck in DuckDB); checks were not run, to not judge a lake \
            still being written",
        );
    }
    // A fresh session if a fault (a catalog restart) ended the harness's own.
    let catalog = match session.client_blocking() {
        Ok(c) => c,
        Err(e) => {
            let why = format!("the catalog could not be reached after the writers stopped: {e:#}");
            return (
                checker::fill_missing(Vec::new(), checker::CheckStatus::Error, &why),
                Some(why),
            );
        }
    };
    let catalog = &catalog;
    let (settled, tagged) = if shared.scenario.lake.catalog.is_postgres() {
        let settled = wait_for_writer_sessions_to_close(catalog, &shared.run_id);
        record.catalog_rollbacks_before = writing.rollbacks_at_go;
        record.catalog_rollbacks_after = read_rollbacks(catalog);
        let immediate = shared
            .scenario
            .nemesis
            .iter()
            .any(|n| n.kind == scenario::NemesisKind::RestartCatalog && n.mode == scenario::RestartMode::Immediate);
        if immediate {
            // Measured: after an immediate shutdown Postgres 15 starts with xact_rollback at 0.
            record.catalog_rollbacks_untrusted = Some(
                "the catalog was restarted in immediate mode, which discards \
                Postgres's statistics: the rollback counter started again from 0 mid-run"
                    .into(),
            );
        }
        (
            settled.then_some("no session of the writers runs a query"),
            tagged_in_postgres(catalog, &shared.run_id),
        )
    } else {
        // A file catalog commits inside the writer's own process, and every writer has
        // ended (checked above): no commit can still land. No rollback counter to read.
        (
            Some("every writer has ended (a file catalog commits inside the writer's own process)"),
            tagged_in_file_catalog(target, &shared.run_id),
        )
    };
    let mut events = history::recorder::load(shared.history.path()).unwrap_or_default();
    if join_catalog(tagged, &shared.history, &history::transaction::fold(&events), settled) > 0 {
        events = history::recorder::load(shared.history.path()).unwrap_or_default();
    }
    if let Err(e) = record.write(run_dir) {
        tracing::warn!("could not write facts.json: {e:#}");
    }
    let (limit, note) = match writing.ending {
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
        record: record.clone(),
        txns: history::transaction::fold(&events),
        actor_events: events.iter().filter(|e| e.is_actor()).cloned().collect(),
    };
    let checks = run_checks(shared, target, catalog, env, facts, limit);
    (checks, note)
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

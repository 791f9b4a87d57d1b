//! Faults injected during a run (Jepsen's nemesis), to see what writers and the harness
//! do when the catalog misbehaves.

pub mod crash_writer;
pub mod disconnect_worker;
pub mod docker_pause;
pub mod idle_in_transaction_timeout;
pub mod kill_writer;
pub mod latency;
pub mod lock_catalog_table;
pub mod pause_service;
pub mod proxy_faults;
pub mod restart_service;
pub mod terminate_writer_sessions;

use crate::environment::process::ServiceHandle;
use crate::environment::{EnvFile, PgEndpoint, S3Endpoint};
use crate::fleet::{Restarter, Workers};
use crate::history::Recorder;
use crate::scenario::{NemesisKind, NemesisSpec};
use crate::util::LockExt;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What a nemesis did, for the report. Times are on the run clock (zero when the writers
/// start), like the history's.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct NemesisLog {
    pub kind: String,
    pub target: String,
    pub started_at_seconds: Option<f64>,
    pub ended_at_seconds: Option<f64>,
    pub backend_pid: Option<i32>,
    /// Sessions ended (for `terminate_writer_sessions`).
    pub sessions_terminated: u64,
    /// The writer process signalled (for `crash_writer`).
    #[serde(default)]
    pub signalled_pid: Option<i32>,
    /// Writer processes killed on purpose (for `kill_writer`): their deaths are the fault,
    /// not crashes.
    #[serde(default)]
    pub killed_pids: Vec<i32>,
    /// The processes that replaced them (kill_writer with `restart = true`).
    #[serde(default)]
    pub restarted_pids: Vec<i32>,
    /// Each time the service was stopped and started again (restart and kill faults).
    #[serde(default)]
    pub restarts: Vec<Restart>,
    /// The netem rule added (for `latency`).
    #[serde(default)]
    pub rule: Option<String>,
    pub error: Option<String>,
    /// What acted: "netem" or "proxy" (for `latency` and the proxy faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
    /// What the fault proxy did for this fault: how often it acted, on which connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<crate::proxy::FaultRecord>,
}

/// One stop and start of a service, on the run clock.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Restart {
    pub stopped_at_seconds: f64,
    /// How the old process ended.
    pub exit: String,
    /// When the service answered again; `None`: it did not (see `error`).
    pub ready_at_seconds: Option<f64>,
    pub error: Option<String>,
}

/// A docker CLI command off the async runtime's threads.
async fn docker_async(args: &[&str]) -> anyhow::Result<String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || crate::environment::containers::docker(&args)).await?
}

/// Whether `pid` is still one of our writer processes (a pid of a writer that died may
/// have been reused by an unrelated process: never signal that one).
pub fn is_writer_process(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
        args.first().is_some_and(|a| a.ends_with(b"ducklake-stress")) && args.get(1) == Some(&&b"writer"[..])
    })
}

impl NemesisLog {
    /// Which mechanism acted and, for the fault proxy, how often and on how many connections.
    pub fn mechanism_summary(&self) -> Option<String> {
        let mechanism = self.mechanism.as_deref()?;
        Some(match &self.proxy {
            Some(p) => format!(
                "through the {mechanism}: acted {} times on {} connections",
                p.acted, p.connections
            ),
            None => format!("through {mechanism}"),
        })
    }

    /// Why this fault did not act (a run that was meant to suffer it proves nothing).
    pub fn idle_reason(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(e.clone());
        }
        if self.started_at_seconds.is_none() {
            return Some("never started".into());
        }
        if self.kind == format!("{:?}", NemesisKind::TerminateWriterSessions) && self.sessions_terminated == 0 {
            return Some("no writer session was terminated".into());
        }
        if self.kind == format!("{:?}", NemesisKind::KillWriter) && self.killed_pids.is_empty() {
            return Some("no writer process was killed".into());
        }
        if let Some(p) = self.proxy.as_ref().filter(|p| p.acted == 0) {
            return Some(format!(
                "the fault proxy ({}) found nothing to act on while the fault lasted",
                p.proxy
            ));
        }
        let restarting =
            [NemesisKind::RestartCatalog, NemesisKind::KillS3, NemesisKind::RestartS3].map(|k| format!("{k:?}"));
        if restarting.contains(&self.kind) {
            if let Some(e) = self.restarts.iter().find_map(|r| r.error.clone()) {
                return Some(e);
            }
            if self.restarts.is_empty() {
                return Some("the service was never stopped".into());
            }
        }
        None
    }
}

/// What one fault task works with.
pub struct Fault {
    pub spec: NemesisSpec,
    pub pg: PgEndpoint,
    pub application_name: String,
    /// LIKE pattern of the run's writer sessions.
    pub writer_pattern: String,
    /// The writers' process ids (mode = "process"), for faults that signal them.
    pub writer_pids: Vec<i32>,
    pub s3: Option<S3Endpoint>,
    /// Kills and restarts writer processes (mode = "process").
    pub restarter: Option<Arc<dyn Restarter>>,
    /// The remote workers (`run --coordinate`), for `disconnect_worker`.
    pub workers: Option<Arc<dyn Workers>>,
    /// The services the harness started ("postgres", "garage", "minio"), to pause, kill or
    /// restart; empty when they run elsewhere.
    pub services: Vec<ServiceHandle>,
    /// The containers of `run --docker`, (service, id): paused with `docker pause` instead.
    pub containers: Vec<(&'static str, String)>,
    /// The run's fault proxies, when a fault on the wire is scheduled.
    pub proxies: Option<Arc<crate::proxy::Proxies>>,
    pub history: Arc<Recorder>,
    stopped: watch::Receiver<bool>,
    log: Arc<Mutex<NemesisLog>>,
}

impl Fault {
    pub fn note(&self, f: impl FnOnce(&mut NemesisLog)) {
        f(&mut self.log.locked());
    }

    /// Sleeps for `d`; false if the run ended first.
    pub async fn sleep(&mut self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.stopped.changed() => false,
        }
    }

    /// The writers' process ids now (they change when a writer is restarted).
    pub fn pids(&self) -> Vec<i32> {
        match &self.restarter {
            Some(r) => r.pids(),
            None => self.writer_pids.clone(),
        }
    }

    /// Whether the run has ended.
    pub fn stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// The first service the harness started with one of `names` (None, noted as the
    /// fault's error, when the services run elsewhere).
    pub fn service(&self, names: &[&str]) -> Option<ServiceHandle> {
        let found = self.services.iter().find(|s| names.contains(&s.name())).cloned();
        if found.is_none() {
            let why = format!(
                "no {} process the harness started: {:?} needs the native environment",
                names.join(" or "),
                self.spec.kind
            );
            self.note(|l| l.error = Some(why));
        }
        found
    }

    /// Waits until the run ends.
    pub async fn until_stopped(&mut self) {
        let _ = self.stopped.changed().await;
    }

    /// Waits `after`, then opens the fault's own catalog session (None: run over, or error noted).
    pub async fn start(&mut self) -> Option<tokio_postgres::Client> {
        if !self.sleep(self.spec.after).await {
            return None;
        }
        match crate::environment::pg::connect(&self.pg, None, &self.application_name).await {
            Ok(c) => Some(c),
            Err(e) => {
                self.note(|l| l.error = Some(format!("{e:#}")));
                None
            }
        }
    }

    /// Records that the fault began (or ended), in the report and in the history.
    pub fn mark(&self, started: bool) {
        let at = self.history.now();
        self.history
            .nemesis(&format!("{:?}", self.spec.kind), if started { "start" } else { "end" });
        self.note(|l| {
            if started {
                l.started_at_seconds = Some(at)
            } else {
                l.ended_at_seconds = Some(at)
            }
        });
    }
}

/// What the fault acts on, for the report.
fn describe_target(spec: &NemesisSpec, run_id: &str) -> String {
    match spec.kind {
        NemesisKind::LockCatalogTable => spec.table.clone(),
        NemesisKind::TerminateWriterSessions => format!("ducklake-stress/{run_id}/w*"),
        NemesisKind::CrashWriter | NemesisKind::KillWriter => "a writer process".to_string(),
        NemesisKind::PauseCatalog => "the catalog's Postgres".to_string(),
        NemesisKind::PauseS3 => "the S3 server".to_string(),
        NemesisKind::RestartCatalog => format!("the catalog's Postgres ({:?} shutdown)", spec.mode).to_lowercase(),
        NemesisKind::KillS3 | NemesisKind::RestartS3 => "the S3 server".to_string(),
        NemesisKind::Latency if spec.mechanism == Some(crate::scenario::LatencyMechanism::Netem) => {
            proxy_faults::describe_latency(spec)
        }
        NemesisKind::DisconnectWorker => "the last remote worker to join".to_string(),
        NemesisKind::IdleInTransactionTimeout => format!(
            "idle_in_transaction_session_timeout = {}",
            spec.timeout
                .map(|t| humantime::format_duration(t).to_string())
                .unwrap_or_default()
        ),
        NemesisKind::Latency
        | NemesisKind::Partition
        | NemesisKind::Reset
        | NemesisKind::Bandwidth
        | NemesisKind::LostAck
        | NemesisKind::SlowUpload
        | NemesisKind::FailedUpload => proxy_faults::describe(spec),
    }
}

/// Runs one fault to its end.
async fn dispatch(fault: Fault) {
    match fault.spec.kind {
        NemesisKind::LockCatalogTable => lock_catalog_table::run(fault).await,
        NemesisKind::TerminateWriterSessions => terminate_writer_sessions::run(fault).await,
        NemesisKind::CrashWriter => crash_writer::run(fault).await,
        NemesisKind::KillWriter => kill_writer::run(fault).await,
        NemesisKind::PauseCatalog | NemesisKind::PauseS3
            if fault.services.is_empty() && !fault.containers.is_empty() =>
        {
            docker_pause::run(fault).await
        }
        NemesisKind::PauseCatalog => pause_service::run(fault, &["postgres"]).await,
        NemesisKind::PauseS3 => pause_service::run(fault, &["garage", "minio"]).await,
        NemesisKind::IdleInTransactionTimeout => idle_in_transaction_timeout::run(fault).await,
        NemesisKind::RestartCatalog | NemesisKind::KillS3 | NemesisKind::RestartS3 => restart_service::run(fault).await,
        NemesisKind::Latency => latency::run(fault).await,
        NemesisKind::DisconnectWorker => disconnect_worker::run(fault).await,
        NemesisKind::Partition
        | NemesisKind::Reset
        | NemesisKind::Bandwidth
        | NemesisKind::LostAck
        | NemesisKind::SlowUpload
        | NemesisKind::FailedUpload => proxy_faults::run(fault, false).await,
    }
}

/// What the faults act on: the services (their endpoints, processes, containers or fault
/// proxies) and the writers (their processes, a restarter, remote workers).
pub struct FaultTargets<'a> {
    pub endpoints: &'a EnvFile,
    pub writer_pids: &'a [i32],
    pub services: &'a [ServiceHandle],
    pub containers: &'a [(&'static str, String)],
    pub restarter: Option<Arc<dyn Restarter>>,
    pub workers: Option<Arc<dyn Workers>>,
    pub proxies: Option<Arc<crate::proxy::Proxies>>,
}

pub struct Nemeses {
    restarting: bool,
    logs: Vec<Arc<Mutex<NemesisLog>>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Nemeses {
    /// Starts every fault; each one's `after` counts from now, which is when the writers start.
    pub fn start(specs: &[NemesisSpec], run_id: &str, history: &Arc<Recorder>, on: FaultTargets) -> Self {
        let FaultTargets {
            endpoints,
            writer_pids,
            services,
            containers,
            restarter,
            workers,
            proxies,
        } = on;
        let (stop, stopped) = watch::channel(false);
        let mut logs = Vec::new();
        let mut tasks = Vec::new();
        for spec in specs {
            let log = Arc::new(Mutex::new(NemesisLog {
                kind: format!("{:?}", spec.kind),
                target: describe_target(spec, run_id),
                ..Default::default()
            }));
            logs.push(log.clone());
            let fault = Fault {
                spec: spec.clone(),
                pg: endpoints.postgres.clone(),
                s3: endpoints.s3.clone(),
                application_name: format!("ducklake-stress/{run_id}/nemesis"),
                writer_pattern: format!("{}w%", crate::util::ids::session_prefix(run_id)),
                writer_pids: writer_pids.to_vec(),
                services: services.to_vec(),
                containers: containers.to_vec(),
                restarter: restarter.clone(),
                workers: workers.clone(),
                proxies: proxies.clone(),
                history: history.clone(),
                stopped: stopped.clone(),
                log,
            };
            tasks.push(crate::runtime::get().spawn(dispatch(fault)));
        }
        let restarting = specs.iter().any(|s| {
            matches!(
                s.kind,
                NemesisKind::RestartCatalog | NemesisKind::KillS3 | NemesisKind::RestartS3 | NemesisKind::Latency
            )
        });
        Nemeses {
            restarting,
            logs,
            stop,
            tasks,
        }
    }

    /// The faults started and not yet ended, each as "kind on target (since N s)".
    pub fn in_force(&self) -> Vec<String> {
        self.logs
            .iter()
            .map(|l| l.locked())
            .filter(|l| l.ended_at_seconds.is_none())
            .filter_map(|l| {
                let since = l.started_at_seconds?;
                Some(format!("{} on {} (since {since:.1} s)", l.kind, l.target))
            })
            .collect()
    }

    /// Ends every fault (releasing its locks) and returns what each did.
    pub fn finish(self) -> Vec<NemesisLog> {
        let _ = self.stop.send(true);
        // A service that is down when the run ends is being started again: wait for it,
        // or the checks would find no catalog or no object store.
        let limit = if self.restarting {
            restart_service::READY_LIMIT + std::time::Duration::from_secs(35)
        } else {
            std::time::Duration::from_secs(3)
        };
        for t in self.tasks {
            let _ = crate::runtime::block_on(async { tokio::time::timeout(limit, t).await });
        }
        self.logs.iter().map(|l| l.locked().clone()).collect()
    }
}

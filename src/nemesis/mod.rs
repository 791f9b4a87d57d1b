//! Faults injected during a run (Jepsen's nemesis), to see what writers and the harness
//! do when the catalog misbehaves.

pub mod crash_writer;
pub mod idle_in_transaction_timeout;
pub mod kill_writer;
pub mod lock_catalog_table;
pub mod pause_service;
pub mod terminate_writer_sessions;

use crate::environment::PgEndpoint;
use crate::scenario::{NemesisKind, NemesisSpec};
use crate::history::Recorder;
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
    pub error: Option<String>,
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
    /// Process groups of the services the harness started, by name ("postgres", "garage", "minio").
    pub service_groups: Vec<(String, i32)>,
    pub history: Arc<Recorder>,
    stopped: watch::Receiver<bool>,
    log: Arc<Mutex<NemesisLog>>,
}

impl Fault {
    pub fn note(&self, f: impl FnOnce(&mut NemesisLog)) {
        f(&mut self.log.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Sleeps for `d`; false if the run ended first.
    pub async fn sleep(&mut self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.stopped.changed() => false,
        }
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
        self.history.nemesis(&format!("{:?}", self.spec.kind), if started { "start" } else { "end" });
        self.note(|l| if started { l.started_at_seconds = Some(at) } else { l.ended_at_seconds = Some(at) });
    }
}

pub struct Nemeses {
    logs: Vec<Arc<Mutex<NemesisLog>>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Nemeses {
    /// Starts every fault; each one's `after` counts from now, which is when the writers start.
    pub fn start(specs: &[NemesisSpec], pg: &PgEndpoint, run_id: &str, history: &Arc<Recorder>, writer_pids: &[i32], service_groups: &[(String, i32)]) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut logs = Vec::new();
        let mut tasks = Vec::new();
        for spec in specs {
            let target = match spec.kind {
                NemesisKind::LockCatalogTable => spec.table.clone(),
                NemesisKind::TerminateWriterSessions => format!("ducklake-stress/{run_id}/w*"),
                NemesisKind::CrashWriter | NemesisKind::KillWriter => "a writer process".to_string(),
                NemesisKind::PauseCatalog => "the catalog's Postgres".to_string(),
                NemesisKind::PauseS3 => "the S3 server".to_string(),
                NemesisKind::IdleInTransactionTimeout => format!("idle_in_transaction_session_timeout = {}", spec.timeout.map(|t| humantime::format_duration(t).to_string()).unwrap_or_default()),
            };
            let log = Arc::new(Mutex::new(NemesisLog { kind: format!("{:?}", spec.kind), target, ..Default::default() }));
            logs.push(log.clone());
            let fault = Fault {
                spec: spec.clone(),
                pg: pg.clone(),
                application_name: format!("ducklake-stress/{run_id}/nemesis"),
                writer_pattern: format!("{}w%", crate::util::ids::session_prefix(run_id)),
                writer_pids: writer_pids.to_vec(),
                service_groups: service_groups.to_vec(),
                history: history.clone(),
                stopped: stopped.clone(),
                log,
            };
            tasks.push(crate::runtime::get().spawn(async move {
                match fault.spec.kind {
                    NemesisKind::LockCatalogTable => lock_catalog_table::run(fault).await,
                    NemesisKind::TerminateWriterSessions => terminate_writer_sessions::run(fault).await,
                    NemesisKind::CrashWriter => crash_writer::run(fault).await,
                    NemesisKind::KillWriter => kill_writer::run(fault).await,
                    NemesisKind::PauseCatalog => pause_service::run(fault, &["postgres"]).await,
                    NemesisKind::PauseS3 => pause_service::run(fault, &["garage", "minio"]).await,
                    NemesisKind::IdleInTransactionTimeout => idle_in_transaction_timeout::run(fault).await,
                }
            }));
        }
        Nemeses { logs, stop, tasks }
    }

    /// Ends every fault (releasing its locks) and returns what each did.
    pub fn finish(self) -> Vec<NemesisLog> {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = crate::runtime::block_on(async { tokio::time::timeout(std::time::Duration::from_secs(3), t).await });
        }
        self.logs.iter().map(|l| l.lock().unwrap_or_else(|p| p.into_inner()).clone()).collect()
    }
}

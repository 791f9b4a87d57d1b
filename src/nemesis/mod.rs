//! Faults injected during a run (Jepsen's nemesis), to see what writers and the harness
//! do when the catalog misbehaves.

pub mod lock_catalog_table;
pub mod terminate_writer_sessions;

use crate::environment::PgEndpoint;
use crate::scenario::{NemesisKind, NemesisSpec};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What a nemesis did, for the report.
#[derive(Debug, Clone, Serialize, Default)]
pub struct NemesisLog {
    pub kind: String,
    pub target: String,
    pub started_at_seconds: Option<f64>,
    pub ended_at_seconds: Option<f64>,
    pub backend_pid: Option<i32>,
    /// Sessions ended (for `terminate_writer_sessions`).
    pub sessions_terminated: u64,
    pub error: Option<String>,
}

/// What one fault task works with.
pub struct Fault {
    pub spec: NemesisSpec,
    pub pg: PgEndpoint,
    pub application_name: String,
    /// LIKE pattern of the run's writer sessions.
    pub writer_pattern: String,
    pub clock: std::time::Instant,
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
        match crate::pg::connect(&self.pg, None, &self.application_name).await {
            Ok(c) => Some(c),
            Err(e) => {
                self.note(|l| l.error = Some(format!("{e:#}")));
                None
            }
        }
    }

    pub fn mark(&self, started: bool) {
        let at = self.clock.elapsed().as_secs_f64();
        self.note(|l| if started { l.started_at_seconds = Some(at) } else { l.ended_at_seconds = Some(at) });
    }
}

pub struct Nemeses {
    logs: Vec<Arc<Mutex<NemesisLog>>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Nemeses {
    pub fn start(specs: &[NemesisSpec], pg: &PgEndpoint, run_id: &str, clock: std::time::Instant) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut logs = Vec::new();
        let mut tasks = Vec::new();
        for spec in specs {
            let target = match spec.kind {
                NemesisKind::LockCatalogTable => spec.table.clone(),
                NemesisKind::TerminateWriterSessions => format!("ducklake-stress/{run_id}/w*"),
            };
            let log = Arc::new(Mutex::new(NemesisLog { kind: format!("{:?}", spec.kind), target, ..Default::default() }));
            logs.push(log.clone());
            let fault = Fault {
                spec: spec.clone(),
                pg: pg.clone(),
                application_name: format!("ducklake-stress/{run_id}/nemesis"),
                writer_pattern: format!("ducklake-stress/{run_id}/w%"),
                clock,
                stopped: stopped.clone(),
                log,
            };
            tasks.push(crate::runtime::get().spawn(async move {
                match fault.spec.kind {
                    NemesisKind::LockCatalogTable => lock_catalog_table::run(fault).await,
                    NemesisKind::TerminateWriterSessions => terminate_writer_sessions::run(fault).await,
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

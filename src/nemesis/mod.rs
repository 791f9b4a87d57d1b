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
            let (spec, pg, app, stopped) = (spec.clone(), pg.clone(), format!("ducklake-stress/{run_id}/nemesis"), stopped.clone());
            let writers = format!("ducklake-stress/{run_id}/w%");
            tasks.push(crate::runtime::get().spawn(async move {
                match spec.kind {
                    NemesisKind::LockCatalogTable => lock_catalog_table::run(spec, pg, app, clock, stopped, log).await,
                    NemesisKind::TerminateWriterSessions => {
                        terminate_writer_sessions::run(spec, pg, app, writers, clock, stopped, log).await
                    }
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

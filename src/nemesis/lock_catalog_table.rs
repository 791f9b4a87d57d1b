//! Holds `ACCESS EXCLUSIVE` on a catalog table from a session left idle in transaction:
//! the situation behind many "DuckLake hangs" reports (a forgotten psql, a crashed job).

use super::NemesisLog;
use crate::environment::PgEndpoint;
use crate::scenario::NemesisSpec;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub async fn run(
    spec: NemesisSpec,
    pg: PgEndpoint,
    application_name: String,
    clock: Instant,
    mut stopped: watch::Receiver<bool>,
    log: Arc<Mutex<NemesisLog>>,
) {
    let note = |f: &dyn Fn(&mut NemesisLog)| f(&mut log.lock().unwrap_or_else(|p| p.into_inner()));
    tokio::select! {
        _ = tokio::time::sleep(spec.after) => {}
        _ = stopped.changed() => return,
    }
    let client = match crate::pg::connect(&pg, None, &application_name).await {
        Ok(c) => c,
        Err(e) => return note(&|l| l.error = Some(format!("{e:#}"))),
    };
    let lock = format!("BEGIN; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", spec.table);
    match tokio::time::timeout(Duration::from_secs(10), client.batch_execute(&lock)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return note(&|l| l.error = Some(e.to_string())),
        Err(_) => return note(&|l| l.error = Some("could not get the lock within 10 s".into())),
    }
    let pid: Option<i32> = client.query_one("SELECT pg_backend_pid()", &[]).await.ok().map(|r| r.get(0));
    let at = clock.elapsed().as_secs_f64();
    note(&|l| {
        l.started_at_seconds = Some(at);
        l.backend_pid = pid;
    });
    match spec.hold {
        Some(hold) => {
            tokio::select! {
                _ = tokio::time::sleep(hold) => {}
                _ = stopped.changed() => {}
            }
        }
        None => {
            let _ = stopped.changed().await;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), client.batch_execute("ROLLBACK")).await;
    let at = clock.elapsed().as_secs_f64();
    note(&|l| l.ended_at_seconds = Some(at));
}

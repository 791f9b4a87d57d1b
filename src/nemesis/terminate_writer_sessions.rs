//! Ends the writers' catalog sessions with pg_terminate_backend, once or repeatedly: what
//! writers see when Postgres restarts or fails over. A COMMIT cut off this way has an
//! unknown outcome, which is what the indeterminate bookkeeping is for.

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
    writer_pattern: String,
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
    let at = clock.elapsed().as_secs_f64();
    note(&|l| l.started_at_seconds = Some(at));
    loop {
        let ended = crate::pg::query_with_deadline(
            &client,
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE $1",
            &[&writer_pattern],
            Duration::from_secs(5),
        )
        .await;
        match ended {
            Ok(rows) => {
                let n: i64 = rows.first().map(|r| r.get(0)).unwrap_or(0);
                note(&|l| l.sessions_terminated += n as u64);
            }
            Err(e) => note(&|l| l.error = Some(format!("{e:#}"))),
        }
        let Some(every) = spec.every else { break };
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => break,
        }
    }
    let at = clock.elapsed().as_secs_f64();
    note(&|l| l.ended_at_seconds = Some(at));
}

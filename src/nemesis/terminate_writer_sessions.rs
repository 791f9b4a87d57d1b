//! Ends the writers' catalog sessions with pg_terminate_backend, once or repeatedly: what
//! writers see when Postgres restarts or fails over. A COMMIT cut off this way has an
//! unknown outcome, which is what the indeterminate bookkeeping is for.

use super::Fault;
use std::time::Duration;

pub async fn run(mut fault: Fault) {
    let Some(client) = fault.start().await else { return };
    fault.mark(true);
    loop {
        let ended = crate::pg::query_with_deadline(
            &client,
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE $1",
            &[&fault.writer_pattern],
            Duration::from_secs(5),
        )
        .await;
        match ended {
            Ok(rows) => {
                let n: i64 = rows.first().map(|r| r.get(0)).unwrap_or(0);
                fault.note(|l| l.sessions_terminated += n as u64);
            }
            Err(e) => fault.note(|l| l.error = Some(format!("{e:#}"))),
        }
        let Some(every) = fault.spec.every else { break };
        if !fault.sleep(every).await {
            break;
        }
    }
    fault.mark(false);
}

//! Holds `ACCESS EXCLUSIVE` on a catalog table from a session left idle in transaction:
//! the situation behind many "DuckLake hangs" reports (a forgotten psql, a crashed job).

use super::Fault;
use std::time::Duration;

pub async fn run(mut fault: Fault) {
    let Some(client) = fault.start().await else { return };
    let lock = format!("BEGIN; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", fault.spec.table);
    match tokio::time::timeout(Duration::from_secs(10), client.batch_execute(&lock)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return fault.note(|l| l.error = Some(e.to_string())),
        Err(_) => return fault.note(|l| l.error = Some("could not get the lock within 10 s".into())),
    }
    let pid: Option<i32> = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .ok()
        .map(|r| r.get(0));
    fault.note(|l| l.backend_pid = pid);
    fault.mark(true);
    match fault.spec.hold {
        Some(hold) => {
            fault.sleep(hold).await;
        }
        None => fault.until_stopped().await,
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), client.batch_execute("ROLLBACK")).await;
    fault.mark(false);
}

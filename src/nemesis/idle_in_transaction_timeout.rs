//! Sets Postgres's `idle_in_transaction_session_timeout` low for a while (ALTER SYSTEM and
//! a reload, reset afterwards): many production catalogs run with one, and a DuckLake writer
//! keeps its catalog transaction idle while DuckDB writes Parquet, so the server may end it
//! between INSERT and COMMIT. The sessions it ended are counted from pg_stat_database
//! (`sessions_fatal`), so a fault that never bit says so.

use super::Fault;
use std::time::Duration;

pub async fn run(mut fault: Fault) {
    let Some(client) = fault.start().await else { return };
    let ms = fault
        .spec
        .timeout
        .unwrap_or(Duration::from_millis(50))
        .as_millis()
        .max(1);
    let fatal = || async {
        crate::environment::pg::query_with_deadline(
            &client,
            "SELECT sessions_fatal FROM pg_stat_database WHERE datname = current_database()",
            &[],
            Duration::from_secs(5),
        )
        .await
        .ok()
        .and_then(|rows| rows.first().map(|r| r.get::<_, i64>(0)))
    };
    let before = fatal().await;
    let set = format!("ALTER SYSTEM SET idle_in_transaction_session_timeout = '{ms}ms'");
    for sql in [set.as_str(), "SELECT pg_reload_conf()"] {
        if let Err(e) = crate::environment::pg::query_with_deadline(&client, sql, &[], Duration::from_secs(5)).await {
            return fault.note(|l| l.error = Some(format!("{sql}: {e:#}")));
        }
    }
    fault.mark(true);
    match fault.spec.hold {
        Some(hold) => {
            fault.sleep(hold).await;
        }
        None => fault.until_stopped().await,
    }
    for sql in [
        "ALTER SYSTEM RESET idle_in_transaction_session_timeout",
        "SELECT pg_reload_conf()",
    ] {
        let _ = crate::environment::pg::query_with_deadline(&client, sql, &[], Duration::from_secs(5)).await;
    }
    // Stats reach pg_stat_database when a backend ends; give the last ones a moment.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _ = client.batch_execute("SELECT pg_stat_clear_snapshot()").await;
    if let (Some(b), Some(a)) = (before, fatal().await) {
        fault.note(|l| l.sessions_terminated = (a - b).max(0) as u64);
    }
    fault.mark(false);
}

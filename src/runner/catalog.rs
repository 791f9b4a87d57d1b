//! The runner's own questions to the catalog database: the rollback counter, whether the
//! writers' sessions are gone, and the post-run lookup of commits whose outcome is unknown.

use crate::history::tag;
use crate::history::{Event, Recorder, Txn};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

pub fn read_rollbacks(catalog: &Client) -> Option<i64> {
    crate::runtime::block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(3), catalog.batch_execute("SELECT pg_stat_clear_snapshot()")).await;
        let rows = crate::environment::pg::query_with_deadline(
            catalog,
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()",
            &[],
            Duration::from_secs(3),
        )
        .await
        .ok()?;
        rows.first().map(|r| r.get::<_, i64>(0))
    })
}

/// Backend exit is asynchronous: gives the writers' sessions up to 5 s to disappear so the
/// rollback counter includes them and the session checks see only real leftovers. True
/// when none of them is running a query any more (the condition for saying a commit whose
/// tag is absent did not happen); a leaked idle session does not count.
pub fn wait_for_writer_sessions_to_close(catalog: &Client, run_id: &str) -> bool {
    let pattern = format!("{}w%", crate::util::ids::session_prefix(run_id));
    let until = Instant::now() + Duration::from_secs(5);
    let count = || {
        crate::runtime::block_on(crate::environment::pg::query_with_deadline(
            catalog,
            "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity WHERE application_name LIKE $1",
            &[&pattern],
            Duration::from_secs(2),
        ))
        .ok()
        .and_then(|rows| rows.first().map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1))))
    };
    loop {
        let open = count();
        if open.is_some_and(|(all, _)| all == 0) || Instant::now() >= until {
            return open.is_some_and(|(_, active)| active == 0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// After the writers have stopped: joins every committed attempt to its snapshot by tag,
/// and looks up every attempt whose outcome is still unknown, writing what the catalog says
/// into the history. `settled`: none of the writers' sessions runs a query any more, so an
/// absent tag means the commit did not happen (else those stay unknown). Returns how many
/// entries were added.
pub fn join_catalog(catalog: &Client, run_id: &str, history: &Recorder, txns: &[Txn], settled: bool) -> usize {
    let found = match crate::runtime::block_on(tag::tagged_snapshots(catalog, run_id)) {
        Ok(snapshots) => tag::by_key(&snapshots),
        Err(e) => {
            tracing::warn!("could not read the run's snapshots from the catalog: {e:#}");
            return 0;
        }
    };
    let mut added = 0;
    for t in txns {
        for a in &t.attempts {
            let k = t.key_of(a.attempt);
            let snapshot_id = found.get(&k).copied();
            match (a.committed(), snapshot_id) {
                (Some(true), Some(s)) if a.snapshot_id.is_none() => {
                    history.append(&Event::Snapshot { writer: k.writer, txn: k.txn, attempt: k.attempt, snapshot_id: s });
                }
                (None, Some(s)) => {
                    let how = format!("after the run: tag found in ducklake_snapshot_changes (snapshot {s})");
                    history.append(&Event::Resolve { writer: k.writer, txn: k.txn, attempt: k.attempt, at: history.now(), committed: Some(true), snapshot_id: Some(s), how });
                }
                (None, None) if settled => {
                    let how = "after the run: tag absent from ducklake_snapshot_changes, and no session of the writers runs a query".to_string();
                    history.append(&Event::Resolve { writer: k.writer, txn: k.txn, attempt: k.attempt, at: history.now(), committed: Some(false), snapshot_id: None, how });
                }
                _ => continue,
            }
            added += 1;
        }
    }
    added
}

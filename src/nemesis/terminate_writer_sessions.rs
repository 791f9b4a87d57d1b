//! Ends the writers' catalog sessions with pg_terminate_backend, once or repeatedly: what
//! writers see when Postgres restarts or fails over. With `during = "commit"` it waits for
//! a session caught writing its commit into the catalog, so the writer cannot know whether
//! that commit landed: the case the history's `info` outcomes and tag lookups are for.
//! With `during = "commit_ack"` the commit has landed and only its acknowledgement is
//! lost: Postgres waits for a synchronous standby that does not exist (the local commit is
//! durable first), and the sessions waiting there are ended.

use super::Fault;
use crate::scenario::FaultMoment;
use std::time::{Duration, Instant};

/// A writer session in the middle of DuckLake's catalog commit. DuckLake 1.5.5 writes a
/// commit as one multi-statement string starting `INSERT INTO "<schema>".ducklake_snapshot
/// VALUES`, then sends `COMMIT` (seen with log_statement = all); between the two the
/// session is idle in transaction with the INSERT as its last query.
pub const COMMITTING: &str = "((state IN ('active', 'idle in transaction') AND query LIKE 'INSERT INTO \
    %ducklake_snapshot VALUES%') OR (state = 'active' AND query = 'COMMIT'))";

/// How often to look for a committing session, and for how long per strike at most.
const POLL: Duration = Duration::from_millis(2);
const HUNT: Duration = Duration::from_secs(10);

pub async fn run(mut fault: Fault) {
    let Some(client) = fault.start().await else { return };
    fault.mark(true);
    let filter = match fault.spec.during {
        FaultMoment::Any => "true",
        FaultMoment::Commit => COMMITTING,
        FaultMoment::CommitAck => "wait_event = 'SyncRep'",
    };
    let sql = format!(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE \
        application_name LIKE $1 AND {filter}"
    );
    loop {
        let stalled = fault.spec.during == FaultMoment::CommitAck && stall_commits(&fault, &client, true).await;
        let hunt_until = Instant::now() + HUNT;
        loop {
            match crate::environment::pg::query_with_deadline(
                &client,
                &sql,
                &[&fault.writer_pattern],
                Duration::from_secs(5),
            )
            .await
            {
                Ok(rows) => {
                    let n: i64 = rows.first().map(|r| r.get(0)).unwrap_or(0);
                    fault.note(|l| l.sessions_terminated += n as u64);
                    if n > 0 || fault.spec.during == FaultMoment::Any {
                        break;
                    }
                }
                Err(e) => {
                    fault.note(|l| l.error = Some(format!("{e:#}")));
                    break;
                }
            }
            if Instant::now() >= hunt_until || !fault.sleep(POLL).await {
                break;
            }
        }
        if stalled {
            stall_commits(&fault, &client, false).await;
        }
        let Some(every) = fault.spec.every else { break };
        if !fault.sleep(every).await {
            break;
        }
    }
    fault.mark(false);
}

/// Makes every commit wait for a synchronous standby that does not exist (or stops that).
/// ALTER SYSTEM cannot run in a transaction block, hence one statement per call.
async fn stall_commits(fault: &Fault, client: &tokio_postgres::Client, on: bool) -> bool {
    let set = if on {
        "ALTER SYSTEM SET synchronous_standby_names = 'ducklake_stress_no_standby'"
    } else {
        "ALTER SYSTEM RESET synchronous_standby_names"
    };
    for sql in [set, "SELECT pg_reload_conf()"] {
        if let Err(e) = crate::environment::pg::query_with_deadline(client, sql, &[], Duration::from_secs(5)).await {
            fault.note(|l| l.error = Some(format!("{sql}: {e:#}")));
            return false;
        }
    }
    true
}

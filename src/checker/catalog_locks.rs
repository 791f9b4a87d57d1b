//! Nothing blocks the lake once the run is over: no session, of this run or any other,
//! holds a lock on a DuckLake catalog table (`ducklake_*`) while idle in a transaction or
//! in a mode that blocks writers. A foreign session on the same Postgres that does not
//! touch the lake's tables is ignored: it is not the lake's problem.

use super::sessions::{describe, leftovers};
use super::{About, Applies, Check, CheckContext, CheckResult, Needs};
use crate::monitor::snapshot::{LockRow, Session};
use serde_json::json;

pub struct CatalogLocks;

/// Lock modes on a catalog table that make a writer's INSERT or UPDATE wait.
const BLOCKING_MODES: &[&str] = &[
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

fn on_catalog(l: &LockRow) -> bool {
    l.relation.starts_with("ducklake_")
}

/// The locks and sessions that block the lake.
fn blocking(sessions: &[Session], locks: &[LockRow]) -> (Vec<LockRow>, Vec<Session>) {
    let idle_in_txn = |pid: i32| {
        sessions
            .iter()
            .any(|s| s.pid == pid && s.state.starts_with("idle in transaction"))
    };
    let bad: Vec<LockRow> = locks
        .iter()
        .filter(|l| on_catalog(l) && (idle_in_txn(l.pid) || BLOCKING_MODES.contains(&l.mode.as_str())))
        .cloned()
        .collect();
    let holders: Vec<Session> = sessions
        .iter()
        .filter(|s| bad.iter().any(|l| l.pid == s.pid))
        .cloned()
        .collect();
    (bad, holders)
}

impl Check for CatalogLocks {
    fn about(&self) -> About {
        About::new("catalog_locks", Needs::Postgres, Applies::Any)
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let (sessions, locks, _) = leftovers(ctx, |s, l| blocking(s, l).0.is_empty())?;
        let (bad, holders) = blocking(&sessions, &locks);
        let ignored: Vec<&Session> = sessions
            .iter()
            .filter(|s| s.state.starts_with("idle in transaction") && !holders.iter().any(|h| h.pid == s.pid))
            .collect();
        let ok = bad.is_empty();
        let summary = if ok {
            format!(
                "no session holds a lock on the catalog tables that blocks the lake{}",
                if ignored.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} idle-in-transaction session(s) that do not touch the lake ignored)",
                        ignored.len()
                    )
                }
            )
        } else {
            let held: Vec<String> = bad
                .iter()
                .map(|l| format!("pid {} {} on {}", l.pid, l.mode, l.relation))
                .collect();
            format!(
                "{} lock(s) on catalog tables block the lake: {}; held by {}",
                bad.len(),
                held.join(", "),
                holders.iter().map(describe).collect::<Vec<_>>().join("; ")
            )
        };
        Ok(CheckResult::new(
            self.name(),
            ok,
            summary,
            json!({ "locks": bad, "holders": holders, "ignored_sessions": ignored }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pid: i32, state: &str) -> Session {
        Session {
            pid,
            application_name: format!("app{pid}"),
            state: state.into(),
            wait_event_type: String::new(),
            wait_event: String::new(),
            seconds_in_state: 1.0,
            seconds_in_transaction: 1.0,
            query: String::new(),
            blocked_by: vec![],
        }
    }

    fn lock(pid: i32, mode: &str, relation: &str) -> LockRow {
        LockRow {
            pid,
            locktype: "relation".into(),
            mode: mode.into(),
            granted: true,
            relation: relation.into(),
        }
    }

    #[test]
    fn only_locks_on_the_lake_count() {
        let sessions = vec![
            session(1, "idle in transaction"),
            session(2, "idle in transaction"),
            session(3, "active"),
        ];
        let locks = vec![
            lock(1, "AccessShareLock", "my_own_table"), // foreign, idle, not the lake: ignored
            lock(2, "AccessShareLock", "ducklake_snapshot"), // idle in transaction on the lake: blocks
            lock(3, "RowExclusiveLock", "ducklake_data_file"), // a running writer: fine
        ];
        let (bad, holders) = blocking(&sessions, &locks);
        assert_eq!(bad.len(), 1);
        assert_eq!(holders[0].pid, 2);
        let (bad, _) = blocking(&sessions, &[lock(3, "AccessExclusiveLock", "ducklake_snapshot")]);
        assert_eq!(bad.len(), 1, "an exclusive lock blocks even from an active session");
    }
}

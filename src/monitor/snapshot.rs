//! One look at the catalog database: its sessions, who blocks whom, which locks are held.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_postgres::Client;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub pid: i32,
    pub application_name: String,
    pub state: String,
    pub wait_event_type: String,
    pub wait_event: String,
    pub seconds_in_state: f64,
    pub seconds_in_transaction: f64,
    pub query: String,
    pub blocked_by: Vec<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockRow {
    pub pid: i32,
    pub locktype: String,
    pub mode: String,
    pub granted: bool,
    pub relation: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PgSnapshot {
    pub at_seconds: f64,
    pub sessions: Vec<Session>,
    pub locks: Vec<LockRow>,
}

/// A session that waits, and the sessions it waits for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockingChain {
    pub waiter_pid: i32,
    pub waiter: String,
    pub waiting_seconds: f64,
    pub blockers: Vec<Blocker>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Blocker {
    pub pid: i32,
    pub application_name: String,
    pub state: String,
    pub seconds_in_transaction: f64,
    pub query: String,
    /// Granted locks on relations, e.g. "AccessExclusiveLock on ducklake_snapshot".
    pub holds: Vec<String>,
}

const SESSIONS_SQL: &str = "
SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
       coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''),
       coalesce(extract(epoch FROM now() - a.state_change)::float8, 0),
       coalesce(extract(epoch FROM now() - a.xact_start)::float8, 0),
       left(coalesce(a.query, ''), 300),
       pg_blocking_pids(a.pid)
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
ORDER BY a.pid";

const LOCKS_SQL: &str = "
SELECT l.pid, l.locktype, l.mode, l.granted, coalesce(c.relname, '')
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
LEFT JOIN pg_class c ON c.oid = l.relation
WHERE a.datname = current_database() AND l.pid <> pg_backend_pid() AND l.locktype <> 'virtualxid'
ORDER BY l.pid";

pub async fn take(client: &Client, at: Duration) -> anyhow::Result<PgSnapshot> {
    let deadline = Duration::from_secs(2);
    let sessions = crate::environment::pg::query_with_deadline(client, SESSIONS_SQL, &[], deadline)
        .await?
        .iter()
        .map(|r| Session {
            pid: r.get(0),
            application_name: r.get(1),
            state: r.get(2),
            wait_event_type: r.get(3),
            wait_event: r.get(4),
            seconds_in_state: r.get(5),
            seconds_in_transaction: r.get(6),
            query: r.get(7),
            blocked_by: r.get(8),
        })
        .collect();
    let locks = crate::environment::pg::query_with_deadline(client, LOCKS_SQL, &[], deadline)
        .await?
        .iter()
        .map(|r| LockRow {
            pid: r.get(0),
            locktype: r.get(1),
            mode: r.get(2),
            granted: r.get(3),
            relation: r.get(4),
        })
        .collect();
    Ok(PgSnapshot {
        at_seconds: at.as_secs_f64(),
        sessions,
        locks,
    })
}

impl PgSnapshot {
    pub fn session(&self, pid: i32) -> Option<&Session> {
        self.sessions.iter().find(|s| s.pid == pid)
    }

    pub fn lock_waiters(&self) -> u64 {
        self.sessions.iter().filter(|s| !s.blocked_by.is_empty()).count() as u64
    }

    pub fn longest_lock_wait(&self) -> f64 {
        self.sessions
            .iter()
            .filter(|s| !s.blocked_by.is_empty())
            .map(|s| s.seconds_in_state)
            .fold(0.0, f64::max)
    }

    pub fn idle_in_transaction(&self) -> u64 {
        self.sessions
            .iter()
            .filter(|s| s.state.starts_with("idle in transaction"))
            .count() as u64
    }

    pub fn blocking_chains(&self) -> Vec<BlockingChain> {
        self.sessions
            .iter()
            .filter(|s| !s.blocked_by.is_empty())
            .map(|s| BlockingChain {
                waiter_pid: s.pid,
                waiter: s.application_name.clone(),
                waiting_seconds: s.seconds_in_state,
                blockers: s.blocked_by.iter().map(|&pid| self.blocker(pid)).collect(),
            })
            .collect()
    }

    /// Sessions that block others and wait for nobody: where a hang starts.
    pub fn root_blockers(&self) -> Vec<Blocker> {
        let blocking: BTreeSet<i32> = self
            .sessions
            .iter()
            .flat_map(|s| s.blocked_by.iter().copied())
            .collect();
        blocking
            .into_iter()
            .filter(|pid| self.session(*pid).is_none_or(|s| s.blocked_by.is_empty()))
            .map(|pid| self.blocker(pid))
            .collect()
    }

    fn blocker(&self, pid: i32) -> Blocker {
        let holds = self
            .locks
            .iter()
            .filter(|l| l.pid == pid && l.granted && !l.relation.is_empty() && !l.relation.starts_with("pg_"))
            .map(|l| format!("{} on {}", l.mode, l.relation))
            .collect();
        match self.session(pid) {
            Some(b) => Blocker {
                pid,
                application_name: b.application_name.clone(),
                state: b.state.clone(),
                seconds_in_transaction: b.seconds_in_transaction,
                query: b.query.clone(),
                holds,
            },
            None => Blocker {
                pid,
                application_name: "(not in this database)".into(),
                state: String::new(),
                seconds_in_transaction: 0.0,
                query: String::new(),
                holds,
            },
        }
    }
}

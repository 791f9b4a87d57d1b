//! Shared by the two session checks: a look at the catalog database once the writers'
//! sessions have had a moment to go (backend exit is asynchronous), ignoring the
//! harness's own monitor and checker sessions.

use super::CheckContext;
use crate::monitor::snapshot::{self, LockRow, PgSnapshot, Session};
use std::time::{Duration, Instant};

const GRACE: Duration = Duration::from_secs(5);

/// What is left in the catalog database: sessions and granted locks, without the
/// harness's own. `settled` says when to stop waiting (e.g. "nothing of the run left").
pub fn leftovers(
    ctx: &CheckContext,
    settled: impl Fn(&[Session], &[LockRow]) -> bool,
) -> anyhow::Result<(Vec<Session>, Vec<LockRow>, PgSnapshot)> {
    let until = Instant::now() + GRACE;
    loop {
        let snap: PgSnapshot = crate::runtime::block_on(snapshot::take(ctx.catalog, Duration::ZERO))?;
        let own = |app: &str| ctx.own_sessions.iter().any(|o| app.starts_with(o.as_str()));
        let sessions: Vec<Session> = snap
            .sessions
            .iter()
            .filter(|s| !own(&s.application_name))
            .cloned()
            .collect();
        let locks: Vec<LockRow> = snap
            .locks
            .iter()
            .filter(|l| l.granted && snap.session(l.pid).is_none_or(|s| !own(&s.application_name)))
            .cloned()
            .collect();
        if settled(&sessions, &locks) || Instant::now() >= until {
            return Ok((sessions, locks, snap));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A one-line description of a session for a check's summary.
pub fn describe(s: &Session) -> String {
    format!(
        "pid {} ({}) {} for {:.1} s: {}",
        s.pid,
        s.application_name,
        s.state,
        s.seconds_in_state,
        s.query.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

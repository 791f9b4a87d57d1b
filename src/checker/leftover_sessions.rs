//! Check 5: after the writers have closed, nothing of theirs lingers in the catalog
//! database: no session of this run still open, no session idle in transaction, no lock
//! held. Writers' sessions get a few seconds to disappear (backend exit is asynchronous).

use super::{Check, CheckContext, CheckResult};
use crate::monitor::snapshot::{self, PgSnapshot};
use serde_json::json;
use std::time::{Duration, Instant};

pub struct LeftoverSessions;

const GRACE: Duration = Duration::from_secs(5);

impl Check for LeftoverSessions {
    fn name(&self) -> &'static str {
        "leftover_sessions"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let run_prefix = ctx.run.map(|r| format!("ducklake-stress/{}/", r.run_id));
        let until = Instant::now() + GRACE;
        let (sessions, locks) = loop {
            let snap: PgSnapshot = crate::runtime::block_on(snapshot::take(ctx.catalog, Duration::ZERO))?;
            let own = |app: &str| ctx.own_sessions.iter().any(|o| app.starts_with(o.as_str()));
            let leftover: Vec<_> = snap
                .sessions
                .iter()
                .filter(|s| !own(&s.application_name))
                .filter(|s| {
                    let of_run = run_prefix.as_deref().is_some_and(|p| s.application_name.starts_with(p));
                    of_run || s.state.starts_with("idle in transaction")
                })
                .cloned()
                .collect();
            let held: Vec<_> = snap
                .locks
                .iter()
                .filter(|l| l.granted && snap.session(l.pid).is_none_or(|s| !own(&s.application_name)))
                .filter(|l| !l.relation.starts_with("pg_"))
                .cloned()
                .collect();
            if (leftover.is_empty() && held.is_empty()) || Instant::now() >= until {
                break (leftover, held);
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let ok = sessions.is_empty() && locks.is_empty();
        let summary = if ok {
            "no session of the run left open, none idle in transaction, no lock held".to_string()
        } else {
            let list = sessions
                .iter()
                .map(|s| format!("pid {} ({}) {} for {:.1} s: {}", s.pid, s.application_name, s.state, s.seconds_in_state, s.query.split_whitespace().collect::<Vec<_>>().join(" ")))
                .collect::<Vec<_>>()
                .join("; ");
            format!("{} leftover session(s), {} lock(s) held: {list}", sessions.len(), locks.len())
        };
        Ok(CheckResult::new(self.name(), ok, summary, json!({ "sessions": sessions, "locks": locks })))
    }
}

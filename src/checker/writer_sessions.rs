//! The run's own writers left nothing open: once a writer has closed its DuckDB instance,
//! no catalog session named after it (`ducklake-stress/<run>/w<n>`) may remain. One that
//! does is the client's leak, not the lake's: DuckDB 1.5.5's Postgres scanner keeps a pool
//! slot when COMMIT or ROLLBACK throws (duckdb-postgres#545, fixed upstream after 1.5.5),
//! so an instance whose DuckLake commit failed keeps one session. Reported as a finding
//! (`warn`); it fails the run only past `checks.max_leaked_sessions`.

use super::sessions::{describe, leftovers};
use super::{About, Applies, Check, CheckContext, CheckResult, CheckStatus, Needs, RunFacts};
use serde_json::json;

pub struct WriterSessions;

pub const LEAK_REFERENCE: &str = "duckdb-postgres#545";

/// The problem kinds, for the known-findings registry: a leak under the limit the user set
/// is the known client bug; past it, the user's own threshold judges it.
fn problems(status: CheckStatus, n: u64) -> serde_json::Value {
    match status {
        CheckStatus::Warn => json!({ "leaked_session": n }),
        CheckStatus::Fail => json!({ "leaked_sessions_over_limit": n }),
        _ => json!({}),
    }
}

impl Check for WriterSessions {
    fn about(&self) -> About {
        About::new("writer_sessions", Needs::PostgresAndHistory, Applies::Any)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let prefix = format!("{}w", crate::util::ids::session_prefix(run.run_id()));
        let (sessions, _, _) = leftovers(ctx, |s, _| !s.iter().any(|s| s.application_name.starts_with(&prefix)))?;
        let leaked: Vec<_> = sessions
            .into_iter()
            .filter(|s| s.application_name.starts_with(&prefix))
            .collect();
        let n = leaked.len() as u64;
        let limit = ctx.thresholds.max_leaked_sessions;
        let status = match limit {
            Some(l) if n > l => CheckStatus::Fail,
            _ if n > 0 => CheckStatus::Warn,
            _ => CheckStatus::Pass,
        };
        let summary = if n == 0 {
            "every writer's catalog sessions closed with its DuckDB instance".to_string()
        } else {
            format!(
                "{n} catalog session(s) of closed writers still open: a client-side leak of DuckDB's Postgres \
                    connection pool after a failed commit ({LEAK_REFERENCE}), not a lake fault{}: {}",
                limit.map(|l| format!("; limit {l}")).unwrap_or_default(),
                leaked.iter().map(describe).collect::<Vec<_>>().join("; ")
            )
        };
        let mut result = CheckResult::new(
            self.name(),
            true,
            summary,
            json!({ "leaked": leaked, "reference": LEAK_REFERENCE, "limit": limit, "problems": problems(status, n) }),
        );
        result.status = status;
        Ok(result)
    }
}

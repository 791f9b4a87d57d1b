//! DuckLake's hidden retries made visible. Every commit race DuckLake retries internally
//! rolls back a Postgres transaction; the catalog database's xact_rollback delta from the
//! moment every writer had attached until the end is shown beside the harness's own
//! retries (a single writer makes about none: the calibration test shows it).

use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::history::OpOutcome;
use serde_json::json;

pub struct CatalogRollbacks;

impl Check for CatalogRollbacks {
    fn about(&self) -> About {
        About::new("catalog_rollbacks", Needs::PostgresAndHistory, Applies::Any)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        if let Some(why) = &run.record.catalog_rollbacks_untrusted {
            return Ok(CheckResult::skipped(self.name(), why.clone()));
        }
        let (Some(before), Some(after)) = (run.record.catalog_rollbacks_before, run.record.catalog_rollbacks_after)
        else {
            return Ok(CheckResult::skipped(
                self.name(),
                "pg_stat_database could not be read before and after the writers",
            ));
        };
        let delta = (after - before).max(0) as u64;
        let commits = run.txns.iter().filter(|t| t.committed_attempt.is_some()).count() as u64;
        let harness_retries: u64 = run.txns.iter().map(|t| t.attempts.len().saturating_sub(1) as u64).sum();
        let failed_attempts = run
            .txns
            .iter()
            .flat_map(|t| &t.attempts)
            .filter(|a| a.outcome != Some(OpOutcome::Ok))
            .count() as u64;
        let per_commit = if commits > 0 {
            delta as f64 / commits as f64
        } else {
            0.0
        };
        let limit = ctx.thresholds.max_catalog_rollbacks;
        let ok = limit.is_none_or(|l| delta <= l);
        Ok(CheckResult::new(
            self.name(),
            ok,
            format!(
                "{delta} transactions rolled back in the catalog database during the run, {per_commit:.2} per commit \
                    (harness retries: {harness_retries}, failed attempts: {failed_attempts}){}",
                limit.map(|l| format!("; limit {l}")).unwrap_or_default()
            ),
            json!({
                "xact_rollback_before": before,
                "xact_rollback_after": after,
                "delta": delta,
                "per_commit": per_commit,
                "commits": commits,
                "harness_retries": harness_retries,
                "failed_attempts": failed_attempts,
                "limit": limit,
            }),
        ))
    }
}

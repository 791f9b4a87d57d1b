//! Check 6: DuckLake's hidden retries made visible. Every commit race DuckLake retries
//! internally rolls back a Postgres transaction; the catalog database's xact_rollback
//! delta over the run is shown beside the harness's own retries.

use super::{Check, CheckContext, CheckResult};
use serde_json::json;

pub struct CatalogRollbacks;

impl Check for CatalogRollbacks {
    fn name(&self) -> &'static str {
        "catalog_rollbacks"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let Some(run) = ctx.run else {
            return Ok(CheckResult::skipped(self.name(), "needs the counters taken before and after a run"));
        };
        let (Some(before), Some(after)) = (run.catalog_rollbacks_before, run.catalog_rollbacks_after) else {
            return Ok(CheckResult::skipped(self.name(), "pg_stat_database could not be read"));
        };
        let delta = (after - before).max(0) as u64;
        let limit = ctx.thresholds.max_catalog_rollbacks;
        let ok = limit.is_none_or(|l| delta <= l);
        Ok(CheckResult::new(
            self.name(),
            ok,
            format!(
                "{delta} transactions rolled back in the catalog database during the run (harness retries: {}, failed attempts: {}){}",
                run.harness_retries,
                run.failed_attempts,
                limit.map(|l| format!("; limit {l}")).unwrap_or_default()
            ),
            json!({ "xact_rollback_before": before, "xact_rollback_after": after, "delta": delta, "harness_retries": run.harness_retries, "failed_attempts": run.failed_attempts, "limit": limit }),
        ))
    }
}

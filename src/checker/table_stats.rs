//! DuckLake's own bookkeeping (`ducklake_table_stats.record_count` in the catalog) agrees
//! with the rows a scan of the table returns. For an append-only table every commit adds
//! exactly its rows to record_count in the same catalog transaction, so the two must be
//! equal: a difference is a lost or doubled stats update under concurrency. Workloads
//! that delete may make the count legitimately approximate; `checks.table_stats =
//! "report"` then reports a difference (`warn`) instead of failing.

use super::context::metadata_rows;
use super::{Check, CheckContext, CheckResult, CheckStatus};
use crate::lake::sql_str;
use crate::scenario::TableStatsMode;
use serde_json::json;

pub struct TableStats;

/// DuckLake's default schema, where the harness creates its tables.
const SCHEMA: &str = "main";

const STATS_SQL: &str = "SELECT s.record_count FROM ducklake_table_stats s
     JOIN ducklake_table t ON t.table_id = s.table_id AND t.end_snapshot IS NULL
     JOIN ducklake_schema sc ON sc.schema_id = t.schema_id AND sc.end_snapshot IS NULL
     WHERE t.table_name = $1 AND sc.schema_name = $2";

/// The problem kind, for the known-findings registry: DuckLake 1.5.5 keeps counting rows
/// that were deleted or replaced (above a scan); a count below a scan is something else.
fn problems(recorded: Option<i64>, actual: i64) -> serde_json::Value {
    match recorded {
        Some(r) if r > actual => json!({ "record_count_above_scan": 1 }),
        Some(r) if r < actual => json!({ "record_count_below_scan": 1 }),
        Some(_) => json!({}),
        None => json!({ "record_count_null": 1 }),
    }
}

impl Check for TableStats {
    fn name(&self) -> &'static str {
        "table_stats"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let rows: Vec<Option<i64>> = match ctx.metadata {
            Some(m) => {
                let sql = STATS_SQL.replace("$1", &sql_str(ctx.table)).replace("$2", &sql_str(SCHEMA));
                metadata_rows(m, &sql, |r| r.get(0))?
            }
            None => ctx.catalog_query(STATS_SQL, &[&ctx.table, &SCHEMA])?.iter().map(|r| r.get(0)).collect(),
        };
        if rows.len() > 1 {
            return Ok(CheckResult::new(self.name(), false, format!("{} ducklake_table_stats rows for the live table {SCHEMA}.{}", rows.len(), ctx.table), json!({ "rows": rows.len() })));
        }
        let Some(&recorded) = rows.first() else {
            return Ok(CheckResult::new(self.name(), false, format!("no ducklake_table_stats row for table {SCHEMA}.{}", ctx.table), json!({})));
        };
        let actual: i64 = ctx.lake.query_row(&format!("SELECT count(*) FROM {}", ctx.table()), [], |r| r.get(0))?;
        let agree = recorded == Some(actual);
        let mode = ctx.thresholds.table_stats;
        let mut result = CheckResult::new(
            self.name(),
            agree,
            format!("{SCHEMA}.{}: ducklake_table_stats.record_count = {}, a scan counts {actual}", ctx.table, recorded.map(|r| r.to_string()).unwrap_or("NULL".into())),
            json!({ "record_count": recorded, "scanned_rows": actual, "mode": mode, "problems": problems(recorded, actual) }),
        );
        if !agree && mode == TableStatsMode::Report {
            result.status = CheckStatus::Warn;
        }
        Ok(result)
    }
}

//! Check 3: DuckLake's own bookkeeping (`ducklake_table_stats.record_count` in the catalog)
//! agrees with the rows a scan of the table returns.

use super::{Check, CheckContext, CheckResult};
use serde_json::json;

pub struct TableStats;

impl Check for TableStats {
    fn name(&self) -> &'static str {
        "table_stats"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let rows = ctx.catalog_query(
            "SELECT s.record_count FROM ducklake_table_stats s
             JOIN ducklake_table t ON t.table_id = s.table_id
             WHERE t.table_name = $1 AND t.end_snapshot IS NULL",
            &[&ctx.table],
        )?;
        let Some(row) = rows.first() else {
            return Ok(CheckResult::new(self.name(), false, format!("no ducklake_table_stats row for table {}", ctx.table), json!({})));
        };
        let recorded: Option<i64> = row.get(0);
        let actual: i64 = ctx.lake.query_row(&format!("SELECT count(*) FROM {}", ctx.table()), [], |r| r.get(0))?;
        let ok = recorded == Some(actual);
        Ok(CheckResult::new(
            self.name(),
            ok,
            format!("ducklake_table_stats.record_count = {}, a scan counts {actual}", recorded.map(|r| r.to_string()).unwrap_or("NULL".into())),
            json!({ "record_count": recorded, "scanned_rows": actual }),
        ))
    }
}

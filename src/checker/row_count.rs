//! Check 1: the table holds exactly the rows of the committed transactions (plus those of
//! indeterminate transactions that turned out to be present).

use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::history::Outcome;
use serde_json::json;

pub struct RowCount;

impl Check for RowCount {
    fn about(&self) -> About {
        About::new("row_count", Needs::History, Applies::KeptRows)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let actual: i64 = ctx.lake.query_row(
            &format!("SELECT count(*) FROM {} WHERE run_id = ?", ctx.table()),
            [run.run_id()],
            |r| r.get(0),
        )?;
        let mut committed_rows = 0u64;
        let mut indeterminate: Vec<(u32, u64)> = Vec::new();
        for t in &run.txns {
            match t.outcome {
                Outcome::Committed => committed_rows += t.rows as u64,
                Outcome::Indeterminate => indeterminate.push((t.writer, t.txn)),
                Outcome::Failed => {}
            }
        }
        let mut indeterminate_present_rows = 0u64;
        for (writer, seq) in &indeterminate {
            let n: i64 = ctx.lake.query_row(
                &format!(
                    "SELECT count(*) FROM {} WHERE run_id = ? AND writer_id = ? AND txn_seq = ?",
                    ctx.table()
                ),
                duckdb::params![run.run_id(), writer, *seq as i64],
                |r| r.get(0),
            )?;
            indeterminate_present_rows += n as u64;
        }
        let expected = committed_rows + indeterminate_present_rows;
        Ok(CheckResult::new(
            self.name(),
            actual as u64 == expected,
            format!(
                "{actual} rows of this run in {}, expected {expected} ({committed_rows} from committed \
                transactions, {indeterminate_present_rows} from unresolved ones found present)",
                ctx.table()
            ),
            json!({
                "actual": actual,
                "expected": expected,
                "committed_rows": committed_rows,
                "indeterminate_transactions": indeterminate.len(),
                "indeterminate_rows_present": indeterminate_present_rows,
            }),
        ))
    }
}

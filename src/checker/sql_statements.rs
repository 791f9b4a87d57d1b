//! The sql workload's checker: after the run, for every committed transaction, the
//! scenario's `check` query (templated with that transaction's values) must return
//! `expect_rows`, on a fresh instance attached after the run, so it also proves the
//! transaction's effect survived everyone else's commits. A transaction whose outcome
//! stayed unknown is not judged (counted). Errors are counted by class; an `INTERNAL
//! Error` from DuckDB is a finding whatever the user's statements were.

use super::error_tally::tally;
use super::problems::Problems;
use super::{Check, CheckContext, CheckResult};
use crate::history::Outcome;
use crate::scenario::WorkloadKind;
use crate::workload::sql::SqlWorkload;
use serde_json::json;

pub struct SqlStatements;

impl Check for SqlStatements {
    fn name(&self) -> &'static str {
        "sql_statements"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let Some(run) = ctx.run else {
            return Ok(CheckResult::skipped(self.name(), "needs a run's history (pass --run-dir)"));
        };
        let Some(spec) = run.record.workload.as_ref().filter(|w| w.kind == WorkloadKind::Sql) else {
            return Ok(CheckResult::skipped(self.name(), "not a sql run"));
        };
        let mut p = Problems::default();
        let classes = tally(&run.txns, None, &mut p);
        let sql = spec.sql.as_ref();
        let (mut checked, mut unknown) = (0u64, 0u64);
        if let (Some(check), Some(want)) = (sql.and_then(|s| s.check.as_ref()), sql.and_then(|s| s.expect_rows)) {
            let workload = SqlWorkload::new(spec);
            for t in &run.txns {
                match t.outcome {
                    Outcome::Committed => checked += 1,
                    Outcome::Indeterminate => {
                        unknown += 1;
                        continue;
                    }
                    Outcome::Failed => continue,
                }
                let query = workload.values(run.run_id(), t.writer, t.txn).render(check);
                let got: i64 = ctx.lake.query_row(&query, [], |r| r.get(0)).map_err(|e| anyhow::anyhow!("workload.check failed for w{} t{} ({query}): {e}", t.writer, t.txn))?;
                if got != want as i64 {
                    p.add("expectation_failed", || format!("w{} t{} (snapshot {}): check returned {got}, expected {want}", t.writer, t.txn, t.snapshot_id.map(|s| s.to_string()).unwrap_or("?".into())));
                }
            }
        }
        let summary = match sql.and_then(|s| s.expect_rows) {
            Some(want) => format!("the check query returned {want} for each of {checked} committed transaction(s) ({unknown} with an unknown outcome not judged); errors counted by class"),
            None => "no expectation set (workload.check / expect_rows); errors counted by class, none internal".to_string(),
        };
        Ok(p.into_result(self.name(), summary, json!({ "checked": checked, "not_judged": unknown, "expect_rows": sql.and_then(|s| s.expect_rows), "error_classes": classes })))
    }
}

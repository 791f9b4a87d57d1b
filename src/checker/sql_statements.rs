//! The sql workload's checker: after the run, for every committed transaction, the
//! scenario's `check` query (templated with that transaction's values) must return
//! `expect_rows` rows, or the single value `expect`, on a fresh instance attached after the
//! run, so it also proves the transaction's effect survived everyone else's commits. A
//! transaction whose outcome stayed unknown is not judged (counted). Errors are counted by
//! class; an `INTERNAL Error` from DuckDB is a finding whatever the user's statements were,
//! and so is a transaction that failed on every attempt with an error that is not about
//! concurrency (class `other`): a retry runs the very same statements, so such a statement
//! cannot work (a type error, an overflow), whatever `max_failed_commits` allows.

use super::error_tally::tally;
use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::history::{ErrorClass, Outcome, Txn};
use crate::scenario::{Expected, SqlSpec};
use crate::workload::sql::{use_sql, SqlWorkload};
use serde_json::json;

pub struct SqlStatements;

/// What the check query must return.
enum Expectation<'a> {
    Rows(u64),
    Value(&'a Expected),
}

impl Check for SqlStatements {
    fn about(&self) -> About {
        About::new("sql_statements", Needs::History, Applies::OwnRows)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let spec = run.record.workload()?;
        let mut p = Problems::default();
        let classes = tally(&run.txns, None, &mut p);
        let broken = statements_that_cannot_work(&run.txns, &mut p);
        let sql = spec.sql.clone().unwrap_or(SqlSpec::new(Vec::new()));
        let expectation = match (&sql.expect_rows, &sql.expect) {
            (Some(n), _) => Some(Expectation::Rows(*n)),
            (None, Some(v)) => Some(Expectation::Value(v)),
            (None, None) => None,
        };
        let (checked, unknown) = match (sql.check.as_ref(), expectation.as_ref()) {
            (Some(check), Some(want)) => check_each(ctx, run, spec, check, want, &mut p)?,
            _ => (0, 0),
        };
        let summary = match &expectation {
            Some(Expectation::Rows(n)) => format!(
                "the check query returned {n} row(s) for each of {checked} \
                committed transaction(s) ({unknown} with an unknown outcome not judged); errors counted by class"
            ),
            Some(Expectation::Value(v)) => format!(
                "the check query returned {v} for each of {checked} committed \
                transaction(s) ({unknown} with an unknown outcome not judged); errors counted by class"
            ),
            None => "no expectation set (workload.check with expect_rows or expect); errors counted by class, none \
                internal"
                .to_string(),
        };
        let broken_summary = (!broken.is_empty()).then(|| {
            let each: Vec<String> = broken
                .iter()
                .map(|(k, n)| format!("{k} in {n} transaction(s)"))
                .collect();
            format!(
                "failed on every attempt with an error that is not a conflict (class other): {}; such a statement \
                cannot work, whatever max_failed_commits allows",
                each.join(", ")
            )
        });
        let evidence = json!({
            "checked": checked,
            "not_judged": unknown,
            "expect_rows": sql.expect_rows,
            "expect": sql.expect,
            "error_classes": classes,
            "failed_every_attempt": broken,
        });
        let mut result = p.into_result(self.name(), summary, evidence);
        if let Some(b) = broken_summary {
            result.summary = format!("{b}; {}", result.summary);
        }
        Ok(result)
    }
}

/// The check query of every committed transaction against what it must return: how many
/// were checked, and how many had an unknown outcome (not judged).
fn check_each(
    ctx: &CheckContext,
    run: &crate::checker::RunFacts,
    spec: &crate::scenario::WorkloadSpec,
    check: &str,
    want: &Expectation,
    p: &mut Problems,
) -> anyhow::Result<(u64, u64)> {
    let (mut checked, mut unknown) = (0u64, 0u64);
    // A connection of its own: the check's names resolve in the run's schema, and
    // the other checks keep theirs.
    let schema = spec.sql.as_ref().map_or("main", |s| s.schema.as_str());
    let conn = ctx.lake.try_clone()?;
    conn.execute_batch(&use_sql(schema))?;
    let workload = SqlWorkload::new(spec, &run.record.table);
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
        let result = run_check(&conn, &query)
            .map_err(|e| anyhow::anyhow!("workload.check failed for w{} t{} ({query}): {e}", t.writer, t.txn))?;
        if let Some(why) = result.falls_short_of(want) {
            let snapshot = t.snapshot_id.map(|s| s.to_string()).unwrap_or("?".into());
            p.add(
                if result.is_single_value() || matches!(want, Expectation::Rows(_)) {
                    "expectation_failed"
                } else {
                    "not_a_single_value"
                },
                || format!("w{} t{} (snapshot {snapshot}): {why}", t.writer, t.txn),
            );
        }
    }
    Ok((checked, unknown))
}

/// Transactions that failed on every attempt with an error of class `other`, counted by
/// the statement the message names (`workload.statements[1]`), each a problem.
fn statements_that_cannot_work(txns: &[Txn], p: &mut Problems) -> std::collections::BTreeMap<String, u64> {
    let mut by_statement = std::collections::BTreeMap::new();
    for t in txns
        .iter()
        .filter(|t| t.outcome == Outcome::Failed && !t.attempts.is_empty())
    {
        if !t.attempts.iter().all(|a| a.error_class == Some(ErrorClass::Other)) {
            continue;
        }
        let message = t.attempts.last().and_then(|a| a.error.as_deref()).unwrap_or("");
        let statement = statement_named(message).unwrap_or("the transaction").to_string();
        p.add("statement_failed_every_attempt", || {
            format!(
                "w{} t{}: {statement} failed on all {} attempt(s), not for a conflict: {}",
                t.writer,
                t.txn,
                t.attempts.len(),
                message.lines().next().unwrap_or("")
            )
        });
        *by_statement.entry(statement).or_insert(0u64) += 1;
    }
    by_statement
}

/// `workload.statements[1]` (or `actors[0].statements[1]`) from the end of a message.
fn statement_named(message: &str) -> Option<&str> {
    let inner = message.trim_end().strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let key = &inner[open + 1..];
    key.contains(".statements[")
        .then_some(key)
        .or_else(|| key.ends_with(".schema").then_some(key))
}

/// What a check query returned: how many rows, and the first row's values as text when it
/// has exactly one column (any type: DuckDB casts it).
struct CheckResultShape {
    rows: u64,
    columns: usize,
    first: Option<Option<String>>,
}

fn run_check(conn: &duckdb::Connection, query: &str) -> duckdb::Result<CheckResultShape> {
    let mut stmt = conn.prepare(query)?;
    let mut rows = stmt.query([])?;
    let (mut count, mut first, mut columns) = (0u64, None, 0);
    while let Some(row) = rows.next()? {
        if count == 0 {
            columns = row.as_ref().column_count();
            first = Some(value_text(row.get_ref(0)?));
        }
        count += 1;
    }
    Ok(CheckResultShape {
        rows: count,
        columns,
        first,
    })
}

/// A value as text, whatever its type (None for NULL).
fn value_text(v: duckdb::types::ValueRef<'_>) -> Option<String> {
    use duckdb::types::ValueRef as V;
    Some(match v {
        V::Null => return None,
        V::Boolean(b) => b.to_string(),
        V::TinyInt(i) => i.to_string(),
        V::SmallInt(i) => i.to_string(),
        V::Int(i) => i.to_string(),
        V::BigInt(i) => i.to_string(),
        V::HugeInt(i) => i.to_string(),
        V::UTinyInt(i) => i.to_string(),
        V::USmallInt(i) => i.to_string(),
        V::UInt(i) => i.to_string(),
        V::UBigInt(i) => i.to_string(),
        V::Float(f) => f.to_string(),
        V::Double(f) => f.to_string(),
        V::Decimal(d) => d.to_string(),
        V::Text(t) => String::from_utf8_lossy(t).into_owned(),
        other => format!("{:?}", other.to_owned()),
    })
}

impl CheckResultShape {
    fn is_single_value(&self) -> bool {
        self.rows == 1 && self.columns == 1
    }

    /// Why the result does not meet the expectation, if it does not.
    fn falls_short_of(&self, want: &Expectation) -> Option<String> {
        match want {
            Expectation::Rows(n) if self.rows == *n => None,
            Expectation::Rows(n) => {
                // The meaning of expect_rows changed (it compared the first value): say so
                // when the numbers suggest that is what happened.
                let hint = match (&self.first, self.is_single_value()) {
                    (Some(Some(v)), true) if v == &n.to_string() => format!(
                        " (it returned the single value {v}: \
                        expect_rows counts rows; to compare the value, write expect = {v})"
                    ),
                    _ => String::new(),
                };
                Some(format!("check returned {} row(s), expected {n}{hint}", self.rows))
            }
            Expectation::Value(_) if !self.is_single_value() => Some(format!(
                "expect compares a single value, but the check returned {} row(s) of {} column(s): make it return one \
                    row of one column (or count rows with expect_rows)",
                self.rows, self.columns
            )),
            Expectation::Value(v) => {
                let got = self.first.clone().flatten();
                (!v.matches(got.as_deref()))
                    .then(|| format!("check returned {}, expected {v}", got.unwrap_or("NULL".into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failing_statement_is_read_from_the_end_of_the_message() {
        assert_eq!(
            statement_named("Conversion Error: overflow (workload.statements[1])"),
            Some("workload.statements[1]")
        );
        assert_eq!(
            statement_named("x (actors[0].statements[0])\n"),
            Some("actors[0].statements[0]")
        );
        assert_eq!(statement_named("Binder Error: (a) b"), None);
    }

    #[test]
    fn rows_are_counted_and_a_value_is_compared_only_when_single() {
        let one = CheckResultShape {
            rows: 1,
            columns: 1,
            first: Some(Some("5".into())),
        };
        assert!(one.falls_short_of(&Expectation::Rows(1)).is_none());
        assert!(one
            .falls_short_of(&Expectation::Rows(5))
            .unwrap()
            .contains("write expect = 5"));
        assert!(one.falls_short_of(&Expectation::Value(&Expected::Int(5))).is_none());
        assert_eq!(
            one.falls_short_of(&Expectation::Value(&Expected::Int(4))).unwrap(),
            "check returned 5, expected 4"
        );
        let text = CheckResultShape {
            rows: 3,
            columns: 2,
            first: Some(Some("a".into())),
        };
        assert!(text.falls_short_of(&Expectation::Rows(3)).is_none());
        assert!(text
            .falls_short_of(&Expectation::Value(&Expected::Int(3)))
            .unwrap()
            .contains("3 row(s) of 2 column(s)"));
    }
}

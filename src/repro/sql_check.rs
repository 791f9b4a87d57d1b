//! `sql_statements`'s failure as invariants: the run's `workload.check` query rendered for
//! the committed transactions the check's evidence names, with the expectation the
//! scenario gave (`expect_rows`, or the single value `expect`), after the run's `USE`.
//!
//! A check query that names its transaction (`{writer}`, `{txn}`, `{keys}`, ...) judges that
//! transaction's effect, which exists only if it committed: the replay counts as failing
//! only when those transactions' COMMITs succeeded (their COMMIT steps expect `ok`). A query
//! that renders the same for every transaction is a property of the lake (a duplicated
//! key), and is one invariant whoever committed.

use crate::checker::context::RunFacts;
use crate::error::bad_input;
use crate::history::Outcome;
use crate::interleave::model::InvariantSpec;
use crate::scenario::Expected;
use crate::workload::sql::{use_sql, SqlWorkload};
use std::collections::BTreeSet;

/// What a replay of a failed `sql_statements` must show.
pub struct SqlFinding {
    pub named: BTreeSet<(u32, u64)>,
    pub invariants: Vec<InvariantSpec>,
    /// Transactions whose COMMIT must succeed for a run to show the failure.
    pub must_commit: BTreeSet<(u32, u64)>,
}

/// `named`: the transactions the failed check's evidence names (`finding::named_in`).
pub fn find(facts: &RunFacts, named: BTreeSet<(u32, u64)>) -> anyhow::Result<SqlFinding> {
    let spec = facts.record.workload()?;
    let sql = spec
        .sql
        .as_ref()
        .ok_or_else(|| bad_input("the run's sql workload has no statements".to_string()))?;
    let Some(query) = sql.check.as_deref() else {
        return Err(no_check());
    };
    let (expect_rows, wrap) = match (sql.expect_rows, &sql.expect) {
        (Some(n), _) => (n, None),
        (None, Some(v)) => (1, Some(literal(v))),
        (None, None) => return Err(no_check()),
    };
    let committed: BTreeSet<(u32, u64)> = facts
        .txns
        .iter()
        .filter(|t| t.outcome == Outcome::Committed)
        .map(|t| (t.writer, t.txn))
        .collect();
    let named: BTreeSet<(u32, u64)> = named.intersection(&committed).copied().collect();
    let workload = SqlWorkload::new(spec, &facts.record.table);
    let render = |&(w, t): &(u32, u64)| {
        let q = workload.values(facts.run_id(), w, t).render(query);
        let q = match &wrap {
            // The single value, as rows: one when it is the expected one.
            Some(v) => format!("SELECT * FROM ({q}) AS q(v) WHERE q.v IS NOT DISTINCT FROM {v}"),
            None => q,
        };
        format!("{}; {q}", use_sql(&sql.schema))
    };
    let rendered: Vec<((u32, u64), String)> = named.iter().map(|n| (*n, render(n))).collect();
    // The same for every committed transaction of the run, not only the named ones.
    let first = rendered.first().map(|(_, q)| q.clone()).unwrap_or_default();
    let global = committed.iter().all(|c| render(c) == first);
    let invariants = rendered
        .iter()
        .filter(|_| !global)
        .map(|((w, t), sql)| invariant(format!("check_w{w}_t{t}"), sql, expect_rows))
        .chain(
            rendered
                .first()
                .filter(|_| global)
                .map(|(_, sql)| invariant("check".into(), sql, expect_rows)),
        )
        .collect();
    let must_commit = if global { BTreeSet::new() } else { named.clone() };
    Ok(SqlFinding {
        named,
        invariants,
        must_commit,
    })
}

fn invariant(name: String, sql: &str, expect_rows: u64) -> InvariantSpec {
    InvariantSpec {
        name,
        sql: sql.to_string(),
        expect_rows: Some(expect_rows),
    }
}

fn no_check() -> anyhow::Error {
    bad_input(
        "sql_statements failed, but not on the scenario's check query (workload.check with expect_rows or \
        expect): a statement that failed every attempt or an internal error is not a race to replay. repro \
        replays a failed workload.check."
            .to_string(),
    )
}

/// `expect` as a SQL literal.
fn literal(v: &Expected) -> String {
    match v {
        Expected::Text(t) => crate::util::sql_str(t),
        other => other.to_string(),
    }
}

//! What a run whose check failed leaves to reproduce: the failed check, the transactions its
//! evidence names (and those overlapping them in time, which may be part of the race), and
//! an invariant, a query on the lake afterwards, that says the same check failed.

use crate::checker::context::RunFacts;
use crate::checker::{CheckResult, CheckStatus};
use crate::error::bad_input;
use crate::history::{transaction::Attempt, Txn};
use crate::interleave::model::InvariantSpec;
use crate::report::Report;
use std::collections::BTreeSet;
use std::path::Path;

/// The checks `repro` can turn into an invariant, so far.
pub const ENCODED: &[&str] = &["upsert_keys", "sql_statements"];

/// At most this many transactions go into a replay: the named ones first, then the
/// overlapping ones in the order they started. More would make every shrinking step slow.
const MAX_TXNS: usize = 12;

/// One transaction as the history saw it: when its (committing, else last) attempt began
/// and ended on the run clock.
#[derive(Debug, Clone)]
pub struct Seen {
    pub writer: u32,
    pub txn: u64,
    pub invoke_at: f64,
    /// `None`: the attempt never completed (the run ended first).
    pub complete_at: Option<f64>,
    /// Named by the check's evidence (not only overlapping them).
    pub named: bool,
}

pub struct Finding {
    pub check: String,
    pub summary: String,
    pub txns: Vec<Seen>,
    /// What the lake shows afterwards when the failure is there again.
    pub invariants: Vec<InvariantSpec>,
    /// Transactions whose COMMIT must succeed for a run to show the failure.
    pub must_commit: BTreeSet<(u32, u64)>,
}

/// The run's report, read back.
pub fn read_report(run_dir: &Path) -> anyhow::Result<Report> {
    let path = run_dir.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        bad_input(format!(
            "{}: cannot read the run's report ({e}); RUN_DIR must be a results directory written by \
            `ducklake-stress run`.",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        bad_input(format!(
            "{}: not a stress run's report ({e}); repro reads the report.json of `ducklake-stress run`.",
            path.display()
        ))
    })
}

/// The checks that failed (or failed in a way a known upstream finding explains).
pub fn failed(report: &Report) -> Vec<&CheckResult> {
    report
        .checks
        .iter()
        .filter(|c| matches!(c.status, CheckStatus::Fail | CheckStatus::Known))
        .collect()
}

/// The first failed check `repro` can encode, with its transactions; an error naming the
/// failed checks when none can be encoded.
pub fn find(failed: &[&CheckResult], facts: &RunFacts) -> anyhow::Result<Finding> {
    let Some(check) = failed.iter().find(|c| ENCODED.contains(&c.name.as_str())) else {
        let names: Vec<&str> = failed.iter().map(|c| c.name.as_str()).collect();
        return Err(bad_input(format!(
            "the run's failed check(s) {} cannot be reproduced yet: repro turns only {} into a schedule's \
            invariant.",
            names.join(", "),
            ENCODED.join(", ")
        )));
    };
    let (named, invariants, must_commit) = if check.name == "sql_statements" {
        let f = super::sql_check::find(facts, named_in(&check.evidence.to_string()))?;
        (f.named, f.invariants, f.must_commit)
    } else {
        let mut named = named_in(&check.evidence.to_string());
        named.extend(holders_of_duplicates(check, facts));
        let invariant = duplicate_keys(&facts.record.table, facts.run_id());
        (named, vec![invariant], BTreeSet::new())
    };
    if named.is_empty() {
        return Err(bad_input(format!(
            "the failed check {}'s evidence names no committed transaction (`wN tM`), so there is nothing to \
            replay.",
            check.name
        )));
    }
    Ok(Finding {
        check: check.name.clone(),
        summary: check.summary.clone(),
        txns: chosen(&facts.txns, &named),
        invariants,
        must_commit,
    })
}

/// For `upsert_keys`: the committed transactions that wrote a key it found duplicated (its
/// examples list only the first few holders).
fn holders_of_duplicates(check: &CheckResult, facts: &RunFacts) -> BTreeSet<(u32, u64)> {
    let dup: BTreeSet<u32> = check.evidence["duplicated_keys"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k.as_u64()).map(|k| k as u32).collect())
        .unwrap_or_default();
    let (keys, per_txn) = (facts.record.upsert_keys, facts.record.batch_rows);
    facts
        .txns
        .iter()
        .filter(|t| t.outcome == crate::history::Outcome::Committed)
        .filter(|t| {
            crate::workload::upsert::keys_of(facts.run_id(), t.writer, t.txn, keys, per_txn)
                .iter()
                .any(|k| dup.contains(k))
        })
        .map(|t| (t.writer, t.txn))
        .collect()
}

/// Every `wN tM` in `text` (how the keyed checks name a transaction in their evidence).
pub fn named_in(text: &str) -> BTreeSet<(u32, u64)> {
    let b = text.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut out = BTreeSet::new();
    for i in 0..b.len() {
        let starts_word = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if b[i] != b'w' || !starts_word {
            continue;
        }
        let n = digits(i + 1);
        let t = i + 1 + n;
        if n == 0 || b.get(t) != Some(&b' ') || b.get(t + 1) != Some(&b't') {
            continue;
        }
        let m = digits(t + 2);
        if m == 0 {
            continue;
        }
        if let (Ok(w), Ok(x)) = (text[i + 1..t].parse(), text[t + 2..t + 2 + m].parse()) {
            out.insert((w, x));
        }
    }
    out
}

/// The attempt that counts: the committing one, else the last.
fn attempt(t: &Txn) -> Option<&Attempt> {
    t.committing().or(t.attempts.last())
}

fn seen(t: &Txn, named: bool) -> Option<Seen> {
    attempt(t).map(|a| Seen {
        writer: t.writer,
        txn: t.txn,
        invoke_at: a.invoke_at,
        complete_at: a.complete_at,
        named,
    })
}

/// The named transactions and those whose attempt overlaps one of theirs in time, at most
/// `MAX_TXNS`, in the order they started.
fn chosen(txns: &[Txn], named: &BTreeSet<(u32, u64)>) -> Vec<Seen> {
    let mut out: Vec<Seen> = txns
        .iter()
        .filter(|t| named.contains(&(t.writer, t.txn)))
        .filter_map(|t| seen(t, true))
        .collect();
    let end = |s: &Seen| s.complete_at.unwrap_or(f64::INFINITY);
    let overlapping: Vec<Seen> = txns
        .iter()
        .filter(|t| !named.contains(&(t.writer, t.txn)))
        .filter_map(|t| seen(t, false))
        .filter(|s| out.iter().any(|n| s.invoke_at <= end(n) && n.invoke_at <= end(s)))
        .collect();
    out.truncate(MAX_TXNS);
    let room = MAX_TXNS - out.len();
    out.extend(overlapping.into_iter().take(room));
    out.sort_by(|a, b| {
        a.invoke_at
            .total_cmp(&b.invoke_at)
            .then((a.writer, a.txn).cmp(&(b.writer, b.txn)))
    });
    out
}

/// `upsert_keys`'s failure as a query (the one check in `ENCODED`): a key of the run held
/// more than once. Its other problems (a key lost, held by the wrong writer) need the
/// history to judge, which a replay does not have.
fn duplicate_keys(table: &str, run_id: &str) -> InvariantSpec {
    InvariantSpec {
        name: "duplicate_keys".into(),
        sql: format!(
            "SELECT row_seq, count(*) AS copies FROM {} WHERE run_id = {} GROUP BY row_seq HAVING count(*) > 1",
            crate::util::lake_table::qualified(table),
            crate::util::sql_str(run_id)
        ),
        expect_rows: Some(0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn transactions_are_read_from_evidence_text() {
        let got = super::named_in(
            r#"{"examples":["duplicate_key: key 0 is present 2 times: w1 t0, w12 t7"],"x":"now 3 t1, w-1 t0, aw2 t3"}"#,
        );
        assert_eq!(got.into_iter().collect::<Vec<_>>(), vec![(1, 0), (12, 7)]);
    }
}

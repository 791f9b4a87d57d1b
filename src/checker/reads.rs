//! The `reader` actors' reads against the writers' history (append workload):
//! - a point lookup of a transaction acknowledged as committed before the read started
//!   finds all its rows (DuckLake's file pruning by min/max statistics must not hide them);
//!   a lookup never finds part of a transaction, nor rows of one that failed;
//! - a count at snapshot `n` lies between the rows of the transactions known to have
//!   committed at or before `n` and that plus the rows whose snapshot is unknown.
//!
//! Read errors are counted by class, not held against the lake.

use super::problems::Problems;
use super::{Check, CheckContext, CheckResult};
use crate::history::{Event, OpOutcome, Outcome, Txn};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

pub struct Reads;

impl Check for Reads {
    fn name(&self) -> &'static str {
        "reads"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let Some(run) = ctx.run else {
            return Ok(CheckResult::skipped(self.name(), "needs a run's history (pass --run-dir)"));
        };
        let txns: HashMap<(u32, u64), &Txn> = run.txns.iter().map(|t| ((t.writer, t.txn), t)).collect();
        let (mut problems, mut errors) = (Problems::default(), BTreeMap::<&str, u64>::new());
        let (mut lookups, mut counts) = (0u64, 0u64);
        for e in &run.actor_events {
            let Event::Read { what, at, seen, target_writer, target_txn, snapshot, error_class, .. } = e else { continue };
            let Some(seen) = seen else {
                *errors.entry(error_class.map(|c| c.name()).unwrap_or("other")).or_default() += 1;
                continue;
            };
            match (what.as_str(), target_writer, target_txn, snapshot) {
                ("lookup", Some(w), Some(t), _) => {
                    lookups += 1;
                    judge_lookup(txns.get(&(*w, *t)).copied(), (*w, *t), *at, *seen, &mut problems);
                }
                ("count", _, _, Some(n)) => {
                    counts += 1;
                    let (lo, hi) = count_bounds(&run.txns, *n);
                    if *seen < lo || *seen > hi {
                        problems.add("count_at_snapshot", || format!("at {at:.3} s the count at snapshot {n} was {seen}; the history says {lo} to {hi}"));
                    }
                }
                _ => {}
            }
        }
        if lookups + counts == 0 && errors.is_empty() {
            return Ok(CheckResult::skipped(self.name(), "no reads recorded (no reader actors in this run)"));
        }
        let failed: u64 = errors.values().sum();
        let evidence = json!({ "lookups": lookups, "counts": counts, "failed_reads": failed, "errors_by_class": errors });
        Ok(problems.into_result(self.name(), format!("{lookups} lookups and {counts} counts consistent with the history ({failed} reads failed)"), evidence))
    }
}

/// A lookup of transaction `key` that started at `at` and found `seen` rows.
fn judge_lookup(txn: Option<&Txn>, key: (u32, u64), at: f64, seen: i64, problems: &mut Problems) {
    let Some(t) = txn else {
        if seen != 0 {
            problems.add("rows_without_history", || format!("lookup at {at:.3} s found {seen} rows of writer {} txn {}, which the history never began", key.0, key.1));
        }
        return;
    };
    let rows = t.rows as i64;
    let acknowledged = t.committing().is_some_and(|a| a.outcome == Some(OpOutcome::Ok) && a.complete_at.is_some_and(|c| c < at));
    if acknowledged && seen != rows {
        problems.add("committed_rows_missed", || format!("lookup at {at:.3} s found {seen} of the {rows} rows of writer {} txn {}, committed before the read started", key.0, key.1));
    } else if t.outcome == Outcome::Failed && seen != 0 {
        problems.add("failed_rows_seen", || format!("lookup at {at:.3} s found {seen} rows of writer {} txn {}, which failed", key.0, key.1));
    } else if seen != 0 && seen != rows {
        problems.add("partial_transaction", || format!("lookup at {at:.3} s found {seen} of the {rows} rows of writer {} txn {}", key.0, key.1));
    }
}

/// The rows the table may hold at snapshot `n`: at least those of transactions known to
/// have committed at or before it, at most those plus every transaction whose snapshot is
/// not known (unresolved, or its tag gone with an expired snapshot).
fn count_bounds(txns: &[Txn], n: i64) -> (i64, i64) {
    let (mut lo, mut unknown) = (0i64, 0i64);
    for t in txns {
        let snapshot = t.snapshot_id;
        match (t.outcome, snapshot) {
            (Outcome::Committed, Some(s)) if s <= n => lo += t.rows as i64,
            (Outcome::Committed, Some(_)) | (Outcome::Failed, _) => {}
            _ => unknown += t.rows as i64,
        }
    }
    (lo, lo + unknown)
}

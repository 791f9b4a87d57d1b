//! The `reader` actors' reads against the writers' history (append workload):
//! - a point lookup of a transaction acknowledged as committed before the read started
//!   finds all its rows (DuckLake's file pruning by min/max statistics must not hide them);
//!   a lookup never finds part of a transaction, nor rows of one that failed;
//! - a count at snapshot `n` lies between the rows of the transactions known to have
//!   committed at or before `n` and that plus the rows whose snapshot is unknown.
//!
//! Read errors are counted by class, not held against the lake.

use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::history::{Event, OpOutcome, Outcome, Txn};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

pub struct Reads;

impl Check for Reads {
    fn about(&self) -> About {
        About::new("reads", Needs::History, Applies::Any)
    }

    fn judge_run(&self, _ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let txns: HashMap<(u32, u64), &Txn> = run.txns.iter().map(|t| ((t.writer, t.txn), t)).collect();
        let (mut problems, mut errors) = (Problems::default(), BTreeMap::<&str, u64>::new());
        let (mut lookups, mut counts) = (0u64, 0u64);
        for e in &run.actor_events {
            let Event::Read {
                what,
                at,
                seen,
                target_writer,
                target_txn,
                snapshot,
                error_class,
                ..
            } = e
            else {
                continue;
            };
            let Some(seen) = seen else {
                *errors
                    .entry(error_class.map(|c| c.name()).unwrap_or("other"))
                    .or_default() += 1;
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
                        problems.add("count_at_snapshot", || {
                            format!("at {at:.3} s the count at snapshot {n} was {seen}; the history says {lo} to {hi}")
                        });
                    }
                }
                _ => {}
            }
        }
        if lookups + counts == 0 && errors.is_empty() {
            return Ok(CheckResult::skipped(
                self.name(),
                "no reads recorded (no reader actors in this run)",
            ));
        }
        let failed: u64 = errors.values().sum();
        let evidence =
            json!({ "lookups": lookups, "counts": counts, "failed_reads": failed, "errors_by_class": errors });
        Ok(problems.into_result(
            self.name(),
            format!("{lookups} lookups and {counts} counts consistent with the history ({failed} reads failed)"),
            evidence,
        ))
    }
}

/// A lookup of transaction `key` that started at `at` and found `seen` rows.
fn judge_lookup(txn: Option<&Txn>, key: (u32, u64), at: f64, seen: i64, problems: &mut Problems) {
    let Some(t) = txn else {
        if seen != 0 {
            problems.add("rows_without_history", || {
                format!(
                    "lookup at {at:.3} s found {seen} rows of writer {} txn {}, which the history never began",
                    key.0, key.1
                )
            });
        }
        return;
    };
    let rows = t.rows as i64;
    let acknowledged = t
        .committing()
        .is_some_and(|a| a.outcome == Some(OpOutcome::Ok) && a.complete_at.is_some_and(|c| c < at));
    if acknowledged && seen != rows {
        problems.add("committed_rows_missed", || {
            format!(
                "lookup at {at:.3} s found {seen} of the {rows} rows of \
            writer {} txn {}, committed before the read started",
                key.0, key.1
            )
        });
    } else if t.outcome == Outcome::Failed && seen != 0 {
        problems.add("failed_rows_seen", || {
            format!(
                "lookup at {at:.3} s found {seen} rows of writer {} txn {}, which failed",
                key.0, key.1
            )
        });
    } else if seen != 0 && seen != rows {
        problems.add("partial_transaction", || {
            format!(
                "lookup at {at:.3} s found {seen} of the {rows} rows of writer {} txn {}",
                key.0, key.1
            )
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::transaction::Attempt;

    fn txn(writer: u32, seq: u64, outcome: Outcome, complete_at: f64, snapshot: Option<i64>) -> Txn {
        let ok = outcome == Outcome::Committed;
        let attempt = Attempt {
            attempt: 1,
            invoke_at: complete_at - 0.1,
            complete_at: Some(complete_at),
            outcome: Some(if ok { OpOutcome::Ok } else { OpOutcome::Fail }),
            snapshot_id: snapshot,
            ..Default::default()
        };
        Txn {
            writer,
            txn: seq,
            rows: 10,
            attempts: vec![attempt],
            outcome,
            committed_attempt: ok.then_some(1),
            snapshot_id: snapshot,
        }
    }

    #[test]
    fn a_lookup_after_the_ack_must_see_every_row() {
        let t = txn(0, 3, Outcome::Committed, 1.0, Some(5));
        let mut p = Problems::default();
        judge_lookup(Some(&t), (0, 3), 2.0, 10, &mut p);
        judge_lookup(Some(&t), (0, 3), 0.5, 0, &mut p); // started before the ack: either
        assert!(p.is_empty());
        judge_lookup(Some(&t), (0, 3), 2.0, 0, &mut p);
        judge_lookup(Some(&t), (0, 3), 0.5, 4, &mut p);
        judge_lookup(Some(&txn(1, 0, Outcome::Failed, 1.0, None)), (1, 0), 2.0, 10, &mut p);
        assert_eq!(
            p.describe(),
            "committed_rows_missed x1, failed_rows_seen x1, partial_transaction x1"
        );
    }

    #[test]
    fn a_count_lies_between_known_and_possible_commits() {
        let txns = vec![
            txn(0, 0, Outcome::Committed, 1.0, Some(3)),
            txn(0, 1, Outcome::Committed, 2.0, Some(7)),
            txn(1, 0, Outcome::Committed, 2.0, None),
            txn(1, 1, Outcome::Failed, 2.0, None),
        ];
        assert_eq!(count_bounds(&txns, 2), (0, 10));
        assert_eq!(count_bounds(&txns, 3), (10, 20));
        assert_eq!(count_bounds(&txns, 9), (20, 30));
    }
}

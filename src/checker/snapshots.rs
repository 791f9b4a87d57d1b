//! Snapshots against the history: the catalog's own record of commits (its snapshot list,
//! read over Postgres with each snapshot's commit tag) must tell the same story as the
//! harness's history.
//! - every committed transaction made exactly one snapshot, with the id the writer saw;
//!   no failed attempt made one; no snapshot of the run is unknown to the history;
//! - attempts still unknown are resolved here (present or absent) and reported;
//! - commit order respects real time: a transaction that completed before another began
//!   has the lower snapshot id;
//! - time travel to a sample of snapshots (every one on small runs) shows exactly the
//!   transactions committed up to it: no partial visibility, nothing early, nothing late.

use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::history::tag::{self, TagKey};
use crate::history::transaction::Attempt;
use crate::history::{Outcome, Txn};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub struct Snapshots;

/// Runs with at most this many snapshots are checked at every snapshot by time travel;
/// larger ones at this many, spread evenly (each time-travel scan reads the table's files).
const TIME_TRAVEL_SAMPLES: usize = 40;

impl Check for Snapshots {
    fn about(&self) -> About {
        About::new("snapshots", Needs::History, Applies::Any)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        if let Some(why) = super::maintenance::expired_snapshots(run) {
            return Ok(CheckResult::skipped(self.name(), why));
        }
        let tagged = match ctx.metadata {
            Some(_) => tag::tagged_snapshots_in_lake(ctx.lake, run.run_id())?,
            None => crate::runtime::block_on(tag::tagged_snapshots(ctx.catalog, run.run_id()))?,
        };
        let mut p = Problems::default();
        let mut by_key: BTreeMap<TagKey, i64> = BTreeMap::new();
        for t in &tagged {
            if let Some(first) = by_key.insert(t.key, t.snapshot_id) {
                p.add("duplicate_tag", || {
                    format!(
                        "w{} t{} a{} tags snapshots {first} and {}",
                        t.key.writer, t.key.txn, t.key.attempt, t.snapshot_id
                    )
                });
            }
        }
        let (committed, resolved_now) = match_history(&run.txns, &by_key, &mut p);
        check_real_time_order(&committed, &mut p);
        // Upserts replace rows: a transaction's rows need not be visible at later snapshots.
        let (sampled, time_travel) = match run.record.rows_are_replaced() {
            // Nothing was looked at: say so rather than "time travel to 0 snapshots" passed.
            Some(why) => (Vec::new(), format!("time travel not checked ({why})")),
            None => {
                let sampled = check_time_travel(ctx, run.run_id(), &committed, &mut p)?;
                let said = match sampled.len() {
                    0 => "time travel not checked (no snapshot of the run to travel to)".to_string(),
                    n => format!("time travel to {n} snapshot(s) shows exactly the transactions committed by then"),
                };
                (sampled, said)
            }
        };
        let summary = format!(
            "{} snapshots of the run, one per committed transaction; commit order respects real time; {time_travel}{}",
            tagged.len(),
            if resolved_now.is_empty() {
                String::new()
            } else {
                format!("; {} unknown outcome(s) resolved here", resolved_now.len())
            }
        );
        let evidence = json!({
            "tagged_snapshots": tagged.len(),
            "committed_transactions": committed.len(),
            "resolved_here": resolved_now,
            "time_travel_versions": sampled,
        });
        Ok(p.into_result(self.name(), summary, evidence))
    }
}

/// A committed transaction as the catalog has it.
struct Committed {
    writer: u32,
    txn: u64,
    rows: u32,
    invoke_at: f64,
    complete_at: Option<f64>,
    snapshot_id: i64,
}

/// Joins the history with the tagged snapshots; returns the committed transactions (those
/// resolved here included) and what was resolved here.
fn match_history(
    txns: &[Txn],
    by_key: &BTreeMap<TagKey, i64>,
    p: &mut Problems,
) -> (Vec<Committed>, Vec<serde_json::Value>) {
    let mut committed = Vec::new();
    let mut resolved_now = Vec::new();
    let mut known: BTreeSet<TagKey> = BTreeSet::new();
    for t in txns {
        for a in &t.attempts {
            let key = t.key_of(a.attempt);
            known.insert(key);
            let found = by_key.get(&key).copied();
            committed.extend(match_attempt(t, a, found, &mut resolved_now, p));
        }
        if t.outcome == Outcome::Committed
            && t.attempts
                .iter()
                .filter(|a| by_key.contains_key(&t.key_of(a.attempt)))
                .count()
                > 1
        {
            p.add("committed_twice", || {
                format!("w{} t{} has more than one attempt with a snapshot", t.writer, t.txn)
            });
        }
    }
    for (key, s) in by_key {
        if !known.contains(key) {
            p.add("unknown_snapshot", || {
                format!(
                    "snapshot {s} carries tag w{} t{} a{}, which the history never invoked",
                    key.writer, key.txn, key.attempt
                )
            });
        }
    }
    (committed, resolved_now)
}

/// One attempt against the snapshot that carries its tag, if one does: the committed
/// transaction it makes, if it makes one (an unknown outcome is resolved here).
fn match_attempt(
    t: &Txn,
    a: &Attempt,
    found: Option<i64>,
    resolved_now: &mut Vec<serde_json::Value>,
    p: &mut Problems,
) -> Option<Committed> {
    let name = || format!("w{} t{} a{}", t.writer, t.txn, a.attempt);
    let at = |complete_at: Option<f64>, snapshot_id: i64| Committed {
        writer: t.writer,
        txn: t.txn,
        rows: t.rows,
        invoke_at: a.invoke_at,
        complete_at,
        snapshot_id,
    };
    match (a.committed(), found) {
        // A transaction that wrote nothing (a delete that matched no row) changes
        // nothing, and DuckLake then commits no snapshot at all.
        (Some(true), None) if t.rows == 0 => None,
        (Some(true), None) => {
            p.add("committed_without_snapshot", || {
                format!("{} committed but no snapshot carries its tag", name())
            });
            None
        }
        (Some(true), Some(s)) => {
            if let Some(seen) = a.snapshot_id.filter(|seen| *seen != s) {
                p.add("snapshot_id_mismatch", || {
                    format!("{}: the writer saw snapshot {seen}, its tag is on snapshot {s}", name())
                });
            }
            // An attempt whose outcome was unknown has no known completion time
            // (Jepsen's `info`): it may have landed after its COMMIT returned.
            Some(at(if a.was_uncertain() { None } else { a.complete_at }, s))
        }
        (Some(false), Some(s)) => {
            p.add("failed_with_snapshot", || {
                format!(
                    "{} did not commit by the history, yet snapshot {s} carries its tag",
                    name()
                )
            });
            None
        }
        (Some(false), None) => None,
        (None, found) => {
            resolved_now.push(json!({
                "writer": t.writer,
                "txn": t.txn,
                "attempt": a.attempt,
                "committed": found.is_some(),
                "snapshot_id": found,
            }));
            found.map(|s| at(None, s))
        }
    }
}

/// A transaction that completed before another was invoked must have the lower snapshot.
fn check_real_time_order(committed: &[Committed], p: &mut Problems) {
    let mut by_complete: Vec<&Committed> = committed.iter().filter(|c| c.complete_at.is_some()).collect();
    by_complete.sort_by(|a, b| a.complete_at.unwrap_or(0.0).total_cmp(&b.complete_at.unwrap_or(0.0)));
    let mut by_invoke: Vec<&Committed> = committed.iter().collect();
    by_invoke.sort_by(|a, b| a.invoke_at.total_cmp(&b.invoke_at));
    let mut done = 0;
    let mut highest: Option<&Committed> = None;
    for b in by_invoke {
        while done < by_complete.len() && by_complete[done].complete_at.unwrap_or(f64::MAX) < b.invoke_at {
            let c = by_complete[done];
            if highest.is_none_or(|h| c.snapshot_id > h.snapshot_id) {
                highest = Some(c);
            }
            done += 1;
        }
        if let Some(h) = highest.filter(|h| h.snapshot_id >= b.snapshot_id) {
            p.add("real_time_order", || {
                format!(
                    "w{} t{} completed at {:.3} s with snapshot {}, but w{} t{} began later ({:.3} s) and got \
                    snapshot {}",
                    h.writer,
                    h.txn,
                    h.complete_at.unwrap_or(0.0),
                    h.snapshot_id,
                    b.writer,
                    b.txn,
                    b.invoke_at,
                    b.snapshot_id
                )
            });
        }
    }
}

/// The snapshot ids to time-travel to: all of them on small runs, else an even spread
/// that always includes the first and the last.
fn sample(ids: &[i64]) -> Vec<i64> {
    if ids.len() <= TIME_TRAVEL_SAMPLES {
        return ids.to_vec();
    }
    let step = (ids.len() - 1) as f64 / (TIME_TRAVEL_SAMPLES - 1) as f64;
    let mut out: Vec<i64> = (0..TIME_TRAVEL_SAMPLES)
        .map(|i| ids[(i as f64 * step).round() as usize])
        .collect();
    out.dedup();
    out
}

fn check_time_travel(
    ctx: &CheckContext,
    run_id: &str,
    committed: &[Committed],
    p: &mut Problems,
) -> anyhow::Result<Vec<i64>> {
    let mut ids: Vec<i64> = committed.iter().map(|c| c.snapshot_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let versions = sample(&ids);
    let sql = format!(
        "SELECT writer_id, txn_seq, count(DISTINCT row_seq) FROM {} AT (VERSION => ?) WHERE run_id = ? GROUP BY ALL",
        ctx.table()
    );
    let mut stmt = ctx.lake.prepare(&sql)?;
    for &v in &versions {
        let seen: BTreeMap<(u32, u64), u64> = stmt
            .query_map(duckdb::params![v, run_id], |r| {
                Ok((
                    (r.get::<_, i32>(0)? as u32, r.get::<_, i64>(1)? as u64),
                    r.get::<_, i64>(2)? as u64,
                ))
            })?
            .collect::<Result<_, _>>()?;
        for c in committed {
            let rows = seen.get(&(c.writer, c.txn)).copied().unwrap_or(0);
            if c.snapshot_id <= v && rows == 0 {
                p.add("missing_at_snapshot", || {
                    format!(
                        "at snapshot {v}: w{} t{} (committed in snapshot {}) is not visible",
                        c.writer, c.txn, c.snapshot_id
                    )
                });
            } else if c.snapshot_id > v && rows > 0 {
                p.add("visible_early", || {
                    format!(
                        "at snapshot {v}: w{} t{} is visible although it committed in snapshot {}",
                        c.writer, c.txn, c.snapshot_id
                    )
                });
            } else if rows > 0 && rows != c.rows as u64 {
                p.add("partial_at_snapshot", || {
                    format!(
                        "at snapshot {v}: {rows} of the {} rows of w{} t{} are visible",
                        c.rows, c.writer, c.txn
                    )
                });
            }
        }
        let expected: BTreeSet<(u32, u64)> = committed.iter().map(|c| (c.writer, c.txn)).collect();
        for key in seen.keys().filter(|k| !expected.contains(k)) {
            p.add("uncommitted_visible", || {
                format!(
                    "at snapshot {v}: w{} t{} is visible but never committed by the history",
                    key.0, key.1
                )
            });
        }
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(writer: u32, invoke_at: f64, complete_at: f64, snapshot_id: i64) -> Committed {
        Committed {
            writer,
            txn: 0,
            rows: 1,
            invoke_at,
            complete_at: Some(complete_at),
            snapshot_id,
        }
    }

    #[test]
    fn real_time_order_is_checked_only_between_non_overlapping_transactions() {
        let mut p = Problems::default();
        // Overlapping transactions may commit in either order.
        check_real_time_order(&[c(0, 0.0, 2.0, 11), c(1, 1.0, 1.5, 10)], &mut p);
        assert!(p.is_empty());
        // w0 completed at 1.0 with snapshot 12; w1 began at 1.5 and got 11: a violation.
        check_real_time_order(&[c(0, 0.0, 1.0, 12), c(1, 1.5, 2.0, 11)], &mut p);
        assert_eq!(p.counts.get("real_time_order"), Some(&1));
    }

    #[test]
    fn samples_keep_both_ends() {
        let ids: Vec<i64> = (1..=1000).collect();
        let s = sample(&ids);
        assert_eq!(s.len(), TIME_TRAVEL_SAMPLES);
        assert_eq!((s[0], *s.last().unwrap()), (1, 1000));
        assert_eq!(sample(&ids[..5]), ids[..5].to_vec());
    }
}

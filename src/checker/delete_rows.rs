//! The delete workload's checker. Every snapshot from before the run's first commit to the
//! latest is read back by time travel and compared with the one before it, knowing from its
//! tag which transaction made it:
//! - an append's snapshot adds exactly its rows and removes none;
//! - a delete's snapshot removes exactly the rows of its slice that the snapshot before it
//!   held (a row of the slice left behind was committed before the delete and missed by it;
//!   a row outside the slice that vanished is a committed insert lost), and adds none;
//! - a snapshot made by no transaction of the run changes nothing;
//! - a row once removed never comes back.
//!
//! Then the table's `count(*)`, which DuckLake answers from its metadata (record counts less
//! deletes), must equal the rows a scan returns.

use super::keyed_values::RunSnapshots;
use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::workload::delete::{slice_deleted_by, slice_of};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub struct DeleteRows;

type Row = (i64, i64, i64); // (writer, txn, row)

fn name(r: &Row) -> String {
    format!("w{} t{} row {}", r.0, r.1, r.2)
}

impl Check for DeleteRows {
    fn about(&self) -> About {
        About::new("delete_rows", Needs::History, Applies::OwnRows)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let deleters = run.record.workload()?.delete.as_ref().map_or(1, |d| d.deleters);
        let snapshots = RunSnapshots::read(ctx, run.run_id())?;
        let (ids, every) = snapshots.walk();
        let mut p = Problems::default();
        let mut walk = Walk {
            deleters,
            batch_rows: run.record.batch_rows as i64,
            removed: BTreeMap::new(),
            deletes: 0,
            rows_deleted: 0,
            per_delete: Vec::new(),
        };
        let mut before = rows_at(ctx, run.run_id(), ids.first().copied(), &mut p)?;
        if every {
            for &s in ids.iter().skip(1) {
                let after = rows_at(ctx, run.run_id(), Some(s), &mut p)?;
                walk.step(&snapshots, s, &before, &after, &mut p);
                before = after;
            }
        }
        let counted: i64 = ctx
            .lake
            .query_row(&format!("SELECT count(*) FROM {}", ctx.table()), [], |r| r.get(0))?;
        let scanned = ctx
            .lake
            .prepare(&format!("SELECT run_id FROM {}", ctx.table()))?
            .query_map([], |r| r.get::<_, Option<String>>(0))?
            .count() as i64;
        if counted != scanned {
            p.add("count_differs_from_scan", || {
                format!(
                    "count(*) of {} says {counted}, a scan returns {scanned} rows",
                    ctx.table()
                )
            });
        }
        let summary = match every {
            true => format!(
                "time travel to each of {} snapshots: every append added exactly its rows, each of the {} deletes \
                    with a snapshot removed exactly its slice ({} rows), nothing else changed, no deleted row came \
                    back; count(*) = scan = {scanned}",
                ids.len(),
                walk.deletes,
                walk.rows_deleted
            ),
            false => format!(
                "too many snapshots ({}) to walk one by one: only count(*) = scan = {scanned} was checked",
                snapshots.current - ids[0] + 1
            ),
        };
        // A delete that matched no row may commit without a snapshot: count those apart.
        let committed_deletes = run
            .txns
            .iter()
            .filter(|t| t.writer < deleters && t.outcome == crate::history::Outcome::Committed)
            .count();
        let evidence = json!({
            "snapshots_walked": every.then_some(ids.len()),
            "committed_deletes": committed_deletes,
            "deletes": walk.deletes,
            "rows_deleted": walk.rows_deleted,
            "delete_snapshots": walk.per_delete.iter().take(100).collect::<Vec<_>>(),
            "count_star": counted,
            "scanned_rows": scanned,
        });
        Ok(p.into_result(self.name(), summary, evidence))
    }
}

/// The run's rows at snapshot `at` (time travel) or now; a row held twice is a problem.
fn rows_at(ctx: &CheckContext, run_id: &str, at: Option<i64>, p: &mut Problems) -> anyhow::Result<BTreeSet<Row>> {
    let at_clause = at.map(|s| format!(" AT (VERSION => {s})")).unwrap_or_default();
    let mut stmt = ctx.lake.prepare(&format!(
        "SELECT writer_id, txn_seq, row_seq FROM {}{at_clause} WHERE run_id = ?",
        ctx.table()
    ))?;
    let mut rows = BTreeSet::new();
    for r in stmt.query_map([run_id], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })? {
        let r = r?;
        if !rows.insert(r) {
            p.add("duplicate_row", || {
                format!(
                    "{} is present twice at snapshot {}",
                    name(&r),
                    at.map(|s| s.to_string()).unwrap_or("now".into())
                )
            });
        }
    }
    Ok(rows)
}

struct Walk {
    deleters: u32,
    batch_rows: i64,
    /// Each row removed so far, and the snapshot that removed it.
    removed: BTreeMap<Row, i64>,
    deletes: u64,
    rows_deleted: u64,
    /// Each delete's snapshot: who made it, its slice, the rows it removed.
    per_delete: Vec<serde_json::Value>,
}

/// What one snapshot changed.
struct Change<'a> {
    s: i64,
    maker: String,
    before: &'a BTreeSet<Row>,
    after: &'a BTreeSet<Row>,
    added: Vec<&'a Row>,
    gone: Vec<&'a Row>,
}

impl Walk {
    /// Judges the change from `before` to `after`, made by snapshot `s`.
    fn step(
        &mut self,
        snapshots: &RunSnapshots,
        s: i64,
        before: &BTreeSet<Row>,
        after: &BTreeSet<Row>,
        p: &mut Problems,
    ) {
        let c = Change {
            s,
            maker: snapshots.maker(s),
            before,
            after,
            added: after.difference(before).collect(),
            gone: before.difference(after).collect(),
        };
        for r in &c.added {
            if let Some(at) = self.removed.get(r) {
                p.add("deleted_row_back", || {
                    format!(
                        "{} was removed in snapshot {at} and is back in snapshot {s} ({})",
                        name(r),
                        c.maker
                    )
                });
            }
        }
        match snapshots.made_by.get(&s) {
            None => {
                for r in c.added.iter().chain(&c.gone) {
                    p.add("changed_outside_run", || {
                        format!(
                            "snapshot {s}, made by {}, {} {}",
                            c.maker,
                            if after.contains(r) { "added" } else { "removed" },
                            name(r)
                        )
                    });
                }
            }
            Some(k) if k.writer < self.deleters => self.delete(&c, k.writer, k.txn, p),
            Some(k) => self.append(&c, k.writer, k.txn, p),
        }
        for r in c.gone {
            self.removed.insert(*r, s);
        }
    }

    /// A deleter's snapshot: every row of its slice committed before it gone, nothing else.
    fn delete(&mut self, c: &Change, writer: u32, txn: u64, p: &mut Problems) {
        let (s, maker) = (c.s, &c.maker);
        let slice = slice_deleted_by(writer, txn);
        self.deletes += 1;
        self.rows_deleted += c.gone.len() as u64;
        self.per_delete
            .push(json!({ "snapshot": s, "made_by": maker, "slice": slice, "removed": c.gone.len() }));
        for r in c
            .before
            .iter()
            .filter(|r| slice_of(r.0, r.1, r.2) == slice && c.after.contains(r))
        {
            p.add("delete_missed_row", || {
                format!(
                    "snapshot {s} ({maker}) deletes slice {slice}, yet {}, committed before it, is still there",
                    name(r)
                )
            });
        }
        for r in c.gone.iter().filter(|r| slice_of(r.0, r.1, r.2) != slice) {
            p.add("insert_lost", || {
                format!(
                    "{} vanished in snapshot {s} ({maker}), which deletes slice {slice} only",
                    name(r)
                )
            });
        }
        for r in &c.added {
            p.add("row_added_by_delete", || {
                format!("snapshot {s} ({maker}) deletes, yet {} appeared in it", name(r))
            });
        }
    }

    /// An appender's snapshot: its own rows added, all of them, nothing else.
    fn append(&self, c: &Change, writer: u32, txn: u64, p: &mut Problems) {
        let (s, maker) = (c.s, &c.maker);
        let own = |r: &&Row| r.0 == writer as i64 && r.1 == txn as i64 && (0..self.batch_rows).contains(&r.2);
        let mine = c.added.iter().filter(|r| own(r)).count() as i64;
        if mine != self.batch_rows {
            p.add("partial_insert", || {
                format!("snapshot {s} ({maker}) added {mine} of its {} rows", self.batch_rows)
            });
        }
        for r in c.added.iter().filter(|r| !own(r)) {
            p.add("row_added_by_other", || {
                format!("snapshot {s} ({maker}) added {}, not its own", name(r))
            });
        }
        for r in &c.gone {
            p.add("insert_lost", || {
                format!("{} vanished in snapshot {s} ({maker}), which only appends", name(r))
            });
        }
    }
}

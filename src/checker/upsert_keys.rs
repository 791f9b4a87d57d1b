//! The upsert workload's checker. DuckLake's conflict rules make two concurrent upserts of
//! a key conflict (one deletes from the table the other inserted into), so: every key is
//! present at most once, and holds the row of the last committed transaction that wrote
//! it, in snapshot order (or the seed row, if no transaction wrote it and the table was
//! seeded). Transactions whose outcome stayed unknown may or may not be that writer: a key
//! one of them wrote is accepted from either.
//!
//! Judged at the end and at every snapshot of the run (time travel, as `bank_total` does;
//! spread evenly beyond `MAX_WALK`): a duplicate that a later upsert deleted (every copy)
//! and re-inserted once is gone by the end, though readers saw it while it lasted. Each
//! anomaly is reported with the snapshots in which it was visible.

use super::keyed_values::RunSnapshots;
use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::history::Outcome;
use crate::workload::upsert::{keys_of, SEED_WRITER};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub struct UpsertKeys;

/// Who should hold a key: the last committed writer, and the unknown ones that might be.
#[derive(Default, Clone)]
struct Expected {
    last: Option<(i64, i64, i64)>, // (snapshot, writer, txn)
    maybe: BTreeSet<(i64, i64)>,
}

/// Rows of the run by key: (writer, txn) of each copy.
type Holders = BTreeMap<u32, Vec<(i64, i64)>>;

/// A committed write of keys, in snapshot order (or none known: then it may be anywhere).
struct Write {
    snapshot: Option<i64>,
    writer: i64,
    txn: i64,
    keys: Vec<u32>,
    committed: bool,
}

/// An anomaly of one key and kind, over the snapshots that showed it.
struct Seen {
    from: i64,
    to: i64,
    example: String,
}

impl Check for UpsertKeys {
    fn about(&self) -> About {
        About::new("upsert_keys", Needs::History, Applies::OwnRows)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let (keys, per_txn) = (run.record.upsert_keys, run.record.batch_rows);
        let writes: Vec<Write> = run
            .txns
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Committed | Outcome::Indeterminate))
            .map(|t| Write {
                snapshot: t.snapshot_id.filter(|_| t.outcome == Outcome::Committed),
                writer: t.writer as i64,
                txn: t.txn as i64,
                keys: keys_of(run.run_id(), t.writer, t.txn, keys, per_txn),
                committed: t.outcome == Outcome::Committed,
            })
            .collect();
        let seeded = run.record.seeded;
        let mut p = Problems::default();
        let mut duplicated = Vec::new();
        let now = expected_at(&writes, None);
        for (k, kind, example) in judge(keys, &holders(ctx, run.run_id(), None)?, &now, seeded) {
            if kind == "duplicate_key" {
                duplicated.push(k);
            }
            p.add(kind, || example);
        }
        let (visible, walked, every) = walk_snapshots(ctx, run.run_id(), keys, &writes, seeded, &mut p)?;
        let summary = format!(
            "{keys} keys of this run: each present at most once, held by the last committed writer in snapshot order, \
                now and at {walked} snapshot(s){}",
            if every { "" } else { " spread evenly over the run" }
        );
        Ok(p.into_result(
            self.name(),
            summary,
            json!({
                "keys": keys,
                "seeded": seeded,
                "duplicated_keys": duplicated,
                "visible": visible,
                "snapshots_walked": walked,
            }),
        ))
    }
}

/// The run's rows by key, at snapshot `at` (time travel) or now.
fn holders(ctx: &CheckContext, run_id: &str, at: Option<i64>) -> anyhow::Result<Holders> {
    let at_clause = at.map(|s| format!(" AT (VERSION => {s})")).unwrap_or_default();
    let mut stmt = ctx.lake.prepare(&format!(
        "SELECT row_seq, writer_id, txn_seq FROM {}{at_clause} WHERE run_id = ? ORDER BY ALL",
        ctx.table()
    ))?;
    let mut rows: Holders = BTreeMap::new();
    for r in stmt.query_map([run_id], |r| {
        Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })? {
        let (k, w, t) = r?;
        rows.entry(k).or_default().push((w, t));
    }
    Ok(rows)
}

/// Who should hold each key at snapshot `at` (None: now): the last committed write at or
/// before it; writes whose snapshot is unknown (unresolved outcomes) may hold it anywhere.
fn expected_at(writes: &[Write], at: Option<i64>) -> BTreeMap<u32, Expected> {
    let mut expected: BTreeMap<u32, Expected> = BTreeMap::new();
    for w in writes {
        for &k in &w.keys {
            let e = expected.entry(k).or_default();
            match (w.committed, w.snapshot) {
                (true, Some(s)) if at.is_none_or(|at| s <= at) && e.last.is_none_or(|(last, _, _)| s > last) => {
                    e.last = Some((s, w.writer, w.txn))
                }
                (true, Some(_)) => {}
                _ => {
                    e.maybe.insert((w.writer, w.txn));
                }
            }
        }
    }
    expected
}

/// Every key's anomaly, if any: (key, kind, example).
fn judge(
    keys: u32,
    rows: &Holders,
    expected: &BTreeMap<u32, Expected>,
    seeded: bool,
) -> Vec<(u32, &'static str, String)> {
    let mut out = Vec::new();
    for k in 0..keys {
        let holders = rows.get(&k).map(Vec::as_slice).unwrap_or_default();
        let e = expected.get(&k).cloned().unwrap_or_default();
        let want = e
            .last
            .map(|(_, w, t)| (w, t))
            .or(seeded.then_some((SEED_WRITER as i64, 0)));
        match (holders, want) {
            ([], None) => {}
            ([], Some((w, t))) => out.push((k, "lost_key", format!("key {k} is missing; w{w} t{t} wrote it last"))),
            ([one], Some(w)) if *one == w || e.maybe.contains(one) => {}
            ([one], None) if e.maybe.contains(one) => {}
            ([(w, t)], want) => {
                let want = want.map(|(w, t)| format!("w{w} t{t}")).unwrap_or("nothing".into());
                out.push((k, "wrong_writer", format!("key {k} holds w{w} t{t}, expected {want}")));
            }
            (many, _) => {
                let who = many
                    .iter()
                    .map(|(w, t)| format!("w{w} t{t}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push((
                    k,
                    "duplicate_key",
                    format!("key {k} is present {} times: {who}", many.len()),
                ));
            }
        }
    }
    out
}

/// Judges the keys at every snapshot of the run and returns where each anomaly was visible.
/// One that is gone by the end adds a problem of its own (`duplicate_key_at_snapshot`, ...):
/// readers saw it, though the end state is clean.
fn walk_snapshots(
    ctx: &CheckContext,
    run_id: &str,
    keys: u32,
    writes: &[Write],
    seeded: bool,
    p: &mut Problems,
) -> anyhow::Result<(Vec<serde_json::Value>, usize, bool)> {
    let snapshots = RunSnapshots::read(ctx, run_id)?;
    let (ids, every) = snapshots.walk();
    let mut seen: BTreeMap<(u32, &'static str), Seen> = BTreeMap::new();
    for &s in &ids {
        for (k, kind, example) in judge(
            keys,
            &holders(ctx, run_id, Some(s))?,
            &expected_at(writes, Some(s)),
            seeded,
        ) {
            let e = seen.entry((k, kind)).or_insert(Seen {
                from: s,
                to: s,
                example,
            });
            e.to = s;
        }
    }
    let at_end: BTreeSet<(u32, &'static str)> =
        judge(keys, &holders(ctx, run_id, None)?, &expected_at(writes, None), seeded)
            .into_iter()
            .map(|(k, kind, _)| (k, kind))
            .collect();
    let mut visible = Vec::new();
    for ((k, kind), s) in &seen {
        let lasts = at_end.contains(&(*k, *kind));
        visible.push(json!({
            "key": k,
            "kind": kind,
            "from_snapshot": s.from,
            "to_snapshot": s.to,
            "made_by": snapshots.maker(s.from),
            "at_end": lasts,
        }));
        if !lasts {
            let kind_at = match *kind {
                "duplicate_key" => "duplicate_key_at_snapshot",
                "lost_key" => "lost_key_at_snapshot",
                _ => "wrong_writer_at_snapshot",
            };
            p.add(kind_at, || {
                format!(
                    "{} from snapshot {} ({}) to {}, gone by the end",
                    s.example,
                    s.from,
                    snapshots.maker(s.from),
                    s.to
                )
            });
        }
    }
    Ok((visible, ids.len(), every))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(snapshot: Option<i64>, writer: i64, keys: &[u32]) -> Write {
        Write {
            snapshot,
            writer,
            txn: 0,
            keys: keys.to_vec(),
            committed: snapshot.is_some(),
        }
    }

    #[test]
    fn the_holder_at_a_snapshot_is_the_last_commit_at_or_before_it() {
        let writes = [write(Some(5), 1, &[0]), write(Some(7), 2, &[0]), write(None, 3, &[1])];
        let at6 = expected_at(&writes, Some(6));
        assert_eq!(at6[&0].last, Some((5, 1, 0)));
        assert_eq!(expected_at(&writes, None)[&0].last, Some((7, 2, 0)));
        assert!(at6[&1].last.is_none() && at6[&1].maybe.contains(&(3, 0)));
        let rows: Holders = [(0, vec![(1, 0)])].into();
        assert!(
            judge(2, &rows, &at6, false).is_empty(),
            "key 1 may be absent: its only writer is unresolved (and the table was not seeded)"
        );
        let kinds: Vec<&str> = judge(2, &rows, &expected_at(&writes, None), false)
            .into_iter()
            .map(|(_, k, _)| k)
            .collect();
        assert_eq!(kinds, ["wrong_writer"]);
        let twice: Holders = [(0, vec![(1, 0), (2, 0)])].into();
        assert_eq!(judge(1, &twice, &at6, false)[0].1, "duplicate_key");
    }
}

//! The upsert workload's checker. DuckLake's conflict rules make two concurrent upserts of
//! a key conflict (one deletes from the table the other inserted into), so: every key is
//! present at most once, and holds the row of the last committed transaction that wrote
//! it, in snapshot order (or the seed row, if no transaction wrote it and the table was
//! seeded). Transactions whose outcome stayed unknown may or may not be that writer: a key
//! one of them wrote is accepted from either.

use super::problems::Problems;
use super::{Check, CheckContext, CheckResult};
use crate::history::Outcome;
use crate::workload::upsert::{keys_of, SEED_WRITER};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub struct UpsertKeys;

/// Who should hold a key: the last committed writer, and the unknown ones that might be.
#[derive(Default)]
struct Expected {
    last: Option<(i64, i64, i64)>, // (snapshot, writer, txn)
    maybe: BTreeSet<(i64, i64)>,
}

impl Check for UpsertKeys {
    fn name(&self) -> &'static str {
        "upsert_keys"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let Some(run) = ctx.run else {
            return Ok(CheckResult::skipped(self.name(), "needs a run's history (pass --run-dir)"));
        };
        let (keys, per_txn) = (run.record.upsert_keys, run.record.batch_rows);
        if keys == 0 {
            return Ok(CheckResult::skipped(self.name(), format!("the {:?} workload replaces no keys", run.record.workload_kind()).to_lowercase()));
        }
        let mut expected: BTreeMap<u32, Expected> = BTreeMap::new();
        for t in &run.txns {
            for k in keys_of(run.run_id(), t.writer, t.txn, keys, per_txn) {
                let e = expected.entry(k).or_default();
                match (t.outcome, t.snapshot_id) {
                    (Outcome::Committed, Some(s)) if e.last.is_none_or(|(last, _, _)| s > last) => e.last = Some((s, t.writer as i64, t.txn as i64)),
                    (Outcome::Indeterminate, _) => {
                        e.maybe.insert((t.writer as i64, t.txn as i64));
                    }
                    _ => {}
                }
            }
        }
        let mut rows: BTreeMap<u32, Vec<(i64, i64)>> = BTreeMap::new();
        let mut stmt = ctx.lake.prepare(&format!("SELECT row_seq, writer_id, txn_seq FROM {} WHERE run_id = ? ORDER BY ALL", ctx.table()))?;
        for r in stmt.query_map([run.run_id()], |r| Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))? {
            let (k, w, t) = r?;
            rows.entry(k).or_default().push((w, t));
        }
        let mut p = Problems::default();
        let mut duplicated = Vec::new();
        for k in 0..keys {
            let holders = rows.get(&k).cloned().unwrap_or_default();
            let e = expected.remove(&k).unwrap_or_default();
            let want = e.last.map(|(_, w, t)| (w, t)).or(run.record.seeded.then_some((SEED_WRITER as i64, 0)));
            match (holders.as_slice(), want) {
                ([], None) => {}
                ([], Some((w, t))) => p.add("lost_key", || format!("key {k} is missing; w{w} t{t} wrote it last")),
                ([one], Some(w)) if *one == w || e.maybe.contains(one) => {}
                ([one], None) if e.maybe.contains(one) => {}
                ([(w, t)], want) => p.add("wrong_writer", || format!("key {k} holds w{w} t{t}, expected {}", want.map(|(w, t)| format!("w{w} t{t}")).unwrap_or("nothing".into()))),
                (many, _) => {
                    duplicated.push(k);
                    p.add("duplicate_key", || format!("key {k} is present {} times: {}", many.len(), many.iter().map(|(w, t)| format!("w{w} t{t}")).collect::<Vec<_>>().join(", ")));
                }
            }
        }
        let summary = format!("{keys} keys of this run: each present at most once, held by the last committed writer in snapshot order");
        Ok(p.into_result(self.name(), summary, json!({ "keys": keys, "seeded": run.record.seeded, "duplicated_keys": duplicated })))
    }
}

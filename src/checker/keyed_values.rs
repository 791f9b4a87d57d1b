//! Reading the table of the `counter` and `bank` workloads (one row per key holding a
//! number): its values now and at past snapshots (DuckLake's time travel), and which
//! transaction of the run made each snapshot (from the commit tags in the catalog).

use super::CheckContext;
use crate::history::tag::{self, TagKey};
use std::collections::BTreeMap;

/// Snapshots walked one by one at most; a longer run is walked at this many, spread evenly.
pub const MAX_WALK: usize = 1000;

pub struct RunSnapshots {
    /// Each snapshot that carries a tag of the run, and the attempt that made it.
    pub made_by: BTreeMap<i64, TagKey>,
    /// The lake's latest snapshot now.
    pub current: i64,
}

impl RunSnapshots {
    pub fn read(ctx: &CheckContext, run_id: &str) -> anyhow::Result<Self> {
        let tagged = match ctx.metadata {
            Some(_) => tag::tagged_snapshots_in_lake(ctx.lake, run_id)?,
            None => crate::runtime::block_on(tag::tagged_snapshots(ctx.catalog, run_id))?,
        };
        let made_by = tagged.into_iter().map(|t| (t.snapshot_id, t.key)).collect();
        let current: i64 = ctx.lake.query_row(
            &format!(
                "SELECT max(snapshot_id) FROM ducklake_snapshots('{}')",
                crate::lake::LAKE_ALIAS
            ),
            [],
            |r| r.get(0),
        )?;
        Ok(RunSnapshots { made_by, current })
    }

    /// Who made snapshot `s`, for evidence.
    pub fn maker(&self, s: i64) -> String {
        match self.made_by.get(&s) {
            Some(k) => format!("w{} t{}", k.writer, k.txn),
            None => "no transaction of this run".to_string(),
        }
    }

    /// The snapshots from the one before the run's first commit (the seeded table) to the
    /// latest, every one if there are at most `MAX_WALK`, else `MAX_WALK` of them spread
    /// evenly (both ends kept). `true`: every snapshot is in.
    pub fn walk(&self) -> (Vec<i64>, bool) {
        let first = self
            .made_by
            .keys()
            .next()
            .map(|s| s - 1)
            .unwrap_or(self.current)
            .min(self.current);
        let all = (self.current - first + 1) as usize;
        if all <= MAX_WALK {
            return ((first..=self.current).collect(), true);
        }
        let step = (all - 1) as f64 / (MAX_WALK - 1) as f64;
        let mut ids: Vec<i64> = (0..MAX_WALK)
            .map(|i| first + (i as f64 * step).round() as i64)
            .collect();
        ids.dedup();
        (ids, false)
    }
}

/// The run's rows by key, at snapshot `at` (time travel) or now: a key may (wrongly) have
/// more than one row, so each key gets all its values.
pub fn values(ctx: &CheckContext, run_id: &str, at: Option<i64>) -> anyhow::Result<BTreeMap<u32, Vec<i64>>> {
    let at_clause = at.map(|s| format!(" AT (VERSION => {s})")).unwrap_or_default();
    let mut stmt = ctx.lake.prepare(&format!(
        "SELECT k, v FROM {}{at_clause} WHERE run_id = ? ORDER BY k, v",
        ctx.table()
    ))?;
    let mut out: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for row in stmt.query_map([run_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (k, v) = row?;
        out.entry(k as u32).or_default().push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snaps(tagged: &[i64], current: i64) -> RunSnapshots {
        RunSnapshots {
            made_by: tagged
                .iter()
                .map(|s| {
                    (
                        *s,
                        TagKey {
                            writer: 0,
                            txn: *s as u64,
                            attempt: 1,
                        },
                    )
                })
                .collect(),
            current,
        }
    }

    #[test]
    fn the_walk_starts_before_the_first_commit_and_keeps_both_ends() {
        assert_eq!(snaps(&[5, 7], 8).walk(), (vec![4, 5, 6, 7, 8], true));
        assert_eq!(snaps(&[], 3).walk(), (vec![3], true));
        let (ids, every) = snaps(&[2], 5000).walk();
        assert!(!every && ids.len() == MAX_WALK && ids[0] == 1 && *ids.last().unwrap() == 5000);
    }
}

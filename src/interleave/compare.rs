//! `compare` on two sets of interleaving reports (e.g. stock DuckLake against
//! `--extension ducklake=patched`): per schedule, catalog and permutation, whether the
//! outcome is the same, fixed (mismatched in the baseline, matched in the candidate),
//! broken (the reverse) or changed.

use super::report::{InterleaveReport, JSON_FILE};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Whether `path` is an interleave.json, or a directory holding some (itself or one level
/// down, as a results directory or `conflicts`' holds them).
pub fn is_reports(path: &Path) -> bool {
    !files(path).is_empty()
}

fn files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return if path.file_name().is_some_and(|n| n == JSON_FILE) {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let mut out = Vec::new();
    if path.join(JSON_FILE).is_file() {
        out.push(path.join(JSON_FILE));
    }
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let f = e.path().join(JSON_FILE);
            if f.is_file() {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

pub fn load(path: &Path) -> anyhow::Result<Vec<InterleaveReport>> {
    files(path)
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f)?;
            serde_json::from_str(&text)
                .map_err(|e| crate::error::bad_input(format!("{}: not an interleaving report ({e}).", f.display())))
        })
        .collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Side {
    pub runs: u32,
    pub matched: u32,
    /// Each distinct outcome and how often.
    pub outcomes: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub schedule: String,
    pub catalog: String,
    pub permutation: String,
    pub baseline: Side,
    pub candidate: Side,
    /// same, fixed, broken, changed, or only in one side.
    pub change: String,
}

fn sides(reports: &[InterleaveReport]) -> BTreeMap<(String, String, String), Side> {
    let mut out: BTreeMap<(String, String, String), Side> = BTreeMap::new();
    for r in reports {
        for p in &r.results {
            let side = out
                .entry((r.schedule.clone(), r.catalog.clone(), p.order.join(" ")))
                .or_default();
            side.runs += 1;
            side.matched += p.matched as u32;
            *side.outcomes.entry(p.signature()).or_default() += 1;
        }
    }
    out
}

pub fn compare(baseline: &[InterleaveReport], candidate: &[InterleaveReport]) -> Vec<Row> {
    let (b, c) = (sides(baseline), sides(candidate));
    let keys: std::collections::BTreeSet<_> = b.keys().chain(c.keys()).cloned().collect();
    keys.into_iter()
        .map(|k| {
            let (bs, cs) = (b.get(&k).cloned(), c.get(&k).cloned());
            let change = match (&bs, &cs) {
                (None, _) => "only in the candidate",
                (_, None) => "only in the baseline",
                (Some(x), Some(y)) if x.matched < x.runs && y.matched == y.runs => "fixed",
                (Some(x), Some(y)) if x.matched == x.runs && y.matched < y.runs => "broken",
                (Some(x), Some(y)) if x.outcomes.keys().eq(y.outcomes.keys()) => "same",
                _ => "changed",
            };
            Row {
                schedule: k.0,
                catalog: k.1,
                permutation: k.2,
                baseline: bs.unwrap_or_default(),
                candidate: cs.unwrap_or_default(),
                change: change.into(),
            }
        })
        .collect()
}

pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| schedule | catalog | permutation | baseline matched | candidate matched | change |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {}/{} | {}/{} | {} |",
            r.schedule,
            r.catalog,
            r.permutation,
            r.baseline.matched,
            r.baseline.runs,
            r.candidate.matched,
            r.candidate.runs,
            r.change
        );
    }
    out
}

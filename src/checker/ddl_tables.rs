//! The ddl workload's checker. The checker's own DuckDB instance is a fresh one that
//! ATTACHed the lake after the run; through it:
//! - every table a CREATE OR REPLACE … AS of the run names exists exactly when a
//!   transaction that made it committed, and holds the rows of the last of those in
//!   snapshot order (a transaction whose outcome stayed unknown is accepted too, never
//!   required);
//! - the base table has the column of every committed ALTER … ADD COLUMN and none of a
//!   failed one; every committed INSERT's rows are there, none of a failed one;
//! - every error is a conflict or DuckLake's retries running out (or the harness's own
//!   interrupt at the deadline); an `INTERNAL Error` or any other class is a finding.

use super::error_tally::tally;
use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use crate::history::{ErrorClass, Outcome, Txn};
use crate::lake::table::qualified;
use crate::workload::ddl::{op_of, Names, Op};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub struct DdlTables;

/// The errors DuckLake's documented conflict handling produces.
const KNOWN: &[ErrorClass] = &[
    ErrorClass::Conflict,
    ErrorClass::RetriesExhausted,
    ErrorClass::InterruptedByDeadline,
];

/// Who should have made a table last.
#[derive(Default)]
struct Maker {
    last: Option<(i64, u32, u64)>, // (snapshot, writer, txn)
    maybe: BTreeSet<(u32, u64)>,
}

impl Maker {
    fn see(&mut self, t: &Txn) {
        match t.outcome {
            Outcome::Committed => {
                let s = t.snapshot_id.unwrap_or(i64::MIN);
                if self.last.is_none_or(|(last, _, _)| s > last) {
                    self.last = Some((s, t.writer, t.txn));
                }
            }
            Outcome::Indeterminate => {
                self.maybe.insert((t.writer, t.txn));
            }
            Outcome::Failed => {}
        }
    }

    fn accepts(&self, holder: (u32, u64)) -> bool {
        self.last.is_some_and(|(_, w, t)| (w, t) == holder) || self.maybe.contains(&holder)
    }
}

/// What the history says the lake must hold.
#[derive(Default)]
struct Expected {
    tables: BTreeMap<String, Maker>,
    columns: Vec<(String, Outcome)>,
    inserts: BTreeMap<(u32, u64), Outcome>,
}

fn expected(run_id: &str, names: &Names, txns: &[Txn]) -> Expected {
    let mut e = Expected::default();
    for t in txns {
        match op_of(run_id, t.writer, t.txn) {
            Op::ReplaceShared => e.tables.entry(names.shared()).or_default().see(t),
            Op::ReplacePrivate => e.tables.entry(names.private(t.writer)).or_default().see(t),
            Op::AddColumn => e.columns.push((names.column(t.writer, t.txn), t.outcome)),
            Op::Insert => {
                e.inserts.insert((t.writer, t.txn), t.outcome);
            }
        }
    }
    e
}

impl Check for DdlTables {
    fn about(&self) -> About {
        About::new("ddl_tables", Needs::History, Applies::OwnRows)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let names = Names::new(ctx.table, run.run_id());
        let e = expected(run.run_id(), &names, &run.txns);
        let mut p = Problems::default();
        let classes = tally(&run.txns, Some(KNOWN), &mut p);
        let listed: BTreeSet<String> = ctx
            .lake
            .prepare("SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name = 'main'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let present = check_tables(ctx, &e.tables, &listed, run.record.batch_rows, &mut p)?;
        for name in listed.iter().filter(|n| {
            n.starts_with(&format!("{}_", ctx.table))
                && n.ends_with(&names.table_suffix())
                && !e.tables.contains_key(*n)
        }) {
            p.add("table_without_commit", || {
                format!("table {name} exists, but no transaction of the run made it")
            });
        }
        let columns = check_columns(ctx, &names, &e.columns, &mut p)?;
        check_inserts(ctx, run.run_id(), &e.inserts, run.record.batch_rows, &mut p)?;
        let summary = format!(
            "a fresh instance attached the lake and found {present} table(s) of the run as the last \
            committed CREATE OR REPLACE made them, the {columns} column(s) committed ALTERs added, every committed \
            insert; every error a conflict or retries exhausted"
        );
        Ok(p.into_result(
            self.name(),
            summary,
            json!({
                "tables_expected": e.tables.len(),
                "tables_present": present,
                "columns_added": columns,
                "inserts": e.inserts.len(),
                "error_classes": classes,
            }),
        ))
    }
}

/// Each CTAS table of the run against its last maker. Returns how many are present.
fn check_tables(
    ctx: &CheckContext,
    tables: &BTreeMap<String, Maker>,
    listed: &BTreeSet<String>,
    rows: u32,
    p: &mut Problems,
) -> anyhow::Result<usize> {
    let mut present = 0;
    for (name, maker) in tables {
        if !listed.contains(name) {
            if let Some((s, w, t)) = maker.last {
                p.add("missing_table", || {
                    format!("table {name} is missing; w{w} t{t} made it last (snapshot {s})")
                });
            }
            continue;
        }
        present += 1;
        let sql = format!(
            "SELECT writer_id, txn_seq, count(*) FROM {} GROUP BY ALL ORDER BY ALL",
            qualified(name)
        );
        let groups: Vec<(i64, i64, i64)> = ctx
            .lake
            .prepare(&sql)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        match groups.as_slice() {
            [(w, t, n)] if maker.accepts((*w as u32, *t as u64)) && *n == rows as i64 => {}
            [(w, t, _)] if maker.last.is_none() && maker.maybe.is_empty() => p.add("table_without_commit", || {
                format!("table {name} holds w{w} t{t}, but no transaction that made it committed")
            }),
            _ => p.add("wrong_table_content", || {
                let want = maker
                    .last
                    .map(|(s, w, t)| format!("w{w} t{t} (snapshot {s})"))
                    .unwrap_or("nothing".into());
                format!("table {name} holds {groups:?} (writer, txn, rows), expected {rows} rows of {want}")
            }),
        }
    }
    Ok(present)
}

/// The base table's added columns against the ALTERs' outcomes. Returns how many exist.
fn check_columns(
    ctx: &CheckContext,
    names: &Names,
    columns: &[(String, Outcome)],
    p: &mut Problems,
) -> anyhow::Result<usize> {
    let sql = "SELECT column_name FROM duckdb_columns() WHERE database_name = 'lake' AND schema_name = 'main' AND \
        table_name = ? AND starts_with(column_name, ?)";
    let have: BTreeSet<String> = ctx
        .lake
        .prepare(sql)?
        .query_map(duckdb::params![ctx.table, names.column_prefix()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (column, outcome) in columns {
        match (outcome, have.contains(column)) {
            (Outcome::Committed, false) => p.add("missing_column", || {
                format!("column {column} of a committed ALTER is missing from {}", ctx.table)
            }),
            (Outcome::Failed, true) => p.add("column_of_failed_alter", || {
                format!("column {column} is in {}, but its ALTER failed", ctx.table)
            }),
            _ => {}
        }
    }
    let known: BTreeSet<&String> = columns.iter().map(|(c, _)| c).collect();
    for c in have.iter().filter(|c| !known.contains(c)) {
        p.add("column_without_alter", || {
            format!("column {c} is in {}, but no transaction of the run added it", ctx.table)
        });
    }
    Ok(have.len())
}

/// Every committed insert's rows are in the base table, none of a failed one.
fn check_inserts(
    ctx: &CheckContext,
    run_id: &str,
    inserts: &BTreeMap<(u32, u64), Outcome>,
    rows: u32,
    p: &mut Problems,
) -> anyhow::Result<()> {
    let sql = format!(
        "SELECT writer_id, txn_seq, count(*) FROM {} WHERE run_id = ? GROUP BY ALL",
        qualified(ctx.table)
    );
    let found: BTreeMap<(u32, u64), i64> = ctx
        .lake
        .prepare(&sql)?
        .query_map([run_id], |r| {
            Ok(((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as u64), r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    for (&(w, t), outcome) in inserts {
        let n = found.get(&(w, t)).copied().unwrap_or(0);
        let ok = match outcome {
            Outcome::Committed => n == rows as i64,
            Outcome::Failed => n == 0,
            Outcome::Indeterminate => n == 0 || n == rows as i64,
        };
        if !ok {
            p.add("wrong_insert_rows", || {
                format!(
                    "w{w} t{t} ({outcome:?}) has {n} rows in {}, expected {}",
                    ctx.table,
                    if *outcome == Outcome::Failed { 0 } else { rows }
                )
            });
        }
    }
    for ((w, t), n) in found.iter().filter(|(k, _)| !inserts.contains_key(*k)) {
        p.add("rows_without_insert", || {
            format!(
                "{n} rows of w{w} t{t} in {}, a transaction that inserted nothing",
                ctx.table
            )
        });
    }
    Ok(())
}

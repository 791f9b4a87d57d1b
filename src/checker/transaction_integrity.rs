//! Check 2: every transaction all-or-nothing. No duplicate (writer, transaction, row); each
//! committed transaction complete; no row of a failed transaction; each unresolved one
//! either whole or absent; every payload matches its checksum and, after a run, the value
//! derived from its (run, writer, transaction, row): a row moved to another transaction
//! is caught.

use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs};
use crate::history::Outcome;
use crate::workload::append::payload_sql;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub struct TransactionIntegrity;

impl Check for TransactionIntegrity {
    fn about(&self) -> About {
        About::new("transaction_integrity", Needs::Lake, Applies::KeptRows)
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let found = read_rows(ctx)?;
        let mut p = Problems::default();
        check_rows(&found, &mut p);
        let checked_against_history = ctx.run.is_some();
        if let Some(run) = ctx.run {
            check_against_history(&run.txns, &found, &mut p);
        }
        let summary = format!(
            "{} transactions checked{}; all complete, no duplicates, checksums match",
            found.len(),
            if checked_against_history {
                " against the history"
            } else {
                ""
            }
        );
        Ok(p.into_result(
            self.name(),
            summary,
            json!({ "transactions_in_table": found.len(), "checked_against_history": checked_against_history }),
        ))
    }
}

/// Per (run, writer, transaction): rows, distinct row numbers, bad checksums.
struct TxnRows {
    run_id: String,
    writer: u32,
    seq: u64,
    rows: u64,
    distinct_rows: u64,
    bad_checksums: u64,
    bad_payloads: u64,
}

/// The run's rows (every run's without one) per transaction.
fn read_rows(ctx: &CheckContext) -> anyhow::Result<Vec<TxnRows>> {
    let filter = if ctx.run.is_some() { "WHERE run_id = ?" } else { "" };
    let derived = match ctx.run {
        Some(run) => format!(
            "count(*) FILTER (WHERE payload IS DISTINCT FROM {})",
            payload_sql(run.record.payload_bytes)
        ),
        None => "0".to_string(),
    };
    let sql = format!(
        "SELECT run_id, writer_id, txn_seq, count(*), count(DISTINCT row_seq),
                count(*) FILTER (WHERE md5(payload) IS DISTINCT FROM checksum), {derived}
         FROM {} {filter} GROUP BY run_id, writer_id, txn_seq ORDER BY ALL",
        ctx.table()
    );
    let mut stmt = ctx.lake.prepare(&sql)?;
    let map = |r: &duckdb::Row| {
        Ok(TxnRows {
            run_id: r.get(0)?,
            writer: r.get::<_, i32>(1)? as u32,
            seq: r.get::<_, i64>(2)? as u64,
            rows: r.get::<_, i64>(3)? as u64,
            distinct_rows: r.get::<_, i64>(4)? as u64,
            bad_checksums: r.get::<_, i64>(5)? as u64,
            bad_payloads: r.get::<_, i64>(6)? as u64,
        })
    };
    let found: Vec<TxnRows> = match ctx.run {
        Some(run) => stmt.query_map([run.run_id()], map)?.collect::<Result<_, _>>()?,
        None => stmt.query_map([], map)?.collect::<Result<_, _>>()?,
    };
    Ok(found)
}

/// What the table alone shows wrong: duplicate rows, payloads that do not match.
fn check_rows(found: &[TxnRows], p: &mut Problems) {
    for t in found {
        if t.rows > t.distinct_rows {
            p.add("duplicate_rows", || {
                format!(
                    "run {} writer {} txn {} has {} rows for {} row numbers",
                    t.run_id, t.writer, t.seq, t.rows, t.distinct_rows
                )
            });
        }
        if t.bad_checksums > 0 {
            p.add("bad_checksum", || {
                format!(
                    "run {} writer {} txn {}: {} payload(s) do not match their checksum",
                    t.run_id, t.writer, t.seq, t.bad_checksums
                )
            });
        }
        if t.bad_payloads > 0 {
            p.add("moved_or_altered_row", || {
                format!(
                    "writer {} txn {}: {} row(s) whose payload was not written for this (writer, txn, row)",
                    t.writer, t.seq, t.bad_payloads
                )
            });
        }
    }
}

/// Each transaction's rows against its outcome in the history.
fn check_against_history(txns: &[crate::history::Txn], found: &[TxnRows], p: &mut Problems) {
    let present: BTreeMap<(u32, u64), &TxnRows> = found.iter().map(|t| ((t.writer, t.seq), t)).collect();
    let mut known = BTreeSet::new();
    for rec in txns {
        let writer = rec.writer;
        known.insert((writer, rec.txn));
        let here = present.get(&(writer, rec.txn));
        let distinct = here.map(|t| t.distinct_rows).unwrap_or(0);
        match rec.outcome {
            Outcome::Committed if distinct != rec.rows as u64 => p.add(
                if distinct == 0 {
                    "committed_missing"
                } else {
                    "committed_incomplete"
                },
                || {
                    format!(
                        "writer {writer} txn {} committed {} rows, {distinct} found",
                        rec.txn, rec.rows
                    )
                },
            ),
            Outcome::Failed if distinct > 0 => p.add("failed_present", || {
                format!(
                    "writer {writer} txn {} failed but {distinct} of its rows are in the table",
                    rec.txn
                )
            }),
            Outcome::Indeterminate if distinct != 0 && distinct != rec.rows as u64 => {
                p.add("indeterminate_partial", || {
                    format!(
                        "writer {writer} txn {} (outcome unknown) is partly present: {distinct} of {} rows",
                        rec.txn, rec.rows
                    )
                })
            }
            _ => {}
        }
    }
    for t in found {
        if !known.contains(&(t.writer, t.seq)) {
            p.add("unknown_transaction", || {
                format!(
                    "writer {} txn {} is in the table but no writer recorded it in the history",
                    t.writer, t.seq
                )
            });
        }
    }
}

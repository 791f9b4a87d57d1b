//! The table of the `counter` and `bank` workloads: one row per key (a counter, an account)
//! holding a number, updated in place. Each row also names the transaction that wrote it
//! last, so a checker can tell whose write survived. Rows of different runs share a table
//! and are told apart by `run_id`, like the append table's.

use crate::util::lake_table::qualified;
use std::fmt::Write;

/// The columns, in the order `seed_sql` writes them.
pub const COLUMNS: &str = "run_id, k, v, writer_id, txn_seq, written_at";

pub fn create_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            run_id VARCHAR,
            k INTEGER,
            v BIGINT,
            writer_id INTEGER,
            txn_seq BIGINT,
            written_at TIMESTAMPTZ
        )",
        qualified(table)
    )
}

/// One row per key `0..keys` holding `value`, written by no writer (`SEED_WRITER`).
pub fn seed_sql(table: &str, run_id: &str, keys: u32, value: i64) -> String {
    let mut sql = format!("INSERT INTO {} ({COLUMNS}) VALUES ", qualified(table));
    for k in 0..keys {
        if k > 0 {
            sql.push(',');
        }
        let _ = write!(sql, "('{run_id}',{k},{value},{},0,now())", super::upsert::SEED_WRITER);
    }
    sql
}

/// `k IN (…)`'s list.
pub fn key_list(keys: &[u32]) -> String {
    keys.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(",")
}

/// Reads the current values of `keys` inside the open transaction, in key order. A key
/// without exactly one row is an error: the client cannot compute a new value from it.
pub fn read_values(conn: &duckdb::Connection, table: &str, run_id: &str, keys: &[u32]) -> Result<Vec<i64>, String> {
    let sql = format!(
        "SELECT k, v FROM {table} WHERE run_id = ? AND k IN ({}) ORDER BY k",
        key_list(keys)
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| e.to_string())?;
    let rows: Vec<(i64, i64)> = stmt
        .query_map([run_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let found: Vec<u32> = rows.iter().map(|(k, _)| *k as u32).collect();
    if found != keys {
        return Err(format!(
            "keys {keys:?} of this run read as {found:?} in {table}: each should be present exactly \
            once (the workload cannot update a key it cannot read once)"
        ));
    }
    Ok(rows.into_iter().map(|(_, v)| v).collect())
}

/// One UPDATE that sets each of `keys` to its value in `values`, naming the writer.
pub fn write_values_sql(table: &str, run_id: &str, writer: u32, txn: u64, keys: &[u32], values: &[i64]) -> String {
    let mut case = String::from("CASE k");
    for (k, v) in keys.iter().zip(values) {
        let _ = write!(case, " WHEN {k} THEN {v}");
    }
    case.push_str(" END");
    format!(
        "UPDATE {table} SET v = {case}, writer_id = {writer}, txn_seq = {txn}, written_at = now() WHERE run_id = \
            '{run_id}' AND k IN ({})",
        key_list(keys)
    )
}

//! The `append` workload: each transaction inserts one batch of rows, every row tagged
//! with (run, writer, transaction, row). Its payload is derived from exactly those four
//! values, so the checker can recompute it: a row that moved to another transaction, or
//! whose payload changed, no longer matches.

use crate::util::lake_table::qualified;
use crate::workload::WorkloadSpec;
use md5::{Digest, Md5};
use std::fmt::Write;

pub struct AppendWorkload {
    table: String,
    batch_rows: u32,
    payload_bytes: u32,
}

/// The payload of one row: the MD5 hex of `run:writer:txn:row`, repeated to `bytes` characters.
pub fn payload(run_id: &str, writer: u32, txn_seq: u64, row: u32, bytes: u32) -> String {
    let seed = hex::encode(Md5::digest(format!("{run_id}:{writer}:{txn_seq}:{row}").as_bytes()));
    seed.repeat((bytes as usize).div_ceil(32))
        .chars()
        .take(bytes as usize)
        .collect()
}

/// The same payload computed by DuckDB from a row's own columns, for the checker.
pub fn payload_sql(bytes: u32) -> String {
    format!(
        "left(repeat(md5(concat_ws(':', run_id, writer_id, txn_seq, row_seq)), {}), {bytes})",
        (bytes as usize).div_ceil(32)
    )
}

impl AppendWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        AppendWorkload {
            table: qualified(table),
            batch_rows: spec.batch_rows,
            payload_bytes: spec.payload_bytes,
        }
    }

    pub fn rows(&self) -> u32 {
        self.batch_rows
    }

    /// One INSERT with the whole batch as literal rows (hex payloads need no escaping).
    pub fn insert_sql(&self, run_id: &str, writer: u32, txn_seq: u64) -> String {
        rows_insert_sql(
            &self.table,
            run_id,
            writer as i64,
            txn_seq,
            0..self.batch_rows,
            self.payload_bytes,
        )
    }
}

/// One INSERT of the given `row_seq` values as literal rows of the append table's columns,
/// each with its recomputable payload and checksum (upsert writes its keys through it too;
/// its seed rows have writer -1, whose payload is derived from `writer as u32`).
pub fn rows_insert_sql(
    table: &str,
    run_id: &str,
    writer: i64,
    txn_seq: u64,
    rows: impl IntoIterator<Item = u32>,
    payload_bytes: u32,
) -> String {
    format!(
        "INSERT INTO {table} ({COLUMNS}) {}",
        rows_values_sql(run_id, writer, txn_seq, rows, payload_bytes)
    )
}

/// The append table's columns, in the order [`rows_values_sql`] writes them.
pub const COLUMNS: &str = "run_id, writer_id, txn_seq, row_seq, payload, checksum, written_at";

/// `VALUES (…), (…)` of [`rows_insert_sql`], for statements that take rows another way
/// (upsert's MERGE INTO … USING).
pub fn rows_values_sql(
    run_id: &str,
    writer: i64,
    txn_seq: u64,
    rows: impl IntoIterator<Item = u32>,
    payload_bytes: u32,
) -> String {
    let mut sql = String::from("VALUES ");
    for (i, row) in rows.into_iter().enumerate() {
        let payload = payload(run_id, writer as u32, txn_seq, row, payload_bytes);
        let checksum = hex::encode(Md5::digest(payload.as_bytes()));
        if i > 0 {
            sql.push(',');
        }
        let _ = write!(
            sql,
            "('{run_id}',{writer},{txn_seq},{row},'{payload}','{checksum}',now())"
        );
    }
    sql
}

#[cfg(test)]
mod tests {
    #[test]
    fn payloads_depend_on_every_coordinate_and_have_the_asked_length() {
        let p = super::payload("r", 1, 2, 3, 70);
        assert_eq!(p.len(), 70);
        assert_eq!(p, super::payload("r", 1, 2, 3, 70));
        assert_ne!(p, super::payload("r", 1, 3, 3, 70));
        assert_ne!(p, super::payload("r", 2, 2, 3, 70));
        assert_eq!(super::payload("r", 1, 2, 3, 0), "");
    }
}

//! The `delete` workload: deleters remove rows while appenders insert, into one table.
//! Writers `0..deleters` delete, the others append batches exactly as the `append`
//! workload does. Before the writers start, the table is seeded with `batch_rows` rows per
//! slice (written by no writer), so deletes have rows to remove from the first moment.
//! The rows fall into `SLICES` slices by their (writer, transaction, row);
//! each delete transaction removes every row of one slice, chosen by (writer, transaction)
//! alone, so the checker knows what each delete must have removed: every row of its slice
//! committed before it. DuckLake's rules make a delete conflict with any insert into the
//! table committed since its snapshot, so a delete can never miss a row committed before
//! it, nor remove one committed after.

use crate::util::lake_table::qualified;
use crate::workload::append::AppendWorkload;
use crate::workload::upsert::SEED_WRITER;
use crate::workload::WorkloadSpec;
use md5::Digest;
use std::fmt::Write;

/// How many slices the rows fall into: each delete removes about 1 row in this many.
pub const SLICES: u32 = 10;

/// The slice of a row, from its coordinates (the seed's writer is -1: `writer + 1` keeps
/// every term non-negative, so SQL's `%` and this one agree).
pub fn slice_of(writer: i64, txn: i64, row: i64) -> u32 {
    (((writer + 1) * 7 + txn * 13 + row) % SLICES as i64) as u32
}

/// The same, computed by DuckDB from a row's own columns.
fn slice_sql() -> String {
    format!("((writer_id + 1) * 7 + txn_seq * 13 + row_seq) % {SLICES}")
}

/// The slice delete transaction `txn` of deleter `writer` removes.
pub fn slice_deleted_by(writer: u32, txn: u64) -> u32 {
    ((writer as u64 * 3 + txn) % SLICES as u64) as u32
}

pub struct DeleteWorkload {
    table: String,
    deleters: u32,
    payload_bytes: u32,
    append: AppendWorkload,
}

impl DeleteWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        let deleters = spec.delete.as_ref().map(|d| d.deleters).unwrap_or(1);
        DeleteWorkload {
            table: qualified(table),
            deleters,
            payload_bytes: spec.payload_bytes,
            append: AppendWorkload::new(spec, table),
        }
    }

    pub fn is_deleter(&self, writer: u32) -> bool {
        writer < self.deleters
    }

    /// Rows a transaction of `writer` inserts (none for a deleter).
    pub fn rows_for(&self, writer: u32) -> u32 {
        if self.is_deleter(writer) {
            0
        } else {
            self.append.rows()
        }
    }

    /// `batch_rows` rows per slice, written by no writer (`SEED_WRITER`), transaction 0.
    pub fn seed_sql(&self, run_id: &str) -> String {
        let mut sql = format!(
            "INSERT INTO {} (run_id, writer_id, txn_seq, row_seq, payload, checksum, written_at) VALUES ",
            self.table
        );
        for row in 0..self.append.rows() * SLICES {
            let payload = crate::workload::append::payload(run_id, SEED_WRITER as u32, 0, row, self.payload_bytes);
            let checksum = hex::encode(md5::Md5::digest(payload.as_bytes()));
            let sep = if row > 0 { "," } else { "" };
            let _ = write!(
                sql,
                "{sep}('{run_id}',{SEED_WRITER},0,{row},'{payload}','{checksum}',now())"
            );
        }
        sql
    }

    pub fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        if self.is_deleter(writer) {
            format!(
                "DELETE FROM {} WHERE run_id = '{run_id}' AND {} = {}",
                self.table,
                slice_sql(),
                slice_deleted_by(writer, txn)
            )
        } else {
            self.append.insert_sql(run_id, writer, txn)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_every_row_and_deletes_cycle_through_them() {
        let seen: std::collections::BTreeSet<u32> = (0..50).map(|r| slice_of(3, 4, r)).collect();
        assert_eq!(seen.len(), SLICES as usize);
        let deleted: std::collections::BTreeSet<u32> = (0..SLICES as u64).map(|t| slice_deleted_by(0, t)).collect();
        assert_eq!(deleted.len(), SLICES as usize);
        let seed: std::collections::BTreeSet<u32> =
            (0..SLICES as i64).map(|r| slice_of(SEED_WRITER as i64, 0, r)).collect();
        assert_eq!(seed.len(), SLICES as usize);
    }
}

//! The `delete` workload: deleters remove rows while appenders insert, into one table.
//! Writers `0..deleters` delete, the others append batches exactly as the `append`
//! workload does. The rows fall into `SLICES` slices by their (writer, transaction, row);
//! each delete transaction removes every row of one slice, chosen by (writer, transaction)
//! alone, so the checker knows what each delete must have removed: every row of its slice
//! committed before it. DuckLake's rules make a delete conflict with any insert into the
//! table committed since its snapshot, so a delete can never miss a row committed before
//! it, nor remove one committed after.

use super::append::AppendWorkload;
use crate::lake::table::qualified;
use crate::scenario::WorkloadSpec;

/// How many slices the rows fall into: each delete removes about 1 row in this many.
pub const SLICES: u32 = 10;

/// The slice of a row, from its coordinates.
pub fn slice_of(writer: i64, txn: i64, row: i64) -> u32 {
    (writer * 7 + txn * 13 + row).rem_euclid(SLICES as i64) as u32
}

/// The same, computed by DuckDB from a row's own columns.
fn slice_sql() -> String {
    format!("(writer_id * 7 + txn_seq * 13 + row_seq) % {SLICES}")
}

/// The slice delete transaction `txn` of deleter `writer` removes.
pub fn slice_deleted_by(writer: u32, txn: u64) -> u32 {
    ((writer as u64 * 3 + txn) % SLICES as u64) as u32
}

pub struct DeleteWorkload {
    table: String,
    deleters: u32,
    append: AppendWorkload,
}

impl DeleteWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        let deleters = spec.delete.as_ref().map(|d| d.deleters).unwrap_or(1);
        DeleteWorkload { table: qualified(table), deleters, append: AppendWorkload::new(spec, table) }
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

    pub fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        if self.is_deleter(writer) {
            format!("DELETE FROM {} WHERE run_id = '{run_id}' AND {} = {}", self.table, slice_sql(), slice_deleted_by(writer, txn))
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
    }
}

//! The `upsert` workload: each transaction replaces a few keys of a key space all writers
//! share, `DELETE … WHERE row_seq IN (keys)` then `INSERT` of those keys (or, with
//! `statement = "merge"`, one `MERGE INTO` leaving the same rows), in the append table's
//! own columns (`row_seq` is the key). Which keys a transaction replaces follows
//! from (run, writer, transaction) alone, so the checker knows without asking anyone.
//! DuckLake's conflict rules say a transaction that deletes from a table conflicts with one
//! that inserted into it since its snapshot: two concurrent upserts of a key must not both
//! commit, so every key is present at most once, written by the last committed writer.

use super::UpsertStatement;
use crate::util::lake_table::qualified;
use crate::workload::append::{rows_insert_sql, rows_values_sql, COLUMNS};
use crate::workload::WorkloadSpec;
use md5::{Digest, Md5};

/// The writer id of the rows a seeded table starts with.
pub const SEED_WRITER: i32 = -1;

pub struct UpsertWorkload {
    table: String,
    keys: u32,
    per_txn: u32,
    payload_bytes: u32,
    statement: UpsertStatement,
}

/// The keys transaction `txn` of `writer` replaces: `per_txn` distinct keys below `keys`,
/// sorted, drawn from an MD5 stream of the transaction's coordinates.
pub fn keys_of(run_id: &str, writer: u32, txn: u64, keys: u32, per_txn: u32) -> Vec<u32> {
    let mut chosen = std::collections::BTreeSet::new();
    let mut round = 0u32;
    while (chosen.len() as u32) < per_txn.min(keys) {
        let digest = Md5::digest(format!("{run_id}:{writer}:{txn}:{round}").as_bytes());
        chosen.insert(u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]) % keys);
        round += 1;
    }
    chosen.into_iter().collect()
}

impl UpsertWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        UpsertWorkload {
            table: qualified(table),
            keys: spec.keys,
            per_txn: spec.batch_rows,
            payload_bytes: spec.payload_bytes,
            statement: spec.upsert.unwrap_or_default().statement,
        }
    }

    pub fn rows(&self) -> u32 {
        self.per_txn
    }

    /// DELETE the transaction's keys (of this run), then INSERT them with its own rows; or
    /// one MERGE INTO doing both.
    pub fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        self.sql_of_keys(
            run_id,
            writer,
            txn,
            &keys_of(run_id, writer, txn, self.keys, self.per_txn),
        )
    }

    /// `txn_sql` replacing only the keys at `rows` among the transaction's (sorted) keys;
    /// None when that leaves none.
    pub fn txn_sql_rows(&self, run_id: &str, writer: u32, txn: u64, rows: &[usize]) -> Option<String> {
        let all = keys_of(run_id, writer, txn, self.keys, self.per_txn);
        let keys: Vec<u32> = rows.iter().filter_map(|&i| all.get(i).copied()).collect();
        (!keys.is_empty()).then(|| self.sql_of_keys(run_id, writer, txn, &keys))
    }

    fn sql_of_keys(&self, run_id: &str, writer: u32, txn: u64, keys: &[u32]) -> String {
        if self.statement == UpsertStatement::Merge {
            return self.merge_sql(run_id, writer, txn, keys);
        }
        let list = keys.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(",");
        let mut sql = format!(
            "DELETE FROM {} WHERE run_id = '{run_id}' AND row_seq IN ({list}); ",
            self.table
        );
        sql.push_str(&self.insert(run_id, writer as i64, txn, keys));
        sql
    }

    /// A key of this run present is updated in place to the transaction's row, an absent
    /// one inserted: the same rows as DELETE + INSERT leave.
    fn merge_sql(&self, run_id: &str, writer: u32, txn: u64, keys: &[u32]) -> String {
        let values = rows_values_sql(run_id, writer as i64, txn, keys.iter().copied(), self.payload_bytes);
        let new_cols = COLUMNS
            .split(", ")
            .map(|c| format!("new.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "MERGE INTO {table} AS old USING ({values}) AS new({COLUMNS}) \
             ON old.run_id = new.run_id AND old.row_seq = new.row_seq \
             WHEN MATCHED THEN UPDATE SET writer_id = new.writer_id, txn_seq = new.txn_seq, payload = new.payload, \
             checksum = new.checksum, written_at = new.written_at \
             WHEN NOT MATCHED THEN INSERT ({COLUMNS}) VALUES ({new_cols})",
            table = self.table
        )
    }

    /// One row for every key, written by no writer (`SEED_WRITER`), before the run.
    pub fn seed_sql(&self, run_id: &str) -> String {
        let keys: Vec<u32> = (0..self.keys).collect();
        self.insert(run_id, SEED_WRITER as i64, 0, &keys)
    }

    fn insert(&self, run_id: &str, writer: i64, txn: u64, keys: &[u32]) -> String {
        rows_insert_sql(
            &self.table,
            run_id,
            writer,
            txn,
            keys.iter().copied(),
            self.payload_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_in_range_and_follow_from_the_transaction() {
        let k = keys_of("r", 1, 2, 20, 3);
        assert_eq!(k.len(), 3);
        assert!(k.windows(2).all(|w| w[0] < w[1]) && k.iter().all(|k| *k < 20));
        assert_eq!(k, keys_of("r", 1, 2, 20, 3));
        assert_eq!(keys_of("r", 1, 2, 3, 3), vec![0, 1, 2]);
    }
}

//! The `append` workload: each transaction inserts one batch of rows, every row tagged
//! with (run, writer, transaction, row) and an MD5 of its random payload.

use crate::lake::table::qualified;
use crate::scenario::WorkloadSpec;
use md5::{Digest, Md5};
use rand::Rng;
use std::fmt::Write;

pub struct AppendWorkload {
    table: String,
    batch_rows: u32,
    payload_bytes: u32,
}

impl AppendWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        AppendWorkload { table: qualified(table), batch_rows: spec.batch_rows, payload_bytes: spec.payload_bytes }
    }

    pub fn rows(&self) -> u32 {
        self.batch_rows
    }

    /// One INSERT with the whole batch as literal rows (hex payloads need no escaping).
    pub fn insert_sql(&self, run_id: &str, writer: u32, txn_seq: u64) -> String {
        let mut rng = rand::rng();
        let mut sql = format!(
            "INSERT INTO {} (run_id, writer_id, txn_seq, row_seq, payload, checksum, written_at) VALUES ",
            self.table
        );
        let mut raw = vec![0u8; self.payload_bytes.div_ceil(2) as usize];
        for row in 0..self.batch_rows {
            rng.fill(&mut raw[..]);
            let mut payload = hex::encode(&raw);
            payload.truncate(self.payload_bytes as usize);
            let checksum = hex::encode(Md5::digest(payload.as_bytes()));
            if row > 0 {
                sql.push(',');
            }
            let _ = write!(sql, "('{run_id}',{writer},{txn_seq},{row},'{payload}','{checksum}',now())");
        }
        sql
    }
}

//! The `counter` workload: read-modify-write increments of counters all writers share. The
//! table holds one row per counter, seeded at 0 before the writers start; each transaction
//! increments `batch_rows` of them by one, either inside one statement (`UPDATE … SET v =
//! v + 1`) or the way pipelines that compute in between do it: SELECT the values, then
//! UPDATE them to what was read plus one. Which counters a transaction increments follows
//! from (run, writer, transaction) alone, so the checker knows without asking anyone.
//! DuckLake takes every UPDATE as a delete plus an insert, and two concurrent transactions
//! that delete from and insert into one table conflict: a lost update must not happen.

use super::{CounterSpec, CounterStatement};
use crate::util::lake_table::qualified;
use crate::workload::keyed;
use crate::workload::upsert::keys_of;
use crate::workload::WorkloadSpec;

pub struct CounterWorkload {
    table: String,
    counters: u32,
    per_txn: u32,
    statement: CounterStatement,
}

/// The counters transaction `txn` of `writer` increments, sorted.
pub fn counters_of(run_id: &str, writer: u32, txn: u64, counters: u32, per_txn: u32) -> Vec<u32> {
    keys_of(run_id, writer, txn, counters, per_txn)
}

impl CounterWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        let c = spec.counter.clone().unwrap_or(CounterSpec {
            counters: spec.batch_rows,
            statement: CounterStatement::Update,
        });
        CounterWorkload {
            table: qualified(table),
            counters: c.counters,
            per_txn: spec.batch_rows,
            statement: c.statement,
        }
    }

    pub fn rows(&self) -> u32 {
        self.per_txn
    }

    pub fn seed_sql(&self, table: &str, run_id: &str) -> String {
        keyed::seed_sql(table, run_id, self.counters, 0)
    }

    /// The statements of one transaction, on the writer's open transaction.
    pub fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        let keys = counters_of(run_id, writer, txn, self.counters, self.per_txn);
        let sql = match self.statement {
            CounterStatement::Update => format!(
                "UPDATE {} SET v = v + 1, writer_id = {writer}, txn_seq = {txn}, written_at = now() WHERE run_id = \
                    '{run_id}' AND k IN ({})",
                self.table,
                keyed::key_list(&keys)
            ),
            CounterStatement::ReadThenWrite => {
                let read = keyed::read_values(conn, &self.table, run_id, &keys)?;
                let next: Vec<i64> = read.iter().map(|v| v + 1).collect();
                keyed::write_values_sql(&self.table, run_id, writer, txn, &keys, &next)
            }
        };
        conn.execute_batch(&sql).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_then_write_sets_each_counter_to_its_own_value() {
        let sql = keyed::write_values_sql("lake.\"c\"", "r", 2, 7, &[1, 4], &[10, 3]);
        assert!(sql.contains("CASE k WHEN 1 THEN 10 WHEN 4 THEN 3 END"), "{sql}");
        assert!(
            sql.contains("writer_id = 2, txn_seq = 7") && sql.ends_with("k IN (1,4)"),
            "{sql}"
        );
    }
}

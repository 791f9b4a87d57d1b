//! The `ddl` workload: DDL churn beside inserts. Each transaction does one of four things,
//! chosen from (run, writer, transaction) alone so the checker knows which without asking:
//! `CREATE OR REPLACE TABLE … AS` on a name all writers share, the same on the writer's own
//! name, `ALTER TABLE <table> ADD COLUMN` with a column named after the transaction, or an
//! `INSERT` of `batch_rows` rows into that same table (append's rows). A CTAS table's rows
//! name the transaction that made it. Names carry 8 hex digits of the run id, so runs into
//! one lake do not meet.

use crate::util::lake_table::qualified;
use crate::workload::append::rows_insert_sql;
use crate::workload::WorkloadSpec;
use md5::{Digest, Md5};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ReplaceShared,
    ReplacePrivate,
    AddColumn,
    Insert,
}

/// Which operation transaction `txn` of `writer` runs.
pub fn op_of(run_id: &str, writer: u32, txn: u64) -> Op {
    match crate::workload::upsert::keys_of(run_id, writer, txn, 4, 1)[0] {
        0 => Op::ReplaceShared,
        1 => Op::ReplacePrivate,
        2 => Op::AddColumn,
        _ => Op::Insert,
    }
}

/// The names a run's DDL uses, given the scenario's table.
pub struct Names {
    pub base: String,
    run_tag: String,
}

impl Names {
    pub fn new(table: &str, run_id: &str) -> Self {
        Names {
            base: table.to_string(),
            run_tag: hex::encode(Md5::digest(run_id.as_bytes()))[..8].to_string(),
        }
    }

    pub fn shared(&self) -> String {
        format!("{}_shared_{}", self.base, self.run_tag)
    }

    pub fn private(&self, writer: u32) -> String {
        format!("{}_w{writer}_{}", self.base, self.run_tag)
    }

    /// The column transaction `txn` of `writer` adds to the base table.
    pub fn column(&self, writer: u32, txn: u64) -> String {
        format!("c_{}_w{writer}_t{txn}", self.run_tag)
    }

    /// How the name of every table this run replaces ends.
    pub fn table_suffix(&self) -> String {
        format!("_{}", self.run_tag)
    }

    /// The prefix of every column this run adds.
    pub fn column_prefix(&self) -> String {
        format!("c_{}_", self.run_tag)
    }
}

pub struct DdlWorkload {
    table: String,
    rows: u32,
    payload_bytes: u32,
}

impl DdlWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        DdlWorkload {
            table: table.to_string(),
            rows: spec.batch_rows,
            payload_bytes: spec.payload_bytes,
        }
    }

    pub fn rows(&self) -> u32 {
        self.rows
    }

    pub fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        let names = Names::new(&self.table, run_id);
        let replace = |name: String| {
            format!(
                "CREATE OR REPLACE TABLE {} AS SELECT '{run_id}' AS run_id, {writer} AS writer_id, {txn}::BIGINT AS \
                    txn_seq, range::INTEGER AS row_seq FROM range({})",
                qualified(&name),
                self.rows
            )
        };
        match op_of(run_id, writer, txn) {
            Op::ReplaceShared => replace(names.shared()),
            Op::ReplacePrivate => replace(names.private(writer)),
            Op::AddColumn => format!(
                "ALTER TABLE {} ADD COLUMN {} INTEGER",
                qualified(&self.table),
                names.column(writer, txn)
            ),
            Op::Insert => rows_insert_sql(
                &qualified(&self.table),
                run_id,
                writer as i64,
                txn,
                0..self.rows,
                self.payload_bytes,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_drawn_and_names_carry_the_run() {
        let ops: std::collections::BTreeSet<_> = (0..40).map(|t| format!("{:?}", op_of("r", 0, t))).collect();
        assert_eq!(ops.len(), 4, "{ops:?}");
        let n = Names::new("t", "r");
        assert!(
            n.shared().starts_with("t_shared_")
                && n.private(3).starts_with("t_w3_")
                && n.column(1, 2).starts_with(&n.column_prefix())
        );
        assert_ne!(Names::new("t", "r2").shared(), n.shared());
    }
}

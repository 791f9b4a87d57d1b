//! `kind = "ddl"`: CREATE OR REPLACE and ALTER TABLE beside inserts (see `generator`).

mod generator;

pub use generator::*;

use super::{Generator, Workload, WorkloadSpec};

pub struct Ddl;

impl Workload for Ddl {
    fn name(&self) -> &'static str {
        "ddl"
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(DdlWorkload::new(spec, table))
    }

    fn rows_replaced(&self) -> Option<&'static str> {
        Some("the ddl workload replaces tables and alters them by design: ddl_tables checks them")
    }

    fn checks(&self) -> &'static [&'static str] {
        &["ddl_tables"]
    }

    fn step(&self) -> &'static str {
        "ddl: CREATE OR REPLACE / ALTER TABLE / INSERT (step insert)"
    }
}

impl Generator for DdlWorkload {
    fn rows_for(&self, _writer: u32) -> u32 {
        self.rows()
    }

    fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        DdlWorkload::txn_sql(self, run_id, writer, txn)
    }
}

//! `kind = "ddl"`: CREATE OR REPLACE and ALTER TABLE beside inserts (see `generator`).

mod generator;

pub use generator::*;

use super::{About, Generator, Workload, WorkloadSpec};

pub struct Ddl;

impl Workload for Ddl {
    fn about(&self) -> About {
        About::new("ddl", "ddl: CREATE OR REPLACE / ALTER TABLE / INSERT (step insert)")
            .judged_by("replaces tables and alters them by design", &["ddl_tables"])
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(DdlWorkload::new(spec, table))
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

//! `kind = "append"`: each transaction inserts one batch of new rows (see `generator`).

mod generator;

pub use generator::*;

use super::{About, Generator, Workload, WorkloadSpec};

pub struct Append;

impl Workload for Append {
    fn about(&self) -> About {
        About::new("append", "append: the INSERT of the batch (step insert)")
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(AppendWorkload::new(spec, table))
    }
}

impl Generator for AppendWorkload {
    fn rows_for(&self, _writer: u32) -> u32 {
        self.rows()
    }

    fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        self.insert_sql(run_id, writer, txn)
    }
}

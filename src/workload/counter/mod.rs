//! `kind = "counter"`: read-modify-write increments of shared counters (see `generator`).

mod generator;

pub use generator::*;

use super::keys::{field_names, Keys};
use super::{About, Generator, Workload, WorkloadSpec};
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CounterSpec {
    /// Counters all writers share, each a row seeded at 0.
    pub counters: u32,
    pub statement: CounterStatement,
}

/// How a transaction increments its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CounterStatement {
    /// `UPDATE … SET v = v + 1 WHERE k IN (…)`: the database reads and writes.
    #[default]
    Update,
    /// `SELECT v … WHERE k IN (…)`, then `UPDATE … SET v = <value read + 1>`: the client
    /// reads and writes, as pipelines that compute in between do.
    ReadThenWrite,
}

/// `kind = "counter"`'s keys: `batch_rows` is the counters one transaction increments.
#[derive(Deserialize)]
struct CounterKeys {
    batch_rows: Option<Spanned<u32>>,
    counters: Option<Spanned<u32>>,
    statement: Option<Spanned<String>>,
}

pub struct Counter;

impl Workload for Counter {
    fn about(&self) -> About {
        About::new("counter", "counter: the UPDATE of the counters (step insert)")
            .keyed()
            .judged_by("updates rows in place by design", &["counter_increments"])
    }

    fn keys(&self) -> &'static [&'static str] {
        field_names::<CounterKeys>()
    }

    fn refuses(&self, key: &str) -> Option<&'static str> {
        (key == "payload_bytes").then_some("a counter row holds a number")
    }

    fn values_of(&self, key: &str) -> Option<&'static str> {
        (key == "statement").then_some("\"update\", \"read_then_write\"")
    }

    /// `batch_rows` defaults to 1 counter a transaction, at most all of them.
    fn validate(&self, keys: &Keys) -> anyhow::Result<WorkloadSpec> {
        let k: CounterKeys = keys.read()?;
        let mut spec = keys.batch(k.batch_rows.as_ref(), None, 1)?;
        let counters = k.counters.as_ref().map(|c| *c.get_ref()).unwrap_or(5);
        if counters < spec.batch_rows || counters > 100_000 {
            return Err(keys.error(
                k.counters.as_ref().map(|c| c.span()),
                "workload.counters",
                &format!(
                    "is {counters}; allowed: batch_rows ({}, the counters one transaction increments) to 100000.",
                    spec.batch_rows
                ),
            ));
        }
        let statement = match k.statement.as_ref().map(|s| (s, s.get_ref().as_str())) {
            None | Some((_, "update")) => CounterStatement::Update,
            Some((_, "read_then_write")) => CounterStatement::ReadThenWrite,
            Some((s, _)) => {
                return Err(keys.at(
                    s,
                    "workload.statement",
                    "for kind = \"counter\" allowed: \"update\" or \"read_then_write\".",
                ))
            }
        };
        spec.counter = Some(CounterSpec { counters, statement });
        Ok(spec)
    }

    /// Every counter at 0.
    fn seed_sql(&self, spec: &WorkloadSpec, table: &str, run_id: &str) -> Option<String> {
        Some(CounterWorkload::new(spec, table).seed_sql(table, run_id))
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(CounterWorkload::new(spec, table))
    }
}

impl Generator for CounterWorkload {
    fn rows_for(&self, _writer: u32) -> u32 {
        self.rows()
    }

    fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        CounterWorkload::run_txn(self, conn, run_id, writer, txn)
    }
}

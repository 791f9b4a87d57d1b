//! `kind = "sql"`: the user's own statements per transaction, templated (see `generator`).

mod generator;
mod keys;
mod spec;

pub use generator::*;
pub use spec::*;

use super::keys::{field_names, Keys};
use super::{About, Generator, Workload, WorkloadSpec};

pub struct Sql;

impl Workload for Sql {
    fn about(&self) -> About {
        About::new("sql", "sql: the user's statements")
            .users_tables()
            .judged_by("writes what the user's statements say", &["sql_statements"])
    }

    fn keys(&self) -> &'static [&'static str] {
        field_names::<keys::SqlKeys>()
    }

    fn refuses(&self, key: &str) -> Option<&'static str> {
        match key {
            "payload_bytes" => Some("your statements say what they write"),
            "seed" => Some("a sql workload seeds its table with `setup`"),
            _ => None,
        }
    }

    fn validate(&self, keys: &Keys) -> anyhow::Result<WorkloadSpec> {
        let k: keys::SqlKeys = keys.read()?;
        let mut spec = keys.batch(k.batch_rows.as_ref(), None, 3)?;
        keys.key_space(&mut spec, k.keys.as_ref())?;
        let mut sql = keys::validate_sql(&k, keys)?;
        // Errors of its statements name them where the file has them.
        sql.origin = keys.origin();
        spec.sql = Some(sql);
        Ok(spec)
    }

    fn seed_sql(&self, spec: &WorkloadSpec, table: &str, run_id: &str) -> Option<String> {
        SqlWorkload::new(spec, table).setup_sql(run_id)
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(SqlWorkload::new(spec, table))
    }

    fn connect_sql(&self, spec: &WorkloadSpec) -> Vec<String> {
        vec![use_sql(spec.sql.as_ref().map_or("main", |s| s.schema.as_str()))]
    }
}

impl Generator for SqlWorkload {
    // What the user's statements write is theirs to say.
    fn rows_for(&self, _writer: u32) -> u32 {
        0
    }

    /// The statements as a writer ran them (after its `USE` of the run's schema), for
    /// `repro`; writers run them one by one (`run_txn`), to name the one that failed.
    fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        SqlWorkload::txn_sql(self, run_id, writer, txn)
    }

    fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        SqlWorkload::run_txn(self, conn, run_id, writer, txn)
    }

    fn preflight(&self, conn: &duckdb::Connection, run_id: &str) -> Result<(), StatementError> {
        SqlWorkload::preflight(self, conn, run_id)
    }
}

//! What checks look at: a DuckDB instance attached to the lake, a Postgres session on the
//! catalog database, the object store, and (after a run) the writers' ledger.

use crate::benchmark::metrics::TxnRecord;
use crate::environment::EnvFile;
use crate::scenario::ChecksSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Facts only a run knows. `check` on an existing lake may read them from a run directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunFacts {
    pub run_id: String,
    pub batch_rows: u32,
    /// Per writer, every transaction and how it ended.
    pub ledger: BTreeMap<u32, Vec<TxnRecord>>,
    /// pg_stat_database.xact_rollback of the catalog database before and after the writers.
    pub catalog_rollbacks_before: Option<i64>,
    pub catalog_rollbacks_after: Option<i64>,
    pub harness_retries: u64,
    pub failed_attempts: u64,
}

pub struct CheckContext<'a> {
    pub lake: &'a duckdb::Connection,
    pub catalog: &'a tokio_postgres::Client,
    pub env: &'a EnvFile,
    pub table: &'a str,
    pub run: Option<&'a RunFacts>,
    pub thresholds: &'a ChecksSpec,
    /// application_name prefixes of the harness's own sessions (monitor, checker), which
    /// the leftover check does not count.
    pub own_sessions: Vec<String>,
}

impl CheckContext<'_> {
    pub fn catalog_query(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> anyhow::Result<Vec<tokio_postgres::Row>> {
        crate::runtime::block_on(crate::pg::query_with_deadline(self.catalog, sql, params, std::time::Duration::from_secs(10)))
    }

    pub fn table(&self) -> String {
        crate::lake::table::qualified(self.table)
    }
}

//! What checks look at: a DuckDB instance attached to the lake, a Postgres session on the
//! catalog database, the object store, and (after a run) the run's history and facts.

use crate::environment::EnvFile;
use crate::history::Txn;
use crate::scenario::{CatalogKind, ChecksSpec, WorkloadKind, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a run knows besides its history, written to `facts.json` in the run directory when
/// the writers start (and again when they end), so `check --run-dir` can judge a run that
/// crashed.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunRecord {
    pub run_id: String,
    pub table: String,
    pub writers: u32,
    pub batch_rows: u32,
    pub payload_bytes: u32,
    /// The upsert workload's key space (0: the append workload) and whether it was seeded.
    #[serde(default)]
    pub upsert_keys: u32,
    #[serde(default)]
    pub seeded: bool,
    /// The whole workload as the scenario set it (absent from facts of older versions).
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
    /// Every object under the lake's data path before the writers started, so that only
    /// orphans this run added are held against it.
    pub objects_before: Option<Vec<String>>,
    /// pg_stat_database.xact_rollback of the catalog database once every writer had
    /// attached (ATTACH's own rollbacks are not the writers' retries), and after the run.
    pub catalog_rollbacks_before: Option<i64>,
    pub catalog_rollbacks_after: Option<i64>,
    /// Why the counter cannot be trusted for this run, if it cannot.
    #[serde(default)]
    pub catalog_rollbacks_untrusted: Option<String>,
}

pub const FACTS_FILE: &str = "facts.json";

impl RunRecord {
    /// Why the append checks (every committed row present) do not apply, if they do not.
    pub fn rows_are_replaced(&self) -> Option<String> {
        self.workload_kind().rows_replaced()
    }

    /// The run's workload; facts of older versions name none: upsert when they have a key
    /// space, else append.
    pub fn workload_kind(&self) -> WorkloadKind {
        match &self.workload {
            Some(w) => w.kind,
            None if self.upsert_keys > 0 => crate::workload::upsert::kind(),
            None => Default::default(),
        }
    }

    /// The run's workload as the scenario set it; an error for facts of older versions,
    /// which did not keep it.
    pub fn workload(&self) -> anyhow::Result<&WorkloadSpec> {
        self.workload
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("the run's facts do not say what its workload was (an older version)"))
    }

    pub fn write(&self, run_dir: &Path) -> anyhow::Result<()> {
        crate::util::write_atomically(&run_dir.join(FACTS_FILE), &serde_json::to_vec_pretty(self)?)
    }

    pub fn read(run_dir: &Path) -> anyhow::Result<Self> {
        let path = run_dir.join(FACTS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            crate::error::bad_input(format!(
                "{}: cannot read the run's facts ({e}); --run-dir must be a \
                results directory written by ducklake-stress.",
                path.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            crate::error::bad_input(format!(
                "{}: not a facts file written by ducklake-stress ({e}).",
                path.display()
            ))
        })
    }
}

/// A run's facts and its history, folded into transactions.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub record: RunRecord,
    pub txns: Vec<Txn>,
    /// The `maintenance` and `reader` actors' entries, in history order.
    pub actor_events: Vec<crate::history::Event>,
}

impl RunFacts {
    /// Reads `facts.json` and `history.ndjson` of a run directory.
    pub fn load(run_dir: &Path) -> anyhow::Result<Self> {
        let record = RunRecord::read(run_dir)?;
        let events = crate::history::recorder::load(&run_dir.join(crate::history::FILE))?;
        Ok(RunFacts {
            record,
            txns: crate::history::transaction::fold(&events),
            actor_events: events.into_iter().filter(|e| e.is_actor()).collect(),
        })
    }

    pub fn run_id(&self) -> &str {
        &self.record.run_id
    }
}

pub struct CheckContext<'a> {
    pub lake: &'a duckdb::Connection,
    /// The environment's Postgres: the catalog itself when `catalog_kind` is Postgres.
    pub catalog: &'a tokio_postgres::Client,
    pub catalog_kind: CatalogKind,
    /// For a SQLite or DuckDB-file catalog: a connection to the lake's instance whose
    /// default database is DuckLake's metadata database, so the catalog tables are read
    /// by their plain names, as over Postgres.
    pub metadata: Option<&'a duckdb::Connection>,
    pub env: &'a EnvFile,
    pub table: &'a str,
    pub run: Option<&'a RunFacts>,
    pub thresholds: &'a ChecksSpec,
    /// application_name prefixes of the harness's own sessions (monitor, checker), which
    /// the session checks do not count.
    pub own_sessions: Vec<String>,
}

impl CheckContext<'_> {
    pub fn catalog_query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> anyhow::Result<Vec<tokio_postgres::Row>> {
        crate::runtime::block_on(crate::environment::pg::query_with_deadline(
            self.catalog,
            sql,
            params,
            std::time::Duration::from_secs(10),
        ))
    }

    /// The run's history, for a check that `needs_history` (it is skipped without one).
    pub fn history(&self) -> anyhow::Result<&RunFacts> {
        self.run
            .ok_or_else(|| anyhow::anyhow!("needs a run's history (pass --run-dir)"))
    }

    /// Why a check that reads Postgres itself (sessions, locks, counters) does not apply.
    pub fn no_postgres(&self) -> Option<String> {
        self.catalog_kind.no_postgres()
    }

    pub fn table(&self) -> String {
        crate::lake::table::qualified(self.table)
    }
}

/// Rows of a query on a file catalog's tables, each read by `row`.
pub fn metadata_rows<T>(
    metadata: &duckdb::Connection,
    sql: &str,
    row: impl FnMut(&duckdb::Row) -> duckdb::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut stmt = metadata.prepare(sql)?;
    let rows = stmt.query_map([], row)?.collect::<Result<Vec<T>, _>>()?;
    Ok(rows)
}

/// A second connection to the lake's instance, its default database DuckLake's metadata
/// database (`__ducklake_metadata_lake` for a lake attached as `lake`).
pub fn open_metadata(lake: &duckdb::Connection) -> anyhow::Result<duckdb::Connection> {
    let conn = lake.try_clone()?;
    conn.execute_batch(&format!("USE {}", crate::lake::METADATA_ALIAS))?;
    Ok(conn)
}

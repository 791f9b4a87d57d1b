//! What writers write (Jepsen's workload/generator): `append` inserts new rows; `upsert`
//! replaces keys all writers share; `counter` increments shared counters and `bank`
//! transfers between shared accounts, both read-modify-write in one transaction; `delete`
//! has some writers delete slices of the rows the others append; `ddl` replaces tables and
//! adds columns beside inserts; `sql` runs the user's own statements.

pub mod append;
pub mod bank;
pub mod counter;
pub mod ddl;
pub mod delete;
pub mod keyed;
pub mod sql;
pub mod upsert;

use crate::scenario::{WorkloadKind, WorkloadSpec};

pub enum Workload {
    Append(append::AppendWorkload),
    Upsert(upsert::UpsertWorkload),
    Counter(counter::CounterWorkload),
    Bank(bank::BankWorkload),
    Delete(delete::DeleteWorkload),
    Ddl(ddl::DdlWorkload),
    Sql(sql::SqlWorkload),
}

impl Workload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        match spec.kind {
            WorkloadKind::Append => Workload::Append(append::AppendWorkload::new(spec, table)),
            WorkloadKind::Upsert => Workload::Upsert(upsert::UpsertWorkload::new(spec, table)),
            WorkloadKind::Counter => Workload::Counter(counter::CounterWorkload::new(spec, table)),
            WorkloadKind::Bank => Workload::Bank(bank::BankWorkload::new(spec, table)),
            WorkloadKind::Delete => Workload::Delete(delete::DeleteWorkload::new(spec, table)),
            WorkloadKind::Ddl => Workload::Ddl(ddl::DdlWorkload::new(spec, table)),
            WorkloadKind::Sql => Workload::Sql(sql::SqlWorkload::new(spec, table)),
        }
    }

    /// Rows one transaction of `writer` writes.
    pub fn rows_for(&self, writer: u32) -> u32 {
        match self {
            Workload::Delete(w) => w.rows_for(writer),
            Workload::Append(w) => w.rows(),
            Workload::Upsert(w) => w.rows(),
            Workload::Counter(w) => w.rows(),
            Workload::Bank(w) => w.rows(),
            Workload::Ddl(w) => w.rows(),
            // What the user's statements write is theirs to say.
            Workload::Sql(_) => 0,
        }
    }

    /// The statements of transaction `txn` of `writer`, between BEGIN and the tag, on the
    /// writer's connection (some read before they write). Err: the failing statement's
    /// message.
    pub fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        let sql = match self {
            Workload::Append(w) => w.insert_sql(run_id, writer, txn),
            Workload::Upsert(w) => w.txn_sql(run_id, writer, txn),
            Workload::Delete(w) => w.txn_sql(run_id, writer, txn),
            Workload::Ddl(w) => w.txn_sql(run_id, writer, txn),
            Workload::Sql(w) => return w.run_txn(conn, run_id, writer, txn),
            Workload::Counter(w) => return w.run_txn(conn, run_id, writer, txn),
            Workload::Bank(w) => return w.run_txn(conn, run_id, writer, txn),
        };
        conn.execute_batch(&sql).map_err(|e| e.to_string())
    }
}

/// The statement that creates the workload's table if it is missing.
pub fn create_sql(spec: &WorkloadSpec, table: &str) -> String {
    match spec.kind {
        WorkloadKind::Append | WorkloadKind::Upsert | WorkloadKind::Delete | WorkloadKind::Ddl => {
            crate::lake::table::create_sql(table)
        }
        WorkloadKind::Counter | WorkloadKind::Bank => keyed::create_sql(table),
        // The user's `setup` creates what their statements need (run as the seed).
        WorkloadKind::Sql => "SELECT 1".into(),
    }
}

/// A query that fails when the table exists with columns the workload cannot write (it was
/// made by another workload): set-up then says so instead of every transaction failing.
pub fn columns_probe_sql(spec: &WorkloadSpec, table: &str) -> (String, &'static str) {
    let columns = match spec.kind {
        WorkloadKind::Append | WorkloadKind::Upsert | WorkloadKind::Delete | WorkloadKind::Ddl => append::COLUMNS,
        WorkloadKind::Counter | WorkloadKind::Bank => keyed::COLUMNS,
        // The user's table has the user's columns.
        WorkloadKind::Sql => return ("SELECT 1".into(), "(the sql workload's own)"),
    };
    (
        format!("SELECT {columns} FROM {} LIMIT 0", crate::lake::table::qualified(table)),
        columns,
    )
}

/// What the table must hold before the writers start, if anything: upsert's keys when
/// seeded, every counter at 0, every account at its initial balance, rows for the deleters.
pub fn seed_sql(spec: &WorkloadSpec, table: &str, run_id: &str) -> Option<String> {
    match Workload::new(spec, table) {
        Workload::Upsert(w) if spec.seed => Some(w.seed_sql(run_id)),
        Workload::Counter(w) => Some(w.seed_sql(table, run_id)),
        Workload::Bank(w) => Some(w.seed_sql(table, run_id)),
        Workload::Delete(w) => Some(w.seed_sql(run_id)),
        Workload::Sql(w) => w.setup_sql(run_id),
        Workload::Upsert(_) | Workload::Append(_) | Workload::Ddl(_) => None,
    }
}

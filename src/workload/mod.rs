//! What writers write (Jepsen's workload/generator): `append` inserts new rows; `upsert`
//! replaces keys all writers share; `counter` increments shared counters and `bank`
//! transfers between shared accounts, both read-modify-write in one transaction; `delete`
//! has some writers delete slices of the rows the others append; `ddl` replaces tables and
//! adds columns beside inserts; `sql` runs the user's own statements.
//!
//! Each workload is one folder behind the [`Workload`] trait (its keys and their
//! validation, its table and seed, its transactions, the checks that judge it) and one
//! line in [`all`]; the scenario parser, the writers and the checks ask the registry.

pub mod append;
pub mod bank;
pub mod counter;
pub mod ddl;
pub mod delete;
pub mod keyed;
pub mod keys;
mod kind;
mod spec;
pub mod sql;
pub mod upsert;

pub use keys::Keys;
pub use kind::WorkloadKind;
pub use spec::WorkloadSpec;

/// Every workload, the default (`append`) first.
pub fn all() -> &'static [&'static dyn Workload] {
    &[
        &append::Append,
        &upsert::Upsert,
        &counter::Counter,
        &bank::Bank,
        &delete::Delete,
        &ddl::Ddl,
        &sql::Sql,
    ]
}

/// The workload written `kind = "<name>"`.
pub fn by_name(name: &str) -> Option<&'static dyn Workload> {
    all().iter().copied().find(|w| w.name() == name)
}

/// The kind written `kind = "<name>"`, if a workload has that name.
pub fn kind(name: &str) -> Option<WorkloadKind> {
    by_name(name).map(WorkloadKind::of)
}

/// The names of all workloads, as serde lists allowed values: `append`, `upsert`, ...
pub fn names() -> String {
    let names: Vec<String> = all().iter().map(|w| format!("`{}`", w.name())).collect();
    names.join(", ")
}

/// The table a workload writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// The append table: one row per (run, writer, transaction, row), a payload.
    Rows,
    /// One row per key holding a number (counters, accounts).
    Keyed,
    /// The user's own tables, made by their `setup` (run as the seed).
    Own,
}

/// What a workload is: its name, the table it writes, how its rows fare, which checks
/// judge them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// `kind = "<name>"`.
    pub name: &'static str,
    /// The statement that writes the scenario's table, for conflict reports.
    pub step: &'static str,
    pub table: Table,
    /// How its rows change by design, if they do ("updates rows in place by design"); the
    /// checks that expect every committed row unchanged then do not apply.
    pub changes_rows: Option<&'static str>,
    /// The checks (`Check::name`) that judge its own rows.
    pub checks: &'static [&'static str],
    /// Whether the harness counts the rows it commits (the user's statements write what
    /// they write).
    pub counts_rows: bool,
}

impl About {
    /// Rows of the append table, kept as written, counted.
    pub const fn new(name: &'static str, step: &'static str) -> Self {
        About {
            name,
            step,
            table: Table::Rows,
            changes_rows: None,
            checks: &[],
            counts_rows: true,
        }
    }

    pub const fn keyed(self) -> Self {
        About {
            table: Table::Keyed,
            ..self
        }
    }

    /// The user's own tables, whose rows the harness does not count.
    pub const fn users_tables(self) -> Self {
        About {
            table: Table::Own,
            counts_rows: false,
            ..self
        }
    }

    /// Its rows change by design (`how`), and `checks` judge them.
    pub const fn judged_by(self, how: &'static str, checks: &'static [&'static str]) -> Self {
        About {
            changes_rows: Some(how),
            checks,
            ..self
        }
    }
}

/// One workload: what `kind = "<name>"` in `[workload]` or a writing `[[actors]]` group runs.
pub trait Workload: Sync {
    fn about(&self) -> About;

    fn name(&self) -> &'static str {
        self.about().name
    }

    /// The keys it takes besides `kind` (`keys::field_names` of the struct that reads them);
    /// by default `batch_rows` and `payload_bytes`.
    fn keys(&self) -> &'static [&'static str] {
        keys::field_names::<keys::BatchKeys>()
    }

    /// Keys other workloads take that this one refuses, with why (the message says so).
    fn refuses(&self, _key: &str) -> Option<&'static str> {
        None
    }

    /// The values a key takes here, for messages that name every workload taking it.
    fn values_of(&self, _key: &str) -> Option<&'static str> {
        None
    }

    /// Its spec from its keys; errors name the file, the line and the key. By default
    /// `batch_rows` (25) rows of `payload_bytes` (64) per transaction.
    fn validate(&self, keys: &Keys) -> anyhow::Result<WorkloadSpec> {
        let k: keys::BatchKeys = keys.read()?;
        keys.batch(k.batch_rows.as_ref(), k.payload_bytes.as_ref(), 25)
    }

    /// Why `writers` actors cannot run this spec, as (key, what is wrong), if they cannot.
    fn writers_error(&self, _spec: &WorkloadSpec, _writers: u32) -> Option<(&'static str, String)> {
        None
    }

    /// What the table must hold before the writers start, if anything.
    fn seed_sql(&self, _spec: &WorkloadSpec, _table: &str, _run_id: &str) -> Option<String> {
        None
    }

    /// The transactions of one writer.
    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator>;

    /// What a connection runs before this workload's SQL means what it meant in the run
    /// (the sql workload's `USE lake."<schema>"`): `repro` runs it in every session.
    fn connect_sql(&self, _spec: &WorkloadSpec) -> Vec<String> {
        Vec::new()
    }

    fn table(&self) -> Table {
        self.about().table
    }

    /// Why the rows a transaction writes may not stay as written, if they may not.
    fn rows_replaced(&self) -> Option<String> {
        let a = self.about();
        let checks = a.checks.join(" and ");
        a.changes_rows
            .map(|how| format!("the {} workload {how}: {checks} checks them", a.name))
    }

    fn checks(&self) -> &'static [&'static str] {
        self.about().checks
    }

    fn step(&self) -> &'static str {
        self.about().step
    }

    fn counts_rows(&self) -> bool {
        self.about().counts_rows
    }
}

/// One writer's transactions.
pub trait Generator: Send {
    /// Rows one transaction of `writer` writes.
    fn rows_for(&self, writer: u32) -> u32;

    /// The SQL of transaction `txn` of `writer`, when it follows from those alone.
    fn txn_sql(&self, _run_id: &str, _writer: u32, _txn: u64) -> String {
        String::new()
    }

    /// The SQL of transaction `txn` of `writer` writing only the rows at `rows` (positions
    /// among its rows, from 0), where the workload can write a subset: `repro` shrinks
    /// a reproducer's rows with it. None: it cannot, or `rows` names none of them.
    fn txn_sql_rows(&self, _run_id: &str, _writer: u32, _txn: u64, _rows: &[usize]) -> Option<String> {
        None
    }

    /// The statements of transaction `txn` of `writer`, between BEGIN and the tag, on the
    /// writer's connection (some read before they write); by default `txn_sql`. Err: the
    /// failing statement's message.
    fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        conn.execute_batch(&self.txn_sql(run_id, writer, txn))
            .map_err(|e| e.to_string())
    }

    /// One transaction tried and rolled back before any writer starts, for statements that
    /// may not work at all (the user's own).
    fn preflight(&self, _conn: &duckdb::Connection, _run_id: &str) -> Result<(), sql::StatementError> {
        Ok(())
    }
}

/// The transactions of `spec`'s workload on `table`.
pub fn generator(spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
    spec.kind.generator(spec, table)
}

/// The statement that creates the workload's table if it is missing.
pub fn create_sql(spec: &WorkloadSpec, table: &str) -> String {
    match spec.kind.table() {
        Table::Rows => crate::util::lake_table::create_sql(table),
        Table::Keyed => keyed::create_sql(table),
        // The user's `setup` creates what their statements need (run as the seed).
        Table::Own => "SELECT 1".into(),
    }
}

/// A query that fails when the table exists with columns the workload cannot write (it was
/// made by another workload): set-up then says so instead of every transaction failing.
pub fn columns_probe_sql(spec: &WorkloadSpec, table: &str) -> (String, &'static str) {
    let columns = match spec.kind.table() {
        Table::Rows => append::COLUMNS,
        Table::Keyed => keyed::COLUMNS,
        // The user's table has the user's columns.
        Table::Own => return ("SELECT 1".into(), "(the sql workload's own)"),
    };
    (
        format!(
            "SELECT {columns} FROM {} LIMIT 0",
            crate::util::lake_table::qualified(table)
        ),
        columns,
    )
}

/// What the table must hold before the writers start, if anything: upsert's keys when
/// seeded, every counter at 0, every account at its initial balance, rows for the deleters.
pub fn seed_sql(spec: &WorkloadSpec, table: &str, run_id: &str) -> Option<String> {
    spec.kind.seed_sql(spec, table, run_id)
}

/// Whether the table exists only once the seed made it (the user's `setup`).
pub fn table_made_by_seed(spec: &WorkloadSpec) -> bool {
    spec.kind.table() == Table::Own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_refused_key_is_another_workloads() {
        let names: std::collections::BTreeSet<&str> = all().iter().map(|w| w.name()).collect();
        assert_eq!(names.len(), all().len());
        assert_eq!(kind("bank").map(|k| k.name()), Some("bank"));
        assert_eq!(WorkloadKind::default().name(), "append");
        for w in all() {
            assert!(!w.keys().is_empty(), "{} declares no keys", w.name());
            for key in ["batch_rows", "payload_bytes", "seed"] {
                if w.refuses(key).is_some() {
                    assert!(!w.keys().contains(&key) && all().iter().any(|o| o.keys().contains(&key)));
                }
            }
        }
        assert_eq!(
            by_name("upsert").unwrap().keys(),
            &["batch_rows", "payload_bytes", "keys", "seed", "statement"]
        );
    }

    #[test]
    fn a_kind_is_written_and_read_as_its_name() {
        let spec = WorkloadSpec::new(kind("counter").unwrap(), 1, 0);
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["kind"], "counter");
        let back: WorkloadSpec = serde_json::from_value(json).unwrap();
        assert_eq!(back.kind, spec.kind);
        let e = serde_json::from_value::<WorkloadSpec>(serde_json::json!({"kind": "nope", "batch_rows": 1,
            "payload_bytes": 0}));
        assert!(e.unwrap_err().to_string().contains("`append`"));
    }
}

//! The `sql` workload: the user's own statements, run in order in each transaction, with
//! `{run}`, `{writer}`, `{txn}`, `{rand}`, `{keys}`, `{table}` and `{schema}` replaced (see
//! `PLACEHOLDERS`). Every value follows from (run, writer, transaction) alone, so
//! a retried attempt runs the same statements and the checker can render the check query
//! of any transaction after the run. Every connection first `USE`s the run's schema, so
//! names the statements write literally land in it (a campaign gives each run its own).

use super::SqlSpec;
use crate::util::lake_table::LAKE_ALIAS;
use crate::workload::WorkloadSpec;
use md5::{Digest, Md5};

pub struct SqlWorkload {
    spec: SqlSpec,
    table: String,
    keys: u32,
    per_txn: u32,
}

/// `USE lake."<schema>"`: names without a catalog, and `lake.<name>`, resolve in the schema.
pub fn use_sql(schema: &str) -> String {
    format!("USE {LAKE_ALIAS}.\"{schema}\"")
}

/// A statement that failed: which one (`workload.statements[1]`) and DuckDB's message.
#[derive(Debug)]
pub struct StatementError {
    pub key: String,
    pub message: String,
}

/// What a transaction's placeholders become.
pub struct Values {
    pub run_id: String,
    pub table: String,
    pub schema: String,
    pub writer: u32,
    pub txn: u64,
    pub keys: u32,
    pub per_txn: u32,
}

impl Values {
    /// `{rand}`: 31 bits of MD5 over the transaction's coordinates (apart from upsert's key
    /// stream, which hashes the same coordinates with a round number).
    pub fn rand(&self) -> u32 {
        let d = Md5::digest(format!("{}:{}:{}:rand", self.run_id, self.writer, self.txn).as_bytes());
        u32::from_le_bytes([d[0], d[1], d[2], d[3]]) & 0x7fff_ffff
    }

    pub fn render(&self, template: &str) -> String {
        let keys = || {
            crate::workload::upsert::keys_of(&self.run_id, self.writer, self.txn, self.keys, self.per_txn)
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = template
            .replace("{run}", &self.run_id)
            .replace("{writer}", &self.writer.to_string())
            .replace("{txn}", &self.txn.to_string());
        out = out.replace("{table}", &self.table).replace("{schema}", &self.schema);
        if out.contains("{rand}") {
            out = out.replace("{rand}", &self.rand().to_string());
        }
        if out.contains("{keys}") {
            out = out.replace("{keys}", &keys());
        }
        out
    }
}

impl SqlWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        let sql = spec.sql.clone().unwrap_or(SqlSpec::new(Vec::new()));
        SqlWorkload {
            spec: sql,
            table: table.to_string(),
            keys: spec.keys,
            per_txn: spec.batch_rows,
        }
    }

    pub fn values(&self, run_id: &str, writer: u32, txn: u64) -> Values {
        Values {
            run_id: run_id.to_string(),
            table: self.table.clone(),
            schema: self.spec.schema.clone(),
            writer,
            txn,
            keys: self.keys,
            per_txn: self.per_txn,
        }
    }

    /// The transaction's statements, rendered, in order.
    pub fn txn_sql(&self, run_id: &str, writer: u32, txn: u64) -> String {
        let values = self.values(run_id, writer, txn);
        let statements: Vec<String> = self.spec.statements.iter().map(|t| values.render(t)).collect();
        statements.join(";\n")
    }

    /// The run's schema first (per transaction: cheap, and no reconnect can lose it), then
    /// each statement on its own, in order: an error names the statement that failed.
    pub fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        self.run_statements(conn, run_id, writer, txn)
            .map_err(|e| format!("{} ({})", e.message, e.key))
    }

    fn run_statements(
        &self,
        conn: &duckdb::Connection,
        run_id: &str,
        writer: u32,
        txn: u64,
    ) -> Result<(), StatementError> {
        let origin = &self.spec.origin;
        conn.execute_batch(&use_sql(&self.spec.schema))
            .map_err(|e| StatementError {
                key: format!("{origin}.schema"),
                message: e.to_string(),
            })?;
        let values = self.values(run_id, writer, txn);
        for (i, template) in self.spec.statements.iter().enumerate() {
            conn.execute_batch(&values.render(template))
                .map_err(|e| StatementError {
                    key: format!("{origin}.statements[{i}]"),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// One transaction of writer 0, rolled back, before the writers start: a statement
    /// that cannot work (a typo, a type error) is found here, not in every transaction.
    pub fn preflight(&self, conn: &duckdb::Connection, run_id: &str) -> Result<(), StatementError> {
        conn.execute_batch("BEGIN TRANSACTION").map_err(|e| StatementError {
            key: "BEGIN".into(),
            message: e.to_string(),
        })?;
        let result = self.run_statements(conn, run_id, 0, 0);
        // Rolled back whatever happened: nothing of it may stay in the lake.
        let rollback = conn.execute_batch("ROLLBACK").map_err(|e| StatementError {
            key: "ROLLBACK".into(),
            message: e.to_string(),
        });
        result.and(rollback)
    }

    /// The run's schema created (unless `main`) and used, then the set-up statement with
    /// `{run}`, `{table}` and `{schema}` replaced; None when there is nothing to do.
    pub fn setup_sql(&self, run_id: &str) -> Option<String> {
        let schema = &self.spec.schema;
        let create = (schema != "main").then(|| format!("CREATE SCHEMA IF NOT EXISTS {LAKE_ALIAS}.\"{schema}\""));
        let setup = self.spec.setup.as_ref().map(|s| {
            s.replace("{run}", run_id)
                .replace("{table}", &self.table)
                .replace("{schema}", schema)
        });
        if create.is_none() && setup.is_none() {
            return None;
        }
        Some(
            [create, Some(use_sql(schema)), setup]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(";\n"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_from_the_transaction() {
        let v = Values {
            run_id: "r1".into(),
            table: "t".into(),
            schema: "s".into(),
            writer: 2,
            txn: 7,
            keys: 10,
            per_txn: 3,
        };
        let s = v.render("INSERT INTO t SELECT '{run}', {writer}, {txn}, {rand} WHERE k IN ({keys})");
        assert_eq!(
            s,
            v.render("INSERT INTO t SELECT '{run}', {writer}, {txn}, {rand} WHERE k IN ({keys})")
        );
        assert!(
            s.starts_with("INSERT INTO t SELECT 'r1', 2, 7, ") && !s.contains('{'),
            "{s}"
        );
        assert_eq!(
            s.rsplit('(').next().unwrap().trim_end_matches(')').split(',').count(),
            3,
            "{s}"
        );
        assert_eq!(
            v.render("INSERT INTO lake.{schema}.{table}_x"),
            "INSERT INTO lake.s.t_x"
        );
        assert_ne!(v.rand(), Values { txn: 8, ..v }.rand());
    }

    #[test]
    fn set_up_creates_and_uses_a_schema_of_its_own_and_main_only_when_asked() {
        let sql = Some(SqlSpec::new(vec!["SELECT 1".into()]));
        let mut spec = WorkloadSpec::new(crate::workload::kind("sql").unwrap(), 3, 0);
        (spec.keys, spec.sql) = (20, sql);
        assert_eq!(SqlWorkload::new(&spec, "t").setup_sql("r"), None);
        spec.sql.as_mut().unwrap().setup = Some("CREATE TABLE {table}_{run} (a INT)".into());
        assert_eq!(
            SqlWorkload::new(&spec, "t").setup_sql("r").unwrap(),
            "USE lake.\"main\";\nCREATE TABLE t_r (a INT)"
        );
        spec.sql.as_mut().unwrap().schema = "s_j1".into();
        let sql = SqlWorkload::new(&spec, "t").setup_sql("r").unwrap();
        assert!(
            sql.starts_with("CREATE SCHEMA IF NOT EXISTS lake.\"s_j1\";\nUSE lake.\"s_j1\";"),
            "{sql}"
        );
    }
}

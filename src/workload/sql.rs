//! The `sql` workload: the user's own statements, run in order in each transaction, with
//! `{run}`, `{writer}`, `{txn}`, `{rand}` and `{keys}` replaced (see
//! `scenario::PLACEHOLDERS`). Every value follows from (run, writer, transaction) alone, so
//! a retried attempt runs the same statements and the checker can render the check query
//! of any transaction after the run.

use crate::scenario::{SqlSpec, WorkloadSpec};
use md5::{Digest, Md5};

pub struct SqlWorkload {
    spec: SqlSpec,
    keys: u32,
    per_txn: u32,
}

/// What a transaction's placeholders become.
pub struct Values {
    pub run_id: String,
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
        let keys = || super::upsert::keys_of(&self.run_id, self.writer, self.txn, self.keys, self.per_txn).iter().map(|k| k.to_string()).collect::<Vec<_>>().join(",");
        let mut out = template.replace("{run}", &self.run_id).replace("{writer}", &self.writer.to_string()).replace("{txn}", &self.txn.to_string());
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
    pub fn new(spec: &WorkloadSpec) -> Self {
        let sql = spec.sql.clone().unwrap_or(SqlSpec { statements: Vec::new(), setup: None, check: None, expect_rows: None });
        SqlWorkload { spec: sql, keys: spec.keys, per_txn: spec.batch_rows }
    }

    pub fn values(&self, run_id: &str, writer: u32, txn: u64) -> Values {
        Values { run_id: run_id.to_string(), writer, txn, keys: self.keys, per_txn: self.per_txn }
    }

    /// Each statement on its own, in order: an error names the statement that failed.
    pub fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        let values = self.values(run_id, writer, txn);
        for (i, template) in self.spec.statements.iter().enumerate() {
            conn.execute_batch(&values.render(template)).map_err(|e| format!("{e} (workload.statements[{i}])"))?;
        }
        Ok(())
    }

    /// The set-up statement with `{run}` replaced, if there is one.
    pub fn setup_sql(&self, run_id: &str) -> Option<String> {
        self.spec.setup.as_ref().map(|s| s.replace("{run}", run_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_from_the_transaction() {
        let v = Values { run_id: "r1".into(), writer: 2, txn: 7, keys: 10, per_txn: 3 };
        let s = v.render("INSERT INTO t SELECT '{run}', {writer}, {txn}, {rand} WHERE k IN ({keys})");
        assert_eq!(s, v.render("INSERT INTO t SELECT '{run}', {writer}, {txn}, {rand} WHERE k IN ({keys})"));
        assert!(s.starts_with("INSERT INTO t SELECT 'r1', 2, 7, ") && !s.contains('{'), "{s}");
        assert_eq!(s.rsplit('(').next().unwrap().trim_end_matches(')').split(',').count(), 3, "{s}");
        assert_ne!(v.rand(), Values { txn: 8, ..v }.rand());
    }
}

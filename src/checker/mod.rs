//! Checks after the run (Jepsen's checker). Each check lives in its own module, looks at
//! the real lake (DuckDB, the Postgres catalog, the object store) and returns a status
//! with evidence. A check that cannot run is an `error`, which fails the verdict too.

pub mod bounded;
pub mod catalog_rollbacks;
pub mod context;
pub mod leftover_sessions;
pub mod object_store;
pub mod row_count;
pub mod table_stats;
pub mod transaction_integrity;

pub use context::{CheckContext, RunFacts};

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub status: CheckStatus,
    pub summary: String,
    pub evidence: Value,
}

impl CheckResult {
    pub fn new(name: &'static str, ok: bool, summary: impl Into<String>, evidence: Value) -> Self {
        let status = if ok { CheckStatus::Pass } else { CheckStatus::Fail };
        CheckResult { name, status, summary: summary.into(), evidence }
    }

    pub fn skipped(name: &'static str, why: impl Into<String>) -> Self {
        CheckResult { name, status: CheckStatus::Skipped, summary: why.into(), evidence: Value::Null }
    }

    pub fn failed(&self) -> bool {
        matches!(self.status, CheckStatus::Fail | CheckStatus::Error)
    }
}

pub trait Check {
    fn name(&self) -> &'static str;
    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult>;
}

/// All checks, in report order.
pub fn all() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(row_count::RowCount),
        Box::new(transaction_integrity::TransactionIntegrity),
        Box::new(table_stats::TableStats),
        Box::new(object_store::ObjectStore),
        Box::new(leftover_sessions::LeftoverSessions),
        Box::new(catalog_rollbacks::CatalogRollbacks),
    ]
}

/// Runs every check, appending each result to `done` as soon as it is known, so that a
/// caller that gives up waiting still has the results of the checks that finished.
pub fn run_all_into(ctx: &CheckContext, done: &std::sync::Mutex<Vec<CheckResult>>) {
    for check in all() {
        let result = check.run(ctx).unwrap_or_else(|e| CheckResult {
            name: check.name(),
            status: CheckStatus::Error,
            summary: format!("the check could not run: {e:#}"),
            evidence: Value::Null,
        });
        done.lock().unwrap_or_else(|p| p.into_inner()).push(result);
    }
}

/// Results for checks that have none in `done`: `status` with `why`.
pub fn fill_missing(mut done: Vec<CheckResult>, status: CheckStatus, why: &str) -> Vec<CheckResult> {
    for check in all() {
        if !done.iter().any(|r| r.name == check.name()) {
            done.push(CheckResult { name: check.name(), status, summary: why.to_string(), evidence: Value::Null });
        }
    }
    done
}

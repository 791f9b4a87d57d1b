//! Checks after the run (Jepsen's checker). Each check lives in its own module, reads the
//! run's history and looks at the real lake (DuckDB, the Postgres catalog, the object
//! store), and returns a status with evidence. A check that cannot run is an `error`,
//! which makes the run's verdict `error` (exit 3): the harness could not judge.

pub mod bank_total;
pub mod bounded;
pub mod catalog_integrity;
pub mod catalog_locks;
pub mod catalog_rollbacks;
pub mod context;
pub mod counter_increments;
pub mod ddl_tables;
pub mod delete_rows;
pub mod error_tally;
pub mod keyed_values;
pub mod maintenance;
pub mod object_store;
pub mod problems;
pub mod reads;
pub mod row_count;
pub mod sessions;
pub mod snapshots;
pub mod sql_statements;
pub mod table_stats;
pub mod transaction_integrity;
pub mod upsert_keys;
pub mod writer_sessions;

pub use context::{CheckContext, RunFacts, RunRecord};

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    /// A finding that does not fail the run by itself (e.g. a client-side session leak).
    Warn,
    Fail,
    /// A failure that a known upstream finding explains (`findings/known.toml`): reported,
    /// not failing the run.
    Known,
    Skipped,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub status: CheckStatus,
    pub summary: String,
    pub evidence: Value,
    /// The known upstream finding that explains this result, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<KnownRef>,
}

/// The known upstream finding (`findings/known.toml`) a check result was matched to, as the
/// report carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownRef {
    pub id: String,
    pub reference: String,
    pub url: String,
    pub title: String,
    /// The status the check had before the match (fail or warn).
    pub was: CheckStatus,
    /// `--strict` / `checks.known_findings = "fail"`: matched, but left failing.
    #[serde(default)]
    pub strict: bool,
    /// Whether a comparison weighs it as a failure (the data is wrong), or only reports it
    /// (bookkeeping, a client-side leak).
    pub weigh: bool,
}

impl CheckResult {
    pub fn new(name: &str, ok: bool, summary: impl Into<String>, evidence: Value) -> Self {
        let status = if ok { CheckStatus::Pass } else { CheckStatus::Fail };
        CheckResult {
            name: name.to_string(),
            status,
            summary: summary.into(),
            evidence,
            known: None,
        }
    }

    pub fn skipped(name: &str, why: impl Into<String>) -> Self {
        CheckResult {
            name: name.to_string(),
            status: CheckStatus::Skipped,
            summary: why.into(),
            evidence: Value::Null,
            known: None,
        }
    }

    /// The problem kinds the result reports (`evidence.problems`, a map of kind to count):
    /// what the known-findings registry matches and comparisons tally.
    pub fn problem_kinds(&self) -> Vec<String> {
        match self.evidence.get("problems") {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.status, CheckStatus::Fail | CheckStatus::Error)
    }
}

/// The word the summaries print for a status.
pub fn status_word(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "PASS",
        CheckStatus::Warn => "WARN",
        CheckStatus::Fail => "FAIL",
        CheckStatus::Known => "KNOWN",
        CheckStatus::Skipped => "SKIP",
        CheckStatus::Error => "ERROR",
    }
}

/// The skipped checks in one line, `not applicable: 8 checks: a, b, ...`, for the summaries
/// (report.json keeps each with its reason); None when none was skipped.
pub fn not_applicable_line(checks: &[CheckResult]) -> Option<String> {
    let names: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Skipped)
        .map(|c| c.name.as_str())
        .collect();
    let plural = if names.len() == 1 { "" } else { "s" };
    let list = names.join(", ");
    (!names.is_empty()).then(|| {
        format!(
            "not applicable: {} check{plural}: {list} (each with its reason in report.json)",
            names.len()
        )
    })
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
        Box::new(snapshots::Snapshots),
        Box::new(upsert_keys::UpsertKeys),
        Box::new(counter_increments::CounterIncrements),
        Box::new(bank_total::BankTotal),
        Box::new(delete_rows::DeleteRows),
        Box::new(reads::Reads),
        Box::new(maintenance::Maintenance),
        Box::new(ddl_tables::DdlTables),
        Box::new(sql_statements::SqlStatements),
        Box::new(table_stats::TableStats),
        Box::new(object_store::ObjectStore),
        Box::new(catalog_integrity::CatalogIntegrity),
        Box::new(writer_sessions::WriterSessions),
        Box::new(catalog_locks::CatalogLocks),
        Box::new(catalog_rollbacks::CatalogRollbacks),
    ]
}

/// Runs every check, appending each result to `done` as soon as it is known, so that a
/// caller that gives up waiting still has the results of the checks that finished.
pub fn run_all_into(ctx: &CheckContext, done: &std::sync::Mutex<Vec<CheckResult>>) {
    for check in all() {
        let result = check
            .run(ctx)
            .unwrap_or_else(|e| failed_to_run(check.name(), &format!("{e:#}")));
        done.lock().unwrap_or_else(|p| p.into_inner()).push(result);
    }
}

/// A check whose queries failed. When the lake's own data cannot be read (a file the
/// catalog references is gone), that is the lake failing the check, not the environment.
fn failed_to_run(name: &str, error: &str) -> CheckResult {
    let missing_data = [
        "Cannot open file",
        "No such file or directory",
        "NoSuchKey",
        "404 (Not Found)",
    ]
    .iter()
    .any(|m| error.contains(m));
    // A DuckDB catalog file that DuckDB itself calls corrupt: the lake broke, not the environment.
    let corrupt_catalog = error.contains("corrupt database file");
    let (status, summary) = if missing_data {
        (
            CheckStatus::Fail,
            format!("the lake cannot be read: a file its catalog references is missing: {error}"),
        )
    } else if corrupt_catalog {
        (
            CheckStatus::Fail,
            format!("the lake cannot be read: its catalog database file is corrupt: {error}"),
        )
    } else {
        (CheckStatus::Error, format!("the check could not run: {error}"))
    };
    CheckResult {
        name: name.to_string(),
        status,
        summary,
        evidence: Value::Null,
        known: None,
    }
}

/// Results for checks that have none in `done`: `status` with `why`.
pub fn fill_missing(mut done: Vec<CheckResult>, status: CheckStatus, why: &str) -> Vec<CheckResult> {
    for check in all() {
        if !done.iter().any(|r| r.name == check.name()) {
            done.push(CheckResult {
                name: check.name().to_string(),
                status,
                summary: why.to_string(),
                evidence: Value::Null,
                known: None,
            });
        }
    }
    done
}

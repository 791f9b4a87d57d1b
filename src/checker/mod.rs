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

use crate::util::LockExt;
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

/// One check. What it needs and which runs it judges are said in [`About`], so that
/// whether it applies is decided in one place ([`skip_reason`]) and `run` starts with its
/// own work.
pub trait Check {
    fn about(&self) -> About;

    fn name(&self) -> &'static str {
        self.about().name
    }

    /// Judges; called only when [`skip_reason`] finds none. A check that needs the run's
    /// history implements `judge_run` instead.
    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        self.judge_run(ctx, ctx.history()?)
    }

    /// Judges with the run's history.
    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let _ = (ctx, run);
        anyhow::bail!("check {} judges neither a lake nor a run", self.name())
    }
}

/// A check's name, what it reads, and which runs' rows it judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    pub name: &'static str,
    pub needs: Needs,
    pub applies_to: Applies,
}

impl About {
    pub const fn new(name: &'static str, needs: Needs, applies_to: Applies) -> Self {
        About {
            name,
            needs,
            applies_to,
        }
    }

    /// It reads the run's history (`--run-dir`); without one it is skipped.
    pub fn needs_history(&self) -> bool {
        matches!(self.needs, Needs::History | Needs::PostgresAndHistory) || self.applies_to == Applies::OwnRows
    }

    /// It reads the catalog's Postgres server itself (sessions, locks, counters).
    pub fn needs_postgres(&self) -> bool {
        matches!(self.needs, Needs::Postgres | Needs::PostgresAndHistory)
    }
}

/// What a check reads besides the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Lake,
    History,
    Postgres,
    PostgresAndHistory,
}

/// Which rows a check judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Any run's, and a lake's without a run.
    Any,
    /// Rows that stay as written: not a workload that replaces them
    /// (`Workload::rows_replaced` says why, and that is the skipped reason).
    KeptRows,
    /// One workload's own: those that list the check (`Workload::checks`).
    OwnRows,
}

/// Why `check` does not apply to this lake or run, if it does not: its skipped reason.
pub fn skip_reason(check: &dyn Check, ctx: &CheckContext) -> Option<String> {
    let about = check.about();
    if about.needs_postgres() {
        if let Some(why) = ctx.no_postgres() {
            return Some(why);
        }
    }
    if about.needs_history() && ctx.run.is_none() {
        return Some("needs a run's history (pass --run-dir)".into());
    }
    let kind = ctx.run?.record.workload_kind();
    match about.applies_to {
        Applies::Any => None,
        Applies::KeptRows => kind.rows_replaced(),
        Applies::OwnRows if kind.checks().contains(&about.name) => None,
        Applies::OwnRows => {
            let owners: Vec<&str> = crate::workload::all()
                .iter()
                .filter(|w| w.checks().contains(&about.name))
                .map(|w| w.name())
                .collect();
            Some(format!(
                "judges the {} workload's own rows; this run's workload is {}",
                owners.join(" and "),
                kind.name()
            ))
        }
    }
}

/// Runs `check` if it applies; its skipped result if not.
pub fn run_one(check: &dyn Check, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
    match skip_reason(check, ctx) {
        Some(why) => Ok(CheckResult::skipped(check.name(), why)),
        None => check.run(ctx),
    }
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
        let result = run_one(check.as_ref(), ctx).unwrap_or_else(|e| failed_to_run(check.name(), &format!("{e:#}")));
        done.locked().push(result);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checks_workloads_list_are_checks_of_own_rows_and_each_has_its_workload() {
        let checks = all();
        let listed: Vec<&str> = crate::workload::all()
            .iter()
            .flat_map(|w| w.checks().iter().copied())
            .collect();
        for name in &listed {
            let check = checks.iter().find(|c| c.name() == *name);
            assert!(
                check.is_some_and(|c| c.about().applies_to == Applies::OwnRows),
                "{name}"
            );
        }
        for c in checks.iter().filter(|c| c.about().applies_to == Applies::OwnRows) {
            assert!(listed.contains(&c.name()), "no workload lists {}", c.name());
        }
    }
}

//! `repro RUN_DIR`: from a stress run whose check failed, the smallest interleaving schedule
//! that still fails, and the same as files others can run (issue 23 part 3).
//!
//! - `finding` the failed check, the transactions its evidence names and their neighbours;
//!   `sql_check` the sql workload's check query as invariants
//! - `replay`  those transactions as a schedule, their SQL rebuilt, ordered as the history saw
//! - `shrink`  delta debugging over transactions, then statements, then rows
//! - `files`   repro.toml, repro.sql, repro.test, repro.md; `python` repro.py

pub mod files;
pub mod finding;
pub mod python;
pub mod replay;
pub mod shrink;
pub mod sql_check;

use crate::interleave::outcome::PermutationResult;
use crate::interleave::{InterleaveReport, Prepared, Schedule};
use replay::{Base, TxnPlan};
use std::path::Path;

/// The folder `repro` writes into, inside the run directory.
pub const DIR: &str = "repro";

/// How often a schedule failed the invariant out of how many runs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Tally {
    pub runs: u32,
    /// The invariant returned rows: the check's failure was there again.
    pub failed: u32,
    /// Runs that could not be judged (set-up failed, an invariant errored).
    pub errors: u32,
    /// The first failing run (else the last run), for the transcript.
    #[serde(skip)]
    pub example: Option<PermutationResult>,
}

impl Tally {
    pub fn describe(&self) -> String {
        let errors = if self.errors > 0 {
            format!(" ({} could not be judged)", self.errors)
        } else {
            String::new()
        };
        format!("failed {} of {} runs{errors}", self.failed, self.runs)
    }
}

/// Whether a run showed the failure: an invariant ran and did not get what it expects,
/// and every step that expects something (a COMMIT that must succeed) got it.
pub fn showed_failure(r: &PermutationResult) -> bool {
    r.setup_error.is_none()
        && r.steps.iter().all(|s| s.matched != Some(false))
        && r.invariants.iter().any(|i| i.error.is_none() && !i.matched)
}

fn could_not_judge(r: &PermutationResult) -> bool {
    r.setup_error.is_some() || r.invariants.iter().any(|i| i.error.is_some())
}

/// Runs `schedule` `repeat` times (each on a fresh lake) and counts the failures.
pub fn tally(
    prepared: &Prepared,
    schedule: Schedule,
    file: &Path,
    repeat: u32,
) -> anyhow::Result<(Tally, InterleaveReport)> {
    let (report, _) = crate::interleave::run_schedule(prepared, schedule, file, repeat, &mut |_, _| {})?;
    let mut t = Tally {
        runs: report.results.len() as u32,
        ..Default::default()
    };
    for r in &report.results {
        if showed_failure(r) {
            t.failed += 1;
            t.example.get_or_insert_with(|| r.clone());
        } else if could_not_judge(r) {
            t.errors += 1;
        }
    }
    if t.example.is_none() {
        t.example = report.results.last().cloned();
    }
    Ok((t, report))
}

/// How a candidate is judged while shrinking.
pub struct ShrinkRule {
    /// Runs per candidate.
    pub repeat: u32,
    /// Failures among them needed to keep it (from the rate before shrinking, at least 1).
    pub needed: u32,
}

impl ShrinkRule {
    /// A candidate must fail at least as often as the replay did before shrinking.
    pub fn from_rate(before: &Tally, repeat: u32) -> Self {
        let rate = before.failed as f64 / before.runs.max(1) as f64;
        ShrinkRule {
            repeat,
            needed: ((rate * repeat as f64).floor() as u32).clamp(1, repeat),
        }
    }
}

/// `plans` shrunk: each candidate must pass when run serially and fail `rule.needed` of
/// `rule.repeat` times interleaved. `progress` hears every candidate's verdict.
pub fn shrink_plans(
    prepared: &Prepared,
    base: &Base,
    plans: Vec<TxnPlan>,
    rows: &replay::Rows,
    rule: &ShrinkRule,
    progress: &mut dyn FnMut(&[TxnPlan], bool),
) -> anyhow::Result<Vec<TxnPlan>> {
    let file = prepared.results_dir.join("candidate.toml");
    let mut test = |c: &[TxnPlan]| -> anyhow::Result<bool> {
        let (serial, _) = tally(prepared, replay::serial(base, c), &file, 1)?;
        let keep = serial.failed == 0 && serial.errors == 0 && {
            let (t, _) = tally(prepared, replay::schedule(base, c), &file, rule.repeat)?;
            t.failed >= rule.needed
        };
        progress(c, keep);
        Ok(keep)
    };
    shrink::shrink(plans, &|p, r| rows.with_rows(p, r), &mut test)
}

/// A candidate's size for people: "2 transaction(s), 4 statement(s), 2 row(s)" (rows where
/// the workload counts them).
pub fn size_of(plans: &[TxnPlan]) -> String {
    let statements: usize = plans.iter().map(|p| p.statements().count()).sum();
    let rows = rows_of(plans).map(|r| format!(", {r} row(s)")).unwrap_or_default();
    format!("{} transaction(s), {statements} statement(s){rows}", plans.len())
}

/// The rows `plans` write, where the workload counts them (None: some transaction cannot
/// write a subset of its rows).
pub fn rows_of(plans: &[TxnPlan]) -> Option<usize> {
    plans.iter().map(|p| p.rows.as_ref().map(Vec::len)).sum()
}

//! An interleaving scenario as validated: sessions, named steps, the orders to run them in,
//! and what each step and the lake afterwards are expected to show.

use crate::history::error_class::ErrorClass;
use crate::scenario::{CatalogKind, DataStore};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    pub description: Option<String>,
    /// The documented rule this schedule tests (`conflicts` prints it).
    pub rule: Option<String>,
    /// Where the rule is written down (a documentation page, an upstream issue).
    pub source: Option<String>,
    /// An upstream issue that explains a broken outcome: `conflicts` reports the rule as
    /// broken and known, and fails only with --strict.
    pub known: Option<String>,
    pub lake: ScheduleLake,
    /// Sessions as connections of one DuckDB instance instead of an instance each.
    pub shared_instance: bool,
    pub sessions: Vec<SessionSpec>,
    /// Statements run once per permutation on a fresh instance before the sessions start.
    pub setup: Vec<String>,
    pub steps: Vec<StepSpec>,
    /// Each permutation as indexes into `steps`.
    pub permutations: Vec<Vec<usize>>,
    /// `permutations = "all"` (or absent): every order that keeps each session's own order.
    pub all_permutations: bool,
    pub step_timeout: Duration,
    pub invariants: Vec<InvariantSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleLake {
    pub catalog: CatalogKind,
    pub data: DataStore,
    /// DuckLake's DATA_INLINING_ROW_LIMIT for every instance (`None`: DuckLake's default).
    pub data_inlining_row_limit: Option<u64>,
    /// Extensions loaded from a file of the user's (`--extension`), by name.
    #[serde(default)]
    pub extension_files: std::collections::BTreeMap<String, PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// A DuckDB instance (or connection) attached to the lake as `lake`.
    Duckdb,
    /// A direct connection to the Postgres catalog database, its search_path on the
    /// permutation's catalog tables: for holding locks on them.
    Catalog,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionSpec {
    pub name: String,
    pub kind: SessionKind,
    /// Run when the session connects, before any step (SET statements).
    pub connect_sql: Vec<String>,
    /// `mode = "process"`: its DuckDB instance lives in a child process of its own
    /// (`interleave::process`), not on a thread of the runner's.
    #[serde(default)]
    pub process: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "class")]
pub enum Expect {
    Ok,
    /// Any error.
    Error,
    Class(ErrorClass),
}

impl Expect {
    pub fn describe(self) -> String {
        match self {
            Expect::Ok => "ok".into(),
            Expect::Error => "error".into(),
            Expect::Class(c) => c.name().into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepSpec {
    pub name: String,
    /// Index into `Schedule::sessions`.
    pub session: usize,
    pub sql: String,
    pub expect: Option<Expect>,
    pub expect_rows: Option<u64>,
    pub expect_blocked: Option<bool>,
}

impl StepSpec {
    pub fn has_expectation(&self) -> bool {
        self.expect.is_some() || self.expect_rows.is_some() || self.expect_blocked.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvariantSpec {
    pub name: String,
    pub sql: String,
    pub expect_rows: Option<u64>,
}

/// A session's step indexes in file order.
pub fn steps_of(schedule: &Schedule, session: usize) -> Vec<usize> {
    (0..schedule.steps.len())
        .filter(|&i| schedule.steps[i].session == session)
        .collect()
}

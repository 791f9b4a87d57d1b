//! What one permutation did: each step's outcome (and whether it blocked), the invariants,
//! and whether everything matched what the schedule expects. `signature` is the part that
//! must be identical run after run for a schedule to be deterministic (not timings, not
//! which later step a blocked one finished during).

use super::model::{Expect, InvariantSpec, StepSpec};
use super::session::Returned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    Error,
    /// Sent, and still not returned when the permutation ended (then interrupted).
    Stuck,
    /// Never sent: the schedule could not go on.
    NotRun,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    pub name: String,
    pub session: String,
    pub sql: String,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Rows a query returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Rows an INSERT, UPDATE, DELETE or MERGE changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub sample: Vec<String>,
    /// It had not returned within step_timeout, so the next step ran meanwhile.
    pub blocked: bool,
    /// For a blocked step: the step during which (or after which) it returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_during: Option<String>,
    pub millis: u64,
    /// The expectations written for this step, e.g. "conflict, blocked".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// `None` when the step expects nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<bool>,
}

impl StepResult {
    pub fn new(spec: &StepSpec, session: &str) -> Self {
        StepResult {
            name: spec.name.clone(),
            session: session.to_string(),
            sql: spec.sql.clone(),
            status: StepStatus::NotRun,
            class: None,
            error: None,
            rows: None,
            changed: None,
            sample: Vec::new(),
            blocked: false,
            completed_during: None,
            millis: 0,
            expected: None,
            matched: None,
        }
    }

    pub fn record(&mut self, returned: Returned, millis: u64) {
        self.millis = millis;
        match returned {
            Returned::Ok { rows, changed, sample } => {
                self.status = StepStatus::Ok;
                (self.rows, self.changed, self.sample) = (rows, changed, sample);
            }
            Returned::Error { class, message } => {
                self.status = StepStatus::Error;
                (self.class, self.error) = (Some(class), Some(message));
            }
        }
    }

    /// The outcome in a few words: `ok`, `ok (3 rows)`, `error conflict`, `stuck`.
    pub fn outcome_word(&self) -> String {
        let base = match self.status {
            StepStatus::Ok => match (self.rows, self.changed) {
                (Some(n), _) => format!("ok ({n} rows)"),
                (None, Some(n)) => format!("ok ({n} changed)"),
                _ => "ok".into(),
            },
            StepStatus::Error => format!("error {}", self.class.as_deref().unwrap_or("other")),
            StepStatus::Stuck => "stuck".into(),
            StepStatus::NotRun => "not run".into(),
        };
        if self.blocked && self.status != StepStatus::Stuck {
            format!("{base}, after blocking")
        } else {
            base
        }
    }

    /// Compares with `spec`'s expectations; returns a reason when they do not hold.
    pub fn judge(&mut self, spec: &StepSpec) -> Option<String> {
        if !spec.has_expectation() {
            return None;
        }
        let mut wanted = Vec::new();
        let mut wrong = Vec::new();
        if let Some(e) = spec.expect {
            wanted.push(e.describe());
            let holds = match (e, self.status) {
                (Expect::Ok, StepStatus::Ok) | (Expect::Error, StepStatus::Error) => true,
                (Expect::Class(c), StepStatus::Error) => self.class.as_deref() == Some(c.name()),
                _ => false,
            };
            if !holds {
                wrong.push(format!("expected {}", e.describe()));
            }
        }
        if let Some(n) = spec.expect_rows {
            wanted.push(format!("{n} rows"));
            if self.rows.or(self.changed) != Some(n) {
                wrong.push(format!("expected {n} rows"));
            }
        }
        if let Some(b) = spec.expect_blocked {
            wanted.push(if b { "blocked" } else { "not blocked" }.into());
            if self.blocked != b {
                wrong.push(format!("expected {}", if b { "to block" } else { "not to block" }));
            }
        }
        self.expected = Some(wanted.join(", "));
        self.matched = Some(wrong.is_empty());
        (!wrong.is_empty()).then(|| {
            format!(
                "step {}: {}, got {}",
                self.name,
                wrong.join(" and "),
                self.outcome_word()
            )
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvariantResult {
    pub name: String,
    pub sql: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub sample: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_rows: Option<u64>,
    pub matched: bool,
}

impl InvariantResult {
    pub fn from(spec: &InvariantSpec, returned: Result<Returned, String>) -> Self {
        let (rows, error, sample) = match returned {
            Ok(Returned::Ok { rows, changed, sample }) => (rows.or(changed), None, sample),
            Ok(Returned::Error { message, .. }) | Err(message) => (None, Some(message), Vec::new()),
        };
        let matched = error.is_none() && spec.expect_rows.is_none_or(|n| rows.unwrap_or(0) == n);
        InvariantResult {
            name: spec.name.clone(),
            sql: spec.sql.clone(),
            rows,
            error,
            sample,
            expect_rows: spec.expect_rows,
            matched,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PermutationResult {
    /// 1-based, as printed.
    pub index: usize,
    /// 1-based repetition (`--repeat`).
    pub repeat: u32,
    pub order: Vec<String>,
    pub steps: Vec<StepResult>,
    pub invariants: Vec<InvariantResult>,
    /// Setting up the fresh lake or opening a session failed: nothing ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_error: Option<String>,
    /// Why the schedule could not go on (a step still blocked when its session was due).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cannot_continue: Option<String>,
    pub mismatches: Vec<String>,
    pub matched: bool,
    pub seconds: f64,
    /// The process of each `mode = "process"` session, by name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub session_pids: std::collections::BTreeMap<String, u32>,
}

impl PermutationResult {
    /// What must repeat exactly for the schedule to be deterministic.
    pub fn signature(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| format!("{}={}", s.name, s.outcome_word()))
            .collect();
        let invariants: Vec<String> = self
            .invariants
            .iter()
            .map(|i| match (&i.error, i.rows) {
                (Some(_), _) => format!("{}=error", i.name),
                (None, n) => format!("{}={} rows", i.name, n.unwrap_or(0)),
            })
            .collect();
        let setup = self.setup_error.as_ref().map(|_| "setup failed".to_string());
        setup
            .into_iter()
            .chain(steps)
            .chain(invariants)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

//! The report of an interleaving run: every permutation's result (of every repetition),
//! whether repetitions agreed, the versions in play, and the verdict. Written atomically
//! as interleave.json, interleave.md and junit.xml in the run's directory.

use super::outcome::PermutationResult;
use crate::error::exit_code;
use crate::report::Versions;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const JSON_FILE: &str = "interleave.json";
pub const MARKDOWN_FILE: &str = "interleave.md";
pub const JUNIT_FILE: &str = "junit.xml";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterleaveReport {
    /// Always "interleave": tells this report from a stress run's report.json.
    pub kind: String,
    pub run_id: String,
    pub schedule: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
    pub catalog: String,
    pub data: String,
    /// Each session its own DuckDB instance, or connections of one.
    pub instance: String,
    pub started_at: String,
    pub seconds: f64,
    pub tool_version: String,
    pub versions: Versions,
    pub step_timeout_ms: u64,
    /// Orders in the schedule (each run `repeat` times).
    pub permutations: usize,
    pub all_permutations: bool,
    pub repeat: u32,
    pub results: Vec<PermutationResult>,
    /// Per permutation, with --repeat: the distinct outcomes seen and how often.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub determinism: Vec<Determinism>,
    /// `None` without --repeat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deterministic: Option<bool>,
    pub matched: usize,
    pub mismatched: usize,
    /// "pass" or "fail".
    pub verdict: String,
    pub verdict_reason: String,
    pub exit_code: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Determinism {
    pub permutation: usize,
    /// Each distinct outcome and the repetitions (1-based) that gave it.
    pub outcomes: Vec<(String, Vec<u32>)>,
}

impl InterleaveReport {
    /// The report of `s` before any permutation ran.
    pub fn new(
        s: &super::Schedule,
        run_id: String,
        file: &Path,
        started: std::time::SystemTime,
        versions: Versions,
        repeat: u32,
    ) -> Self {
        let instance = if s.shared_instance {
            "one shared instance"
        } else {
            "an instance per session"
        };
        InterleaveReport {
            kind: "interleave".into(),
            run_id,
            schedule: s.name.clone(),
            file: file.display().to_string(),
            description: s.description.clone(),
            rule: s.rule.clone(),
            source: s.source.clone(),
            known: s.known.clone(),
            catalog: s.lake.catalog.name().into(),
            data: format!("{:?}", s.lake.data).to_lowercase(),
            instance: instance.into(),
            started_at: humantime::format_rfc3339_seconds(started).to_string(),
            seconds: 0.0,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            versions,
            step_timeout_ms: s.step_timeout.as_millis() as u64,
            permutations: s.permutations.len(),
            all_permutations: s.all_permutations,
            repeat,
            results: Vec::new(),
            determinism: Vec::new(),
            deterministic: None,
            matched: 0,
            mismatched: 0,
            verdict: String::new(),
            verdict_reason: String::new(),
            exit_code: 0,
        }
    }

    /// Fills in determinism, counts and the verdict from `results`.
    pub fn conclude(&mut self) {
        self.matched = self.results.iter().filter(|r| r.matched).count();
        self.mismatched = self.results.len() - self.matched;
        if self.repeat > 1 {
            self.determinism = (1..=self.permutations)
                .map(|p| {
                    let mut outcomes: Vec<(String, Vec<u32>)> = Vec::new();
                    for r in self.results.iter().filter(|r| r.index == p) {
                        let sig = r.signature();
                        match outcomes.iter_mut().find(|(s, _)| *s == sig) {
                            Some((_, reps)) => reps.push(r.repeat),
                            None => outcomes.push((sig, vec![r.repeat])),
                        }
                    }
                    Determinism {
                        permutation: p,
                        outcomes,
                    }
                })
                .collect();
            self.deterministic = Some(self.determinism.iter().all(|d| d.outcomes.len() <= 1));
        }
        let unstable: Vec<String> = self
            .determinism
            .iter()
            .filter(|d| d.outcomes.len() > 1)
            .map(|d| d.permutation.to_string())
            .collect();
        let runs = self.results.len();
        // With --repeat the verdict also says whether the outcomes repeated.
        let repeated = match (self.repeat, unstable.is_empty()) {
            (1, _) => String::new(),
            (n, true) => format!("; deterministic: the same outcome {n} times each"),
            (n, false) => format!(
                "; not deterministic: permutations {} gave different outcomes over {n} repetitions",
                unstable.join(", ")
            ),
        };
        (self.verdict, self.verdict_reason, self.exit_code) = if self.mismatched > 0 {
            let failing: std::collections::BTreeSet<usize> =
                self.results.iter().filter(|r| !r.matched).map(|r| r.index).collect();
            let mut which: Vec<String> = failing.iter().take(12).map(usize::to_string).collect();
            if failing.len() > which.len() {
                which.push(format!("… {} in all", failing.len()));
            }
            (
                "fail".into(),
                format!(
                    "{} of {runs} permutation runs did not match their expectations (permutations {}){repeated}",
                    self.mismatched,
                    which.join(", ")
                ),
                exit_code::CHECK_FAILED,
            )
        } else if !unstable.is_empty() {
            (
                "fail".into(),
                format!(
                    "not deterministic: permutations {} gave different outcomes over {} repetitions",
                    unstable.join(", "),
                    self.repeat
                ),
                exit_code::CHECK_FAILED,
            )
        } else {
            (
                "pass".into(),
                format!("all {runs} permutation runs matched their expectations{repeated}"),
                exit_code::PASS,
            )
        };
    }
}

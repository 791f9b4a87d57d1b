//! A tally of what a check found wrong: a count per kind and the first few examples, so
//! evidence stays readable however broken the lake is.

use super::CheckResult;
use serde_json::Value;
use std::collections::BTreeMap;

const MAX_EXAMPLES: usize = 10;

#[derive(Default)]
pub struct Problems {
    pub counts: BTreeMap<&'static str, u64>,
    pub examples: Vec<String>,
}

impl Problems {
    pub fn add(&mut self, kind: &'static str, example: impl FnOnce() -> String) {
        *self.counts.entry(kind).or_default() += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(format!("{kind}: {}", example()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// `kind xN, kind xM`.
    pub fn describe(&self) -> String {
        self.counts
            .iter()
            .map(|(k, v)| format!("{k} x{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Problems {
    /// The check's result: pass with `ok_summary` when nothing was found, else fail listing
    /// the kinds; the counts and examples are added to `evidence`.
    pub fn into_result(self, name: &str, ok_summary: String, mut evidence: Value) -> CheckResult {
        let ok = self.is_empty();
        let summary = if ok {
            ok_summary
        } else {
            format!("problems: {}", self.describe())
        };
        if let Value::Object(map) = &mut evidence {
            map.insert("problems".into(), serde_json::json!(self.counts));
            map.insert("examples".into(), serde_json::json!(self.examples));
        }
        CheckResult::new(name, ok, summary, evidence)
    }
}

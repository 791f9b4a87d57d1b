//! A tally of what a check found wrong: a count per kind and the first few examples, so
//! evidence stays readable however broken the lake is.

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
        self.counts.iter().map(|(k, v)| format!("{k} x{v}")).collect::<Vec<_>>().join(", ")
    }
}

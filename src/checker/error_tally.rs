//! The errors of a run's attempts, counted by class, for the checks of workloads whose
//! errors are part of what they test (ddl, sql). An `INTERNAL Error` is DuckDB saying its
//! own invariant broke: always a finding, whatever the class.

use super::problems::Problems;
use crate::history::{ErrorClass, Txn};
use std::collections::BTreeMap;

/// Counts every attempt's error by class into the returned map; adds to `p` an
/// `internal_error` for each DuckDB internal error and, when `allowed` is given, an
/// `unexpected_error` for each error of another class.
pub fn tally(txns: &[Txn], allowed: Option<&[ErrorClass]>, p: &mut Problems) -> BTreeMap<&'static str, u64> {
    let mut classes = BTreeMap::new();
    for t in txns {
        for a in &t.attempts {
            let (Some(class), message) = (a.error_class, a.error.as_deref().unwrap_or("")) else {
                continue;
            };
            *classes.entry(class.name()).or_default() += 1;
            let place = || {
                format!(
                    "w{} t{} a{}: {}",
                    t.writer,
                    t.txn,
                    a.attempt,
                    message.lines().next().unwrap_or("")
                )
            };
            if message.contains("INTERNAL Error") {
                p.add("internal_error", place);
            } else if allowed.is_some_and(|ok| !ok.contains(&class)) {
                p.add("unexpected_error", || format!("{} ({})", place(), class.name()));
            }
        }
    }
    classes
}

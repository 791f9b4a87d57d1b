//! What the ROLLBACKs sent after COMMIT (`client.cleanup = "always_rollback"`) did, summed
//! from the history's `cleanup` entries for the report.

use super::Event;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanupSummary {
    /// ROLLBACKs sent after a committed attempt.
    pub rollbacks_after_commit: u64,
    /// Of those, refused by DuckDB, by error class.
    pub refused_by_class: BTreeMap<String, u64>,
    /// The first refusal's message.
    pub first_error: Option<String>,
}

/// `None` when the run sent no such ROLLBACK (the default cleanup).
pub fn summarize(events: &[Event]) -> Option<CleanupSummary> {
    let mut s = CleanupSummary::default();
    for e in events {
        if let Event::Cleanup { error_class, error, .. } = e {
            s.rollbacks_after_commit += 1;
            if let Some(class) = error_class {
                *s.refused_by_class.entry(class.name().to_string()).or_default() += 1;
                if s.first_error.is_none() {
                    s.first_error = error.clone();
                }
            }
        }
    }
    (s.rollbacks_after_commit > 0).then_some(s)
}

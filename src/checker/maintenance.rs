//! What the `maintenance` actors did: each operation's calls and failures, by error class.
//! Whether maintenance lost or changed rows, or removed a file a live snapshot needs, is
//! judged by `row_count`, `transaction_integrity`, `upsert_keys` and `object_store` on the
//! same lake; this check reports the operations, and warns when some failed.

use super::{About, Applies, Check, CheckContext, CheckResult, CheckStatus, Needs, RunFacts};
use crate::history::Event;
use serde_json::json;
use std::collections::BTreeMap;

pub struct Maintenance;

impl Check for Maintenance {
    fn about(&self) -> About {
        About::new("maintenance", Needs::History, Applies::Any)
    }

    fn judge_run(&self, _ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        // operation -> (ok, failed, failures by class)
        let mut ops: BTreeMap<&str, (u64, u64, BTreeMap<&str, u64>)> = BTreeMap::new();
        for e in &run.actor_events {
            let Event::Maintenance {
                operation,
                error_class,
                error,
                ..
            } = e
            else {
                continue;
            };
            let entry = ops.entry(operation.as_str()).or_default();
            match (error, error_class) {
                (None, _) => entry.0 += 1,
                (Some(_), class) => {
                    entry.1 += 1;
                    *entry.2.entry(class.map(|c| c.name()).unwrap_or("other")).or_default() += 1;
                }
            }
        }
        if ops.is_empty() {
            return Ok(CheckResult::skipped(
                self.name(),
                "no maintenance operations recorded (no maintenance actors in this run)",
            ));
        }
        let failed: u64 = ops.values().map(|o| o.1).sum();
        let summary = ops
            .iter()
            .map(|(op, (ok, bad, _))| format!("{op} {ok} ok/{bad} failed"))
            .collect::<Vec<_>>()
            .join(", ");
        let evidence = json!(ops
            .iter()
            .map(|(op, (ok, bad, classes))| (
                op.to_string(),
                json!({ "ok": ok, "failed": bad, "errors_by_class": classes })
            ))
            .collect::<serde_json::Map<_, _>>());
        let status = if failed > 0 {
            CheckStatus::Warn
        } else {
            CheckStatus::Pass
        };
        Ok(CheckResult {
            name: self.name().to_string(),
            status,
            summary,
            evidence,
            known: None,
        })
    }
}

/// Why the commit tags cannot all be found, if a `maintenance` actor expired snapshots:
/// expiry deletes the snapshots that carried them, by design.
pub fn expired_snapshots(run: &super::RunFacts) -> Option<String> {
    let n = run
        .actor_events
        .iter()
        .filter(|e| matches!(e, Event::Maintenance { operation, error: None, .. } if operation == "expire_snapshots"))
        .count();
    (n > 0).then(|| {
        format!(
            "a maintenance actor expired snapshots ({n} expire_snapshots calls): the snapshots that \
        carried this run's commit tags are gone by design; row_count and transaction_integrity judge the rows"
        )
    })
}

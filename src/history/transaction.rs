//! Folds the history's entries into one record per transaction: its attempts, and how it
//! ended once every `info` attempt has been resolved (or not) from its commit tag.

use super::event::{Event, OpOutcome, Step};
use super::tag::TagKey;
use super::ErrorClass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How one transaction ended. Indeterminate: an attempt's COMMIT ended in an unknown state
/// and its tag could not be looked up, so nobody knows whether it committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Committed,
    Failed,
    Indeterminate,
}

#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub attempt: u32,
    pub invoke_at: f64,
    /// With a rate: when the transaction was due (on its first attempt).
    pub scheduled_at: Option<f64>,
    pub complete_at: Option<f64>,
    /// `None`: the attempt never completed (the harness or the writer crashed).
    pub outcome: Option<OpOutcome>,
    pub step: Option<Step>,
    pub commit_seconds: Option<f64>,
    pub snapshot_id: Option<i64>,
    pub error_class: Option<ErrorClass>,
    pub error: Option<String>,
    /// For an `info` attempt: what its tag lookup said (`None` = still unknown).
    pub resolved: Option<Option<bool>>,
    pub resolved_how: Option<String>,
}

impl Attempt {
    /// Whether this attempt committed: `Some(true/false)` when known.
    pub fn committed(&self) -> Option<bool> {
        match self.outcome {
            Some(OpOutcome::Ok) => Some(true),
            Some(OpOutcome::Fail) => Some(false),
            Some(OpOutcome::Info) | None => self.resolved.flatten(),
        }
    }

    /// Was this attempt's outcome unknown at first (an `info`, or no completion at all)?
    pub fn was_uncertain(&self) -> bool {
        !matches!(self.outcome, Some(OpOutcome::Ok | OpOutcome::Fail))
    }
}

#[derive(Debug, Clone)]
pub struct Txn {
    pub writer: u32,
    pub txn: u64,
    pub rows: u32,
    pub attempts: Vec<Attempt>,
    pub outcome: Outcome,
    /// The attempt that committed, and the snapshot it made.
    pub committed_attempt: Option<u32>,
    pub snapshot_id: Option<i64>,
}

impl Txn {
    pub fn first_invoke(&self) -> f64 {
        self.attempts.first().map(|a| a.invoke_at).unwrap_or(0.0)
    }

    /// With a rate: when the transaction was due to start (its first attempt says).
    pub fn scheduled_at(&self) -> Option<f64> {
        self.attempts.first().and_then(|a| a.scheduled_at)
    }

    pub fn last_complete(&self) -> Option<f64> {
        self.attempts.last().and_then(|a| a.complete_at)
    }

    pub fn committing(&self) -> Option<&Attempt> {
        self.committed_attempt
            .and_then(|n| self.attempts.iter().find(|a| a.attempt == n))
    }

    pub fn key_of(&self, attempt: u32) -> TagKey {
        TagKey {
            writer: self.writer,
            txn: self.txn,
            attempt,
        }
    }
}

/// One record per (writer, transaction), in that order.
pub fn fold(events: &[Event]) -> Vec<Txn> {
    let mut gathered = Gathered::default();
    for e in events {
        gathered.take(e);
    }
    gathered
        .0
        .into_iter()
        .map(|((writer, txn), (rows, attempts))| ended(writer, txn, rows, attempts.into_values().collect()))
        .collect()
}

/// Per (writer, transaction): its rows and its attempts by number, as the entries come.
#[derive(Default)]
struct Gathered(BTreeMap<(u32, u64), (u32, BTreeMap<u32, Attempt>)>);

impl Gathered {
    fn take(&mut self, e: &Event) {
        match e {
            Event::Invoke {
                writer,
                txn,
                attempt,
                at,
                rows,
                scheduled_at,
            } => {
                let entry = self.0.entry((*writer, *txn)).or_default();
                entry.0 = *rows;
                entry.1.insert(
                    *attempt,
                    Attempt {
                        attempt: *attempt,
                        invoke_at: *at,
                        scheduled_at: *scheduled_at,
                        ..Default::default()
                    },
                );
            }
            Event::Complete {
                writer, txn, attempt, ..
            }
            | Event::Resolve {
                writer, txn, attempt, ..
            }
            | Event::Snapshot {
                writer, txn, attempt, ..
            } => {
                // An entry about an attempt whose start was never recorded has nothing to add to.
                if let Some(a) = self.0.get_mut(&(*writer, *txn)).and_then(|t| t.1.get_mut(attempt)) {
                    a.learn(e);
                }
            }
            Event::Run { .. }
            | Event::Nemesis { .. }
            | Event::Cleanup { .. }
            | Event::Maintenance { .. }
            | Event::Read { .. } => {}
        }
    }
}

impl Attempt {
    /// What a later entry about this attempt adds: how it completed, what its tag lookup
    /// said, or the snapshot it made.
    fn learn(&mut self, e: &Event) {
        match e {
            Event::Complete {
                at,
                outcome,
                step,
                commit_seconds,
                snapshot_id,
                error_class,
                error,
                ..
            } => {
                self.complete_at = Some(*at);
                self.outcome = Some(*outcome);
                self.step = Some(*step);
                self.commit_seconds = *commit_seconds;
                self.snapshot_id = *snapshot_id;
                self.error_class = *error_class;
                self.error = error.clone();
            }
            // A later lookup that knows more replaces an earlier "still unknown".
            Event::Resolve {
                committed,
                snapshot_id,
                how,
                ..
            } if self.resolved.flatten().is_none() => {
                self.resolved = Some(*committed);
                self.resolved_how = Some(how.clone());
                if snapshot_id.is_some() {
                    self.snapshot_id = *snapshot_id;
                }
            }
            Event::Snapshot { snapshot_id, .. } => {
                self.snapshot_id.get_or_insert(*snapshot_id);
            }
            _ => {}
        }
    }
}

/// How a transaction ended, from its attempts: committed if one did, indeterminate if one
/// may have, failed otherwise.
fn ended(writer: u32, txn: u64, rows: u32, attempts: Vec<Attempt>) -> Txn {
    let committed = attempts.iter().find(|a| a.committed() == Some(true));
    let outcome = match committed {
        Some(_) => Outcome::Committed,
        None if attempts.iter().any(|a| a.committed().is_none()) => Outcome::Indeterminate,
        None => Outcome::Failed,
    };
    Txn {
        writer,
        txn,
        rows,
        committed_attempt: committed.map(|a| a.attempt),
        snapshot_id: committed.and_then(|a| a.snapshot_id),
        attempts,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoke(writer: u32, txn: u64, attempt: u32, at: f64) -> Event {
        Event::Invoke {
            writer,
            txn,
            attempt,
            at,
            rows: 10,
            scheduled_at: None,
        }
    }

    fn complete(writer: u32, txn: u64, attempt: u32, at: f64, outcome: OpOutcome, snapshot_id: Option<i64>) -> Event {
        Event::Complete {
            writer,
            txn,
            attempt,
            at,
            outcome,
            step: Step::Commit,
            commit_seconds: None,
            snapshot_id,
            error_class: None,
            error: None,
        }
    }

    #[test]
    fn outcomes_follow_the_attempts_and_their_resolutions() {
        let events = vec![
            // w0 t0: fails once, then commits.
            invoke(0, 0, 1, 0.0),
            complete(0, 0, 1, 0.1, OpOutcome::Fail, None),
            invoke(0, 0, 2, 0.2),
            complete(0, 0, 2, 0.3, OpOutcome::Ok, Some(5)),
            // w0 t1: info, resolved present.
            invoke(0, 1, 1, 0.4),
            complete(0, 1, 1, 0.5, OpOutcome::Info, None),
            Event::Resolve {
                writer: 0,
                txn: 1,
                attempt: 1,
                at: 0.6,
                committed: Some(true),
                snapshot_id: Some(9),
                how: "tag found".into(),
            },
            // w1 t0: info, resolved absent, retried, fails for good.
            invoke(1, 0, 1, 0.0),
            complete(1, 0, 1, 0.2, OpOutcome::Info, None),
            Event::Resolve {
                writer: 1,
                txn: 0,
                attempt: 1,
                at: 0.3,
                committed: Some(false),
                snapshot_id: None,
                how: "tag absent".into(),
            },
            invoke(1, 0, 2, 0.4),
            complete(1, 0, 2, 0.5, OpOutcome::Fail, None),
            // w1 t1: invoked, never completed (crash): unknown.
            invoke(1, 1, 1, 0.6),
        ];
        let txns = fold(&events);
        let outcomes: Vec<(u32, u64, Outcome, Option<i64>)> = txns
            .iter()
            .map(|t| (t.writer, t.txn, t.outcome, t.snapshot_id))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                (0, 0, Outcome::Committed, Some(5)),
                (0, 1, Outcome::Committed, Some(9)),
                (1, 0, Outcome::Failed, None),
                (1, 1, Outcome::Indeterminate, None),
            ]
        );
        assert_eq!(txns[3].attempts[0].committed(), None);
    }
}

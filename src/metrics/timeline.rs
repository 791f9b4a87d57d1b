//! The run second by second: commits, failures and retries from the history, lock waiters
//! from the monitor's samples. Second 0 starts when the writers start.

use crate::history::{Outcome, Txn};
use crate::util::LockExt;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Second {
    pub second: u64,
    pub commits: u64,
    /// Transactions that failed for good or ended unknown in this second.
    pub failures: u64,
    /// Harness retries started in this second.
    pub retries: u64,
    /// The most sessions waiting on a lock in any sample of this second.
    pub lock_waiters: u64,
    /// Part of a stall: no transaction completed for `stall_after` around this second.
    #[serde(default)]
    pub stalled: bool,
}

/// The monitor's lock-waiter samples (run clock seconds, waiters).
#[derive(Default)]
pub struct LockSamples(Mutex<Vec<(f64, u64)>>);

impl LockSamples {
    pub fn push(&self, at: f64, waiters: u64) {
        self.0.locked().push((at, waiters));
    }

    pub fn all(&self) -> Vec<(f64, u64)> {
        self.0.locked().clone()
    }
}

/// The slot of second `at`, adding empty seconds up to it.
fn slot(seconds: &mut Vec<Second>, at: f64) -> &mut Second {
    let s = at.max(0.0) as usize;
    while seconds.len() <= s {
        let next = seconds.len() as u64;
        seconds.push(Second {
            second: next,
            ..Default::default()
        });
    }
    &mut seconds[s]
}

/// `stalls`: (from, until) on the run clock.
pub fn build(txns: &[Txn], lock_samples: &[(f64, u64)], stalls: &[(f64, f64)]) -> Vec<Second> {
    let mut seconds: Vec<Second> = Vec::new();
    for t in txns {
        for a in t.attempts.iter().skip(1) {
            slot(&mut seconds, a.invoke_at).retries += 1;
        }
        match (t.outcome, t.committing().and_then(|a| a.complete_at), t.last_complete()) {
            (Outcome::Committed, Some(at), _) => slot(&mut seconds, at).commits += 1,
            (Outcome::Failed | Outcome::Indeterminate, _, Some(at)) => slot(&mut seconds, at).failures += 1,
            _ => {}
        }
    }
    for &(at, waiters) in lock_samples.iter().filter(|(at, _)| *at >= 0.0) {
        let s = slot(&mut seconds, at);
        s.lock_waiters = s.lock_waiters.max(waiters);
    }
    for &(from, until) in stalls {
        let mut at = from.floor();
        while at <= until {
            slot(&mut seconds, at).stalled = true;
            at += 1.0;
        }
    }
    seconds
}

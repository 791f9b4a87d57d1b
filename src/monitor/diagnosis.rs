//! What a stuck run says about itself: every writer's current step and time in it, and
//! the lock picture with the sessions at the root of the blocking chains.

use super::snapshot::{Blocker, BlockingChain, PgSnapshot};
use crate::fleet::{Step, WriterSnapshot};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnosis {
    pub summary: String,
    pub writers: Vec<WriterSnapshot>,
    pub root_blockers: Vec<Blocker>,
    pub blocking_chains: Vec<BlockingChain>,
    /// The catalog database as last seen (sessions and locks).
    pub postgres: Option<PgSnapshot>,
}

pub fn diagnose(reason: &str, writers: Vec<WriterSnapshot>, pg: Option<PgSnapshot>) -> Diagnosis {
    let unfinished: Vec<&WriterSnapshot> = writers.iter().filter(|w| w.step != Step::Done).collect();
    let mut summary = format!("{reason}: {} of {} writers unfinished", unfinished.len(), writers.len());
    let mut longest: Vec<&&WriterSnapshot> = unfinished.iter().collect();
    longest.sort_by(|a, b| b.seconds_in_step.total_cmp(&a.seconds_in_step));
    for w in longest.iter().take(4) {
        summary.push_str(&format!(
            "; w{} in {:?} for {:.1} s (txn {}, attempt {})",
            w.writer, w.step, w.seconds_in_step, w.txn_seq, w.attempt
        ));
    }
    let (roots, chains) = match &pg {
        Some(p) => (p.root_blockers(), p.blocking_chains()),
        None => (Vec::new(), Vec::new()),
    };
    if pg.is_none() {
        summary.push_str(". The catalog database could not be sampled.");
    } else if roots.is_empty() {
        summary.push_str(". No session in the catalog database blocks another (no lock waits seen): the writers are stuck outside Postgres locks.");
    }
    for r in &roots {
        let waiting = chains.iter().filter(|c| c.blockers.iter().any(|b| b.pid == r.pid)).count();
        summary.push_str(&format!(
            ". Blocking session: pid {} ({}), {}, in transaction for {:.1} s, holding {}, last query: {}; {waiting} session(s) wait for it",
            r.pid,
            if r.application_name.is_empty() { "no application_name" } else { &r.application_name },
            r.state,
            r.seconds_in_transaction,
            if r.holds.is_empty() { "no relation lock".to_string() } else { r.holds.join(", ") },
            r.query.split_whitespace().collect::<Vec<_>>().join(" "),
        ));
    }
    Diagnosis { summary, writers, root_blockers: roots, blocking_chains: chains, postgres: pg }
}

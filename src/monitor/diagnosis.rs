//! What a stuck run says about itself: every writer's current step and time in it, where
//! it is (each writer matched to its catalog sessions by application_name: waiting on a
//! lock and on whom, running a catalog query, in DuckLake's retry wait, or outside Postgres
//! in the object store or DuckDB), and the lock picture with the sessions at the root of
//! the blocking chains.

use super::snapshot::{Blocker, BlockingChain, PgSnapshot, Session};
use crate::fleet::{Step, WriterSnapshot};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnosis {
    pub summary: String,
    pub writers: Vec<WriterSnapshot>,
    /// Where each unfinished writer is, in words, with its catalog sessions' pids.
    #[serde(default)]
    pub places: Vec<WriterPlace>,
    pub root_blockers: Vec<Blocker>,
    pub blocking_chains: Vec<BlockingChain>,
    /// The catalog database as last seen (sessions and locks).
    pub postgres: Option<PgSnapshot>,
}

/// A stretch of the run in which no transaction completed for `stall_after`, diagnosed
/// when it was noticed (times on the run clock).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stall {
    /// When the last transaction before the stall completed.
    pub from: f64,
    /// When the next one completed (`None`: never, within the run).
    pub until: Option<f64>,
    pub diagnosis: Diagnosis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriterPlace {
    pub writer: u32,
    pub sessions: Vec<i32>,
    pub place: String,
}

/// The writer's own catalog sessions: application_name `.../w<N>` exactly.
fn sessions_of(pg: &PgSnapshot, writer: u32) -> Vec<&Session> {
    let name = format!("w{writer}");
    pg.sessions
        .iter()
        .filter(|s| s.application_name.rsplit('/').next() == Some(name.as_str()))
        .collect()
}

/// Where a writer is, from its step and its catalog sessions.
fn place(w: &WriterSnapshot, pg: Option<&PgSnapshot>) -> WriterPlace {
    let mine = pg.map(|p| sessions_of(p, w.writer)).unwrap_or_default();
    let who = |pid: i32| {
        pg.and_then(|p| p.session(pid))
            .map(|s| s.application_name.clone())
            .unwrap_or_else(|| "another database".into())
    };
    let in_txn = mine.iter().any(|s| s.state.starts_with("idle in transaction"));
    let place = if let Some(s) = mine.iter().find(|s| !s.blocked_by.is_empty()) {
        let b = s.blocked_by[0];
        format!(
            "waiting {:.1} s for a lock held by pid {b} ({})",
            s.seconds_in_state,
            who(b)
        )
    } else if let Some(s) = mine.iter().find(|s| s.state == "active") {
        format!(
            "running a catalog query for {:.1} s: {}",
            s.seconds_in_state,
            s.query.split_whitespace().take(8).collect::<Vec<_>>().join(" ")
        )
    } else {
        match w.step {
            Step::Commit if !in_txn => {
                "in COMMIT with no catalog transaction open: DuckLake's retry wait between commit attempts".to_string()
            }
            Step::Insert | Step::Commit | Step::Tag => {
                format!(
                "in {:?}, no catalog query running{}: writing Parquet to the object store, or working inside DuckDB",
                w.step,
                if in_txn { " (its catalog transaction open and idle)" } else { "" }
            )
            }
            Step::Backoff => "in the harness's retry backoff".to_string(),
            Step::Pacing => "waiting for its next transaction (run.rate or run.think_time)".to_string(),
            Step::Resolve => "looking up an unknown commit by its tag".to_string(),
            Step::Connecting | Step::Starting => "setting up: extensions, S3 secret, ATTACH".to_string(),
            step => format!("in {step:?}"),
        }
    };
    WriterPlace {
        writer: w.writer,
        sessions: mine.iter().map(|s| s.pid).collect(),
        place,
    }
}

pub fn diagnose(reason: &str, writers: Vec<WriterSnapshot>, pg: Option<PgSnapshot>) -> Diagnosis {
    let unfinished: Vec<&WriterSnapshot> = writers.iter().filter(|w| w.step != Step::Done).collect();
    let mut summary = format!("{reason}: {} of {} writers unfinished", unfinished.len(), writers.len());
    let mut longest: Vec<&&WriterSnapshot> = unfinished.iter().collect();
    longest.sort_by(|a, b| b.seconds_in_step.total_cmp(&a.seconds_in_step));
    let places: Vec<WriterPlace> = longest.iter().map(|w| place(w, pg.as_ref())).collect();
    for (w, p) in longest.iter().zip(&places).take(4) {
        summary.push_str(&format!(
            "; w{} in {:?} for {:.1} s (txn {}, attempt {}), {}",
            w.writer, w.step, w.seconds_in_step, w.txn_seq, w.attempt, p.place
        ));
    }
    let (roots, chains) = match &pg {
        Some(p) => (p.root_blockers(), p.blocking_chains()),
        None => (Vec::new(), Vec::new()),
    };
    if pg.is_none() {
        summary.push_str(". The catalog database could not be sampled.");
    } else if roots.is_empty() {
        summary.push_str(
            ". No session in the catalog database blocks another (no lock waits seen): the writers are \
            stuck outside Postgres locks.",
        );
    }
    for r in &roots {
        let waiting = chains
            .iter()
            .filter(|c| c.blockers.iter().any(|b| b.pid == r.pid))
            .count();
        summary.push_str(&format!(
            ". Blocking session: pid {} ({}), {}, in transaction for {:.1} s, holding {}, last query: {}; {waiting} \
                session(s) wait for it",
            r.pid,
            if r.application_name.is_empty() {
                "no application_name"
            } else {
                &r.application_name
            },
            r.state,
            r.seconds_in_transaction,
            if r.holds.is_empty() {
                "no relation lock".to_string()
            } else {
                r.holds.join(", ")
            },
            r.query.split_whitespace().collect::<Vec<_>>().join(" "),
        ));
    }
    Diagnosis {
        summary,
        writers,
        places,
        root_blockers: roots,
        blocking_chains: chains,
        postgres: pg,
    }
}

//! The sampler: a task on the harness runtime that looks at the catalog every 250 ms and
//! keeps the peaks, the blocking chains seen, and the latest picture for a diagnosis.

use super::snapshot::{self, BlockingChain, PgSnapshot};
use crate::environment::PgEndpoint;
use crate::fleet::WriterShared;
use crate::util::LockExt;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

pub const INTERVAL: Duration = Duration::from_millis(250);
const MAX_CHAINS_KEPT: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct WatchSummary {
    pub samples: u64,
    pub failed_samples: u64,
    pub peak_lock_waiters: u64,
    pub longest_lock_wait_seconds: f64,
    pub peak_idle_in_transaction: u64,
    pub peak_sessions: u64,
    /// Distinct (waiter, blocker) situations seen during the run, first ones first.
    pub blocking_chains_seen: Vec<BlockingChain>,
    /// Why nothing was sampled (a SQLite or DuckDB-file catalog has no Postgres to watch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(skip)]
    pub latest: Option<PgSnapshot>,
}

pub struct PgWatch {
    pub summary: Arc<Mutex<WatchSummary>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PgWatch {
    pub fn start(pg: &PgEndpoint, run_id: &str, shared: Arc<WriterShared>) -> anyhow::Result<Self> {
        if let Some(why) = shared.scenario.lake.catalog.no_postgres() {
            return Ok(Self::skipped(why));
        }
        // Reopened when a fault (a catalog restart) ends it: the timeline goes on after it.
        let session = crate::runtime::block_on(crate::environment::pg::Session::open(
            pg,
            &format!("ducklake-stress/{run_id}/monitor"),
        ))?;
        let summary = Arc::new(Mutex::new(WatchSummary::default()));
        let (stop, mut stopped) = watch::channel(false);
        let sink = summary.clone();
        let task = crate::runtime::get().spawn(async move {
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                let at = shared.clock.elapsed();
                let sample = match session.client().await {
                    Ok(client) => snapshot::take(&client, at).await,
                    Err(e) => Err(e),
                };
                // Set-up samples count for the peaks; the timeline starts with the writers.
                let run_at = shared.history.origin().map(|o| o.elapsed().as_secs_f64());
                let mut s = sink.locked();
                match sample {
                    Ok(snap) => {
                        let waiters = snap.lock_waiters();
                        if let Some(t) = run_at {
                            shared.lock_samples.push(t, waiters);
                        }
                        shared.live.lock_waiters.store(waiters, Ordering::Relaxed);
                        s.absorb(snap);
                    }
                    Err(_) => s.failed_samples += 1,
                }
            }
        });
        Ok(PgWatch { summary, stop, task })
    }

    /// A watch that samples nothing and says why.
    fn skipped(why: String) -> Self {
        let summary = Arc::new(Mutex::new(WatchSummary {
            skipped: Some(why),
            ..WatchSummary::default()
        }));
        let (stop, _) = watch::channel(false);
        let task = crate::runtime::get().spawn(async {});
        PgWatch { summary, stop, task }
    }

    /// Stops sampling (waiting at most a second for the task) and returns what it saw.
    pub fn finish(self) -> WatchSummary {
        let _ = self.stop.send(true);
        let task = self.task;
        let _ = crate::runtime::block_on(async { tokio::time::timeout(Duration::from_secs(1), task).await });
        self.summary.locked().clone()
    }
}

impl WatchSummary {
    fn absorb(&mut self, snap: PgSnapshot) {
        self.samples += 1;
        self.peak_lock_waiters = self.peak_lock_waiters.max(snap.lock_waiters());
        self.longest_lock_wait_seconds = self.longest_lock_wait_seconds.max(snap.longest_lock_wait());
        self.peak_idle_in_transaction = self.peak_idle_in_transaction.max(snap.idle_in_transaction());
        self.peak_sessions = self.peak_sessions.max(snap.sessions.len() as u64);
        for chain in snap.blocking_chains() {
            if self.blocking_chains_seen.len() >= MAX_CHAINS_KEPT {
                break;
            }
            let known = self.blocking_chains_seen.iter().any(|c| {
                c.waiter == chain.waiter
                    && c.blockers
                        .iter()
                        .map(|b| b.pid)
                        .eq(chain.blockers.iter().map(|b| b.pid))
            });
            if !known {
                self.blocking_chains_seen.push(chain);
            }
        }
        self.latest = Some(snap);
    }
}

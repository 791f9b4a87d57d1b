//! Everything the runner shares with its writers.

use super::status::WriterStatus;
use crate::history::Recorder;
use crate::lake::LakeTarget;
use crate::metrics::LockSamples;
use crate::scenario::Scenario;
use crate::util::LockExt;
use duckdb::InterruptHandle;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct WriterShared {
    pub run_id: String,
    pub scenario: Arc<Scenario>,
    pub target: Arc<LakeTarget>,
    /// When writer set-up began (writer status times count from here).
    pub clock: Instant,
    /// The history every writer appends to; its clock starts at `go`.
    pub history: Arc<Recorder>,
    /// A catalog session of the harness for looking up commit tags of unknown outcomes.
    pub resolver: Arc<crate::environment::pg::Session>,
    /// Finish the current transaction, start no new one.
    pub stop: AtomicBool,
    /// The deadline passed or the user pressed Ctrl-C: abandon work now.
    pub abort: AtomicBool,
    /// Writers that have finished opening their instance (successfully or not).
    pub ready: AtomicUsize,
    /// Set once every writer is ready: all start writing at the same moment, and the
    /// measured window does not include loading extensions and attaching.
    pub go: AtomicBool,
    pub live: LiveCounters,
    pub lock_samples: LockSamples,
    /// The writers this process runs: all of them (threads), or one (a writer process).
    pub writers: Vec<WriterSlot>,
    /// The id of `writers[0]`.
    pub first_writer: u32,
    /// Where transaction numbers start (0, or further on for a restarted writer process).
    pub first_txn: u64,
    /// How many of this process's writers may set up at once.
    pub setup_gate: crate::util::gate::Gate,
}

/// Who the writers of one process are: a run, and which of its writers run here.
pub struct Members {
    pub run_id: String,
    pub scenario: Arc<Scenario>,
    pub target: Arc<LakeTarget>,
    pub history: Arc<Recorder>,
    pub resolver: Arc<crate::environment::pg::Session>,
    /// The writers this process runs: `first..first + count`.
    pub first: u32,
    pub count: u32,
    pub first_txn: u64,
}

impl WriterShared {
    /// Nothing started yet: no writer ready, the barrier closed, no stop asked.
    pub fn new(m: Members) -> Self {
        let clock = Instant::now();
        WriterShared {
            run_id: m.run_id,
            scenario: m.scenario,
            target: m.target,
            clock,
            history: m.history,
            resolver: m.resolver,
            stop: false.into(),
            abort: false.into(),
            ready: 0.into(),
            go: false.into(),
            live: LiveCounters::default(),
            lock_samples: LockSamples::default(),
            writers: (0..m.count).map(|_| WriterSlot::new(clock)).collect(),
            first_writer: m.first,
            first_txn: m.first_txn,
            // A few per core: enough to keep the machine busy, few enough that no ATTACH
            // waits past the catalog's connect timeout.
            setup_gate: crate::util::gate::Gate::new(std::thread::available_parallelism().map_or(8, |n| n.get() * 4)),
        }
    }

    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire) || self.aborted()
    }

    /// Stop and abort, and interrupt whatever statement each writer is in.
    pub fn abort_all(&self) {
        self.stop.store(true, Ordering::Release);
        self.abort.store(true, Ordering::Release);
        for slot in &self.writers {
            if let Some(handle) = slot.interrupt.locked().as_ref() {
                handle.interrupt();
            }
        }
    }

    pub fn snapshots(&self) -> Vec<super::WriterSnapshot> {
        self.writers
            .iter()
            .enumerate()
            .map(|(i, s)| s.status.snapshot(self.first_writer + i as u32))
            .collect()
    }

    pub fn slot(&self, writer: u32) -> &WriterSlot {
        &self.writers[(writer - self.first_writer) as usize]
    }
}

/// Counters the progress line reads.
#[derive(Default)]
pub struct LiveCounters {
    pub commits: AtomicU64,
    pub failed: AtomicU64,
    pub indeterminate: AtomicU64,
    pub retries: AtomicU64,
    pub lock_waiters: AtomicU64,
}

/// How a writer's set-up (extensions, secret, ATTACH) went.
#[derive(Debug, Clone, Default)]
pub struct WriterSetup {
    pub took: Option<Duration>,
    pub error: Option<String>,
}

pub struct WriterSlot {
    pub status: WriterStatus,
    pub setup: Mutex<WriterSetup>,
    pub interrupt: Mutex<Option<Arc<InterruptHandle>>>,
}

impl WriterSlot {
    pub fn new(clock: Instant) -> Self {
        WriterSlot {
            status: WriterStatus::new(clock),
            setup: Mutex::new(WriterSetup::default()),
            interrupt: Mutex::new(None),
        }
    }

    pub fn setup(&self) -> MutexGuard<'_, WriterSetup> {
        self.setup.locked()
    }
}

//! The writers of a run as a group: what the runner shares with them (start barrier, stop
//! and abort flags, live counters), where each one is right now (its status, read
//! lock-free by the monitor and the hang diagnosis), and how they run:
//! - `threads`: each writer a thread of this process;
//! - `processes` (the parent) and `child` (`ducklake-stress writer`, the other end), which
//!   talk in the lines of `protocol`; `spawn` starts a writer process for either parent;
//! - `remote` (the coordinator, `run --coordinate`) and `worker` (`ducklake-stress worker`
//!   on another host, itself a parent of writer processes), also in `protocol`'s messages.
//!
//! What a writer does inside its process is the client's writer loop (client/writer.rs), handed
//! in as a function, so this folder knows nothing of workloads.

pub mod child;
pub mod processes;
pub mod protocol;
pub mod remote;
pub mod shared;
pub mod spawn;
pub mod status;
pub mod threads;
pub mod worker;

pub use processes::{ProcessFleet, WriterCrash};
pub use remote::{RemoteFleet, RemoteOptions, RemoteWorker, Workers};
pub use shared::{LiveCounters, Members, WriterSetup, WriterShared, WriterSlot};
pub use status::{Step, WriterSnapshot, WriterStatus};
pub use threads::ThreadFleet;

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// A group of writers the runner drives, whatever runs them (threads here; processes and
/// remote workers can implement the same). The runner's start barrier, stop, deadline,
/// abort and drain logic is written once against this, and unit-tested with a fake.
pub trait Fleet {
    fn size(&self) -> usize;
    /// Writers that finished set-up (attached, or failed to).
    fn ready(&self) -> usize;
    fn setup_failed(&self) -> bool;
    /// Opens the start barrier: every writer starts writing now.
    fn go(&self);
    /// Finish the current transaction, start no new one.
    fn stop(&self);
    /// Abandon work now: interrupt whatever each writer is doing.
    fn abort(&self);
    /// Waits up to `timeout` for a writer to end; returns how many have ended so far.
    fn wait_ended(&self, timeout: Duration) -> usize;
    /// Writers that died without being asked to (processes only: a crash in a thread ends
    /// the whole harness).
    fn crashes(&self) -> Vec<WriterCrash> {
        Vec::new()
    }
    /// The writers' process ids (processes only), for faults that signal them.
    fn pids(&self) -> Vec<i32> {
        Vec::new()
    }
}

/// A fleet whose writers can be killed and started again while the run goes on (writer
/// processes), for the `kill_writer` fault with `restart = true`.
pub trait Restarter: Send + Sync {
    /// Kills writer `id` and starts a new one in its place: (old pid, new pid).
    fn kill_and_restart(&self, id: u32) -> anyhow::Result<(i32, i32)>;
    /// The writers' process ids now, by writer.
    fn pids(&self) -> Vec<i32>;
}

/// Counts writers that ended, from one message each on a channel.
struct Ended {
    rx: Receiver<()>,
    count: usize,
}

impl Ended {
    fn new(rx: Receiver<()>) -> Self {
        Ended { rx, count: 0 }
    }

    fn wait(&mut self, timeout: Duration, size: usize) -> usize {
        match self.rx.recv_timeout(timeout) {
            Ok(()) => self.count += 1,
            Err(RecvTimeoutError::Timeout) => return self.count,
            // Every sender is gone: each writer sent its message before dropping its own.
            Err(RecvTimeoutError::Disconnected) => self.count = size,
        }
        while self.rx.try_recv().is_ok() {
            self.count += 1;
        }
        self.count.min(size)
    }
}

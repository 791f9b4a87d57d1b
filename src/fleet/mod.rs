//! The writers of a run as a group: what the runner shares with them (start barrier, stop
//! and abort flags, live counters) and where each one is right now (its status, read
//! lock-free by the monitor and the hang diagnosis).

pub mod shared;
pub mod status;
pub mod threads;

pub use shared::{LiveCounters, WriterSetup, WriterShared, WriterSlot};
pub use status::{Step, WriterSnapshot, WriterStatus};
pub use threads::ThreadFleet;

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
}

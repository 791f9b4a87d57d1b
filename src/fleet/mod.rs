//! The writers of a run as a group: what the runner shares with them (start barrier, stop
//! and abort flags, live counters) and where each one is right now (its status, read
//! lock-free by the monitor and the hang diagnosis).

pub mod shared;
pub mod status;

pub use shared::{LiveCounters, WriterSetup, WriterShared, WriterSlot};
pub use status::{Step, WriterSnapshot, WriterStatus};

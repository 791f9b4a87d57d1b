//! Where each writer is right now, readable lock-free by the monitor: the hang diagnosis
//! says "w3 has been in COMMIT for 41 s" from this.

pub use crate::history::Step;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::Instant;

fn step_from_u8(v: u8) -> Step {
    Step::ALL.get(v as usize).copied().unwrap_or(Step::Starting)
}

pub struct WriterStatus {
    step: AtomicU8,
    since_us: AtomicU64,
    txn_seq: AtomicU64,
    attempt: AtomicU32,
    clock: Instant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriterSnapshot {
    pub writer: u32,
    pub step: Step,
    pub seconds_in_step: f64,
    pub txn_seq: u64,
    pub attempt: u32,
}

impl WriterStatus {
    pub fn new(clock: Instant) -> Self {
        WriterStatus {
            step: AtomicU8::new(Step::Starting as u8),
            since_us: AtomicU64::new(0),
            txn_seq: AtomicU64::new(0),
            attempt: AtomicU32::new(0),
            clock,
        }
    }

    pub fn enter(&self, step: Step) {
        self.since_us
            .store(self.clock.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.step.store(step as u8, Ordering::Release);
    }

    pub fn set_txn(&self, seq: u64, attempt: u32) {
        self.txn_seq.store(seq, Ordering::Relaxed);
        self.attempt.store(attempt, Ordering::Relaxed);
    }

    pub fn step(&self) -> Step {
        step_from_u8(self.step.load(Ordering::Acquire))
    }

    pub fn snapshot(&self, writer: u32) -> WriterSnapshot {
        let now = self.clock.elapsed().as_micros() as u64;
        let since = self.since_us.load(Ordering::Relaxed);
        WriterSnapshot {
            writer,
            step: self.step(),
            seconds_in_step: now.saturating_sub(since) as f64 / 1e6,
            txn_seq: self.txn_seq.load(Ordering::Relaxed),
            attempt: self.attempt.load(Ordering::Relaxed),
        }
    }
}

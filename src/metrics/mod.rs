//! What a run measured, computed from its history after the fact (so a hung, interrupted or
//! crashed run is measured exactly like a finished one): latencies for every outcome,
//! throughput over the measured window with the drain tail apart, fairness between
//! writers, errors by class, and the per-second timeline.

pub mod conflicts;
pub mod latency;
pub mod pacing;
pub mod summary;
pub mod timeline;

pub use latency::{Latencies, LatencySummary};
pub use summary::{Counts, ErrorCount, Fairness, Summary, Totals, Window, WriterFigures};
pub use timeline::{LockSamples, Second};

//! Executing and measuring a run: the runner that provisions, starts writers, watches the
//! clock and the deadline, then checks and reports; plus metrics and the live progress line.

pub mod deadline;
pub mod interrupt;
pub mod metrics;
pub mod progress;
pub mod runner;
mod assemble;

//! Campaigns: many runs of a scenario, aggregated (the command that starts them, and the
//! one environment they share, are in `commands::campaign`: this layer stays below
//! `runner` and `export`). `sweep` runs every point of a parameter
//! matrix, `compare` a baseline against a candidate, `run --repeat` one point N times.
//!
//! - `executor` one job as a child process (or a fake, in unit tests)
//! - `plan`     which jobs, in which order (shuffled, or alternating sides), with progress
//! - `figures`  a run's figures and their aggregate over repetitions
//! - `sweep`    a sweep's table and envelope
//! - `compare`  the figures of two sides with intervals, and the verdict
//! - `correctness` what the verdict weighs first: checks per side, failed commits by class
//! - `judgement` the words of a judgement and a verdict

pub mod compare;
pub mod correctness;
pub mod executor;
pub mod figures;
pub mod judgement;
pub mod plan;
pub mod sweep;

pub use executor::{Executor, Job, Outcome, ProcessExecutor};
pub use figures::{Aggregate, RunFigures};

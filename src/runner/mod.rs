//! Executing a run: set-up, the writing phase (start barrier, stop, deadline, Ctrl-C),
//! what follows it (unknown outcomes resolved, checks), the report, and the progress line.
//!
//! - `run`       the phases in order, from scenario file to report
//! - `setup`     environment, the lake's table, versions, the object store before the run
//! - `supervise` the scheduling of the writing phase against any fleet (unit-tested with a fake)
//! - `writers`   the writing phase with real writers and services; the hang diagnosis
//! - `catalog`   the runner's own catalog queries (rollbacks, sessions, post-run lookups)
//! - `assemble`  from history and checks to the report
//! - `progress`  the live line

mod assemble;
pub mod catalog;
pub mod progress;
pub mod run;
pub mod setup;
pub mod supervise;
pub mod writers;

pub use run::{run, RunOptions, RunOutcome};
pub use setup::{provision, EnvChoice};

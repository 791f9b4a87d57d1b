//! Watching the catalog database while the run goes on: pg_locks and pg_stat_activity
//! every 250 ms, and the hang diagnosis built from them and the writers' positions.

pub mod diagnosis;
pub mod pg_watch;
pub mod snapshot;

//! Small helpers every layer may use; they depend on nothing else of the harness but its
//! error kinds and runtime: bounded waits, Ctrl-C, atomic file writes, identifiers, locks
//! that outlive a panicked holder.

pub mod atomic_write;
pub mod callgrind;
pub mod deadline;
pub mod gate;
pub mod ids;
pub mod interrupt;
pub mod lake_table;
pub mod lock;
pub mod toml_place;

pub use atomic_write::{write_atomically, write_atomically_with_mode};
pub use lock::LockExt;

/// A SQL string literal (here, low, because scenario validation quotes values too).
pub fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

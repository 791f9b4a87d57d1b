//! Scenario files: the declarative description of one stress run (TOML, schema v1).
//!
//! `model` holds the types exactly as written in the file, `parse` turns a file into a
//! validated [`Scenario`] or a one-paragraph error naming file, line, column and key;
//! `overrides` applies `--set key=value` to the file's text first.

pub mod actors;
mod model;
pub mod overrides;
pub mod pacing;
mod parse;

pub(crate) use crate::util::toml_place::Locator;
pub use actors::{ActorGroup, ActorKind, MaintenanceOp, MaintenanceSpec, ReaderSpec};
pub use model::*;
pub use overrides::Override;
pub use pacing::Pacing;
pub use parse::{load_file, load_text_with, load_with, parse_str};
// The workloads' own options, declared in their folders (`workload::<name>`).
pub use crate::workload::bank::BankSpec;
pub use crate::workload::counter::{CounterSpec, CounterStatement};
pub use crate::workload::delete::DeleteSpec;
pub use crate::workload::sql::{placeholders, Expected, SqlSpec, PLACEHOLDERS, SETUP_PLACEHOLDERS};
pub use crate::workload::upsert::{UpsertSpec, UpsertStatement};
pub use crate::workload::{WorkloadKind, WorkloadSpec};

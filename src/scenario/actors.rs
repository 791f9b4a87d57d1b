//! `[[actors]]`: groups of actors beside (or instead of) the `[workload]` writers. Each
//! actor has its own DuckDB instance and its own writer id, so it is one more "writer" to
//! the fleet, the sessions checks and the faults (`.../w<N>`); what it does depends on its
//! group's kind.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use toml::Spanned;

/// What the actors of a group do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// Runs the scenario's workload (`[workload]`, or a writing `[[actors]]` group).
    Writer,
    /// Runs DuckLake maintenance on a schedule beside the writers.
    Maintenance,
    /// Reads: point lookups of written transactions and counts at snapshots.
    Reader,
}

/// One group, as validated: writer ids `first .. first + count`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActorGroup {
    pub kind: ActorKind,
    pub count: u32,
    pub first: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<MaintenanceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<ReaderSpec>,
}

/// DuckLake's maintenance functions, each called as `CALL ducklake_<name>('lake', ...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceOp {
    MergeAdjacentFiles,
    RewriteDataFiles,
    FlushInlinedData,
    ExpireSnapshots,
    CleanupOldFiles,
    DeleteOrphanedFiles,
}

impl MaintenanceOp {
    pub const ALL: [MaintenanceOp; 6] = [
        MaintenanceOp::MergeAdjacentFiles,
        MaintenanceOp::RewriteDataFiles,
        MaintenanceOp::FlushInlinedData,
        MaintenanceOp::ExpireSnapshots,
        MaintenanceOp::CleanupOldFiles,
        MaintenanceOp::DeleteOrphanedFiles,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MaintenanceOp::MergeAdjacentFiles => "merge_adjacent_files",
            MaintenanceOp::RewriteDataFiles => "rewrite_data_files",
            MaintenanceOp::FlushInlinedData => "flush_inlined_data",
            MaintenanceOp::ExpireSnapshots => "expire_snapshots",
            MaintenanceOp::CleanupOldFiles => "cleanup_old_files",
            MaintenanceOp::DeleteOrphanedFiles => "delete_orphaned_files",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MaintenanceSpec {
    /// Pause between two rounds of `operations`.
    #[serde(with = "super::model::humantime_serde_ms")]
    pub every: Duration,
    pub operations: Vec<MaintenanceOp>,
    /// `expire_snapshots` expires the snapshots older than this; `cleanup_old_files` and
    /// `delete_orphaned_files` remove files older than this.
    #[serde(with = "super::model::humantime_serde_ms")]
    pub older_than: Duration,
    /// Writer 0 holds every fifth transaction open this long before its COMMIT, so that
    /// maintenance happens while a transaction that started before it is open.
    #[serde(
        default,
        with = "super::model::option_humantime_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub long_transaction: Option<Duration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReaderSpec {
    /// Pause between two reads.
    #[serde(with = "super::model::humantime_serde_ms")]
    pub every: Duration,
    /// Every this many reads, one comes from a freshly opened and attached instance (the
    /// others from the reader's long-lived one).
    pub fresh_every: u32,
}

impl super::Scenario {
    /// What writer id `id` does: the group it belongs to (writers when none).
    pub fn actor_kind(&self, id: u32) -> ActorKind {
        self.actor_group(id).map(|g| g.kind).unwrap_or(ActorKind::Writer)
    }

    pub fn actor_group(&self, id: u32) -> Option<&ActorGroup> {
        self.actors.iter().find(|g| (g.first..g.first + g.count).contains(&id))
    }

    /// How many actors run the workload (all of them without `[[actors]]`).
    pub fn workload_writers(&self) -> u32 {
        match self.actors.iter().find(|g| g.kind == ActorKind::Writer) {
            Some(g) => g.count,
            None if self.actors.is_empty() => self.run.writers,
            None => 0,
        }
    }

    pub fn long_transaction(&self) -> Option<Duration> {
        self.actors
            .iter()
            .filter_map(|g| g.maintenance.as_ref()?.long_transaction)
            .next()
    }
}

/// The keys of one `[[actors]]` table that are the actors' own; a writing group's other
/// keys are its workload's (`workload::Keys`), read from the same table.
#[derive(Debug, Deserialize)]
pub(crate) struct RawActor {
    pub kind: Spanned<String>,
    pub count: Option<Spanned<u32>>,
    // maintenance
    pub every: Option<Spanned<String>>,
    pub operations: Option<Spanned<Vec<Spanned<String>>>>,
    pub older_than: Option<Spanned<String>>,
    pub long_transaction: Option<Spanned<String>>,
    // reader
    pub fresh_every: Option<Spanned<u32>>,
    // the writing group's pacing (see `scenario::pacing`)
    pub rate: Option<Spanned<String>>,
    pub rate_total: Option<Spanned<String>>,
    pub think_time: Option<Spanned<String>>,
}

//! A `maintenance` actor: DuckLake's maintenance functions, round after round, beside the
//! writers, on its own instance. Each call is one history entry with its outcome; whether
//! maintenance lost or changed a row is judged by the row and file checks after the run.

use crate::fleet::{Step, WriterShared};
use crate::history::error_class::classify;
use crate::history::event::one_line;
use crate::history::{ErrorClass, Event};
use crate::lake::LAKE_ALIAS;
use crate::scenario::{MaintenanceOp, MaintenanceSpec};
use duckdb::Connection;
use std::time::Duration;

/// The call for `op`. The time-based ones take `older_than` so a run of seconds has
/// something to expire and delete (DuckLake's defaults are days).
pub fn call_sql(op: MaintenanceOp, older_than: Duration) -> String {
    // A literal: this DuckDB has no ICU, so `now() - INTERVAL` (TIMESTAMPTZ) does not bind.
    let at = std::time::SystemTime::now() - older_than;
    let cutoff = format!("older_than => TIMESTAMPTZ '{}'", humantime::format_rfc3339_millis(at));
    let args = match op {
        MaintenanceOp::ExpireSnapshots | MaintenanceOp::CleanupOldFiles | MaintenanceOp::DeleteOrphanedFiles => {
            format!(", {cutoff}")
        }
        _ => String::new(),
    };
    format!("CALL ducklake_{}('{LAKE_ALIAS}'{args})", op.name())
}

pub fn run(shared: &WriterShared, conn: &Connection, id: u32) {
    let Some(spec) = shared.scenario.actor_group(id).and_then(|g| g.maintenance.clone()) else {
        return;
    };
    let slot = shared.slot(id);
    while !shared.stopping() {
        for op in &spec.operations {
            if shared.stopping() {
                break;
            }
            slot.status.enter(Step::Insert);
            once(shared, conn, id, *op, &spec);
        }
        slot.status.enter(Step::Backoff);
        sleep_unless_stopping(shared, spec.every);
    }
}

fn once(shared: &WriterShared, conn: &Connection, id: u32, op: MaintenanceOp, spec: &MaintenanceSpec) {
    let history = &shared.history;
    let at = history.now();
    let r = conn.execute_batch(&call_sql(op, spec.older_than));
    let error = r.err().map(|e| one_line(&shared.target.mask_secrets(&e.to_string())));
    let error_class = error.as_deref().map(|e| {
        if shared.aborted() {
            ErrorClass::InterruptedByDeadline
        } else {
            classify(e)
        }
    });
    history.append(&Event::Maintenance {
        writer: id,
        operation: op.name().to_string(),
        at,
        end: history.now(),
        error_class,
        error,
    });
}

/// Sleeps `d`, waking early when the run stops.
pub fn sleep_unless_stopping(shared: &WriterShared, d: Duration) {
    let until = std::time::Instant::now() + d;
    while std::time::Instant::now() < until && !shared.stopping() {
        std::thread::sleep((until - std::time::Instant::now()).min(Duration::from_millis(20)));
    }
}

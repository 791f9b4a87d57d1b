//! `client.instance = "shared"`: the writers of a run use connections of one DuckDB instance,
//! as a pipeline that opens DuckDB once and hands a cursor to each worker thread does. The
//! first writer to get here opens and attaches it; every writer gets a `try_clone`. The last
//! writer to let go drops it, so its catalog sessions close before the session checks look.

use crate::fleet::WriterShared;
use crate::lake;
use crate::util::LockExt;
use duckdb::Connection;
use std::collections::BTreeMap;
use std::sync::Mutex;

struct Held {
    conn: Connection,
    /// Writers of the run that have not released it yet.
    users: usize,
}

/// By run id: tests run several runs in one process.
static INSTANCES: Mutex<BTreeMap<String, Held>> = Mutex::new(BTreeMap::new());

/// A connection of the run's one instance, opening it (named `app`) if no writer has yet.
/// A writer that got one must call [`release`] once when it is done with it.
pub fn connect(shared: &WriterShared, app: &str) -> anyhow::Result<Connection> {
    // Held while the first writer attaches: the others have nothing to clone until then.
    let mut all = INSTANCES.locked();
    if !all.contains_key(&shared.run_id) {
        let conn = lake::open_with(
            &shared.target,
            app,
            Some(&shared.scenario.retry.ducklake),
            &shared.scenario.client.attach_options,
        )?;
        all.insert(
            shared.run_id.clone(),
            Held {
                conn,
                users: shared.writers.len(),
            },
        );
    }
    let held = all.get(&shared.run_id).expect("inserted above");
    held.conn.try_clone().map_err(|e| {
        crate::error::environment(format!(
            "cloning a connection of the shared DuckDB instance failed: {e}"
        ))
    })
}

/// This writer is done with the shared instance; the last one closes it.
pub fn release(run_id: &str) {
    let mut all = INSTANCES.locked();
    if let Some(held) = all.get_mut(run_id) {
        held.users = held.users.saturating_sub(1);
        if held.users == 0 {
            all.remove(run_id);
        }
    }
}

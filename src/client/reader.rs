//! A `reader` actor: reads beside the writers, from its long-lived instance and (every
//! `fresh_every` reads) from one opened and attached for the read. Each read is a history
//! entry with what it saw; the `reads` check compares it with the writers' history:
//! - a point lookup of one transaction's rows (`writer_id`, `txn_seq`: DuckLake prunes files
//!   by their min/max statistics here, so a wrong statistic would hide committed rows);
//! - the row count at the newest snapshot and at an older one (`AT (VERSION => n)`).

use crate::fleet::{Step, WriterShared};
use crate::history::error_class::classify;
use crate::history::event::one_line;
use crate::history::{ErrorClass, Event};
use crate::lake;
use duckdb::Connection;
use rand::Rng;

/// How far back the count at a past snapshot goes.
const PAST_SNAPSHOTS: i64 = 20;

pub fn run(shared: &WriterShared, conn: &Connection, id: u32, app: &str) {
    let Some(spec) = shared.scenario.actor_group(id).and_then(|g| g.reader.clone()) else {
        return;
    };
    let slot = shared.slot(id);
    let mut n: u64 = 0;
    while !shared.stopping() {
        n += 1;
        slot.status.enter(Step::Insert);
        if n % spec.fresh_every as u64 == 0 {
            let at = shared.history.now();
            match open_fresh(shared, app) {
                Ok(fresh) => read_once(shared, &fresh, id, true),
                Err(e) => record(
                    shared,
                    id,
                    Read {
                        what: "attach",
                        at,
                        fresh: true,
                        ..Read::default()
                    },
                    Err(e),
                ),
            }
        } else {
            read_once(shared, conn, id, false);
        }
        slot.status.enter(Step::Backoff);
        super::maintenance::sleep_unless_stopping(shared, spec.every);
    }
}

fn open_fresh(shared: &WriterShared, app: &str) -> Result<Connection, String> {
    let client = &shared.scenario.client;
    let conn = lake::open_with(
        &shared.target,
        app,
        Some(&shared.scenario.retry.ducklake),
        &client.attach_options,
    )
    .map_err(|e| format!("{e:#}"))?;
    lake::apply_client(&conn, client).map_err(|e| format!("{e:#}"))?;
    Ok(conn)
}

/// What one read was, before its result.
#[derive(Default)]
struct Read {
    what: &'static str,
    at: f64,
    fresh: bool,
    target: Option<(u32, u64)>,
    snapshot: Option<i64>,
}

fn record(shared: &WriterShared, id: u32, r: Read, result: Result<i64, String>) {
    let history = &shared.history;
    let (seen, error) = match result {
        Ok(n) => (Some(n), None),
        Err(e) => (None, Some(one_line(&shared.target.mask_secrets(&e)))),
    };
    let error_class = error.as_deref().map(|e| {
        if shared.aborted() {
            ErrorClass::InterruptedByDeadline
        } else {
            classify(e)
        }
    });
    history.append(&Event::Read {
        writer: id,
        what: r.what.to_string(),
        at: r.at,
        end: history.now(),
        fresh: r.fresh,
        target_writer: r.target.map(|t| t.0),
        target_txn: r.target.map(|t| t.1),
        snapshot: r.snapshot,
        seen,
        error_class,
        error,
    });
}

fn read_once(shared: &WriterShared, conn: &Connection, id: u32, fresh: bool) {
    let table = lake::table::qualified(&shared.scenario.lake.table);
    let run_id = shared.run_id.as_str();
    let writers = shared.scenario.workload_writers().max(1);
    let w = rand::rng().random_range(0..writers);
    // A transaction number the writer has reached; the lookup itself starts afterwards.
    let newest: Result<Option<i64>, _> = conn.query_row(
        &format!("SELECT max(txn_seq) FROM {table} WHERE run_id = ? AND writer_id = ?"),
        duckdb::params![run_id, w],
        |r| r.get(0),
    );
    if let Ok(Some(newest)) = newest {
        let txn = rand::rng().random_range(0..=newest.max(0)) as u64;
        let at = shared.history.now();
        let seen = conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE run_id = ? AND writer_id = ? AND txn_seq = ?"),
            duckdb::params![run_id, w, txn as i64],
            |r| r.get::<_, i64>(0),
        );
        record(
            shared,
            id,
            Read {
                what: "lookup",
                at,
                fresh,
                target: Some((w, txn)),
                snapshot: None,
            },
            seen.map_err(|e| e.to_string()),
        );
    }
    let at = shared.history.now();
    let current: Result<i64, _> = conn.query_row(
        &format!(
            "SELECT max(snapshot_id) FROM ducklake_snapshots('{}')",
            lake::LAKE_ALIAS
        ),
        [],
        |r| r.get(0),
    );
    let current = match current {
        Ok(c) => c,
        Err(e) => {
            return record(
                shared,
                id,
                Read {
                    what: "count",
                    at,
                    fresh,
                    ..Read::default()
                },
                Err(e.to_string()),
            )
        }
    };
    let past = rand::rng().random_range((current - PAST_SNAPSHOTS).max(0)..=current);
    for snapshot in [current, past] {
        let at = shared.history.now();
        let seen = conn.query_row(
            &format!("SELECT count(*) FROM {table} AT (VERSION => {snapshot}) WHERE run_id = ?"),
            [run_id],
            |r| r.get::<_, i64>(0),
        );
        record(
            shared,
            id,
            Read {
                what: "count",
                at,
                fresh,
                target: None,
                snapshot: Some(snapshot),
            },
            seen.map_err(|e| e.to_string()),
        );
    }
}

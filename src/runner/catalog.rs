//! The runner's own questions to the catalog database: the rollback counter, whether the
//! writers' sessions are gone, and the post-run lookup of commits whose outcome is unknown.

use crate::history::tag;
use crate::history::{Event, Recorder, Txn};
use crate::lake::LakeTarget;
use crate::metrics::conflicts::{ids, note, CatalogNames};
use crate::util::deadline::run_with_deadline;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

pub fn read_rollbacks(catalog: &Client) -> Option<i64> {
    crate::runtime::block_on(async {
        let _ = tokio::time::timeout(
            Duration::from_secs(3),
            catalog.batch_execute("SELECT pg_stat_clear_snapshot()"),
        )
        .await;
        let rows = crate::environment::pg::query_with_deadline(
            catalog,
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()",
            &[],
            Duration::from_secs(3),
        )
        .await
        .ok()?;
        rows.first().map(|r| r.get::<_, i64>(0))
    })
}

/// Backend exit is asynchronous: gives the writers' sessions up to 5 s to disappear so the
/// rollback counter includes them and the session checks see only real leftovers. True
/// when none of them is running a query any more (the condition for saying a commit whose
/// tag is absent did not happen); a leaked idle session does not count.
pub fn wait_for_writer_sessions_to_close(catalog: &Client, run_id: &str) -> bool {
    let pattern = format!("{}w%", crate::util::ids::session_prefix(run_id));
    let until = Instant::now() + Duration::from_secs(5);
    let count = || {
        crate::runtime::block_on(crate::environment::pg::query_with_deadline(
            catalog,
            "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity WHERE application_name \
                LIKE $1",
            &[&pattern],
            Duration::from_secs(2),
        ))
        .ok()
        .and_then(|rows| rows.first().map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1))))
    };
    loop {
        let open = count();
        if open.is_some_and(|(all, _)| all == 0) || Instant::now() >= until {
            return open.is_some_and(|(_, active)| active == 0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The run's tagged snapshots from a Postgres catalog.
pub fn tagged_in_postgres(catalog: &Client, run_id: &str) -> anyhow::Result<Vec<tag::TaggedSnapshot>> {
    crate::runtime::block_on(tag::tagged_snapshots(catalog, run_id))
}

/// The run's tagged snapshots from a SQLite or DuckDB-file catalog, through a DuckDB
/// instance of the harness's own (opened once the writers have ended, so a DuckDB file's
/// lock is free), within 60 s.
pub fn tagged_in_file_catalog(target: &Arc<LakeTarget>, run_id: &str) -> anyhow::Result<Vec<tag::TaggedSnapshot>> {
    let (target, run, app) = (
        target.clone(),
        run_id.to_string(),
        format!("{}join", crate::util::ids::session_prefix(run_id)),
    );
    run_with_deadline(
        "reading the run's commit tags from the catalog file",
        Duration::from_secs(60),
        move || {
            let conn = crate::lake::open(&target, &app, None)?;
            tag::tagged_snapshots_in_lake(&conn, &run)
        },
    )
}

/// After the writers have stopped: joins every committed attempt to its snapshot by tag,
/// and looks up every attempt whose outcome is still unknown, writing what the catalog says
/// into the history. `settled`: why no commit of the writers can still land (none of their
/// catalog sessions runs a query; or they all ended, for a file catalog), so an absent tag
/// means the commit did not happen (`None`: those stay unknown). Returns the entries it
/// added, so the caller need not read the history again.
pub fn join_catalog(
    tagged: anyhow::Result<Vec<tag::TaggedSnapshot>>,
    history: &Recorder,
    txns: &[Txn],
    settled: Option<&str>,
) -> Vec<Event> {
    let found = match tagged {
        Ok(snapshots) => tag::by_key(&snapshots),
        Err(e) => {
            tracing::warn!("could not read the run's snapshots from the catalog: {e:#}");
            return Vec::new();
        }
    };
    let mut added = Vec::new();
    for t in txns {
        for a in &t.attempts {
            let k = t.key_of(a.attempt);
            let snapshot_id = found.get(&k).copied();
            let event = match (a.committed(), snapshot_id) {
                (Some(true), Some(s)) if a.snapshot_id.is_none() => Event::Snapshot {
                    writer: k.writer,
                    txn: k.txn,
                    attempt: k.attempt,
                    snapshot_id: s,
                },
                (None, Some(s)) => {
                    let how = format!("after the run: tag found in ducklake_snapshot_changes (snapshot {s})");
                    Event::Resolve {
                        writer: k.writer,
                        txn: k.txn,
                        attempt: k.attempt,
                        at: history.now(),
                        committed: Some(true),
                        snapshot_id: Some(s),
                        how,
                    }
                }
                (None, None) if settled.is_some() => {
                    let how = format!(
                        "after the run: tag absent from ducklake_snapshot_changes, and {}",
                        settled.unwrap_or_default()
                    );
                    Event::Resolve {
                        writer: k.writer,
                        txn: k.txn,
                        attempt: k.attempt,
                        at: history.now(),
                        committed: Some(false),
                        snapshot_id: None,
                        how,
                    }
                }
                _ => continue,
            };
            history.append(&event);
            added.push(event);
        }
    }
    added
}

/// The `schema.table` of every table (and data file) id the run's conflict messages name,
/// from `ducklake_table` and `ducklake_schema` (a table renamed during the run gets its
/// latest name). Asked once, after the run, on the harness's own catalog session; a
/// catalog that cannot be asked leaves the ids unnamed, saying why (the report still gives
/// them).
pub fn conflict_names(catalog: &Client, events: &[Event]) -> CatalogNames {
    name_ids(events, |sql_for, ids| {
        let rows = crate::runtime::block_on(crate::environment::pg::query_with_deadline(
            catalog,
            &sql_for("", "= ANY($1)"),
            &[&ids],
            Duration::from_secs(5),
        ))?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
            .collect())
    })
}

/// The same from a SQLite or DuckDB-file catalog, through a DuckDB instance of the
/// harness's own (the writers have ended, so a DuckDB file's lock is free), within 60 s.
pub fn conflict_names_in_file_catalog(target: &Arc<LakeTarget>, run_id: &str, events: &[Event]) -> CatalogNames {
    name_ids(events, |sql_for, ids| {
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let sql = sql_for(
            &format!("{}.", crate::lake::METADATA_ALIAS),
            &format!("IN ({})", list.join(",")),
        );
        let (target, app) = (
            target.clone(),
            format!("{}names", crate::util::ids::session_prefix(run_id)),
        );
        run_with_deadline(
            "naming the conflicts' tables from the catalog file",
            Duration::from_secs(60),
            move || {
                let conn = crate::lake::open(&target, &app, None)?;
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            },
        )
    })
}

type Lookup<'a> = dyn Fn(&str, &str) -> String + 'a;

/// Collects the ids the conflicts name and asks `lookup` for their names: it gets a function
/// that makes the query from the catalog tables' prefix and the id condition, and the ids.
fn name_ids(
    events: &[Event],
    lookup: impl Fn(&Lookup, Vec<i64>) -> anyhow::Result<BTreeMap<i64, String>>,
) -> CatalogNames {
    let mut groups = Vec::new();
    for e in events {
        if let Event::Complete {
            error: Some(message), ..
        } = e
        {
            note(&mut groups, message);
        }
    }
    let (tables, files) = ids(groups.iter());
    let mut names = CatalogNames::default();
    // The table's latest row (and schema's) last: a renamed table gets its latest name.
    let tables_sql = |prefix: &str, condition: &str| {
        format!(
            "SELECT t.table_id, s.schema_name || '.' || t.table_name FROM {prefix}ducklake_table t \
                 JOIN {prefix}ducklake_schema s ON s.schema_id = t.schema_id WHERE t.table_id {condition} \
                 ORDER BY t.begin_snapshot, s.begin_snapshot"
        )
    };
    let files_sql = |prefix: &str, condition: &str| {
        format!(
            "SELECT f.data_file_id, s.schema_name || '.' || t.table_name FROM {prefix}ducklake_data_file f \
                 JOIN {prefix}ducklake_table t ON t.table_id = f.table_id \
                 JOIN {prefix}ducklake_schema s ON s.schema_id = t.schema_id WHERE f.data_file_id {condition} \
                 ORDER BY t.begin_snapshot, s.begin_snapshot"
        )
    };
    for (ids, sql_for, into) in [
        (tables, &tables_sql as &Lookup, &mut names.tables),
        (files, &files_sql, &mut names.files),
    ] {
        if ids.is_empty() {
            continue;
        }
        match lookup(sql_for, ids) {
            Ok(found) => *into = found,
            Err(e) => {
                tracing::warn!("could not name the conflicts' tables from the catalog: {e:#}");
                names.not_looked_up = Some(format!("not looked up: the catalog did not answer ({e:#})"));
            }
        }
    }
    names
}

//! The commit tag: every transaction names itself inside the catalog, through DuckLake's
//! commit message (author `ducklake-stress`, message `ducklake-stress/<run>/w<writer>/t<txn>/a<attempt>`,
//! extra info as JSON). The catalog's snapshot list and the history then join row by row,
//! and an attempt whose COMMIT ended in an unknown state is resolved by looking its tag up.

use crate::lake::sql_str;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

pub const AUTHOR: &str = "ducklake-stress";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TagKey {
    pub writer: u32,
    pub txn: u64,
    pub attempt: u32,
}

pub struct CommitTag<'a> {
    pub run_id: &'a str,
    pub key: TagKey,
}

impl CommitTag<'_> {
    pub fn message(&self) -> String {
        format!(
            "{}/w{}/t{}/a{}",
            run_prefix(self.run_id),
            self.key.writer,
            self.key.txn,
            self.key.attempt
        )
    }

    pub fn extra_info(&self) -> String {
        serde_json::json!({
            "run": self.run_id,
            "writer": self.key.writer,
            "txn": self.key.txn,
            "attempt": self.key.attempt,
        })
        .to_string()
    }

    /// The statement that tags the open transaction of a connection attached as `lake`.
    pub fn sql(&self) -> String {
        format!(
            "CALL {}.set_commit_message({}, {}, extra_info => {})",
            crate::lake::LAKE_ALIAS,
            sql_str(AUTHOR),
            sql_str(&self.message()),
            sql_str(&self.extra_info())
        )
    }
}

fn run_prefix(run_id: &str) -> String {
    format!("{AUTHOR}/{run_id}")
}

/// Parses a commit message of run `run_id` back into its key.
pub fn parse_message(run_id: &str, message: &str) -> Option<TagKey> {
    let rest = message.strip_prefix(&run_prefix(run_id))?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let writer = parts.next()?.strip_prefix('w')?.parse().ok()?;
    let txn = parts.next()?.strip_prefix('t')?.parse().ok()?;
    let attempt = parts.next()?.strip_prefix('a')?.parse().ok()?;
    parts.next().is_none().then_some(TagKey { writer, txn, attempt })
}

/// A snapshot of the catalog that carries a tag of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaggedSnapshot {
    pub snapshot_id: i64,
    pub key: TagKey,
}

/// Every snapshot the run's transactions made, read straight from the catalog tables
/// (not through DuckLake), keyed by tag. A tag found twice is returned twice.
pub async fn tagged_snapshots(catalog: &Client, run_id: &str) -> anyhow::Result<Vec<TaggedSnapshot>> {
    let pattern = format!("{}/%", run_prefix(run_id));
    let rows = crate::environment::pg::query_with_deadline(
        catalog,
        "SELECT snapshot_id, commit_message FROM ducklake_snapshot_changes WHERE author = $1 AND commit_message LIKE \
            $2 ORDER BY snapshot_id",
        &[&AUTHOR, &pattern],
        Duration::from_secs(10),
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let message: String = r.get(1);
            parse_message(run_id, &message).map(|key| TaggedSnapshot {
                snapshot_id: r.get(0),
                key,
            })
        })
        .collect())
}

/// The same for a SQLite or DuckDB-file catalog, which has no server to ask: its tables are
/// read through the metadata database DuckLake attached beside the lake (`conn` must be
/// attached as `lake`). Ask only once no writer can still be committing: a file catalog's
/// commit runs inside the writer's process, so that means once the writers have ended.
pub fn tagged_snapshots_in_lake(conn: &duckdb::Connection, run_id: &str) -> anyhow::Result<Vec<TaggedSnapshot>> {
    let pattern = format!("{}/%", run_prefix(run_id));
    let sql = format!(
        "SELECT snapshot_id, commit_message FROM {}.ducklake_snapshot_changes WHERE author = ? AND \
        commit_message LIKE ? ORDER BY snapshot_id",
        crate::lake::METADATA_ALIAS
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params![AUTHOR, pattern], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (snapshot_id, message) = row?;
        if let Some(key) = message.as_deref().and_then(|m| parse_message(run_id, m)) {
            out.push(TaggedSnapshot { snapshot_id, key });
        }
    }
    Ok(out)
}

/// What the catalog says about one attempt whose COMMIT ended in an unknown state.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    Committed(i64),
    Absent,
    Unknown(String),
}

impl Resolution {
    pub fn committed(&self) -> Option<bool> {
        match self {
            Resolution::Committed(_) => Some(true),
            Resolution::Absent => Some(false),
            Resolution::Unknown(_) => None,
        }
    }
}

/// Looks `tag` up once no catalog session named `application_name` is running a query any
/// more: a COMMIT the server is still executing could yet land, so "absent" is only said
/// when nothing of that writer is in flight. Waits at most `limit`.
pub async fn resolve(catalog: &Client, tag: &CommitTag<'_>, application_name: &str, limit: Duration) -> Resolution {
    let until = Instant::now() + limit;
    loop {
        let in_flight = crate::environment::pg::query_with_deadline(
            catalog,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
            &[&application_name],
            Duration::from_secs(3),
        )
        .await
        .map(|rows| rows.first().map(|r| r.get::<_, i64>(0)).unwrap_or(0));
        match in_flight {
            Ok(0) => break,
            Ok(_) if Instant::now() < until => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(n) => {
                return Resolution::Unknown(format!(
                    "{n} session(s) of {application_name} still running a query after {} s",
                    limit.as_secs()
                ))
            }
            Err(e) => return Resolution::Unknown(format!("the catalog could not be asked: {e:#}")),
        }
    }
    match crate::environment::pg::query_with_deadline(
        catalog,
        "SELECT snapshot_id FROM ducklake_snapshot_changes WHERE author = $1 AND commit_message = $2",
        &[&AUTHOR, &tag.message()],
        Duration::from_secs(5),
    )
    .await
    {
        Ok(rows) => match rows.first() {
            Some(r) => Resolution::Committed(r.get(0)),
            None => Resolution::Absent,
        },
        Err(e) => Resolution::Unknown(format!("the catalog could not be asked: {e:#}")),
    }
}

/// For post-run resolution of many attempts at once: tag -> snapshot id.
pub fn by_key(snapshots: &[TaggedSnapshot]) -> BTreeMap<TagKey, i64> {
    snapshots.iter().map(|s| (s.key, s.snapshot_id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_foreign_ones_do_not_parse() {
        let key = TagKey {
            writer: 3,
            txn: 17,
            attempt: 2,
        };
        let tag = CommitTag {
            run_id: "20261125T020000Z-abc123",
            key,
        };
        assert_eq!(tag.message(), "ducklake-stress/20261125T020000Z-abc123/w3/t17/a2");
        assert_eq!(parse_message("20261125T020000Z-abc123", &tag.message()), Some(key));
        assert_eq!(parse_message("20261125T020000Z-ffffff", &tag.message()), None);
        assert_eq!(
            parse_message(
                "20261125T020000Z-abc123",
                "ducklake-stress/20261125T020000Z-abc123/w3/t17/a2/x"
            ),
            None
        );
        let extra: serde_json::Value = serde_json::from_str(&tag.extra_info()).unwrap();
        assert_eq!(extra["txn"], 17);
        assert!(
            tag.sql()
                .starts_with("CALL lake.set_commit_message('ducklake-stress', "),
            "{}",
            tag.sql()
        );
    }
}

//! Postgres sessions of the harness itself (monitor, checks, nemesis), each with a
//! deadline on connecting: an unreachable server is an error within seconds, not a hang.

use super::PgEndpoint;
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn connect(pg: &PgEndpoint, dbname: Option<&str>, application_name: &str) -> anyhow::Result<Client> {
    let conn_str = pg.conn_string(dbname, Some(application_name));
    let attempt = tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(&conn_str, NoTls)).await;
    let (client, connection) = match attempt {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(unreachable(pg, dbname, &format!("{e}"))),
        Err(_) => {
            return Err(unreachable(
                pg,
                dbname,
                &format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            ))
        }
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn unreachable(pg: &PgEndpoint, dbname: Option<&str>, why: &str) -> anyhow::Error {
    crate::error::environment(format!(
        "Postgres at {}:{} (database `{}`, user `{}`) could not be reached: {why}. Start it, or fix the connection \
            settings (--pg-dsn, DUCKLAKE_STRESS_PG_DSN or the env.json `postgres` section); without --env-file the \
            harness starts its own Postgres.",
        pg.host,
        pg.port,
        dbname.unwrap_or(&pg.dbname),
        pg.user
    ))
}

/// Runs one query with a deadline so a locked catalog cannot stall the harness. A query
/// that overruns is cancelled on the server too: the connection runs one query at a time,
/// and a stuck one would block every later query on it.
pub async fn query_with_deadline(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    deadline: Duration,
) -> anyhow::Result<Vec<tokio_postgres::Row>> {
    match tokio::time::timeout(deadline, client.query(sql, params)).await {
        Ok(r) => Ok(r?),
        Err(_) => {
            let _ = tokio::time::timeout(Duration::from_secs(2), client.cancel_token().cancel_query(NoTls)).await;
            anyhow::bail!(
                "query did not finish within {} ms: {}",
                deadline.as_millis(),
                sql.split_whitespace().take(8).collect::<Vec<_>>().join(" ")
            )
        }
    }
}

/// A harness session that survives a catalog restart: tokio-postgres's client is dead once
/// its connection drops, so `client()` opens a new one when the old is closed. Faults such
/// as `restart_catalog` end every session, and the monitor, the resolver and the checks must
/// carry on afterwards.
pub struct Session {
    pg: PgEndpoint,
    application_name: String,
    client: tokio::sync::Mutex<std::sync::Arc<Client>>,
}

impl Session {
    /// Where this session connects.
    pub fn endpoint(&self) -> &PgEndpoint {
        &self.pg
    }

    pub async fn open(pg: &PgEndpoint, application_name: &str) -> anyhow::Result<Self> {
        let client = connect(pg, None, application_name).await?;
        Ok(Session {
            pg: pg.clone(),
            application_name: application_name.to_string(),
            client: tokio::sync::Mutex::new(std::sync::Arc::new(client)),
        })
    }

    /// The live client, reconnecting (within `CONNECT_TIMEOUT`) if the server dropped it.
    pub async fn client(&self) -> anyhow::Result<std::sync::Arc<Client>> {
        let mut current = self.client.lock().await;
        if current.is_closed() {
            *current = std::sync::Arc::new(connect(&self.pg, None, &self.application_name).await?);
        }
        Ok(current.clone())
    }

    /// `client()` for synchronous callers.
    pub fn client_blocking(&self) -> anyhow::Result<std::sync::Arc<Client>> {
        crate::runtime::block_on(self.client())
    }
}

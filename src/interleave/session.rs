//! One session of a permutation: a thread that owns its connection (a DuckDB instance
//! attached to the lake, the same in a child process, or a direct Postgres connection to
//! the catalog) and runs the
//! steps it is sent, one at a time, reporting each outcome on the runner's channel. The
//! runner never waits on a session without a deadline: a step that does not return is
//! recorded as blocked, and an interrupt (DuckDB) or a cancel (Postgres) ends it at the end.

use super::process::{ProcessConn, ProcessInterrupt};
use crate::history::error_class::classify;
use serde::{Deserialize, Serialize};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

/// A step to run: its position in the permutation, and its SQL.
type Command = (usize, String);

/// What a statement gave back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Returned {
    /// Rows of a query (their count, the first few rendered), or rows changed by DML.
    Ok {
        rows: Option<u64>,
        changed: Option<u64>,
        sample: Vec<String>,
    },
    Error {
        class: String,
        message: String,
    },
}

/// A step's outcome as the session saw it, sent to the runner.
pub struct Done {
    pub step: usize,
    pub returned: Returned,
    pub millis: u64,
}

/// A running session: its command channel, how to interrupt it, its thread.
pub struct Session {
    pub name: String,
    /// Its process, when it has one of its own (`mode = "process"`).
    pub pid: Option<u32>,
    commands: Sender<Command>,
    interrupt: Interrupt,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How to stop a statement that does not return.
#[derive(Clone)]
pub enum Interrupt {
    Duckdb(Arc<duckdb::InterruptHandle>),
    Postgres(tokio_postgres::CancelToken),
    Process(ProcessInterrupt),
}

/// A connection a session runs steps on.
pub enum Conn {
    Duckdb(duckdb::Connection),
    Postgres(tokio_postgres::Client),
    /// A DuckDB instance in a child process (`mode = "process"`).
    Process(ProcessConn),
}

const SAMPLE_ROWS: usize = 5;
const MAX_COLUMNS: usize = 32;

impl Conn {
    pub fn interrupt(&self) -> Interrupt {
        match self {
            Conn::Duckdb(c) => Interrupt::Duckdb(c.interrupt_handle()),
            Conn::Postgres(c) => Interrupt::Postgres(c.cancel_token()),
            Conn::Process(c) => Interrupt::Process(c.interrupt()),
        }
    }

    /// The process the session's statements run in, when it is not the runner's.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Conn::Process(c) => Some(c.pid),
            _ => None,
        }
    }

    /// Runs `sql` and says what it returned; `mask` hides secrets in error messages.
    pub fn run(&self, sql: &str, mask: &dyn Fn(&str) -> String) -> Returned {
        let result = match self {
            Conn::Duckdb(c) => run_duckdb(c, sql),
            Conn::Postgres(c) => run_postgres(c, sql),
            Conn::Process(c) => match c.run(sql) {
                Returned::Error { message, .. } => Err(message),
                ok => Ok(ok),
            },
        };
        result.unwrap_or_else(|message| {
            let message = mask(&message);
            Returned::Error {
                class: classify(&message).name().to_string(),
                message,
            }
        })
    }
}

/// Transaction control and DDL run as a batch; anything else is prepared so its rows (a
/// query's) or its changed-row count (DML's) can be reported. Several statements in one
/// step run in order, and the step reports the last one's (`USE s; SELECT …`).
fn run_duckdb(conn: &duckdb::Connection, sql: &str) -> Result<Returned, String> {
    let statements = crate::util::split_statements(sql);
    if let Some((last, before)) = statements.split_last().filter(|(_, before)| !before.is_empty()) {
        conn.execute_batch(&before.join(";\n")).map_err(|e| e.to_string())?;
        return run_duckdb(conn, last);
    }
    let first = sql.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    let batch = [
        "BEGIN", "COMMIT", "ROLLBACK", "ABORT", "START", "END", "SET", "RESET", "USE", "CREATE", "DROP", "ALTER",
        "ATTACH", "DETACH", "LOAD",
    ];
    if batch.contains(&first.as_str()) {
        conn.execute_batch(sql).map_err(|e| e.to_string())?;
        return Ok(Returned::Ok {
            rows: None,
            changed: None,
            sample: Vec::new(),
        });
    }
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let dml = ["INSERT", "UPDATE", "DELETE", "MERGE"].contains(&first.as_str());
    let (mut count, mut sample, mut changed) = (0u64, Vec::new(), None);
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        // A row does not say how wide it is: read columns until the index runs out.
        let values: Vec<String> = (0..MAX_COLUMNS)
            .map_while(|i| row.get::<_, duckdb::types::Value>(i).ok())
            .map(|v| render_value(&v))
            .collect();
        if dml && values.len() == 1 {
            changed = values[0].parse().ok();
        }
        if sample.len() < SAMPLE_ROWS {
            sample.push(values.join(" | "));
        }
        count += 1;
    }
    Ok(if dml {
        Returned::Ok {
            rows: None,
            changed,
            sample: Vec::new(),
        }
    } else {
        Returned::Ok {
            rows: Some(count),
            changed: None,
            sample,
        }
    })
}

fn render_value(v: &duckdb::types::Value) -> String {
    use duckdb::types::Value;
    match v {
        Value::Null => "NULL".into(),
        Value::Boolean(b) => b.to_string(),
        Value::TinyInt(n) => n.to_string(),
        Value::SmallInt(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::BigInt(n) => n.to_string(),
        Value::HugeInt(n) => n.to_string(),
        Value::UTinyInt(n) => n.to_string(),
        Value::USmallInt(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::UBigInt(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Text(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// Postgres's simple protocol: several statements in one step work (`BEGIN; LOCK TABLE …`).
fn run_postgres(client: &tokio_postgres::Client, sql: &str) -> Result<Returned, String> {
    use tokio_postgres::SimpleQueryMessage;
    let messages = crate::runtime::block_on(client.simple_query(sql)).map_err(|e| match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    })?;
    let (mut rows, mut sample, mut changed) = (0u64, Vec::new(), None);
    for m in messages {
        match m {
            SimpleQueryMessage::Row(r) => {
                if sample.len() < SAMPLE_ROWS {
                    let values: Vec<&str> = (0..r.len()).map(|i| r.get(i).unwrap_or("NULL")).collect();
                    sample.push(values.join(" | "));
                }
                rows += 1;
            }
            SimpleQueryMessage::CommandComplete(n) => changed = Some(n),
            _ => {}
        }
    }
    Ok(Returned::Ok {
        rows: (rows > 0).then_some(rows),
        changed: if rows > 0 { None } else { changed.filter(|&n| n > 0) },
        sample,
    })
}

impl Session {
    /// Starts the thread that owns `conn`; outcomes go to `done` tagged with the step index.
    pub fn start(
        name: &str,
        conn: Conn,
        done: Sender<Done>,
        mask: Arc<dyn Fn(&str) -> String + Send + Sync>,
    ) -> anyhow::Result<Session> {
        let (tx, rx) = std::sync::mpsc::channel::<Command>();
        let (interrupt, pid) = (conn.interrupt(), conn.pid());
        let thread = std::thread::Builder::new()
            .name(format!("il-{name}").chars().take(15).collect())
            .spawn(move || {
                // Ends when the runner drops its sender; the connection closes with the thread.
                for (step, sql) in rx {
                    let t = Instant::now();
                    let returned = conn.run(&sql, &*mask);
                    let millis = t.elapsed().as_millis() as u64;
                    if done.send(Done { step, returned, millis }).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Session {
            name: name.to_string(),
            pid,
            commands: tx,
            interrupt,
            thread: Some(thread),
        })
    }

    pub fn send(&self, step: usize, sql: &str) -> anyhow::Result<()> {
        self.commands
            .send((step, sql.to_string()))
            .map_err(|_| anyhow::anyhow!("session {} ended early (its thread is gone)", self.name))
    }

    /// Stops a statement that does not return (a lock wait, a hung catalog).
    pub fn interrupt(&self) {
        match &self.interrupt {
            Interrupt::Duckdb(h) => h.interrupt(),
            Interrupt::Process(p) => p.interrupt(),
            Interrupt::Postgres(token) => {
                let token = token.clone();
                let _ = crate::runtime::block_on(async move {
                    tokio::time::timeout(
                        std::time::Duration::from_secs(2),
                        token.cancel_query(tokio_postgres::NoTls),
                    )
                    .await
                });
            }
        }
    }

    /// Ends the session: its thread closes the connection. Waits at most `limit`; a thread
    /// still stuck then is left behind (and said so) rather than hanging the run, unless it
    /// waits on a process of its own, which is then killed (and the thread ends with it).
    pub fn close(mut self, limit: std::time::Duration) -> bool {
        let (closed, _) = std::sync::mpsc::channel();
        drop(std::mem::replace(&mut self.commands, closed));
        let Some(handle) = self.thread.take() else { return true };
        if finished_within(&handle, limit) {
            let _ = handle.join();
            return true;
        }
        if let Interrupt::Process(p) = &self.interrupt {
            tracing::warn!(
                "session {} did not end within {:?}; its process is killed",
                self.name,
                limit
            );
            p.kill();
            if finished_within(&handle, std::time::Duration::from_secs(2)) {
                let _ = handle.join();
                return true;
            }
        }
        tracing::warn!("session {} did not end within {:?}; left behind", self.name, limit);
        false
    }
}

fn finished_within(handle: &std::thread::JoinHandle<()>, limit: std::time::Duration) -> bool {
    let until = Instant::now() + limit;
    while !handle.is_finished() {
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}

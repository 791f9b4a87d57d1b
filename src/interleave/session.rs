//! One session of a permutation: a thread that owns its connection (a DuckDB instance
//! attached to the lake, the same in a child process, or a direct Postgres connection to
//! the catalog) and runs the steps it is sent, one at a time (`statement`), reporting each
//! outcome on the runner's channel. The
//! runner never waits on a session without a deadline: a step that does not return is
//! recorded as blocked, and an interrupt (DuckDB) or a cancel (Postgres) ends it at the end.

use super::process::{ProcessConn, ProcessInterrupt};
pub use super::statement::Returned;
use super::statement::{run_duckdb, run_postgres};
use crate::history::error_class::classify;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

/// A step to run: its position in the permutation, and its SQL.
type Command = (usize, String);

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

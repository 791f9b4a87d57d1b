//! A session whose DuckDB instance lives in a child process (`mode = "process"`): both ends.
//! The child is `ducklake-stress session` (hidden). It reads its spec (the lake, its
//! connect statements) as the first line on standard input, opens its instance, says
//! `ready`, then reads one line per step and answers each with what the statement returned.
//! An `interrupt` line, read on a thread of its own, interrupts the statement running. It
//! dies with its parent, and ends when its standard input closes.
//!
//! The runner's side is a [`ProcessConn`]: a `Conn` whose `run` sends a step and waits for
//! the answer, so the session thread, its deadlines and its outcomes are the same as for a
//! thread session.

use super::statement::{run_duckdb, Returned};
use crate::lake::LakeTarget;
use crate::util::LockExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a session process needs to open its instance.
#[derive(Serialize, Deserialize)]
pub struct ProcessSpec {
    pub session: String,
    pub target: LakeTarget,
    pub application_name: String,
    pub attach_options: BTreeMap<String, String>,
    pub connect_sql: Vec<String>,
}

/// A line to the child.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ToChild {
    Step { sql: String },
    Interrupt,
}

/// A line from the child.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FromChild {
    Ready,
    /// Opening the instance or a connect statement failed.
    Failed {
        message: String,
    },
    Returned {
        returned: Returned,
    },
}

/// The runner's end: the child, where steps go, where answers come from.
pub struct ProcessConn {
    child: Child,
    pub pid: u32,
    stdin: Arc<Mutex<Option<ChildStdin>>>,
    stdout: Mutex<BufReader<ChildStdout>>,
}

/// How to interrupt a session process's statement (a line on its standard input), or end
/// the process when even that does not help.
#[derive(Clone)]
pub struct ProcessInterrupt {
    stdin: Arc<Mutex<Option<ChildStdin>>>,
    pid: u32,
}

impl ProcessInterrupt {
    pub fn interrupt(&self) {
        send(&self.stdin, &ToChild::Interrupt);
    }

    /// SIGKILL: a session thread waiting on this process then reads its end and finishes,
    /// so a process session is never left behind running.
    pub fn kill(&self) {
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
}

fn send(stdin: &Mutex<Option<ChildStdin>>, line: &ToChild) -> bool {
    let text = serde_json::to_string(line).expect("lines serialize");
    match stdin.locked().as_mut() {
        Some(s) => writeln!(s, "{text}").and_then(|_| s.flush()).is_ok(),
        None => false,
    }
}

impl ProcessConn {
    /// Starts the session's process and waits (at most `limit`) until its instance is open
    /// and its connect statements ran.
    pub fn start(spec: &ProcessSpec, limit: Duration, mask: &dyn Fn(&str) -> String) -> anyhow::Result<ProcessConn> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(&exe)
            .arg("session")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                crate::error::environment(format!(
                    "could not start the process of session {} ({}): {e}",
                    spec.session,
                    exe.display()
                ))
            })?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        writeln!(stdin, "{}", serde_json::to_string(spec)?)?;
        stdin.flush()?;
        let conn = ProcessConn {
            pid: child.id(),
            stdout: Mutex::new(BufReader::new(child.stdout.take().expect("piped stdout"))),
            stdin: Arc::new(Mutex::new(Some(stdin))),
            child,
        };
        match conn.answer(Some(limit)) {
            Some(FromChild::Ready) => Ok(conn),
            Some(FromChild::Failed { message }) => Err(crate::error::bad_input(format!(
                "session {} (its own process): {}",
                spec.session,
                mask(&message)
            ))),
            _ => Err(crate::error::environment(format!(
                "the process of session {} did not say it was ready within {} s",
                spec.session,
                limit.as_secs()
            ))),
        }
    }

    pub fn interrupt(&self) -> ProcessInterrupt {
        ProcessInterrupt {
            stdin: self.stdin.clone(),
            pid: self.pid,
        }
    }

    /// Runs `sql` in the child and says what it returned. The session thread waits here
    /// without a deadline, as it waits on a statement of its own instance: the runner's
    /// lock-step bounds every wait, and interrupts or leaves behind what does not return.
    pub fn run(&self, sql: &str) -> Returned {
        if !send(&self.stdin, &ToChild::Step { sql: sql.to_string() }) {
            return gone("its standard input is closed");
        }
        match self.answer(None) {
            Some(FromChild::Returned { returned }) => returned,
            _ => gone("it ended before answering"),
        }
    }

    /// The child's next line; None when it ended, said something else or `limit` passed
    /// (the child is then killed, so the read ends).
    fn answer(&self, limit: Option<Duration>) -> Option<FromChild> {
        let killer = limit.map(|l| {
            let (process, until) = (self.interrupt(), Instant::now() + l);
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = done.clone();
            std::thread::spawn(move || {
                while Instant::now() < until {
                    if flag.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                process.kill();
            });
            done
        });
        let mut line = String::new();
        let read = self.stdout.locked().read_line(&mut line);
        if let Some(done) = killer {
            done.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        match read {
            Ok(n) if n > 0 => serde_json::from_str(&line).ok(),
            _ => None,
        }
    }
}

fn gone(why: &str) -> Returned {
    Returned::Error {
        class: crate::history::error_class::ErrorClass::ConnectionLost.name().into(),
        message: format!("the session's process is gone: {why}"),
    }
}

impl Drop for ProcessConn {
    /// Closes its standard input (the child ends), then waits a little before killing it.
    fn drop(&mut self) {
        self.stdin.locked().take();
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn say(line: &FromChild) {
    let text = serde_json::to_string(line).expect("lines serialize");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|_| out.flush());
}

/// The child's end: `ducklake-stress session`.
pub fn main() -> anyhow::Result<i32> {
    // No orphans: if the runner dies, so does this session.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let mut first = String::new();
    std::io::stdin().read_line(&mut first)?;
    let spec: ProcessSpec = serde_json::from_str(&first).map_err(|e| {
        crate::error::bad_input(format!(
            "`ducklake-stress session` is started by an interleaving scenario's runner (mode = \"process\"), \
            which sends its spec on standard input; this was not one ({e})."
        ))
    })?;
    let conn = match open(&spec) {
        Ok(c) => c,
        Err(message) => {
            say(&FromChild::Failed { message });
            return Ok(crate::error::exit_code::ENVIRONMENT);
        }
    };
    say(&FromChild::Ready);
    // Steps go to this thread; interrupts are acted on as they arrive, mid-statement.
    let (steps, todo) = std::sync::mpsc::channel::<String>();
    let handle = conn.interrupt_handle();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            match serde_json::from_str::<ToChild>(&line) {
                Ok(ToChild::Step { sql }) => {
                    if steps.send(sql).is_err() {
                        return;
                    }
                }
                Ok(ToChild::Interrupt) => handle.interrupt(),
                Err(_) => return,
            }
        }
    });
    for sql in todo {
        // The runner masks secrets (it knows them) and classifies errors, as for a thread.
        let returned = run_duckdb(&conn, &sql).unwrap_or_else(|message| Returned::Error {
            class: String::new(),
            message,
        });
        say(&FromChild::Returned { returned });
    }
    Ok(crate::error::exit_code::PASS)
}

fn open(spec: &ProcessSpec) -> Result<duckdb::Connection, String> {
    let conn = crate::lake::open_with(&spec.target, &spec.application_name, None, &spec.attach_options)
        .map_err(|e| format!("opening its DuckDB instance failed: {e:#}"))?;
    for sql in &spec.connect_sql {
        conn.execute_batch(sql)
            .map_err(|e| format!("its connect statement `{sql}` failed: {e}"))?;
    }
    Ok(conn)
}

//! Starting one writer process (`ducklake-stress writer`, the other end is [`super::child`])
//! and naming how it ended. Shared by the two parents of writer processes: the local
//! process fleet and a remote worker, so both start and describe their children the same way.

use super::protocol::WriterSpec;
use crate::util::LockExt;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

const STDERR_LINES_KEPT: usize = 20;

/// A writer process that has been sent its spec.
pub struct WriterProcess {
    pub child: Child,
    pub pid: i32,
    /// Where go, stop and abort reach it; closing it makes the child abort.
    pub stdin: ChildStdin,
    /// Its history entries and control lines.
    pub stdout: ChildStdout,
    /// The last lines it wrote to stderr, for the crash report.
    pub stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

/// Starts writer `spec.writer` as a child of this program and sends it its spec.
pub fn spawn(spec: &WriterSpec) -> anyhow::Result<WriterProcess> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(&exe)
        .arg("writer")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            crate::error::environment(format!(
                "could not start writer process {} ({}): {e}",
                spec.writer,
                exe.display()
            ))
        })?;
    let pid = child.id() as i32;
    let mut stdin = child.stdin.take().expect("piped stdin");
    writeln!(stdin, "{}", serde_json::to_string(spec)?)?;
    stdin.flush()?;
    let stderr_tail = keep_stderr_tail(child.stderr.take().expect("piped stderr"));
    let stdout = child.stdout.take().expect("piped stdout");
    Ok(WriterProcess {
        child,
        pid,
        stdin,
        stdout,
        stderr_tail,
    })
}

/// Keeps the last lines a child wrote to stderr, for the crash report.
fn keep_stderr_tail(stderr: std::process::ChildStderr) -> Arc<Mutex<VecDeque<String>>> {
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let keep = tail.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut t = keep.locked();
            if t.len() == STDERR_LINES_KEPT {
                t.pop_front();
            }
            t.push_back(line);
        }
    });
    tail
}

/// How a child ended: its exit code, or the name of the signal that killed it.
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<String>,
}

impl Exit {
    pub fn of(status: &std::io::Result<ExitStatus>) -> Exit {
        match status {
            Ok(s) => Exit {
                code: s.code(),
                signal: s.signal().map(|s| {
                    nix::sys::signal::Signal::try_from(s)
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|_| format!("signal {s}"))
                }),
            },
            Err(_) => Exit {
                code: None,
                signal: None,
            },
        }
    }

    /// Not a clean exit: a signal, or a code other than 0.
    pub fn abnormal(&self) -> bool {
        self.signal.is_some() || self.code != Some(0)
    }
}

/// The last stderr lines kept so far.
pub fn tail_of(tail: &Mutex<VecDeque<String>>) -> Vec<String> {
    tail.locked().iter().cloned().collect()
}

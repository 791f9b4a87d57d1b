//! A remote worker: `ducklake-stress worker --coordinator HOST:PORT` joins a run that
//! `run --coordinate` holds open, on this host or another. It presents the run's token,
//! receives which writers it runs and what they run, and starts each writer as a child
//! process (`ducklake-stress writer`, the same program and protocol as mode = "process",
//! so every writer has its own DuckDB instance). It relays the children's lines (history
//! entries and status) to the coordinator as they come, and the coordinator's go, stop and
//! abort to the children. If the coordinator goes away (connection closed, or a write that
//! does not get through), it aborts its writers: they die with it in any case.

use super::protocol::{FromWorker, ToWorker, WriterSpec};
use super::spawn;
use crate::lake::{ExtensionSource, LakeTarget};
use crate::util::LockExt;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ChildStdin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// A write to the coordinator that does not get through in this time means it is gone
/// (or this host is cut off): the writers are aborted.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the coordinator has to answer the hello with a spec.
const SPEC_WITHIN: Duration = Duration::from_secs(120);
/// After an abort, how long children get before they are killed.
const KILL_AFTER: Duration = Duration::from_secs(3);

pub struct WorkerOptions {
    pub coordinator: String,
    pub token: String,
    /// This host's extension directory (the coordinator's path means nothing here).
    pub extension_dir: Option<PathBuf>,
    /// The catalog and S3 as this host reaches them, if not as the coordinator does.
    pub env_file: Option<PathBuf>,
    /// How long to keep trying to reach the coordinator (it may start after the workers).
    pub connect_within: Duration,
}

/// The connection's sending half, shared by the relaying threads.
#[derive(Clone)]
struct Outbox {
    stream: Arc<Mutex<TcpStream>>,
    broken: Arc<AtomicBool>,
}

impl Outbox {
    fn send(&self, msg: &FromWorker) -> bool {
        if self.broken.load(Ordering::Acquire) {
            return false;
        }
        let line = serde_json::to_string(msg).expect("worker messages serialize") + "\n";
        let ok = self.stream.locked().write_all(line.as_bytes()).is_ok();
        if !ok {
            self.broken.store(true, Ordering::Release);
        }
        ok
    }
}

pub fn main(opts: WorkerOptions) -> anyhow::Result<i32> {
    let stream = connect(&opts.coordinator, opts.connect_within)?;
    let _ = stream.set_nodelay(true);
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let out = Outbox {
        stream: Arc::new(Mutex::new(stream.try_clone()?)),
        broken: Arc::default(),
    };
    // In a container this is the container's id, which the disconnect_worker fault uses.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    out.send(&FromWorker::Hello {
        token: opts.token.clone(),
        host: host.clone(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
    });
    let mut reader = BufReader::new(stream.try_clone()?);
    stream.set_read_timeout(Some(SPEC_WITHIN))?;
    let Share {
        run_id,
        first,
        count,
        scenario,
        target,
    } = receive_share(&mut reader, &opts.coordinator, &host)?;
    stream.set_read_timeout(None)?;
    let mut target = local_target(*target, &opts)?;
    // Beats from now on: staging the extensions and starting the writers take seconds on a
    // loaded host, and a worker silent for 5 s is taken for lost.
    let children = Arc::new(Children::default());
    beat(out.clone(), children.clone());
    // This host verifies its own files once for all its writers (lake::staged).
    let _extension_copies = crate::lake::staged::stage_run(&mut target, None, SPEC_WITHIN)?;
    let (ended_tx, ended_rx) = mpsc::channel();
    for w in first..first + count {
        let spec = WriterSpec {
            run_id: run_id.clone(),
            writer: w,
            scenario: (*scenario).clone(),
            target: target.clone(),
            first_txn: 0,
            harness_postgres: None,
        };
        children.add(spawn_writer(spec, out.clone(), ended_tx.clone())?);
    }
    drop(ended_tx);
    let relay = children.clone();
    std::thread::spawn(move || {
        relay_commands(&mut reader, &relay);
        // The coordinator closed the connection or cannot be read: nobody collects what
        // the writers do any more.
        relay.tell_all("abort");
        std::thread::sleep(KILL_AFTER);
        relay.close_all();
    });
    // Every child's end (its Exit line sent) before this process ends.
    let ended = ended_rx.iter().count();
    eprintln!("worker ({host}): {ended} of {count} writers ended");
    Ok(crate::error::exit_code::PASS)
}

/// The writers the coordinator gave this worker, and what they run.
struct Share {
    run_id: String,
    first: u32,
    count: u32,
    scenario: Box<crate::scenario::Scenario>,
    target: Box<LakeTarget>,
}

/// Reads the coordinator's answer to the hello: this worker's share, or why it was refused.
fn receive_share(reader: &mut impl BufRead, coordinator: &str, host: &str) -> anyhow::Result<Share> {
    match read_msg(reader) {
        Some(ToWorker::Spec {
            run_id,
            index,
            first_writer,
            count,
            scenario,
            target,
        }) => {
            eprintln!(
                "worker {index} ({host}): run {run_id}, writers {first_writer}..{}",
                first_writer + count
            );
            Ok(Share {
                run_id,
                first: first_writer,
                count,
                scenario,
                target,
            })
        }
        Some(ToWorker::Refused { reason }) => Err(crate::error::bad_input(format!(
            "the coordinator at {coordinator} refused this worker: {reason}"
        ))),
        other => Err(crate::error::environment(format!(
            "the coordinator at {coordinator} did not send this worker its writers \
            within {} s (got {other:?}); is it a ducklake-stress run started with --coordinate?",
            SPEC_WITHIN.as_secs()
        ))),
    }
}

/// Tries to connect until `within` has passed: the coordinator may not be listening yet.
fn connect(addr: &str, within: Duration) -> anyhow::Result<TcpStream> {
    let until = Instant::now() + within;
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= until => {
                return Err(crate::error::environment(format!(
                    "could not reach the coordinator at {addr} within {} s: \
                    {e}. Start the run with `ducklake-stress run SCENARIO --coordinate ADDR:PORT --workers N` and \
                    give its address here (HOST:PORT, reachable from this host).",
                    within.as_secs()
                )));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn read_msg(reader: &mut impl BufRead) -> Option<ToWorker> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).ok().filter(|n| *n > 0)?;
    serde_json::from_slice(&line).ok()
}

/// The coordinator's target with this host's extension directory and, if given, this
/// host's view of the catalog and S3.
fn local_target(mut target: LakeTarget, opts: &WorkerOptions) -> anyhow::Result<LakeTarget> {
    let theirs = target.extensions;
    // The coordinator's private copies are on its disk: staged again here, from these.
    target.extensions = ExtensionSource {
        files: theirs.files,
        allow_unsigned: theirs.allow_unsigned,
        ..ExtensionSource::resolve(opts.extension_dir.clone())
    };
    if let Some(path) = &opts.env_file {
        target.env = crate::environment::EnvFile::read(path)?;
    }
    Ok(target)
}

/// The children's standard inputs: how go, stop and abort reach them (added as the
/// children start).
#[derive(Default)]
struct Children {
    stdins: Mutex<Vec<Option<ChildStdin>>>,
}

impl Children {
    fn add(&self, stdin: ChildStdin) {
        self.stdins.locked().push(Some(stdin));
    }

    fn tell_all(&self, line: &str) {
        for s in self.stdins.locked().iter_mut().flatten() {
            let _ = writeln!(s, "{line}").and_then(|_| s.flush());
        }
    }

    /// Closing a child's stdin makes it abort; it is killed by its own death signal if this
    /// process dies first.
    fn close_all(&self) {
        for stdin in self.stdins.locked().iter_mut() {
            stdin.take();
        }
    }
}

fn relay_commands(reader: &mut impl BufRead, children: &Children) {
    while let Some(msg) = read_msg(reader) {
        match msg {
            // Each host's run clock starts when it hears `go`: the coordinator's zero plus
            // the network's one-way delay (well under a millisecond on a LAN).
            ToWorker::Go => children.tell_all(&format!("go {}", crate::history::recorder::monotonic_ns())),
            ToWorker::Stop => children.tell_all("stop"),
            ToWorker::Abort => children.tell_all("abort"),
            ToWorker::Spec { .. } | ToWorker::Refused { .. } => {}
        }
    }
}

/// A line every second, so the coordinator can tell a quiet worker from a lost one; a beat
/// that cannot be sent means the coordinator is gone: abort the writers.
fn beat(out: Outbox, children: Arc<Children>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        if !out.send(&FromWorker::Beat) {
            children.tell_all("abort");
            std::thread::sleep(KILL_AFTER);
            children.close_all();
            return;
        }
    });
}

/// Starts writer `spec.writer` as a child process; its stdout lines go to the coordinator
/// as they come, and its end is announced with an `exit` line (then `ended` hears of it).
fn spawn_writer(spec: WriterSpec, out: Outbox, ended: mpsc::Sender<()>) -> anyhow::Result<ChildStdin> {
    let w = spec.writer;
    let spawn::WriterProcess {
        mut child,
        pid,
        stdin,
        stdout,
        stderr_tail,
    } = spawn::spawn(&spec)?;
    let relay_out = out.clone();
    let relay = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            relay_out.send(&FromWorker::Line { w, line });
        }
    });
    std::thread::spawn(move || {
        let status = child.wait();
        let _ = relay.join();
        let exit = spawn::Exit::of(&status);
        out.send(&FromWorker::Exit {
            w,
            pid,
            code: exit.code,
            signal: exit.signal,
            stderr_tail: spawn::tail_of(&stderr_tail),
        });
        let _ = ended.send(());
    });
    Ok(stdin)
}

//! The fleet as remote workers: `run --coordinate ADDR --workers N` listens, and each
//! `ducklake-stress worker --coordinator ADDR` that presents the run's token gets a
//! contiguous share of the writers. A worker runs its writers as child processes and
//! relays their lines, so everything a writer says arrives here exactly as from a local
//! writer process and goes into the one history.
//!
//! A worker that disappears (its connection closes, or nothing is heard from it for
//! `LOST_AFTER` although it beats every second) is lost: its writers end as crashes (a
//! finding, unless a `disconnect_worker` fault did it), and their catalog sessions are
//! terminated (fencing, as Jepsen's nemeses do), so that a transaction of theirs cannot
//! commit after it was declared unknown. Their in-flight transactions stay open in the
//! history and are resolved from their commit tags after the run, like a killed process's.

use super::processes::{handle_line, WriterCrash};
use super::protocol::{FromWorker, ToWorker};
use super::{Ended, Fleet, Step, WriterShared};
use crate::util::LockExt;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Nothing heard for this long (workers beat every second) and the worker is lost.
pub const LOST_AFTER: Duration = Duration::from_secs(5);
/// A connection must say hello with the token within this time.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// After `abort`, how long workers get before their connections are cut.
const CUT_AFTER: Duration = Duration::from_secs(3);

/// What the coordinator was asked to do (`run --coordinate --workers --token`).
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub listen: String,
    pub workers: u32,
    pub token: String,
}

/// One worker as the report shows it. Times are on the run clock.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RemoteWorker {
    pub index: u32,
    pub host: String,
    /// Its address as this side saw the connection.
    pub peer: String,
    pub pid: u32,
    pub version: String,
    pub first_writer: u32,
    pub writers: u32,
    /// When it was declared lost (run clock), and why.
    pub lost_at_seconds: Option<f64>,
    pub lost_reason: Option<String>,
    /// Lost because a `disconnect_worker` fault cut it off.
    pub expected_loss: bool,
    /// Catalog sessions of its writers terminated when it was lost.
    pub sessions_fenced: u64,
    /// Filled from the history when the report is assembled.
    #[serde(default)]
    pub commits: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub indeterminate: u64,
}

struct Connection {
    info: RemoteWorker,
    stream: TcpStream,
}

struct Inner {
    shared: Arc<WriterShared>,
    opts: RemoteOptions,
    workers: Mutex<Vec<Connection>>,
    /// One flag per writer: it ended (its process exited, or its worker was lost).
    done: Vec<AtomicBool>,
    ended: Mutex<Sender<()>>,
    crashes: Mutex<Vec<WriterCrash>>,
    counters: Mutex<Vec<[u64; 4]>>,
    /// Workers a fault is about to cut off: their loss is the fault, not a finding.
    expected: Mutex<Vec<u32>>,
    refused: AtomicU64,
    closed: AtomicBool,
}

pub struct RemoteFleet {
    inner: Arc<Inner>,
    ended: Mutex<Ended>,
    abort_sent: Mutex<Option<Instant>>,
}

impl RemoteFleet {
    /// Accepts workers on `listener` (bound early, so workers that start first wait in its
    /// backlog) until `opts.workers` have joined. Writers no worker took by `join_by` fail
    /// their set-up, which ends the run as a set-up failure naming the missing workers.
    pub fn start(
        shared: Arc<WriterShared>,
        listener: TcpListener,
        opts: RemoteOptions,
        join_by: Instant,
    ) -> anyhow::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let n = shared.writers.len();
        let inner = Arc::new(Inner {
            shared,
            opts,
            workers: Mutex::default(),
            done: (0..n).map(|_| AtomicBool::new(false)).collect(),
            ended: Mutex::new(tx),
            crashes: Mutex::default(),
            counters: Mutex::new(vec![[0u64; 4]; n]),
            expected: Mutex::default(),
            refused: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        });
        listener.set_nonblocking(true)?;
        let acceptor = inner.clone();
        std::thread::spawn(move || acceptor.accept_until_full(listener, join_by));
        Ok(RemoteFleet {
            inner,
            ended: Mutex::new(Ended::new(rx)),
            abort_sent: Mutex::new(None),
        })
    }

    /// The workers that joined, with what happened to them.
    pub fn workers(&self) -> Vec<RemoteWorker> {
        self.inner.lock_workers().iter().map(|c| c.info.clone()).collect()
    }

    /// Connections refused (wrong token, or after every worker had joined).
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn lock_workers(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.workers.locked()
    }

    fn joined(&self) -> u32 {
        self.lock_workers().len() as u32
    }

    /// Writers `first..first + count` of worker `index`.
    fn share(&self, index: u32) -> (u32, u32) {
        let (first, count) = split(index, self.shared.writers.len() as u32, self.opts.workers);
        (self.shared.first_writer + first, count)
    }

    fn accept_until_full(self: Arc<Self>, listener: TcpListener, join_by: Instant) {
        while !self.closed.load(Ordering::Acquire) && self.joined() < self.opts.workers {
            match listener.accept() {
                Ok((stream, peer)) => {
                    let me = self.clone();
                    std::thread::spawn(move || me.handshake(stream, peer.to_string()));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() >= join_by {
                        self.give_up_waiting();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => tracing::warn!("accepting a worker on {}: {e}", self.opts.listen),
            }
        }
    }

    /// The writers no worker took fail set-up, so the run ends instead of waiting on them.
    fn give_up_waiting(&self) {
        let joined = self.joined();
        let first_missing = self.share(joined).0;
        let why = format!(
            "no worker took this writer: {joined} of {} workers joined at {} before the deadline (start \
            them with `ducklake-stress worker --coordinator HOST:PORT --token ...`)",
            self.opts.workers, self.opts.listen
        );
        for w in first_missing..self.shared.first_writer + self.shared.writers.len() as u32 {
            let slot = self.shared.slot(w);
            slot.setup().error.get_or_insert_with(|| why.clone());
            slot.status.enter(Step::SetupFailed);
            self.shared.ready.fetch_add(1, Ordering::AcqRel);
            self.end_writer(w, None);
        }
    }

    fn handshake(self: Arc<Self>, stream: TcpStream, peer: String) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(HELLO_WITHIN));
        let _ = stream.set_nodelay(true);
        let Ok(read_half) = stream.try_clone() else { return };
        let mut reader = BufReader::new(read_half);
        let mut line = Vec::new();
        let hello = reader
            .read_until(b'\n', &mut line)
            .ok()
            .and_then(|_| serde_json::from_slice::<FromWorker>(&line).ok());
        let Some(FromWorker::Hello {
            token,
            host,
            pid,
            version,
        }) = hello
        else {
            self.refuse(&stream, &peer, "the first line was not a worker's hello");
            return;
        };
        if token != self.opts.token {
            self.refuse(
                &stream,
                &peer,
                "wrong token: give the run's token with --token or DLS_RUN_TOKEN",
            );
            return;
        }
        let info = {
            let mut workers = self.lock_workers();
            if workers.len() as u32 >= self.opts.workers || self.closed.load(Ordering::Acquire) {
                drop(workers);
                self.refuse(&stream, &peer, "the run has all the workers it asked for");
                return;
            }
            let index = workers.len() as u32;
            let (first_writer, count) = self.share(index);
            let info = RemoteWorker {
                index,
                host,
                peer: peer.clone(),
                pid,
                version,
                first_writer,
                writers: count,
                ..Default::default()
            };
            let spec = ToWorker::Spec {
                run_id: self.shared.run_id.clone(),
                index,
                first_writer,
                count,
                scenario: Box::new((*self.shared.scenario).clone()),
                target: Box::new((*self.shared.target).clone()),
            };
            let Ok(clone) = stream.try_clone() else { return };
            workers.push(Connection {
                info: info.clone(),
                stream: clone,
            });
            drop(workers);
            if !send(&stream, &spec) {
                self.lose(index, "the connection broke while it was sent its writers");
                return;
            }
            info
        };
        tracing::info!(
            "worker {} ({}, {peer}) joined: writers {}..{}",
            info.index,
            info.host,
            info.first_writer,
            info.first_writer + info.writers
        );
        let _ = reader.get_ref().set_read_timeout(Some(Duration::from_millis(500)));
        self.listen_to(info, reader);
    }

    fn refuse(&self, stream: &TcpStream, peer: &str, reason: &str) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("refused a worker connection from {peer}: {reason}");
        send(stream, &ToWorker::Refused { reason: reason.into() });
        let _ = stream.shutdown(Shutdown::Both);
    }

    /// Reads one worker's lines until its writers have all ended or it is lost.
    fn listen_to(&self, info: RemoteWorker, mut reader: BufReader<TcpStream>) {
        let writers = info.first_writer..info.first_writer + info.writers;
        let mut ready = vec![false; info.writers as usize];
        let unused = AtomicU64::new(0);
        let mut heard = Instant::now();
        let mut line = Vec::new();
        loop {
            if writers.clone().all(|w| self.is_done(w)) {
                return;
            }
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => return self.lose(info.index, "its connection closed"),
                Ok(_) if line.ends_with(b"\n") => {
                    heard = Instant::now();
                    match serde_json::from_slice::<FromWorker>(&line) {
                        Ok(FromWorker::Line { w, line }) if writers.contains(&w) => {
                            let i = (w - info.first_writer) as usize;
                            handle_line(&self.shared, w, &line, &mut ready[i], &self.counters, &unused);
                        }
                        Ok(FromWorker::Exit {
                            w,
                            pid,
                            code,
                            signal,
                            stderr_tail,
                        }) if writers.contains(&w) => {
                            self.writer_exited(
                                w,
                                ready[(w - info.first_writer) as usize],
                                pid,
                                code,
                                signal,
                                stderr_tail,
                            );
                        }
                        Ok(FromWorker::Beat) => {}
                        _ => tracing::warn!(
                            "worker {} sent a line that is not for it: {}",
                            info.index,
                            String::from_utf8_lossy(&line)
                        ),
                    }
                    line.clear();
                }
                Ok(_) => {} // a partial line: the rest follows
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if heard.elapsed() >= LOST_AFTER {
                        return self.lose(
                            info.index,
                            &format!("nothing heard from it for {} s", LOST_AFTER.as_secs()),
                        );
                    }
                }
                Err(e) => return self.lose(info.index, &format!("reading its connection failed: {e}")),
            }
        }
    }

    fn is_done(&self, w: u32) -> bool {
        self.done[(w - self.shared.first_writer) as usize].load(Ordering::Acquire)
    }

    /// Marks writer `w` ended, once, with its crash if it crashed.
    fn end_writer(&self, w: u32, crash: Option<WriterCrash>) {
        if self.done[(w - self.shared.first_writer) as usize].swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(c) = crash {
            self.crashes.locked().push(c);
        }
        let _ = self.ended.locked().send(());
    }

    /// A writer process on a worker ended: as the process fleet judges a local one.
    fn writer_exited(
        &self,
        w: u32,
        was_ready: bool,
        pid: i32,
        code: Option<i32>,
        signal: Option<String>,
        stderr_tail: Vec<String>,
    ) {
        let slot = self.shared.slot(w);
        let crashed = signal.is_some() || code != Some(0);
        let crash = crashed.then(|| WriterCrash {
            writer: w,
            pid,
            signal,
            exit_code: code,
            at: self.shared.history.now(),
            step: slot.status.step(),
            stderr_tail,
            expected: false,
        });
        if !was_ready {
            slot.setup().error.get_or_insert_with(|| {
                format!("writer process {pid} on a remote worker ended during set-up (exit {code:?})")
            });
            slot.status.enter(Step::SetupFailed);
            self.shared.ready.fetch_add(1, Ordering::AcqRel);
        } else if slot.status.step() != Step::SetupFailed {
            slot.status.enter(Step::Done);
        }
        self.end_writer(w, crash);
    }

    /// Worker `index` is gone: its writers that had not ended end now, as crashes, and
    /// their catalog sessions are terminated so nothing of theirs commits later.
    fn lose(&self, index: u32, reason: &str) {
        let expected = self.expected.locked().contains(&index);
        let (info, stream) = {
            let mut workers = self.lock_workers();
            let Some(c) = workers.get_mut(index as usize) else {
                return;
            };
            if c.info.lost_at_seconds.is_some() {
                return;
            }
            c.info.lost_at_seconds = Some(self.shared.history.now());
            c.info.lost_reason = Some(reason.to_string());
            c.info.expected_loss = expected;
            (c.info.clone(), c.stream.try_clone().ok())
        };
        if let Some(s) = stream {
            let _ = s.shutdown(Shutdown::Both);
        }
        let writers: Vec<u32> = (info.first_writer..info.first_writer + info.writers)
            .filter(|w| !self.is_done(*w))
            .collect();
        tracing::warn!(
            "worker {index} ({}) lost: {reason}; writers {writers:?} end unresolved",
            info.host
        );
        let fenced = fence(&self.shared, &writers);
        if let Some(c) = self.lock_workers().get_mut(index as usize) {
            c.info.sessions_fenced = fenced;
        }
        for w in writers {
            let slot = self.shared.slot(w);
            let step = slot.status.step();
            let crash = WriterCrash {
                writer: w,
                pid: info.pid as i32,
                signal: Some("lost with its worker".into()),
                exit_code: None,
                at: self.shared.history.now(),
                step,
                stderr_tail: vec![format!("worker {index} ({}, {}) lost: {reason}", info.host, info.peer)],
                expected,
            };
            if matches!(step, Step::Starting | Step::Connecting) {
                slot.setup().error.get_or_insert_with(|| {
                    format!("its worker {index} ({}) was lost during set-up: {reason}", info.host)
                });
                slot.status.enter(Step::SetupFailed);
                self.shared.ready.fetch_add(1, Ordering::AcqRel);
            } else {
                slot.status.enter(Step::Done);
            }
            self.end_writer(w, Some(crash));
        }
    }

    fn tell_all(&self, msg: &ToWorker) {
        for c in self.lock_workers().iter().filter(|c| c.info.lost_at_seconds.is_none()) {
            send(&c.stream, msg);
        }
    }
}

/// Worker `index`'s share of `writers` over `workers`: (first, count), an even split in
/// order, so every writer has exactly one worker.
fn split(index: u32, writers: u32, workers: u32) -> (u32, u32) {
    let at = |i: u32| (i as u64 * writers as u64 / workers as u64) as u32;
    (at(index), at(index + 1) - at(index))
}

fn send(stream: &TcpStream, msg: &ToWorker) -> bool {
    let line = serde_json::to_string(msg).expect("coordinator messages serialize") + "\n";
    let mut s = stream;
    s.write_all(line.as_bytes()).and_then(|_| s.flush()).is_ok()
}

/// Terminates the catalog sessions of `writers` (their own and their tag resolver's).
fn fence(shared: &WriterShared, writers: &[u32]) -> u64 {
    let prefix = crate::util::ids::session_prefix(&shared.run_id);
    let names: Vec<String> = writers
        .iter()
        .flat_map(|w| {
            [
                crate::util::ids::writer_application_name(&shared.run_id, *w),
                format!("{prefix}resolver-w{w}"),
            ]
        })
        .collect();
    let ended = crate::runtime::block_on(async {
        let catalog = shared.resolver.client().await?;
        let rows = crate::environment::pg::query_with_deadline(
            &catalog,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ANY($1)",
            &[&names],
            Duration::from_secs(3),
        )
        .await?;
        anyhow::Ok(rows.len() as u64)
    });
    ended.unwrap_or_else(|e| {
        tracing::warn!("could not terminate the sessions of a lost worker's writers: {e:#}");
        0
    })
}

/// Lets a fault cut a worker off: which workers there are, and that the loss to come is
/// the fault's doing.
pub trait Workers: Send + Sync {
    /// (index, host name) of every worker still connected.
    fn connected(&self) -> Vec<(u32, String)>;
    fn expect_loss(&self, index: u32);
}

impl Workers for RemoteFleet {
    fn connected(&self) -> Vec<(u32, String)> {
        self.inner
            .lock_workers()
            .iter()
            .filter(|c| c.info.lost_at_seconds.is_none())
            .map(|c| (c.info.index, c.info.host.clone()))
            .collect()
    }

    fn expect_loss(&self, index: u32) {
        self.inner.expected.locked().push(index);
    }
}

impl Fleet for RemoteFleet {
    fn size(&self) -> usize {
        self.inner.shared.writers.len()
    }

    fn ready(&self) -> usize {
        self.inner.shared.ready.load(Ordering::Acquire)
    }

    fn setup_failed(&self) -> bool {
        self.inner.shared.writers.iter().any(|w| w.setup().error.is_some())
    }

    fn go(&self) {
        self.inner.tell_all(&ToWorker::Go);
    }

    fn stop(&self) {
        self.inner.tell_all(&ToWorker::Stop);
    }

    /// First call: ask every worker to abort. A later call, once the grace period is over:
    /// cut the connections (a worker then aborts and ends its writers itself).
    fn abort(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let mut sent = self.abort_sent.locked();
        match *sent {
            None => {
                *sent = Some(Instant::now());
                self.inner.tell_all(&ToWorker::Abort);
            }
            Some(at) if at.elapsed() >= CUT_AFTER => {
                for c in self.inner.lock_workers().iter() {
                    let _ = c.stream.shutdown(Shutdown::Both);
                }
            }
            Some(_) => {}
        }
    }

    fn wait_ended(&self, timeout: Duration) -> usize {
        self.ended.locked().wait(timeout, self.size())
    }

    fn crashes(&self) -> Vec<WriterCrash> {
        self.inner.crashes.locked().clone()
    }
}

impl Drop for RemoteFleet {
    /// No worker goes on writing for a run that is over.
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::Release);
        for c in self.inner.lock_workers().iter() {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writers_split_evenly_and_cover_every_writer() {
        for (writers, workers) in [(16u32, 4u32), (10, 3), (5, 5), (7, 1), (256, 7)] {
            let mut next = 0;
            for i in 0..workers {
                let (first, count) = super::split(i, writers, workers);
                assert_eq!(first, next, "{writers} over {workers}");
                assert!(
                    count == writers / workers || count == writers / workers + 1,
                    "{writers} over {workers}: {count}"
                );
                next = first + count;
            }
            assert_eq!(next, writers);
        }
        assert_eq!(super::split(1, 16, 4), (4, 4));
    }
}

//! The fleet as processes: each writer is a child (`ducklake-stress writer`) with its own
//! DuckDB instance. A writer that crashes (a signal, or an exit it did not mean) is a
//! finding, not the end of the run: its signal and the last lines of its stderr are kept,
//! its in-flight transaction stays unknown in the history (resolved from its tag after the
//! run), and the others go on. Children die with the harness (PR_SET_PDEATHSIG), abort when
//! their stdin closes, and are killed if they do not stop within a grace period.

use super::protocol::{Control, WriterSpec};
use super::{spawn, Ended, Fleet, Step, WriterShared};
use crate::history::Event;
use crate::util::LockExt;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::ChildStdin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// After `abort`, how long children get before they are killed.
const KILL_AFTER: Duration = Duration::from_secs(3);

/// A writer process that ended without being asked to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriterCrash {
    pub writer: u32,
    pub pid: i32,
    /// e.g. "SIGSEGV"; `None` when it exited with a code instead.
    pub signal: Option<String>,
    pub exit_code: Option<i32>,
    /// On the run clock.
    pub at: f64,
    /// Where the writer was when it died.
    pub step: Step,
    pub stderr_tail: Vec<String>,
    /// Killed on purpose by a `kill_writer` fault: reported, not held against the run.
    #[serde(default)]
    pub expected: bool,
}

struct Child {
    pid: i32,
    stdin: Option<ChildStdin>,
    flags: ChildFlags,
}

impl Child {
    fn tell(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}").and_then(|_| stdin.flush());
        }
    }
}

/// What starting a writer process needs, kept for restarts during the run.
struct Spawner {
    shared: Arc<WriterShared>,
    ended: Mutex<Sender<()>>,
    crashes: Arc<Mutex<Vec<WriterCrash>>>,
    /// Each child's last counters (commits, failed, indeterminate, retries), summed into
    /// the shared live counters for the progress line.
    counters: Arc<Mutex<Vec<[u64; 4]>>>,
    /// Per writer, one past the highest transaction number seen in its history: where a
    /// restarted writer goes on, so that no commit tag is used twice.
    next_txn: Vec<Arc<AtomicU64>>,
}

pub struct ProcessFleet {
    shared: Arc<WriterShared>,
    spawner: Spawner,
    children: Vec<Mutex<Child>>,
    ended: Mutex<Ended>,
    abort_sent: Mutex<Option<Instant>>,
    /// The `go` line, once sent (a restarted writer gets it at once), and whether `stop` was.
    go_line: Mutex<Option<String>>,
    stop_sent: AtomicBool,
}

impl ProcessFleet {
    pub fn start(shared: Arc<WriterShared>) -> anyhow::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let n = shared.writers.len();
        let spawner = Spawner {
            shared: shared.clone(),
            ended: Mutex::new(tx),
            crashes: Arc::default(),
            counters: Arc::new(Mutex::new(vec![[0u64; 4]; n])),
            next_txn: (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect(),
        };
        let mut children = Vec::new();
        for i in 0..n as u32 {
            children.push(Mutex::new(spawner.spawn(shared.first_writer + i, 0)?));
        }
        Ok(ProcessFleet {
            shared,
            spawner,
            children,
            ended: Mutex::new(Ended::new(rx)),
            abort_sent: Mutex::new(None),
            go_line: Mutex::new(None),
            stop_sent: AtomicBool::new(false),
        })
    }

    fn child(&self, i: usize) -> std::sync::MutexGuard<'_, Child> {
        self.children[i].locked()
    }

    fn tell_all(&self, line: &str) {
        for i in 0..self.children.len() {
            self.child(i).tell(line);
        }
    }

    fn kill_remaining(&self) {
        for i in 0..self.children.len() {
            let c = self.child(i);
            if c.flags.alive.load(Ordering::Acquire) {
                c.flags.killed_by_us.store(true, Ordering::Release);
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

impl super::Restarter for ProcessFleet {
    /// SIGKILL to writer `id`'s process, then a new process for the same writer, which goes
    /// on with the next transaction number and starts writing as soon as it has attached.
    fn kill_and_restart(&self, id: u32) -> anyhow::Result<(i32, i32)> {
        let i = id
            .checked_sub(self.shared.first_writer)
            .map(|i| i as usize)
            .filter(|i| *i < self.children.len())
            .ok_or_else(|| anyhow::anyhow!("no writer {id}"))?;
        let mut child = self.child(i);
        if !child.flags.alive.load(Ordering::Acquire)
            || self.shared.stopping()
            || self.stop_sent.load(Ordering::Acquire)
        {
            anyhow::bail!("writer {id} is not running");
        }
        child.flags.replaced.store(true, Ordering::Release);
        let old = child.pid;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(old), nix::sys::signal::Signal::SIGKILL)?;
        // Its waiter has read every line it wrote (so `next_txn` is final) once it is dead.
        let until = Instant::now() + Duration::from_secs(5);
        while child.flags.alive.load(Ordering::Acquire) {
            if Instant::now() >= until {
                anyhow::bail!("writer {id} (pid {old}) did not die within 5 s of SIGKILL");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        *child = self
            .spawner
            .spawn(id, self.spawner.next_txn[i].load(Ordering::Acquire))?;
        if let Some(go) = self.go_line.locked().clone() {
            child.tell(&go);
        }
        if self.stop_sent.load(Ordering::Acquire) {
            child.tell("stop");
        }
        Ok((old, child.pid))
    }

    fn pids(&self) -> Vec<i32> {
        (0..self.children.len()).map(|i| self.child(i).pid).collect()
    }
}

impl Drop for ProcessFleet {
    /// No orphans, whatever happened.
    fn drop(&mut self) {
        self.kill_remaining();
    }
}

impl Spawner {
    fn spawn(&self, id: u32, first_txn: u64) -> anyhow::Result<Child> {
        let shared = &self.shared;
        let spec = WriterSpec {
            run_id: shared.run_id.clone(),
            writer: id,
            scenario: (*shared.scenario).clone(),
            target: (*shared.target).clone(),
            first_txn,
            harness_postgres: Some(shared.resolver.endpoint().clone()),
        };
        let spawn::WriterProcess {
            mut child,
            pid,
            stdin,
            stdout,
            stderr_tail,
        } = spawn::spawn(&spec)?;
        let (reader_shared, reader_counters) = (shared.clone(), self.counters.clone());
        let next_txn = self.next_txn[(id - shared.first_writer) as usize].clone();
        let reader = std::thread::spawn(move || {
            let mut ready = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                handle_line(&reader_shared, id, &line, &mut ready, &reader_counters, &next_txn);
            }
            ready
        });
        let flags = ChildFlags::default();
        let waiter = Waiter {
            id,
            pid,
            shared: shared.clone(),
            crashes: self.crashes.clone(),
            ended: self.ended.locked().clone(),
            flags: flags.clone(),
        };
        std::thread::spawn(move || {
            let status = child.wait();
            // Every line the child wrote is in the history before the runner hears it ended.
            let was_ready = reader.join().unwrap_or(false);
            waiter.ended(spawn::Exit::of(&status), &stderr_tail, was_ready, &status);
        });
        Ok(Child {
            pid,
            stdin: Some(stdin),
            flags,
        })
    }
}

/// What the parent and a child's waiter thread both know of one writer process.
#[derive(Clone)]
struct ChildFlags {
    alive: Arc<AtomicBool>,
    killed_by_us: Arc<AtomicBool>,
    /// Killed to be replaced by a new process (kill_writer with restart): its end is not
    /// the writer's end.
    replaced: Arc<AtomicBool>,
}

impl Default for ChildFlags {
    fn default() -> Self {
        ChildFlags {
            alive: Arc::new(AtomicBool::new(true)),
            killed_by_us: Arc::default(),
            replaced: Arc::default(),
        }
    }
}

/// Waits for one writer process to end, and records how: a crash, the end of set-up, or
/// the writer's end.
struct Waiter {
    id: u32,
    pid: i32,
    shared: Arc<WriterShared>,
    crashes: Arc<Mutex<Vec<WriterCrash>>>,
    ended: Sender<()>,
    flags: ChildFlags,
}

impl Waiter {
    fn ended(
        self,
        exit: spawn::Exit,
        tail: &Mutex<VecDeque<String>>,
        was_ready: bool,
        status: &std::io::Result<std::process::ExitStatus>,
    ) {
        let (id, pid) = (self.id, self.pid);
        let slot = self.shared.slot(id);
        if !self.flags.killed_by_us.load(Ordering::Acquire) && exit.abnormal() {
            self.crashes.locked().push(WriterCrash {
                writer: id,
                pid,
                signal: exit.signal,
                exit_code: exit.code,
                at: self.shared.history.now(),
                step: slot.status.step(),
                stderr_tail: spawn::tail_of(tail),
                expected: false,
            });
        }
        let replacing = self.flags.replaced.load(Ordering::Acquire);
        self.flags.alive.store(false, Ordering::Release);
        if replacing {
            return; // a new process carries on as this writer
        }
        if !was_ready {
            // It died in set-up: the barrier must not wait for it.
            slot.setup()
                .error
                .get_or_insert_with(|| format!("writer process {pid} ended during set-up ({status:?})"));
            slot.status.enter(Step::SetupFailed);
            self.shared.ready.fetch_add(1, Ordering::AcqRel);
        } else if slot.status.step() != Step::SetupFailed {
            slot.status.enter(Step::Done);
        }
        let _ = self.ended.send(());
    }
}

/// One line from a child: a history entry goes into the run's history; a control line
/// updates the writer's slot and the live counters.
pub(super) fn handle_line(
    shared: &WriterShared,
    id: u32,
    line: &str,
    ready: &mut bool,
    counters: &Mutex<Vec<[u64; 4]>>,
    next_txn: &AtomicU64,
) {
    if let Ok(event) = serde_json::from_str::<Event>(line) {
        if let Event::Invoke { txn, .. } = &event {
            next_txn.fetch_max(txn + 1, Ordering::AcqRel);
        }
        shared.history.append(&event);
        return;
    }
    let Ok(control) = serde_json::from_str::<Control>(line) else {
        tracing::warn!("writer {id} wrote a line that is neither a history entry nor a control line: {line}");
        return;
    };
    let slot = shared.slot(id);
    match control {
        Control::Ready { setup_ms } => {
            slot.setup().took = Some(Duration::from_millis(setup_ms));
            slot.status.enter(Step::Ready);
            *ready = true;
            shared.ready.fetch_add(1, Ordering::AcqRel);
        }
        Control::SetupFailed { error } => {
            slot.setup().error = Some(error);
            slot.status.enter(Step::SetupFailed);
            *ready = true;
            shared.ready.fetch_add(1, Ordering::AcqRel);
        }
        Control::Status {
            step,
            txn,
            attempt,
            commits,
            failed,
            indeterminate,
            retries,
        } => {
            if slot.status.step() != step {
                slot.status.enter(step);
            }
            slot.status.set_txn(txn, attempt);
            let mut all = counters.locked();
            all[(id - shared.first_writer) as usize] = [commits, failed, indeterminate, retries];
            let sum = |k: usize| all.iter().map(|c| c[k]).sum::<u64>();
            let l = &shared.live;
            l.commits.store(sum(0), Ordering::Relaxed);
            l.failed.store(sum(1), Ordering::Relaxed);
            l.indeterminate.store(sum(2), Ordering::Relaxed);
            l.retries.store(sum(3), Ordering::Relaxed);
        }
        Control::Done => {}
    }
}

impl Fleet for ProcessFleet {
    fn size(&self) -> usize {
        self.children.len()
    }

    fn ready(&self) -> usize {
        self.shared.ready.load(Ordering::Acquire)
    }

    fn setup_failed(&self) -> bool {
        self.shared.writers.iter().any(|w| w.setup().error.is_some())
    }

    /// Every child starts its run clock at the parent's zero, whenever it reads the line.
    fn go(&self) {
        let zero = self
            .shared
            .history
            .origin_monotonic()
            .unwrap_or_else(crate::history::recorder::monotonic_ns);
        let line = format!("go {zero}");
        *self.go_line.locked() = Some(line.clone());
        self.tell_all(&line);
    }

    fn stop(&self) {
        self.stop_sent.store(true, Ordering::Release);
        self.tell_all("stop");
    }

    /// First call: ask every child to abort. A later call, once the grace period is over:
    /// kill those still alive.
    fn abort(&self) {
        let mut sent = self.abort_sent.locked();
        match *sent {
            None => {
                *sent = Some(Instant::now());
                self.tell_all("abort");
            }
            Some(at) if at.elapsed() >= KILL_AFTER => self.kill_remaining(),
            Some(_) => {}
        }
    }

    fn wait_ended(&self, timeout: Duration) -> usize {
        self.ended.locked().wait(timeout, self.size())
    }

    fn crashes(&self) -> Vec<WriterCrash> {
        self.spawner.crashes.locked().clone()
    }

    fn pids(&self) -> Vec<i32> {
        super::Restarter::pids(self)
    }
}

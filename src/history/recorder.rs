//! Streams history entries to `history.ndjson` as they happen: each entry is one line,
//! written and flushed to the OS at once, so a crash of the harness (or of DuckDB inside
//! it) leaves every entry written so far on disk for `check --run-dir`.

use super::event::{one_line, Event, OpOutcome, Step};
use super::ErrorClass;
use crate::util::LockExt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
pub fn monotonic_ns() -> u64 {
    let mut ts = nix::libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { nix::libc::clock_gettime(nix::libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub struct Recorder {
    path: PathBuf,
    sink: Mutex<Box<dyn Write + Send>>,
    /// Zero of the run clock: the moment the writers start writing, as an Instant and on
    /// the system-wide monotonic clock (writer processes share the parent's zero).
    origin: OnceLock<(Instant, u64)>,
    write_errors: std::sync::atomic::AtomicU64,
}

/// The end of an attempt, as the writer knows it.
pub struct Completion {
    pub outcome: OpOutcome,
    pub step: Step,
    pub commit_seconds: Option<f64>,
    pub snapshot_id: Option<i64>,
    pub error: Option<(ErrorClass, String)>,
}

impl Recorder {
    pub fn create(path: &Path, run_id: &str, writers: u32) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let r = Recorder {
            path: path.to_path_buf(),
            sink: Mutex::new(Box::new(file)),
            origin: OnceLock::new(),
            write_errors: 0.into(),
        };
        let started_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        r.append(&Event::Run {
            run_id: run_id.to_string(),
            writers,
            started_at,
        });
        Ok(r)
    }

    /// A recorder that streams entries to standard output: a writer process's history,
    /// which its parent appends to the run's file as the lines arrive.
    pub fn to_stdout() -> Self {
        Recorder {
            path: PathBuf::from("-"),
            sink: Mutex::new(Box::new(std::io::stdout())),
            origin: OnceLock::new(),
            write_errors: 0.into(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets zero on the run clock (once; later calls keep the first).
    pub fn start_clock(&self) -> Instant {
        self.origin.get_or_init(|| (Instant::now(), monotonic_ns())).0
    }

    /// Sets zero on the run clock to a moment of the system-wide monotonic clock, as
    /// another process of the run read it (so that all writers' times compare).
    pub fn start_clock_at(&self, monotonic: u64) -> Instant {
        self.origin
            .get_or_init(|| {
                let ago = Duration::from_nanos(monotonic_ns().saturating_sub(monotonic));
                (Instant::now().checked_sub(ago).unwrap_or_else(Instant::now), monotonic)
            })
            .0
    }

    pub fn origin(&self) -> Option<Instant> {
        self.origin.get().map(|o| o.0)
    }

    /// The run clock's zero on the system-wide monotonic clock.
    pub fn origin_monotonic(&self) -> Option<u64> {
        self.origin.get().map(|o| o.1)
    }

    /// Seconds on the run clock (0 before it started).
    pub fn now(&self) -> f64 {
        self.origin.get().map(|o| o.0.elapsed().as_secs_f64()).unwrap_or(0.0)
    }

    /// Entries that could not be written (disk full...): reported, never silently lost.
    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn append(&self, event: &Event) {
        let mut line = serde_json::to_vec(event).expect("history entries always serialize");
        line.push(b'\n');
        let mut f = self.sink.locked();
        // One write per line (O_APPEND, or stdout's own lock): lines never interleave. The
        // flush hands a pipe's line to the parent at once (a file has nothing to flush).
        if f.write_all(&line).and_then(|_| f.flush()).is_err() {
            self.write_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// `invoke` of a transaction's first attempt that was due at `scheduled_at` (a rate).
    pub fn invoke_scheduled(&self, writer: u32, txn: u64, rows: u32, scheduled_at: f64) {
        self.append(&Event::Invoke {
            writer,
            txn,
            attempt: 1,
            at: self.now(),
            rows,
            scheduled_at: Some(scheduled_at),
        });
    }

    pub fn invoke(&self, writer: u32, txn: u64, attempt: u32, rows: u32) {
        self.append(&Event::Invoke {
            writer,
            txn,
            attempt,
            at: self.now(),
            rows,
            scheduled_at: None,
        });
    }

    pub fn complete(&self, writer: u32, txn: u64, attempt: u32, c: Completion) {
        let (error_class, error) = match c.error {
            Some((class, message)) => (Some(class), Some(one_line(&message))),
            None => (None, None),
        };
        self.append(&Event::Complete {
            writer,
            txn,
            attempt,
            at: self.now(),
            outcome: c.outcome,
            step: c.step,
            commit_seconds: c.commit_seconds,
            snapshot_id: c.snapshot_id,
            error_class,
            error,
        });
    }

    pub fn nemesis(&self, kind: &str, phase: &str) {
        self.append(&Event::Nemesis {
            kind: kind.to_string(),
            at: self.now(),
            phase: phase.to_string(),
        });
    }
}

/// Reads a history file. A last line cut off by a crash is skipped; any other bad line is
/// an error naming its line number.
pub fn load(path: &Path) -> anyhow::Result<Vec<Event>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        crate::error::bad_input(format!(
            "{}: cannot read the run's \
        history ({e}); --run-dir must be a results directory written by ducklake-stress.",
            path.display()
        ))
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut events = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(e) => events.push(e),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => {
                return Err(crate::error::bad_input(format!(
                    "{}:{}: not a history entry written by ducklake-stress ({e}).",
                    path.display(),
                    i + 1
                )));
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_on_disk_and_a_cut_off_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.ndjson");
        let r = Recorder::create(&path, "run-1", 2).unwrap();
        r.start_clock();
        r.invoke(0, 0, 1, 10);
        r.complete(
            0,
            0,
            1,
            Completion {
                outcome: OpOutcome::Ok,
                step: Step::Commit,
                commit_seconds: Some(0.01),
                snapshot_id: Some(7),
                error: None,
            },
        );
        r.invoke(1, 0, 1, 10);
        // Without dropping the recorder (a crash): the file already holds every entry.
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4);
        text.push_str("{\"type\":\"complete\",\"wri");
        std::fs::write(&path, &text).unwrap();
        let events = load(&path).unwrap();
        assert_eq!(events.len(), 4);
        assert!(matches!(
            events[2],
            Event::Complete {
                snapshot_id: Some(7),
                outcome: OpOutcome::Ok,
                ..
            }
        ));
    }

    #[test]
    fn a_bad_line_in_the_middle_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.ndjson");
        std::fs::write(
            &path,
            "{\"type\":\"nemesis\",\"kind\":\"x\",\"at\":1.0,\"phase\":\"start\"}\nnot json\n{}\n",
        )
        .unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("history.ndjson:2:"), "{err}");
    }
}

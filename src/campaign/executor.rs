//! Running one job of a campaign (a point of a sweep, a side of a comparison, one of
//! `--repeat`): behind a trait, so the scheduling and accounting are unit-tested with a
//! fake (hyperfine's `Executor`), and for real as a child process of this same binary, so
//! a DuckDB instance that leaked or crashed cannot spoil the next job.

use crate::report::Report;
use crate::scenario::Override;
use crate::util::interrupt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// Position in the plan (the order jobs ran in).
    pub index: usize,
    /// Which point (sweep) or side (compare) it measures.
    pub group: usize,
    /// Which repetition of its group.
    pub rep: u32,
    pub scenario: PathBuf,
    /// The group's overrides, then this job's own table.
    pub overrides: Vec<Override>,
    /// The most the job may take: its scenario's deadline plus set-up and checks.
    pub limit: Duration,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Report {
        path: PathBuf,
        report: Box<Report>,
    },
    /// No report came back: the child crashed, was killed at its limit, or refused input.
    Broken {
        why: String,
        exit: Option<i32>,
        log: Option<PathBuf>,
    },
    /// Never started (Ctrl-C came first).
    NotRun {
        why: String,
    },
}

impl Outcome {
    pub fn report(&self) -> Option<&Report> {
        match self {
            Outcome::Report { report, .. } => Some(report),
            Outcome::Broken { .. } | Outcome::NotRun { .. } => None,
        }
    }
}

pub trait Executor {
    fn execute(&mut self, job: &Job) -> Outcome;
}

/// `ducklake-stress run SCENARIO --env-file ENV --set ... --quiet` in a child process.
pub struct ProcessExecutor {
    pub exe: PathBuf,
    pub env_file: PathBuf,
    /// Where each run directory (and each job's log) goes.
    pub runs_dir: PathBuf,
    pub extension_dir: Option<PathBuf>,
    /// Flags every run gets (e.g. --allow-unsigned-extensions).
    pub extra_args: Vec<String>,
}

/// A child interrupted by Ctrl-C still checks and writes its report: give it this long.
const AFTER_INTERRUPT: Duration = Duration::from_secs(90);

impl Executor for ProcessExecutor {
    fn execute(&mut self, job: &Job) -> Outcome {
        let log = self.runs_dir.join(format!("job-{:03}.log", job.index));
        match self.spawn(job, &log).and_then(|child| wait_bounded(child, job.limit)) {
            Ok(exit) => read_outcome(&log, exit),
            Err(e) => Outcome::Broken {
                why: format!("{e:#}"),
                exit: None,
                log: Some(log),
            },
        }
    }
}

impl ProcessExecutor {
    fn spawn(&self, job: &Job, log: &Path) -> anyhow::Result<Child> {
        std::fs::create_dir_all(&self.runs_dir)?;
        let out = std::fs::File::create(log)?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("run")
            .arg(&job.scenario)
            .arg("--env-file")
            .arg(&self.env_file)
            .arg("--results-dir")
            .arg(&self.runs_dir)
            .arg("--quiet");
        for o in &job.overrides {
            cmd.arg("--set").arg(o.to_string());
        }
        if let Some(dir) = &self.extension_dir {
            cmd.arg("--extension-dir").arg(dir);
        }
        cmd.args(&self.extra_args);
        // Its own process group: a Ctrl-C at the terminal reaches only the campaign, which
        // passes one SIGINT on (a second one would make the run skip its checks).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        cmd.spawn()
            .map_err(|e| anyhow::anyhow!("could not start {}: {e}", self.exe.display()))
    }
}

/// Waits for the child within `limit` (then SIGTERM, and SIGKILL 30 s later); on Ctrl-C
/// passes SIGINT on, so the child ends its run and writes its report.
fn wait_bounded(mut child: Child, limit: Duration) -> anyhow::Result<std::process::ExitStatus> {
    let start = Instant::now();
    let mut deadline = start + limit;
    let mut signalled = 0;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let now = Instant::now();
        if interrupt::is_interrupted() && signalled == 0 {
            signal(&child, nix::sys::signal::Signal::SIGINT);
            signalled = 1;
            deadline = deadline.min(now + AFTER_INTERRUPT);
        }
        if now >= deadline {
            match signalled {
                0 | 1 => {
                    signal(&child, nix::sys::signal::Signal::SIGTERM);
                    signalled = 2;
                    deadline = now + Duration::from_secs(30);
                }
                _ => {
                    let _ = child.kill();
                    let status = child.wait()?;
                    anyhow::bail!(
                        "the run did not end within {} and was killed ({status})",
                        humantime::format_duration(Duration::from_secs(limit.as_secs()))
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig);
}

/// The child prints `report: PATH` as its last line; without it, the log's tail says why.
fn read_outcome(log: &Path, exit: std::process::ExitStatus) -> Outcome {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let path = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("report: "))
        .map(PathBuf::from);
    match path.map(|p| (crate::report::read(&p), p)) {
        Some((Ok(report), path)) => Outcome::Report {
            path,
            report: Box::new(report),
        },
        Some((Err(e), _)) => Outcome::Broken {
            why: format!("{e:#}"),
            exit: exit.code(),
            log: Some(log.to_path_buf()),
        },
        None => {
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            let why = match (exit.code(), tail.is_empty()) {
                (_, false) => tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
                (Some(c), true) => format!("exited with {c} and printed nothing"),
                (None, true) => format!("ended by a signal ({exit}) and printed nothing"),
            };
            Outcome::Broken {
                why,
                exit: exit.code(),
                log: Some(log.to_path_buf()),
            }
        }
    }
}

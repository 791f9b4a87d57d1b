//! A service child process in its own process group, stopped on drop (also on panic and
//! Ctrl-C, which the harness turns into an orderly unwind) so no server outlives a run.

use crate::util::LockExt;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How to start the service again (a restart fault): the command as first given.
struct Recipe {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    /// uid and gid to run as (Postgres refuses root).
    owner: Option<(u32, u32)>,
}

impl Recipe {
    fn of(cmd: &Command, owner: Option<(u32, u32)>) -> Self {
        Recipe {
            program: cmd.get_program().to_owned(),
            args: cmd.get_args().map(|a| a.to_owned()).collect(),
            envs: cmd
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
                .collect(),
            owner,
        }
    }

    fn spawn(&self, name: &str, log_path: &Path) -> anyhow::Result<Child> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        // Appended to: a restarted service keeps one log.
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log_path)?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Own process group: the terminal's Ctrl-C does not reach the service, the
            // harness decides when it stops, and killpg reaches its children too.
            .process_group(0);
        cmd.spawn().map_err(|e| {
            crate::error::environment(format!(
                "could not start {name} ({:?}): {e}. Run scripts/setup.sh, which installs it.",
                self.program
            ))
        })
    }
}

/// What the owner and the faults' handles share.
struct Service {
    name: &'static str,
    recipe: Recipe,
    stop_signal: Signal,
    log_path: PathBuf,
    child: Mutex<Child>,
}

impl Service {
    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.locked()
    }
}

/// The service as its owner holds it: stopped when dropped.
pub struct ServiceProcess {
    pub name: &'static str,
    service: Arc<Service>,
    pub log_path: PathBuf,
    detached: bool,
}

impl ServiceProcess {
    pub fn spawn(
        name: &'static str,
        cmd: &mut Command,
        owner: Option<(u32, u32)>,
        log_path: &Path,
        stop_signal: Signal,
    ) -> anyhow::Result<Self> {
        let _ = std::fs::remove_file(log_path);
        let recipe = Recipe::of(cmd, owner);
        let child = recipe.spawn(name, log_path)?;
        let service = Arc::new(Service {
            name,
            recipe,
            stop_signal,
            log_path: log_path.to_path_buf(),
            child: Mutex::new(child),
        });
        Ok(ServiceProcess {
            name,
            service,
            log_path: log_path.to_path_buf(),
            detached: false,
        })
    }

    pub fn pid(&self) -> i32 {
        self.service.child().id() as i32
    }

    /// A handle for faults that pause, kill or restart the service during a run.
    pub fn handle(&self) -> ServiceHandle {
        ServiceHandle(self.service.clone())
    }

    /// Fails with the service's last log lines if it has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        self.handle().ensure_running()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, lines)
    }

    /// Leave the process running after the harness exits (`env up`).
    pub fn detach(mut self) {
        self.detached = true;
    }

    pub fn stop(&mut self, grace: Duration) {
        if self.detached {
            return;
        }
        let mut child = self.service.child();
        stop_process_group(child.id() as i32, self.service.stop_signal, grace);
        let _ = child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}

/// A service the harness started, as a fault sees it. The owner still stops it at the end,
/// whatever a fault did meanwhile.
#[derive(Clone)]
pub struct ServiceHandle(Arc<Service>);

impl ServiceHandle {
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// The main process now (it changes when the service is restarted).
    pub fn pid(&self) -> i32 {
        self.0.child().id() as i32
    }

    pub fn ensure_running(&self) -> anyhow::Result<()> {
        if let Ok(Some(status)) = self.0.child().try_wait() {
            return Err(crate::error::environment(format!(
                "{} exited ({status}). Its log ({}) ends with: {}",
                self.0.name,
                self.0.log_path.display(),
                log_tail(&self.0.log_path, 8)
            )));
        }
        Ok(())
    }

    /// Sends `signal` to the main process only (Postgres's postmaster ends its backends
    /// itself, in the mode the signal names) and waits up to `grace` for it to exit; past
    /// that the whole group is killed. Returns how the process ended.
    pub fn stop_with(&self, signal: Signal, grace: Duration) -> anyhow::Result<String> {
        let mut child = self.0.child();
        let pid = child.id() as i32;
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(format!("already exited ({status})"));
        }
        kill(Pid::from_raw(pid), signal)
            .map_err(|e| crate::error::environment(format!("could not signal {} (pid {pid}): {e}", self.0.name)))?;
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(format!("{status}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stop_process_group(pid, Signal::SIGKILL, Duration::from_secs(2));
        let _ = child.wait();
        Ok(format!("did not exit within {} s of {signal}; killed", grace.as_secs()))
    }

    /// Starts the service again from its original command (same ports, same data).
    pub fn start_again(&self) -> anyhow::Result<i32> {
        let mut child = self.0.child();
        if let Ok(None) = child.try_wait() {
            anyhow::bail!("{} is still running (pid {})", self.0.name, child.id());
        }
        *child = self.0.recipe.spawn(self.0.name, &self.0.log_path)?;
        Ok(child.id() as i32)
    }
}

/// Signals a process group, waits up to `grace` for its leader to go, then kills the group.
pub fn stop_process_group(pgid: i32, signal: Signal, grace: Duration) {
    let group = Pid::from_raw(pgid);
    if killpg(group, signal).is_err() {
        return; // already gone
    }
    let until = Instant::now() + grace;
    while Instant::now() < until {
        // Signal 0 probes whether any member of the group is left.
        if killpg(group, None).is_err() {
            return;
        }
        reap(pgid);
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(group, Signal::SIGKILL);
    reap(pgid);
}

fn reap(pid: i32) {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
}

/// Runs a short command with a time limit (a CLI that hangs must not hang start-up). The
/// output is read while the command runs, so a chatty one cannot stall on a full pipe.
pub fn output_within(cmd: &mut Command, limit: Duration) -> anyhow::Result<std::process::Output> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = Pid::from_raw(child.id() as i32);
    let what = format!("{:?}", cmd.get_program());
    crate::util::deadline::run_with_deadline(&what, limit, move || Ok(child.wait_with_output()?)).inspect_err(|_| {
        // Ends the command; the waiting thread then reaps it.
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    })
}

/// A free TCP port on 127.0.0.1 (the listener is closed again before the service binds).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `probe` every 100 ms until it succeeds or `deadline` passes.
pub fn wait_until<T>(
    what: &str,
    deadline: Duration,
    mut alive: impl FnMut() -> anyhow::Result<()>,
    mut probe: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let until = Instant::now() + deadline;
    loop {
        alive()?;
        crate::util::interrupt::bail_if_interrupted()?;
        match probe() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= until => {
                return Err(crate::error::environment(format!(
                    "{what} was not ready within {} s; last error: {e:#}",
                    deadline.as_secs()
                )))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

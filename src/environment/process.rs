//! A service child process in its own process group, stopped on drop (also on panic and
//! Ctrl-C, which the harness turns into an orderly unwind) so no server outlives a run.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServiceProcess {
    pub name: &'static str,
    child: Child,
    stop_signal: Signal,
    pub log_path: PathBuf,
    detached: bool,
}

impl ServiceProcess {
    pub fn spawn(name: &'static str, cmd: &mut Command, log_path: &Path, stop_signal: Signal) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(log_path)?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Own process group: the terminal's Ctrl-C does not reach the service, the
            // harness decides when it stops, and killpg reaches its children too.
            .process_group(0);
        let child = cmd.spawn().map_err(|e| {
            crate::error::environment(format!("could not start {name} ({:?}): {e}. Run scripts/setup.sh, which installs it.", cmd.get_program()))
        })?;
        Ok(ServiceProcess { name, child, stop_signal, log_path: log_path.to_path_buf(), detached: false })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Fails with the service's last log lines if it has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(crate::error::environment(format!(
                "{} exited during start-up ({status}). Its log ({}) ends with: {}",
                self.name,
                self.log_path.display(),
                self.log_tail(8)
            )));
        }
        Ok(())
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join(" | ")
    }

    /// Leave the process running after the harness exits (`env up`).
    pub fn detach(mut self) {
        self.detached = true;
    }

    pub fn stop(&mut self, grace: Duration) {
        if self.detached {
            return;
        }
        stop_process_group(self.pid(), self.stop_signal, grace);
        let _ = self.child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
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
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
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

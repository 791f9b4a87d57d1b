//! Sends SIGSEGV to one writer process, chosen at random: what a crash inside DuckDB looks
//! like to the harness (DuckLake 1.5.x has open reports of segfaults under concurrent
//! writers). The run must go on, report the crash, and resolve the writer's last commit.

use super::Fault;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rand::seq::IndexedRandom;

pub async fn run(mut fault: Fault) {
    if !fault.sleep(fault.spec.after).await {
        return;
    }
    let alive: Vec<i32> = fault
        .pids()
        .into_iter()
        .filter(|p| super::is_writer_process(*p))
        .collect();
    let Some(&pid) = alive.choose(&mut rand::rng()) else {
        return fault
            .note(|l| l.error = Some("no writer process to crash: crash_writer needs run.mode = \"process\"".into()));
    };
    fault.mark(true);
    let target = Pid::from_raw(pid);
    // Rust's runtime handles the first SIGSEGV (its stack-overflow guard) by restoring the
    // default action and returning: a real segfault then faults again at once, a signal
    // does not. So a second SIGSEGV follows if the first one did not end the process.
    let mut sent = kill(target, Signal::SIGSEGV);
    if sent.is_ok() {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if kill(target, None).is_ok() {
            sent = kill(target, Signal::SIGSEGV);
        }
    }
    match sent {
        Ok(()) => fault.note(|l| {
            l.target = format!("writer process {pid}");
            l.signalled_pid = Some(pid);
        }),
        Err(e) => fault.note(|l| l.error = Some(format!("could not signal writer process {pid}: {e}"))),
    }
    fault.mark(false);
}

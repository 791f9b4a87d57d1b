//! Pauses a service the harness started: SIGSTOP to its process and every child of it
//! (Postgres's backends each lead a session of their own, so the process group is not
//! enough), holds, then resumes it with SIGCONT: a server that stalls without dropping a
//! connection, as a VM pause or a long GC does. Resumed also when the run ends first, so
//! nothing stays stopped.

use super::Fault;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;

pub async fn run(mut fault: Fault, names: &[&str]) {
    if !fault.sleep(fault.spec.after).await {
        return;
    }
    let Some(service) = fault.service(names) else { return };
    let (name, main) = (service.name(), service.pid());
    // The main process first, so it starts no new child meanwhile.
    let mut family = vec![main];
    family.extend(children_of(main));
    for &pid in &family {
        if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGSTOP) {
            fault.note(|l| l.error = Some(format!("could not pause {name} process {pid}: {e}")));
        }
    }
    fault.note(|l| l.target = format!("{name} (pid {main} and {} children)", family.len() - 1));
    fault.mark(true);
    fault.sleep(fault.spec.hold.unwrap_or(Duration::from_secs(5))).await;
    for &pid in family.iter().rev() {
        let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
    }
    fault.mark(false);
}

/// Direct children of `parent`, from /proc/<pid>/stat (its fourth field, after the command
/// name in parentheses, is the parent's pid).
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
            }) == Some(parent)
        })
        .collect()
}

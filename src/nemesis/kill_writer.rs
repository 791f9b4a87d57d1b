//! SIGKILL to a writer process: a pipeline worker killed by its orchestrator. With
//! `during = "commit"` it waits for a writer caught writing its commit into the catalog
//! (seen in pg_stat_activity, matched to its process by application_name), so the history
//! holds an attempt nobody completed, which the run resolves from its tag. With `restart`,
//! a new process takes the writer's place and goes on with its next transaction number.

use super::terminate_writer_sessions::COMMITTING;
use super::Fault;
use crate::scenario::FaultMoment;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rand::seq::IndexedRandom;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(2);
const HUNT: Duration = Duration::from_secs(10);

pub async fn run(mut fault: Fault) {
    let Some(client) = fault.start().await else { return };
    if fault.writer_pids.is_empty() {
        return fault
            .note(|l| l.error = Some("no writer process to kill: kill_writer needs run.mode = \"process\"".into()));
    }
    fault.mark(true);
    loop {
        if let Some((writer, pid)) = victim(&fault, &client).await {
            strike(&fault, writer, pid).await;
        }
        let Some(every) = fault.spec.every else { break };
        if !fault.sleep(every).await {
            break;
        }
    }
    fault.mark(false);
}

/// SIGKILL, or with `restart` a kill and a new process for the same writer.
async fn strike(fault: &Fault, writer: usize, pid: i32) {
    match (&fault.restarter, fault.spec.restart) {
        (Some(fleet), true) => {
            let fleet = fleet.clone();
            match tokio::task::spawn_blocking(move || fleet.kill_and_restart(writer as u32)).await {
                Ok(Ok((old, new))) => fault.note(|l| {
                    l.killed_pids.push(old);
                    l.restarted_pids.push(new);
                }),
                // A writer that ended meanwhile (the run is stopping) is no failure.
                Ok(Err(e)) if e.to_string().contains("is not running") => {}
                Ok(Err(e)) => fault.note(|l| l.error = Some(format!("restarting writer {writer} failed: {e:#}"))),
                Err(e) => fault.note(|l| l.error = Some(format!("restarting writer {writer} failed: {e}"))),
            }
        }
        _ => {
            if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                fault.note(|l| l.killed_pids.push(pid));
            }
        }
    }
}

/// The process to kill: any writer, or one whose catalog session is committing right now.
async fn victim(fault: &Fault, client: &tokio_postgres::Client) -> Option<(usize, i32)> {
    let pids = fault.pids();
    if fault.spec.during != FaultMoment::Commit {
        let alive: Vec<(usize, i32)> = pids
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, p)| super::is_writer_process(*p))
            .collect();
        return alive.choose(&mut rand::rng()).copied();
    }
    let sql = format!(
        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE $1 AND {COMMITTING} LIMIT 1"
    );
    let until = Instant::now() + HUNT;
    while Instant::now() < until {
        let rows =
            crate::environment::pg::query_with_deadline(client, &sql, &[&fault.writer_pattern], Duration::from_secs(5))
                .await
                .ok()?;
        // `.../w<N>`: writer N, whose process is writer_pids[N].
        let writer = rows.first().and_then(|r| {
            r.get::<_, String>(0)
                .rsplit_once("/w")
                .and_then(|(_, n)| n.parse::<usize>().ok())
        });
        if let Some((n, pid)) = writer
            .and_then(|n| Some((n, pids.get(n).copied()?)))
            .filter(|(_, p)| super::is_writer_process(*p))
        {
            return Some((n, pid));
        }
        tokio::time::sleep(POLL).await;
    }
    None
}

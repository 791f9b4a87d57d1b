//! Stops a service the harness started and starts it again from the same command (same
//! port, same data): Postgres restarted in `fast` or `immediate` mode (`restart_catalog`),
//! the S3 server killed (`kill_s3`) or stopped cleanly (`restart_s3`). Writers see every
//! connection to it end, then connections refused until it is back. A service that is down
//! when the run ends is started again all the same, so that the checks can read the lake.

use super::{Fault, Restart};
use crate::scenario::{NemesisKind, RestartMode};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// Postgres's own limit for a fast shutdown is generous; ours must still end.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// Crash recovery after an immediate shutdown, or Garage opening its metadata.
pub const READY_LIMIT: Duration = Duration::from_secs(60);

pub async fn run(mut fault: Fault) {
    if !fault.sleep(fault.spec.after).await {
        return;
    }
    let (names, signal, default_down): (&[&str], Signal, Duration) = match (fault.spec.kind, fault.spec.mode) {
        (NemesisKind::RestartCatalog, RestartMode::Fast) => (&["postgres"], Signal::SIGINT, Duration::ZERO),
        (NemesisKind::RestartCatalog, RestartMode::Immediate) => (&["postgres"], Signal::SIGQUIT, Duration::ZERO),
        (NemesisKind::KillS3, _) => (&["garage", "minio"], Signal::SIGKILL, Duration::from_secs(5)),
        _ => (&["garage", "minio"], Signal::SIGTERM, Duration::ZERO),
    };
    let Some(service) = fault.service(names) else { return };
    fault.note(|l| l.target = format!("{} (pid {}), stopped with {signal}", service.name(), service.pid()));
    fault.mark(true);
    loop {
        let down = fault.spec.hold.unwrap_or(default_down);
        let restart = cycle(&mut fault, &service, signal, down).await;
        let failed = restart.ready_at_seconds.is_none();
        fault.note(|l| l.restarts.push(restart));
        if failed || fault.stopped() {
            break;
        }
        let Some(every) = fault.spec.every else { break };
        if !fault.sleep(every).await {
            break;
        }
    }
    fault.mark(false);
}

/// One stop, downtime and start, with when the service answered again.
async fn cycle(
    fault: &mut Fault,
    service: &crate::environment::process::ServiceHandle,
    signal: Signal,
    down: Duration,
) -> Restart {
    let kind = format!("{:?}", fault.spec.kind);
    let stopped_at_seconds = fault.history.now();
    fault.history.nemesis(&kind, "down");
    let svc = service.clone();
    let exit = match tokio::task::spawn_blocking(move || svc.stop_with(signal, STOP_GRACE)).await {
        Ok(Ok(how)) => how,
        Ok(Err(e)) => format!("{e:#}"),
        Err(e) => format!("stopping failed: {e}"),
    };
    // Down for `down`, or less if the run ends first: it is started again either way.
    fault.sleep(down).await;
    let svc = service.clone();
    let started = tokio::task::spawn_blocking(move || svc.start_again()).await;
    let mut restart = Restart {
        stopped_at_seconds,
        exit,
        ready_at_seconds: None,
        error: None,
    };
    match started {
        Ok(Ok(_)) => match ready(fault, service).await {
            Ok(()) => {
                restart.ready_at_seconds = Some(fault.history.now());
                fault.history.nemesis(&kind, "up");
            }
            Err(e) => {
                restart.error = Some(format!(
                    "{} did not answer within {} s of starting again: {e:#}",
                    service.name(),
                    READY_LIMIT.as_secs()
                ))
            }
        },
        Ok(Err(e)) => restart.error = Some(format!("{e:#}")),
        Err(e) => restart.error = Some(format!("starting again failed: {e}")),
    }
    restart
}

/// Waits until the service answers a real request (a Postgres login, an S3 HEAD bucket).
async fn ready(fault: &Fault, service: &crate::environment::process::ServiceHandle) -> anyhow::Result<()> {
    let until = Instant::now() + READY_LIMIT;
    loop {
        let probe = match &fault.s3 {
            Some(s3) if service.name() != "postgres" => crate::environment::s3::head_bucket(s3).await,
            _ => crate::environment::pg::connect(&fault.pg, None, &fault.application_name)
                .await
                .map(drop),
        };
        match probe {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= until => return Err(e),
            Err(_) => {
                service.ensure_running()?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

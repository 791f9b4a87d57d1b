//! `pause_catalog` / `pause_s3` in the docker environment: `docker pause` freezes every
//! process of the container (the cgroup freezer, as SIGSTOP does for the native services),
//! holds, then `docker unpause`. Connections stay open; the server just stops answering.
//! Unpaused also when the run ends first, so nothing stays frozen.

use super::docker_async;
use super::Fault;
use crate::scenario::NemesisKind;
use std::time::Duration;

pub async fn run(mut fault: Fault) {
    if !fault.sleep(fault.spec.after).await {
        return;
    }
    let service = if fault.spec.kind == NemesisKind::PauseCatalog {
        "postgres"
    } else {
        "s3"
    };
    let Some(id) = fault
        .containers
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, id)| id.clone())
    else {
        fault.note(|l| l.error = Some(format!("no {service} container was started for this run")));
        return;
    };
    fault.note(|l| l.target = format!("{service} container {}", &id[..id.len().min(12)]));
    if let Err(e) = docker_async(&["pause", &id]).await {
        fault.note(|l| l.error = Some(format!("{e:#}")));
        return;
    }
    fault.mark(true);
    fault.sleep(fault.spec.hold.unwrap_or(Duration::from_secs(5))).await;
    // Unpause before marking the end: the history's end means "answering again".
    if let Err(e) = docker_async(&["unpause", &id]).await {
        fault.note(|l| l.error = Some(format!("{e:#}")));
    }
    fault.mark(false);
}

//! `disconnect_worker`: the last remote worker to join is cut off from every Docker network
//! its container is on (`docker network disconnect`), for the rest of the run. Nothing is
//! closed cleanly: its connections to the coordinator, the catalog and S3 just stop
//! answering, as when a pipeline host drops off the network. The coordinator notices the
//! silence (no beat), declares the worker lost, fences its catalog sessions and leaves its
//! in-flight transactions to be resolved from their tags; this fault only cuts the cable.

use super::{docker_async, Fault};

pub async fn run(mut fault: Fault) {
    if !fault.sleep(fault.spec.after).await {
        return;
    }
    let Some(workers) = fault.workers.clone() else {
        fault.note(|l| {
            l.error = Some(
                "disconnect_worker cuts off a remote worker: run the scenario with --coordinate \
            ADDR --workers N and workers in containers"
                    .into(),
            )
        });
        return;
    };
    let Some((index, host)) = workers.connected().into_iter().max_by_key(|(i, _)| *i) else {
        fault.note(|l| l.error = Some("no remote worker was connected".into()));
        return;
    };
    fault.note(|l| l.target = format!("remote worker {index} (container {host})"));
    // Docker names a container's host after its id, so the host name finds the container.
    let networks = match docker_async(&[
        "inspect",
        "-f",
        "{{range $n, $_ := .NetworkSettings.Networks}}{{$n}} {{end}}",
        &host,
    ])
    .await
    {
        Ok(n) if !n.trim().is_empty() => n,
        Ok(_) => return fault.note(|l| l.error = Some(format!("container {host} is on no network"))),
        Err(e) => {
            return fault.note(|l| {
                l.error = Some(format!(
                    "worker {index} runs on host {host:?}, which is not a \
            container this Docker engine knows (disconnect_worker needs workers in containers on this machine): {e:#}"
                ))
            })
        }
    };
    workers.expect_loss(index);
    for network in networks.split_whitespace() {
        if let Err(e) = docker_async(&["network", "disconnect", "--force", network, &host]).await {
            return fault.note(|l| l.error = Some(format!("{e:#}")));
        }
    }
    fault.mark(true);
    fault.until_stopped().await;
    fault.mark(false);
}

//! Added network delay between the writers and the catalog or the object store, with the
//! fault proxy (`mechanism = "proxy"`, see `proxy_faults`) or the kernel's own tool,
//! `tc netem` (`mechanism = "netem"`; the default where it works): an `htb` qdisc on the
//! loopback device with one class that netem delays, and two u32 filters sending packets
//! to or from the service's port into it. Everything else on the loopback device
//! keeps its speed. Needs root (CAP_NET_ADMIN) and services on this machine; the rule is
//! removed when the fault ends, also when the run ends first.

use super::Fault;
use crate::scenario::{LatencyMechanism, LatencyTarget};
use std::process::Command;
use std::time::Duration;

const DEV: &str = "lo";

/// Through netem or the fault proxy (`mechanism`); without one, netem where it works,
/// else the proxy, and the report says which acted.
pub async fn run(mut fault: Fault) {
    if !fault.sleep(fault.spec.after).await {
        return;
    }
    let netem_only = fault.spec.mechanism == Some(LatencyMechanism::Netem);
    if fault.spec.mechanism == Some(LatencyMechanism::Proxy) || fault.spec.writer.is_some() {
        return super::proxy_faults::run(fault, true).await;
    }
    let (port, rule) = match add_rule(&fault) {
        Ok(added) => added,
        Err(e) if netem_only => return fault.note(|l| l.error = Some(e)),
        Err(e) => {
            fault.note(|l| l.rule = Some(format!("none: {e}")));
            return super::proxy_faults::run(fault, true).await;
        }
    };
    fault.note(|l| {
        l.mechanism = Some("netem".into());
        l.rule = Some(format!(
            "tc qdisc … dev {DEV} parent 1:20 netem {} (packets to or from port {port})",
            rule.join(" ")
        ))
    });
    fault.mark(true);
    match fault.spec.hold {
        Some(hold) => {
            fault.sleep(hold).await;
        }
        None => fault.until_stopped().await,
    }
    if let Err(e) = remove() {
        fault.note(|l| l.error = Some(e));
    }
    fault.mark(false);
}

/// Adds the netem rule for the fault's service: its port and netem arguments.
fn add_rule(fault: &Fault) -> Result<(u16, Vec<String>), String> {
    let (host, port) = endpoint(fault)?;
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") {
        return Err(format!(
            "latency shapes the loopback device, but the target runs at {host}: it needs services on this machine \
            (the native environment)"
        ));
    }
    let delay = fault.spec.delay.unwrap_or(Duration::from_millis(20));
    let rule = netem_args(delay, fault.spec.jitter);
    if let Err(e) = add(port, &rule) {
        let _ = remove();
        return Err(e);
    }
    Ok((port, rule))
}

fn endpoint(fault: &Fault) -> Result<(String, u16), String> {
    match fault.spec.target {
        Some(LatencyTarget::S3) => {
            let s3 = fault
                .s3
                .as_ref()
                .ok_or("latency target = \"s3\" but the run has no S3 endpoint (lake.data = \"local\")")?;
            let hostport = s3.endpoint.trim_start_matches("http://").trim_start_matches("https://");
            let (host, port) = hostport
                .rsplit_once(':')
                .ok_or_else(|| format!("the S3 endpoint {} names no port", s3.endpoint))?;
            Ok((
                host.to_string(),
                port.trim_end_matches('/')
                    .parse()
                    .map_err(|_| format!("the S3 endpoint {} has no numeric port", s3.endpoint))?,
            ))
        }
        _ => Ok((fault.pg.host.clone(), fault.pg.port)),
    }
}

/// `delay D [J distribution normal]`, in microseconds so that sub-millisecond values work.
fn netem_args(delay: Duration, jitter: Option<Duration>) -> Vec<String> {
    let mut args = vec!["delay".to_string(), format!("{}us", delay.as_micros())];
    if let Some(j) = jitter.filter(|j| !j.is_zero()) {
        args.extend([format!("{}us", j.as_micros()), "distribution".into(), "normal".into()]);
    }
    args
}

/// An `htb` root with two classes: 1:10, the default, untouched, and 1:20, whose packets a
/// netem qdisc delays; two u32 filters put the service's packets into 1:20. (htb rather
/// than prio: some kernels, these machines' among them, lack sch_prio.)
fn add(port: u16, netem: &[String]) -> Result<(), String> {
    tc(&[
        "qdisc", "add", "dev", DEV, "root", "handle", "1:", "htb", "default", "10",
    ])
    .map_err(|e| {
        format!(
            "{e}. Adding a qdisc needs root (CAP_NET_ADMIN); if a crashed run left one on {DEV}, remove it with \
            `tc qdisc del dev {DEV} root`"
        )
    })?;
    for class in ["1:10", "1:20"] {
        tc(&[
            "class", "add", "dev", DEV, "parent", "1:", "classid", class, "htb", "rate", "100gbit",
        ])?;
    }
    let mut delay = vec!["qdisc", "add", "dev", DEV, "parent", "1:20", "handle", "20:", "netem"];
    delay.extend(netem.iter().map(String::as_str));
    tc(&delay).map_err(|e| {
        if e.contains("kind is unknown") {
            format!(
                "this kernel has no netem queueing discipline (sch_netem), so no delay can be added here ({e}); \
                the run went on without the fault"
            )
        } else {
            e
        }
    })?;
    let port = port.to_string();
    for side in ["dport", "sport"] {
        tc(&[
            "filter", "add", "dev", DEV, "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", side,
            &port, "0xffff", "flowid", "1:20",
        ])?;
    }
    Ok(())
}

fn remove() -> Result<(), String> {
    tc(&["qdisc", "del", "dev", DEV, "root"])
}

fn tc(args: &[&str]) -> Result<(), String> {
    let out = crate::environment::process::output_within(Command::new("tc").args(args), Duration::from_secs(10))
        .map_err(|e| format!("could not run `tc` ({e:#}); install iproute2"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`tc {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_arguments_in_microseconds_with_optional_jitter() {
        assert_eq!(netem_args(Duration::from_millis(20), None), ["delay", "20000us"]);
        assert_eq!(
            netem_args(Duration::from_millis(20), Some(Duration::from_millis(5))),
            ["delay", "20000us", "5000us", "distribution", "normal"]
        );
        assert_eq!(
            netem_args(Duration::from_micros(500), Some(Duration::ZERO)),
            ["delay", "500us"]
        );
    }
}

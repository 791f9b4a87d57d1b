//! Faults carried out by the fault proxy (`crate::proxy`): `latency` (mechanism "proxy"),
//! `partition`, `bandwidth`, `reset`, `lost_ack`, `slow_upload` and `failed_upload`. The
//! nemesis only says when; the proxy acts on the connections and records each act.

use super::Fault;
use crate::proxy::{Condition, Proxies, Service, TriggerKind};
use crate::scenario::{LatencyMechanism, LatencyTarget, NemesisKind, NemesisSpec};
use std::time::Duration;

/// How often a trigger with a `count` is looked at, to end the fault once it is used up.
const POLL: Duration = Duration::from_millis(100);

/// Which services need a proxy for these faults: (catalog, S3).
pub fn services_needed(specs: &[NemesisSpec]) -> (bool, bool) {
    let mut needed = (false, false);
    for spec in specs.iter().filter(|s| uses_proxy(s)) {
        match spec.target {
            Some(LatencyTarget::S3) => needed.1 = true,
            _ => needed.0 = true,
        }
    }
    needed
}

/// Whether the fault may act through the proxy (a latency fault does unless it asks for netem).
pub fn uses_proxy(spec: &NemesisSpec) -> bool {
    use NemesisKind::*;
    match spec.kind {
        Latency => spec.mechanism != Some(LatencyMechanism::Netem),
        Partition | Reset | Bandwidth | LostAck | SlowUpload | FailedUpload => true,
        _ => false,
    }
}

pub fn describe(spec: &NemesisSpec) -> String {
    let to = match spec.target {
        Some(LatencyTarget::S3) => "the S3 server",
        _ => "the catalog",
    };
    let who = spec.writer.map(|w| format!(" (writer w{w} only)")).unwrap_or_default();
    let count = spec.count.map(|c| format!(", {c} at most")).unwrap_or_default();
    let share = spec
        .fraction
        .map(|f| format!(", {:.0} % of them", f * 100.0))
        .unwrap_or_default();
    match spec.kind {
        NemesisKind::Partition => format!("the proxy to {to} carries nothing{who}"),
        NemesisKind::Reset => format!("connections through the proxy to {to} cut{who}"),
        NemesisKind::Bandwidth => format!(
            "{} bytes/s each way to and from {to}{who}",
            spec.bytes_per_second.unwrap_or_default()
        ),
        NemesisKind::LostAck => format!("acknowledgements of writing COMMITs to the catalog lost{who}{count}{share}"),
        NemesisKind::SlowUpload => format!(
            "S3 PUTs held back {}{count}{share}",
            humantime::format_duration(spec.delay.unwrap_or_default())
        ),
        NemesisKind::FailedUpload => format!("S3 PUTs answered with 503{count}{share}"),
        _ => format!("{}{who}", describe_latency(spec)),
    }
}

/// Runs the fault through the proxy; `after` has passed (or not: `waited`).
pub async fn run(mut fault: Fault, waited: bool) {
    if !waited && !fault.sleep(fault.spec.after).await {
        return;
    }
    let service = match fault.spec.target {
        Some(LatencyTarget::S3) => Service::S3,
        _ => Service::Catalog,
    };
    let Some(proxy) = fault
        .proxies
        .as_ref()
        .and_then(|p: &std::sync::Arc<Proxies>| p.get(service).cloned())
    else {
        let why = "no fault proxy carries this service's traffic (the run started none: see the README, \
            \"Faults on the wire\")";
        return fault.note(|l| l.error = Some(why.into()));
    };
    let state = proxy.state.clone();
    let id = state.register(&format!("{:?}", fault.spec.kind));
    fault.note(|l| l.mechanism = Some("proxy".into()));
    fault.mark(true);
    match fault.spec.kind {
        NemesisKind::Reset => reset(&mut fault, &state, id).await,
        NemesisKind::LostAck | NemesisKind::SlowUpload | NemesisKind::FailedUpload => {
            trigger(&mut fault, &state, id).await
        }
        _ => condition(&mut fault, &state, id).await,
    }
    fault.mark(false);
    let record = state.record(id);
    fault.note(|l| l.proxy = Some(record));
}

/// Latency, partition, bandwidth: in force for `hold` (partition: 3 s by default, else
/// until the run ends), again `every` if given.
async fn condition(fault: &mut Fault, state: &crate::proxy::State, id: u64) {
    let spec = fault.spec.clone();
    let condition = match spec.kind {
        NemesisKind::Partition => Condition::Partition,
        NemesisKind::Bandwidth => Condition::Bandwidth {
            bytes_per_second: spec.bytes_per_second.unwrap_or(65536),
        },
        _ => Condition::Latency {
            delay: spec.delay.unwrap_or(Duration::from_millis(20)),
            jitter: spec.jitter.unwrap_or_default(),
        },
    };
    let hold = match spec.kind {
        NemesisKind::Partition => Some(spec.hold.unwrap_or(Duration::from_secs(3))),
        _ => spec.hold,
    };
    loop {
        state.add_condition(id, spec.writer, condition);
        let ran_on = match hold {
            Some(h) => fault.sleep(h).await,
            None => {
                fault.until_stopped().await;
                false
            }
        };
        // Healed also when the run ends first: nothing stays stalled.
        state.remove_condition(id);
        let (Some(every), true) = (spec.every, ran_on) else {
            break;
        };
        if !fault.sleep(every.saturating_sub(hold.unwrap_or_default())).await {
            break;
        }
    }
}

/// Cuts every connection of the service (or of one writer), once or `every`.
async fn reset(fault: &mut Fault, state: &crate::proxy::State, id: u64) {
    loop {
        state.cut_all(id, fault.spec.writer);
        let Some(every) = fault.spec.every else { break };
        if !fault.sleep(every).await {
            break;
        }
    }
}

/// lost_ack, slow and failed uploads: armed for `hold` (or until the run ends), ended
/// early once `count` commits or uploads were hit.
async fn trigger(fault: &mut Fault, state: &crate::proxy::State, id: u64) {
    let spec = fault.spec.clone();
    let kind = match spec.kind {
        NemesisKind::LostAck => TriggerKind::LostAck,
        NemesisKind::SlowUpload => TriggerKind::SlowUpload(spec.delay.unwrap_or(Duration::from_secs(1))),
        _ => TriggerKind::FailedUpload,
    };
    state.add_trigger(id, kind, spec.count, spec.fraction.unwrap_or(1.0), spec.writer);
    let until = spec.hold.map(|h| tokio::time::Instant::now() + h);
    while state.trigger_left(id) && until.is_none_or(|u| tokio::time::Instant::now() < u) {
        if !fault.sleep(POLL).await {
            break;
        }
    }
    state.remove_trigger(id);
    // A commit already picked is acted on when the catalog replies: wait for that record.
    fault.sleep(Duration::from_secs(1)).await;
}

/// "delay ± jitter to the catalog" (or the S3 server): a latency fault, however it acts.
pub fn describe_latency(spec: &NemesisSpec) -> String {
    let delay = spec
        .delay
        .map(|d| humantime::format_duration(d).to_string())
        .unwrap_or_default();
    let jitter = spec
        .jitter
        .map(|j| format!(" ± {}", humantime::format_duration(j)))
        .unwrap_or_default();
    let to = match spec.target {
        Some(LatencyTarget::S3) => "the S3 server",
        _ => "the catalog",
    };
    format!("{delay}{jitter} each way to and from {to}")
}

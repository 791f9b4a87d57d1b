//! `[[nemesis]]`: the keys each fault kind takes, their values, and whether the fault fits
//! the run (writer mode, catalog kind, data store, duration).

use super::super::model::*;
use super::{is_identifier, parse_duration, Locator};
use std::time::Duration;
use toml::Spanned;

/// The optional keys each fault kind takes (`kind` and `after` apply to all), and the ones
/// it requires, with what to write.
fn nemesis_keys(kind: NemesisKind) -> (&'static [&'static str], &'static [(&'static str, &'static str)]) {
    use NemesisKind::*;
    const TARGET: (&str, &str) = ("target", "\"catalog\" or \"s3\"");
    match kind {
        LockCatalogTable => (&["table", "hold"], &[]),
        TerminateWriterSessions => (&["every", "during"], &[]),
        CrashWriter => (&[], &[]),
        KillWriter => (&["every", "during", "restart"], &[]),
        PauseCatalog | PauseS3 => (&["hold"], &[("hold", "how long the server stays paused (e.g. \"5s\")")]),
        IdleInTransactionTimeout => (&["hold", "timeout"], &[("timeout", "the value to set, e.g. \"50ms\"")]),
        RestartCatalog => (&["hold", "every", "mode"], &[]),
        KillS3 | RestartS3 => (&["hold", "every"], &[]),
        DisconnectWorker => (&[], &[]),
        Latency => (
            &["hold", "target", "delay", "jitter", "mechanism", "writer"],
            &[TARGET, ("delay", "the added one-way delay, e.g. \"20ms\"")],
        ),
        Partition => (&["hold", "every", "target", "writer"], &[TARGET]),
        Reset => (&["every", "target", "writer"], &[TARGET]),
        Bandwidth => (
            &["hold", "target", "bytes_per_second", "writer"],
            &[TARGET, ("bytes_per_second", "the throughput left each way, e.g. 65536")],
        ),
        LostAck => (&["hold", "count", "fraction", "writer"], &[]),
        SlowUpload => (
            &["hold", "delay", "count", "fraction"],
            &[("delay", "how long each PUT is held, e.g. \"2s\"")],
        ),
        FailedUpload => (&["hold", "count", "fraction"], &[]),
    }
}

/// Which keys a `[[nemesis]]` entry has, by name.
fn present_keys(r: &RawNemesis) -> [(&'static str, bool); 15] {
    [
        ("table", r.table.is_some()),
        ("hold", r.hold.is_some()),
        ("every", r.every.is_some()),
        ("during", r.during.is_some()),
        ("timeout", r.timeout.is_some()),
        ("mode", r.mode.is_some()),
        ("target", r.target.is_some()),
        ("delay", r.delay.is_some()),
        ("jitter", r.jitter.is_some()),
        ("restart", r.restart.is_some()),
        ("mechanism", r.mechanism.is_some()),
        ("count", r.count.is_some()),
        ("fraction", r.fraction.is_some()),
        ("writer", r.writer.is_some()),
        ("bytes_per_second", r.bytes_per_second.is_some()),
    ]
}

/// Every key the kind takes, every key it requires, and no other.
fn check_keys(n: &Spanned<RawNemesis>, here: &Locator) -> anyhow::Result<()> {
    let r = n.get_ref();
    let present = present_keys(r);
    let (allowed, required) = nemesis_keys(r.kind);
    for (key, is_there) in present {
        if is_there && !allowed.contains(&key) {
            return Err(here.at(
                n,
                &format!("nemesis.{key}"),
                &format!(
                    "does not apply to kind {:?} (it takes: kind, after{}).",
                    r.kind,
                    allowed.iter().map(|k| format!(", {k}")).collect::<String>()
                ),
            ));
        }
    }
    for (key, what) in required {
        if !present.iter().any(|(k, there)| k == key && *there) {
            return Err(here.at(
                n,
                &format!("nemesis.{key}"),
                &format!("is required for {:?}: {what}.", r.kind),
            ));
        }
    }
    Ok(())
}

fn optional_duration(d: &Option<Spanned<String>>, key: &str, here: &Locator) -> anyhow::Result<Option<Duration>> {
    d.as_ref().map(|d| parse_duration(d, key, here)).transpose()
}

pub(super) fn validate_nemesis(n: &Spanned<RawNemesis>, here: &Locator) -> anyhow::Result<NemesisSpec> {
    let r = n.get_ref();
    check_keys(n, here)?;
    if r.kind == NemesisKind::KillWriter
        && r.during
            .as_ref()
            .is_some_and(|d| *d.get_ref() == FaultMoment::CommitAck)
    {
        return Err(here.at(
            n,
            "nemesis.during",
            "\"commit_ack\" applies to terminate_writer_sessions; kill_writer allows \"any\" and \"commit\".",
        ));
    }
    let table = match &r.table {
        Some(t) if is_identifier(t.get_ref()) => t.get_ref().clone(),
        Some(t) => {
            return Err(here.at(
                t,
                "nemesis.table",
                "must be a catalog table name such as \"ducklake_snapshot\".",
            ))
        }
        None => "ducklake_snapshot".into(),
    };
    let after = match &r.after {
        Some(a) if a.get_ref().trim() == "0s" || a.get_ref().trim() == "0" => Duration::ZERO,
        Some(a) => parse_duration(a, "nemesis.after", here)?,
        None => Duration::from_secs(1),
    };
    let mut spec = NemesisSpec {
        kind: r.kind,
        table,
        after,
        hold: optional_duration(&r.hold, "nemesis.hold", here)?,
        every: optional_duration(&r.every, "nemesis.every", here)?,
        during: r.during.as_ref().map(|d| *d.get_ref()).unwrap_or_default(),
        timeout: optional_duration(&r.timeout, "nemesis.timeout", here)?,
        mode: r.mode.as_ref().map(|m| *m.get_ref()).unwrap_or_default(),
        target: r.target.as_ref().map(|t| *t.get_ref()),
        delay: optional_duration(&r.delay, "nemesis.delay", here)?,
        jitter: optional_duration(&r.jitter, "nemesis.jitter", here)?,
        restart: r.restart.as_ref().is_some_and(|b| *b.get_ref()),
        mechanism: None,
        count: None,
        fraction: None,
        writer: None,
        bytes_per_second: None,
    };
    proxy_options(n, &mut spec, here)?;
    Ok(spec)
}

/// The keys of the faults the fault proxy carries out.
fn proxy_options(n: &Spanned<RawNemesis>, spec: &mut NemesisSpec, here: &Locator) -> anyhow::Result<()> {
    let r = n.get_ref();
    // These act on one service only: their target is implied.
    match r.kind {
        NemesisKind::LostAck => spec.target = Some(LatencyTarget::Catalog),
        NemesisKind::SlowUpload | NemesisKind::FailedUpload => spec.target = Some(LatencyTarget::S3),
        _ => {}
    }
    spec.mechanism = r.mechanism.as_ref().map(|m| *m.get_ref());
    if let Some(c) = &r.count {
        if *c.get_ref() == 0 {
            return Err(here.at(
                c,
                "nemesis.count",
                "must be at least 1 (omit it to act until `hold` ends).",
            ));
        }
        spec.count = Some(*c.get_ref());
    }
    if let Some(f) = &r.fraction {
        let v = *f.get_ref();
        if !(v > 0.0 && v <= 1.0) {
            return Err(here.at(
                f,
                "nemesis.fraction",
                "must be above 0 and at most 1 (e.g. 0.5: every other one).",
            ));
        }
        spec.fraction = Some(v);
    }
    if let Some(b) = &r.bytes_per_second {
        if *b.get_ref() < 1024 {
            return Err(here.at(b, "nemesis.bytes_per_second", "must be at least 1024."));
        }
        spec.bytes_per_second = Some(*b.get_ref());
    }
    if let Some(w) = &r.writer {
        if spec.target != Some(LatencyTarget::Catalog) || spec.mechanism == Some(LatencyMechanism::Netem) {
            return Err(here.at(
                w,
                "nemesis.writer",
                "applies to proxy faults on the catalog only: the proxy knows a catalog connection's writer by its \
                application_name; S3 connections and netem rules carry no writer's name. Drop the key.",
            ));
        }
        spec.writer = Some(*w.get_ref());
    }
    Ok(())
}

/// Faults that act on the catalog's Postgres server or its sessions.
pub(super) fn needs_postgres_catalog(spec: &NemesisSpec) -> bool {
    use NemesisKind::*;
    match spec.kind {
        LockCatalogTable
        | TerminateWriterSessions
        | PauseCatalog
        | IdleInTransactionTimeout
        | RestartCatalog
        | LostAck => true,
        // Finding a writer caught committing reads pg_stat_activity.
        KillWriter => spec.during == FaultMoment::Commit,
        Latency | Partition | Reset | Bandwidth => spec.target == Some(LatencyTarget::Catalog),
        CrashWriter | PauseS3 | KillS3 | RestartS3 | DisconnectWorker | SlowUpload | FailedUpload => false,
    }
}

/// Whether a valid fault fits this run: its writer mode, catalog, data store and duration.
pub(super) fn fits_run(
    spec: &NemesisSpec,
    raw_n: &Spanned<RawNemesis>,
    run: &RunSpec,
    lake: &LakeSpec,
    here: &Locator,
) -> anyhow::Result<()> {
    if matches!(spec.kind, NemesisKind::CrashWriter | NemesisKind::KillWriter) && run.mode != WriterMode::Process {
        return Err(here.at(
            raw_n,
            "nemesis.kind",
            &format!(
                "{:?} signals a writer process: it needs run.mode = \
            \"process\" (a thread cannot be killed alone; it would take the whole harness down).",
                spec.kind
            ),
        ));
    }
    if !lake.catalog.is_postgres() && needs_postgres_catalog(spec) {
        return Err(here.at(
            raw_n,
            "nemesis.kind",
            &format!(
                "{:?} acts on a Postgres catalog, but lake.catalog = \
            \"{}\": drop this fault or use catalog = \"postgres\".",
                spec.kind,
                lake.catalog.name()
            ),
        ));
    }
    if spec.target == Some(LatencyTarget::S3) && lake.data != DataStore::S3 {
        return Err(here.at(
            raw_n,
            "nemesis.target",
            &format!(
                "{:?} acts on the S3 server, but lake.data = \"local\": the writers use no S3. \
                Use lake.data = \"s3\" or target = \"catalog\".",
                spec.kind
            ),
        ));
    }
    if let Some(w) = spec.writer.filter(|w| *w >= run.writers) {
        return Err(here.at(
            raw_n,
            "nemesis.writer",
            &format!(
                "is {w}, but the run has writers 0 to {}.",
                run.writers.saturating_sub(1)
            ),
        ));
    }
    if let StopCondition::Duration(d) = run.stop {
        if spec.after >= d {
            return Err(here.at(
                raw_n,
                "nemesis.after",
                "is not before the end of run.duration: the fault would never happen.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn parse(nemesis: &str, data: &str) -> anyhow::Result<crate::scenario::Scenario> {
        let text = format!(
            "name = \"t\"\n[run]\nwriters = 2\nduration = \"5s\"\n[lake]\ndata = \"{data}\"\n[[nemesis]]\n{nemesis}\n"
        );
        super::super::parse_str(&text, "t.toml")
    }

    fn refused(nemesis: &str, data: &str, words: &str) {
        let e = format!("{:#}", parse(nemesis, data).expect_err(nemesis));
        assert!(e.contains(words), "{nemesis}: {e}");
    }

    #[test]
    fn proxy_faults_take_their_keys_and_imply_their_service() {
        let s = parse("kind = \"lost_ack\"\ncount = 5\nfraction = 0.5\nwriter = 1", "s3").unwrap();
        let n = &s.nemesis[0];
        assert_eq!((n.count, n.fraction, n.writer), (Some(5), Some(0.5), Some(1)));
        assert_eq!(n.target, Some(crate::scenario::LatencyTarget::Catalog));
        let s = parse("kind = \"partition\"\nservice = \"s3\"\nhold = \"3s\"", "s3").unwrap();
        assert_eq!(s.nemesis[0].target, Some(crate::scenario::LatencyTarget::S3));
        let s = parse(
            "kind = \"latency\"\ntarget = \"catalog\"\ndelay = \"5ms\"\nmechanism = \"proxy\"",
            "s3",
        );
        assert_eq!(
            s.unwrap().nemesis[0].mechanism,
            Some(crate::scenario::LatencyMechanism::Proxy)
        );
    }

    #[test]
    fn proxy_faults_that_cannot_act_are_refused_with_the_key_named() {
        refused("kind = \"lost_ack\"\ncount = 0", "s3", "nemesis.count");
        refused("kind = \"failed_upload\"\nfraction = 1.5", "s3", "nemesis.fraction");
        refused("kind = \"failed_upload\"", "local", "lake.data = \"local\"");
        refused("kind = \"reset\"\ntarget = \"s3\"\nwriter = 0", "s3", "nemesis.writer");
        refused("kind = \"lost_ack\"\nwriter = 2", "s3", "writers 0 to 1");
        refused("kind = \"partition\"", "s3", "nemesis.target");
        refused("kind = \"slow_upload\"", "s3", "nemesis.delay");
        refused("kind = \"lost_ack\"\ndelay = \"1s\"", "s3", "does not apply");
    }
}

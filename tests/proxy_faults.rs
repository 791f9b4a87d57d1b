//! Faults on the wire, carried out by the harness's fault proxy between the writers and
//! real services: latency (and its end when healed), a partition, lost acknowledgements
//! and refused uploads, each against real DuckLake, in the native environment (Postgres and
//! Garage started by the harness) and with `run --docker` (both as containers, their
//! ports published on 127.0.0.1, which the proxy reaches the same way). Each fault's
//! assertions live in one function that takes the environment; the `docker_` tests need
//! a Docker engine and the images of scripts/build-images.sh (without an engine they are
//! recorded as skipped, as in tests/containers.rs).

mod common;
use common::docker::{engine_with_images, PG_IMAGE, S3_IMAGE};
use common::*;
use serde_json::Value;
use std::path::Path;

/// Round trips between a writer and the catalog inside one uncontended DuckLake COMMIT of
/// the append workload, counted from the proxy's trace (`DUCKLAKE_STRESS_PROXY_TRACE`, see
/// the README, "Faults on the wire"): 4 catalog reads (COPY … TO STDOUT), the INSERT batch,
/// COMMIT, then `SELECT 1` and `DISCARD ALL` as the connection goes back to the pool. A
/// commit that loses a race makes more.
const COMMIT_ROUND_TRIPS: f64 = 8.0;

/// Where a run's services come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    /// Postgres and Garage started by the harness as processes on this machine.
    Native,
    /// `run --docker` with the project's images.
    Docker,
}

impl Env {
    /// The report's `environment.kind` of a run in it.
    fn kind(self) -> &'static str {
        match self {
            Env::Native => "native",
            Env::Docker => "docker",
        }
    }

    /// The docker environment, or None when no engine answers (the test recorded as skipped).
    fn docker(test: &str) -> Option<Env> {
        engine_with_images(test).map(|_| Env::Docker)
    }

    /// `run` a scenario in this environment; `extra` e.g. `--set` overrides.
    fn run(self, scenario: &Path, results: &Path, extra: &[&str]) -> Ran {
        let mut cmd = bin();
        cmd.arg("run")
            .arg(scenario)
            .arg("--results-dir")
            .arg(results)
            .arg("--quiet")
            .args(extra);
        if self == Env::Docker {
            cmd.arg("--docker")
                .env("DLS_POSTGRES_IMAGE", PG_IMAGE)
                .env("DLS_S3_IMAGE", S3_IMAGE)
                .env_remove("DLS_S3_KIND");
        }
        Ran::from(cmd.output().expect("binary runs"))
    }
}

/// The one fault of a run, and what the proxy did for it; the run was in `env`.
fn proxy_fault(r: &Value, env: Env) -> (&Value, u64) {
    assert_eq!(r["environment"]["kind"], env.kind(), "{}", r["environment"]);
    let n = &r["nemesis"][0];
    assert!(n["error"].is_null(), "the fault failed: {n}");
    assert_eq!(n["mechanism"], "proxy", "{n}");
    (n, n["proxy"]["acted"].as_u64().expect("the proxy's record"))
}

fn two_writers(name: &str, duration: &str, nemesis: &str) -> String {
    format!(
        r#"name = "{name}"
[run]
writers = 2
duration = "{duration}"
deadline = "1m"
[lake]
data_inlining_row_limit = 0
[retry.ducklake]
max_retry_count = 100
{nemesis}
"#
    )
}

fn catalog_latency(env: Env) {
    let dir = tempdir();
    let plain = scenario(dir.path(), "plain", &two_writers("plain", "8s", ""));
    let slow = scenario(
        dir.path(),
        "slow",
        &two_writers(
            "slow",
            "8s",
            "[[nemesis]]\nkind = \"latency\"\nmechanism = \"proxy\"\ntarget = \"catalog\"\n\
            delay = \"50ms\"\nafter = \"0s\"\n",
        ),
    );
    let (plain, slow) = (env.run(&plain, dir.path(), &[]), env.run(&slow, dir.path(), &[]));
    assert_eq!(plain.code, 0, "{}", plain.explain());
    assert_eq!(slow.code, 0, "{}", slow.explain());
    let (plain, slow) = (plain.report(), slow.report());
    assert_eq!(plain["environment"]["kind"], env.kind(), "{}", plain["environment"]);
    let (n, acted) = proxy_fault(&slow, env);
    assert!(acted > 0, "{n}");
    let p50 = |r: &Value| r["latency_ms"]["commit"]["p50"].as_f64().unwrap();
    eprintln!(
        "{env:?}: commit p50 {} ms without the fault, {} ms with 50 ms each way",
        p50(&plain),
        p50(&slow)
    );
    // 50 ms each way: every round trip inside the COMMIT takes at least 100 ms.
    assert!(
        p50(&slow) >= COMMIT_ROUND_TRIPS * 100.0,
        "commit p50 {} ms with 50 ms each way: under {COMMIT_ROUND_TRIPS} round trips of 100 ms",
        p50(&slow)
    );
    let floor = COMMIT_ROUND_TRIPS * 50.0;
    assert!(
        p50(&slow) - p50(&plain) >= floor,
        "commit p50 {} ms with 50 ms each way vs {} ms without: less than {floor} ms more",
        p50(&slow),
        p50(&plain)
    );
}

#[test]
fn catalog_latency_through_the_proxy_raises_the_commit_latency_by_its_round_trips() {
    catalog_latency(Env::Native);
}

#[test]
fn docker_catalog_latency_through_the_proxy_raises_the_commit_latency_by_its_round_trips() {
    if let Some(env) =
        Env::docker("docker_catalog_latency_through_the_proxy_raises_the_commit_latency_by_its_round_trips")
    {
        catalog_latency(env);
    }
}

/// A committed attempt's COMMIT statement: (when it was sent, how long it ran), run clock.
fn commits(run_dir: &Path) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(run_dir.join("history.ndjson")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "complete" && e["outcome"] == "ok" && e["step"] == "commit")
        .filter_map(|e| {
            let took = e["commit_seconds"].as_f64()?;
            Some((e["at"].as_f64().unwrap() - took, took))
        })
        .collect()
}

fn median_ms(mut took: Vec<f64>) -> f64 {
    took.sort_by(f64::total_cmp);
    took[took.len() / 2] * 1000.0
}

/// 50 ms each way on the catalog from 2 s to 8 s of a 12 s run (a transaction under it takes
/// seconds: its INSERT reads the catalog too). Commits sent and done
/// inside the fault take 8 round trips of at least 100 ms; once healed, a chunk read waits
/// at most for the chunks delayed before it (50 ms), so a COMMIT sent 0.2 s after the heal
/// crosses the proxy undelayed and the commit latency falls back.
#[test]
fn catalog_latency_through_the_proxy_goes_away_when_healed() {
    let dir = tempdir();
    let file = scenario(
        dir.path(),
        "healed",
        &two_writers(
            "healed",
            "12s",
            "[[nemesis]]\nkind = \"latency\"\nmechanism = \"proxy\"\ntarget = \"catalog\"\n\
            delay = \"50ms\"\nafter = \"2s\"\nhold = \"6s\"\n",
        ),
    );
    let ran = Env::Native.run(&file, dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let (n, acted) = proxy_fault(&r, Env::Native);
    assert!(acted > 0, "{n}");
    let from = n["started_at_seconds"].as_f64().expect("started");
    let healed = n["ended_at_seconds"].as_f64().expect("healed");
    let all = commits(&ran.run_dir());
    // Margins of 0.2 s: the fault's marks and the proxy's switch are microseconds apart.
    let during: Vec<f64> = all
        .iter()
        .filter(|(sent, took)| *sent >= from + 0.2 && sent + took <= healed - 0.2)
        .map(|c| c.1)
        .collect();
    let after: Vec<f64> = all
        .iter()
        .filter(|(sent, _)| *sent >= healed + 0.2)
        .map(|c| c.1)
        .collect();
    // Under the delay a transaction takes seconds (its INSERT reads the catalog too): runs
    // here had 2 or 3 COMMITs sent and done inside 6 s (1 inside 4 s); one shows the floor.
    assert!(
        !during.is_empty() && after.len() >= 2,
        "too few commits to compare: {} during the fault ({from:.1}-{healed:.1} s), {} after it",
        during.len(),
        after.len()
    );
    let counts = (during.len(), after.len());
    let (during, after) = (median_ms(during), median_ms(after));
    eprintln!(
        "commit median {during} ms during the fault ({} commits), {after} ms after it ({})",
        counts.0, counts.1
    );
    assert!(
        during >= COMMIT_ROUND_TRIPS * 100.0,
        "commit median {during} ms during 50 ms each way: under {COMMIT_ROUND_TRIPS} round trips of 100 ms"
    );
    // The same floor as against a run without the fault (above): half the delay's minimum.
    let floor = COMMIT_ROUND_TRIPS * 50.0;
    assert!(
        during - after >= floor,
        "commit median {after} ms after the heal vs {during} ms during the fault: less than {floor} ms less"
    );
}

fn partitioned_catalog(env: Env) {
    let dir = tempdir();
    let ran = env.run(&repo().join("scenarios/partition-catalog.toml"), dir.path(), &[]);
    let r = ran.report();
    assert_ne!(r["verdict"], "hang", "{}", ran.explain());
    let (n, acted) = proxy_fault(&r, env);
    assert!(acted > 0, "the partition held nothing: {n}");
    let healed = n["ended_at_seconds"].as_f64().expect("healed");
    let after = commits_after(&r, healed);
    assert!(
        after > 0,
        "no commit after the heal at {healed:.1} s: {}",
        r["timeline"]
    );
    // 3 s without traffic is longer than stall_after (2 s): a stall, whose diagnosis names
    // the partition (Postgres alone shows idle sessions).
    let stall = stall_begun_by(&r, healed);
    let summary = stall["diagnosis"]["summary"].as_str().unwrap();
    eprintln!(
        "{env:?}: partition acted {acted} times, healed at {healed:.1} s, {after} commits after it, stall {}-{} s",
        stall["from"], stall["until"]
    );
    assert!(summary.contains("Faults in force: Partition"), "{summary}");
    assert_eq!(r["totals"]["unresolved"], 0, "{}", r["totals"]);
    assert_checks_pass(&r, "after the catalog was partitioned", Allow::KnownSessionLeak);
}

#[test]
fn a_partitioned_catalog_stalls_the_writers_and_the_run_recovers() {
    partitioned_catalog(Env::Native);
}

#[test]
fn docker_a_partitioned_catalog_stalls_the_writers_and_the_run_recovers() {
    if let Some(env) = Env::docker("docker_a_partitioned_catalog_stalls_the_writers_and_the_run_recovers") {
        partitioned_catalog(env);
    }
}

fn lost_acks(env: Env) {
    let dir = tempdir();
    let ran = env.run(&repo().join("scenarios/lost-ack-proxy.toml"), dir.path(), &[]);
    let r = ran.report();
    let (n, acted) = proxy_fault(&r, env);
    assert_eq!(acted, 5, "five acknowledgements were to be lost: {n}");
    let t = &r["totals"];
    assert!(
        t["resolved_committed"].as_u64().unwrap() >= acted,
        "{t}\n{}",
        ran.explain()
    );
    assert_eq!(t["unresolved"], 0, "{t}");
    let store = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "object_store")
        .unwrap();
    assert_eq!(store["status"], "fail", "{store}");
    assert_eq!(
        store["evidence"]["missing_count"].as_u64().unwrap(),
        acted,
        "one lost file per lost acknowledgement: {store}"
    );
    eprintln!(
        "{env:?}: {acted} acknowledgements lost, {} missing files, totals {t}",
        store["evidence"]["missing_count"]
    );
    assert_eq!(check(&r, "catalog_integrity"), "pass");
    assert_eq!(r["verdict"], "fail");
}

#[test]
fn lost_acks_through_the_proxy_are_resolved_committed_and_their_files_are_caught() {
    lost_acks(Env::Native);
}

#[test]
fn docker_lost_acks_through_the_proxy_are_resolved_committed_and_their_files_are_caught() {
    if let Some(env) =
        Env::docker("docker_lost_acks_through_the_proxy_are_resolved_committed_and_their_files_are_caught")
    {
        lost_acks(env);
    }
}

fn refused_uploads(env: Env) {
    let dir = tempdir();
    let ran = env.run(&repo().join("scenarios/failed-upload.toml"), dir.path(), &[]);
    let r = ran.report();
    let (n, acted) = proxy_fault(&r, env);
    assert!(acted > 0, "no PUT was refused: {n}");
    eprintln!(
        "{env:?}: {acted} uploads refused, errors {}, totals {}",
        r["errors"], r["totals"]
    );
    // DuckDB's own retries of a 503 run out within the 3 s: attempts fail (while INSERT
    // writes the Parquet file, before any catalog commit).
    assert!(
        r["errors"].as_object().unwrap().contains_key("s3_http"),
        "no attempt failed on the refused uploads: {}",
        r["errors"]
    );
    assert_eq!(r["totals"]["unresolved"], 0, "{}", r["totals"]);
    for name in ["row_count", "transaction_integrity", "snapshots", "catalog_integrity"] {
        assert_eq!(check(&r, name), "pass", "{name}: {}", r["checks"]);
    }
}

#[test]
fn an_upload_refused_with_503_fails_its_transaction_whole() {
    refused_uploads(Env::Native);
}

#[test]
fn docker_an_upload_refused_with_503_fails_its_transaction_whole() {
    if let Some(env) = Env::docker("docker_an_upload_refused_with_503_fails_its_transaction_whole") {
        refused_uploads(env);
    }
}

/// Writer processes reach the catalog through the proxy too, and `writer` picks one.
#[test]
fn lost_acks_for_one_writer_process_hit_that_writer_only() {
    let dir = tempdir();
    let ran = Env::Native.run(
        &repo().join("scenarios/lost-ack-proxy.toml"),
        dir.path(),
        &["--set", "run.mode=process", "--set", "nemesis.0.writer=1"],
    );
    let r = ran.report();
    let (n, acted) = proxy_fault(&r, Env::Native);
    assert_eq!(acted, 5, "{n}\n{}", ran.explain());
    for a in n["proxy"]["actions"].as_array().unwrap() {
        assert!(
            a["peer"].as_str().unwrap().ends_with("/w1"),
            "another writer was hit: {a}"
        );
    }
    let t = &r["totals"];
    assert!(t["resolved_committed"].as_u64().unwrap() >= acted, "{t}");
    assert_eq!(t["unresolved"], 0, "{t}");
}

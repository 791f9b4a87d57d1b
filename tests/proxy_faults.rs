//! Faults on the wire, carried out by the harness's fault proxy between the writers and
//! real services (native Postgres + Garage): latency, a partition, lost acknowledgements
//! and refused uploads, each against real DuckLake.

mod common;
use common::*;
use serde_json::Value;

/// Round trips between a writer and the catalog inside one uncontended DuckLake COMMIT of
/// the append workload, counted from the proxy's trace (`DUCKLAKE_STRESS_PROXY_TRACE`, see
/// the README, "Faults on the wire"): 4 catalog reads (COPY … TO STDOUT), the INSERT batch,
/// COMMIT, then `SELECT 1` and `DISCARD ALL` as the connection goes back to the pool. A
/// commit that loses a race makes more.
const COMMIT_ROUND_TRIPS: f64 = 8.0;

/// The one fault of a run, and what the proxy did for it.
fn proxy_fault(r: &Value) -> (&Value, u64) {
    let n = &r["nemesis"][0];
    assert!(n["error"].is_null(), "the fault failed: {n}");
    assert_eq!(n["mechanism"], "proxy", "{n}");
    (n, n["proxy"]["acted"].as_u64().expect("the proxy's record"))
}

fn two_writers(name: &str, nemesis: &str) -> String {
    format!(
        r#"name = "{name}"
[run]
writers = 2
duration = "8s"
deadline = "1m"
[lake]
data_inlining_row_limit = 0
[retry.ducklake]
max_retry_count = 100
{nemesis}
"#
    )
}

#[test]
fn catalog_latency_through_the_proxy_raises_the_commit_latency_by_its_round_trips() {
    let dir = tempdir();
    let plain = scenario(dir.path(), "plain", &two_writers("plain", ""));
    let slow = scenario(
        dir.path(),
        "slow",
        &two_writers(
            "slow",
            "[[nemesis]]\nkind = \"latency\"\nmechanism = \"proxy\"\ntarget = \"catalog\"\n\
            delay = \"50ms\"\nafter = \"0s\"\n",
        ),
    );
    let (plain, slow) = (run(&plain, dir.path(), &[]), run(&slow, dir.path(), &[]));
    assert_eq!(plain.code, 0, "{}", plain.explain());
    assert_eq!(slow.code, 0, "{}", slow.explain());
    let (plain, slow) = (plain.report(), slow.report());
    let (n, acted) = proxy_fault(&slow);
    assert!(acted > 0, "{n}");
    let p50 = |r: &Value| r["latency_ms"]["commit"]["p50"].as_f64().unwrap();
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
fn a_partitioned_catalog_stalls_the_writers_and_the_run_recovers() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/partition-catalog.toml"), dir.path(), &[]);
    let r = ran.report();
    assert_ne!(r["verdict"], "hang", "{}", ran.explain());
    let (n, acted) = proxy_fault(&r);
    assert!(acted > 0, "the partition held nothing: {n}");
    let healed = n["ended_at_seconds"].as_f64().expect("healed");
    let after: u64 = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["second"].as_f64().unwrap() > healed + 1.0)
        .map(|s| s["commits"].as_u64().unwrap())
        .sum();
    assert!(
        after > 0,
        "no commit after the heal at {healed:.1} s: {}",
        r["timeline"]
    );
    // 3 s without traffic is longer than stall_after (2 s): a stall, whose diagnosis names
    // the partition (Postgres alone shows idle sessions).
    let stall = r["stalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["from"].as_f64().unwrap() <= healed)
        .unwrap_or_else(|| panic!("the partition stalled nothing: {}", r["stalls"]));
    let summary = stall["diagnosis"]["summary"].as_str().unwrap();
    assert!(summary.contains("Faults in force: Partition"), "{summary}");
    assert_eq!(r["totals"]["unresolved"], 0, "{}", r["totals"]);
    for c in &judging_checks(&r) {
        assert_eq!(
            c["status"], "pass",
            "check {} did not pass: {}",
            c["name"], c["summary"]
        );
    }
}

#[test]
fn lost_acks_through_the_proxy_are_resolved_committed_and_their_files_are_caught() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/lost-ack-proxy.toml"), dir.path(), &[]);
    let r = ran.report();
    let (n, acted) = proxy_fault(&r);
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
    assert_eq!(check(&r, "catalog_integrity"), "pass");
    assert_eq!(r["verdict"], "fail");
}

#[test]
fn an_upload_refused_with_503_fails_its_transaction_whole() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/failed-upload.toml"), dir.path(), &[]);
    let r = ran.report();
    let (n, acted) = proxy_fault(&r);
    assert!(acted > 0, "no PUT was refused: {n}");
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

/// Writer processes reach the catalog through the proxy too, and `writer` picks one.
#[test]
fn lost_acks_for_one_writer_process_hit_that_writer_only() {
    let dir = tempdir();
    let ran = run(
        &repo().join("scenarios/lost-ack-proxy.toml"),
        dir.path(),
        &["--set", "run.mode=process", "--set", "nemesis.0.writer=1"],
    );
    let r = ran.report();
    let (n, acted) = proxy_fault(&r);
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

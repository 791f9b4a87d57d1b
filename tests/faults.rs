//! Production faults against real services: a stalled object store, diagnosed as the
//! stall begins, and a run that recovers.

mod common;
use common::*;

#[test]
fn a_paused_object_store_is_a_diagnosed_stall_and_the_run_recovers() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/pause-s3.toml"), dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let n = &r["nemesis"][0];
    let (paused, resumed) = (n["started_at_seconds"].as_f64().expect("paused"), n["ended_at_seconds"].as_f64().expect("resumed"));
    let stall = r["stalls"].as_array().unwrap().iter().find(|s| s["from"].as_f64().unwrap() <= resumed).expect("the pause stalled the writers").clone();
    let places = stall["diagnosis"]["places"].as_array().unwrap();
    assert!(places.iter().any(|p| p["place"].as_str().unwrap().contains("object store")), "{stall}");
    assert!(stall["until"].as_f64().expect("the stall ended") >= paused);
    let after: u64 = r["timeline"].as_array().unwrap().iter().filter(|s| s["second"].as_f64().unwrap() > resumed + 1.0).map(|s| s["commits"].as_u64().unwrap()).sum();
    assert!(after > 0, "no commit after the object store came back: {}", r["timeline"]);
    for c in r["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "check {} did not pass: {}", c["name"], c["summary"]);
    }
}

#[test]
fn an_idle_in_transaction_timeout_ends_catalog_transactions_and_the_lake_holds() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/idle-in-transaction-timeout.toml"), dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    assert!(r["nemesis"][0]["sessions_terminated"].as_u64().unwrap() >= 1, "the 5 ms timeout ended no session: {}", r["nemesis"]);
    let t = &r["totals"];
    assert!(t["uncertain_attempts"].as_u64().unwrap() >= 1, "{t}");
    assert_eq!(t["unresolved"], 0, "{t}");
    assert!(r["errors"].as_object().unwrap().contains_key("connection_lost"), "{}", r["errors"]);
    for name in ["row_count", "transaction_integrity", "snapshots", "table_stats", "catalog_integrity", "catalog_locks"] {
        assert_eq!(check(&r, name), "pass", "{name}: {}", r["checks"]);
    }
}

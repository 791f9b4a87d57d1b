//! Writers as processes against real Postgres, a real S3 server and real DuckLake: the
//! same checks as threads, and a writer that crashes is a finding, not the end of the run.

mod common;
use common::*;

fn alive(pid: i64) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
}

#[test]
fn eight_writer_processes_append_like_threads() {
    let dir = tempdir();
    let toml = append_toml("procs", 8, 10, "entries", PATIENT_RETRIES)
        .replace("writers = 8", "writers = 8\nmode = \"process\"");
    let ran = run(&scenario(dir.path(), "procs", &toml), dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    assert_eq!(r["totals"]["commits"], 80, "{}", r["totals"]);
    assert_eq!(r["totals"]["rows_committed"], 800);
    assert_checks_pass(&r, "eight writer processes", Allow::Nothing);
    let pids = r["writer_pids"].as_array().unwrap();
    assert_eq!(pids.len(), 8);
    assert!(
        pids.iter().all(|p| !alive(p.as_i64().unwrap())),
        "writer processes outlived the run: {pids:?}"
    );
    assert!(
        r["harness"]["children_cpu_seconds"].as_f64().unwrap() > 0.0,
        "{}",
        r["harness"]
    );
    assert_eq!(r["crashes"].as_array().unwrap().len(), 0);
}

#[test]
fn a_writer_process_that_crashes_is_reported_and_the_others_go_on() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/crash-writer.toml"), dir.path(), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let r = ran.report();
    let crashes = r["crashes"].as_array().unwrap();
    assert_eq!(crashes.len(), 1, "{}", r["crashes"]);
    assert_eq!(crashes[0]["signal"], "SIGSEGV");
    let dead = crashes[0]["writer"].as_u64().unwrap();
    let crashed_at = crashes[0]["at"].as_f64().unwrap();
    assert!(
        r["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("max_writer_crashes (1 > 0)"),
        "{}",
        r["verdict_reason"]
    );
    assert!(ran.stdout.contains("SIGSEGV"), "{}", ran.explain());
    // The others kept committing after the crash.
    let later = commits_after(&r, crashed_at);
    assert!(
        later > 0,
        "no commit after the crash at {crashed_at} s: {}",
        r["timeline"]
    );
    // The dead writer's last transaction was looked up, and the lake is consistent.
    assert_eq!(r["totals"]["unresolved"], 0, "{}", r["totals"]);
    for name in LAKE_CHECKS {
        assert_eq!(check(&r, name), "pass", "{name}: {}", r["checks"]);
    }
    assert!(r["writers"][dead as usize]["commits"].as_u64().unwrap() < r["fairness"]["commits_max"].as_u64().unwrap());
    let pids = r["writer_pids"].as_array().unwrap();
    assert!(
        pids.iter().all(|p| !alive(p.as_i64().unwrap())),
        "writer processes outlived the run: {pids:?}"
    );
}

#[test]
fn a_writer_killed_in_commit_has_its_transaction_resolved_and_the_lake_holds() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/kill-writer.toml"), dir.path(), &[]);
    let r = ran.report();
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let killed = r["nemesis"][0]["killed_pids"].as_array().unwrap();
    assert!(!killed.is_empty(), "{}", r["nemesis"]);
    let crashes = r["crashes"].as_array().unwrap();
    assert_eq!(crashes.len(), killed.len(), "{}", r["crashes"]);
    assert!(
        crashes
            .iter()
            .all(|c| c["expected"] == true && c["signal"] == "SIGKILL"),
        "{}",
        r["crashes"]
    );
    // Each killed writer left an attempt without a completion; every one was resolved.
    let t = &r["totals"];
    assert_eq!(t["unresolved"], 0, "{t}");
    assert!(t["uncertain_attempts"].as_u64().unwrap() >= killed.len() as u64, "{t}");
    for name in LAKE_CHECKS {
        assert_eq!(check(&r, name), "pass", "{name}: {}", r["checks"]);
    }
    let pids = r["writer_pids"].as_array().unwrap();
    assert!(
        pids.iter().all(|p| !alive(p.as_i64().unwrap())),
        "writer processes outlived the run: {pids:?}"
    );
}

#[test]
fn a_killed_writer_restarted_goes_on_with_its_next_transactions_and_the_lake_holds() {
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/kill-writer-restart.toml"), dir.path(), &[]);
    let r = ran.report();
    let n = &r["nemesis"][0];
    let (killed, restarted) = (
        n["killed_pids"].as_array().unwrap(),
        n["restarted_pids"].as_array().unwrap(),
    );
    assert!(!killed.is_empty() && killed.len() == restarted.len(), "{n}");
    // The replacements are the writers' processes at the end, and each wrote after its start.
    let pids = r["writer_pids"].as_array().unwrap();
    let last = restarted.last().unwrap();
    let writer = pids
        .iter()
        .position(|p| p == last)
        .unwrap_or_else(|| panic!("the last replacement {last} is not among the writers {pids:?}"));
    let history = std::fs::read_to_string(std::path::Path::new(r["history"]["file"].as_str().unwrap())).unwrap();
    let txns: Vec<u64> = history
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["type"] == "invoke" && e["writer"] == writer as u64 && e["attempt"] == 0)
        .map(|e| e["txn"].as_u64().unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<u64> = txns.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        txns.len(),
        "writer {writer} began a transaction number twice: {txns:?}"
    );
    assert_eq!(r["totals"]["unresolved"], 0, "{}", r["totals"]);
    for name in LAKE_CHECKS {
        assert_eq!(check(&r, name), "pass", "{name}: {}", r["checks"]);
    }
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(
        pids.iter().all(|p| !alive(p.as_i64().unwrap())),
        "writer processes outlived the run: {pids:?}"
    );
}

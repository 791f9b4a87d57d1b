//! The history and the verdicts built on it, against real Postgres, a real S3 server and
//! real DuckLake: snapshot ids and tags, unknown outcomes, a crashed harness, set-up that
//! hangs, orphans and sessions that are not the run's.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn events(run_dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("history.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_history_joins_the_catalog_and_the_report_reads_back() {
    let dir = tempdir();
    let path = scenario(
        dir.path(),
        "hist",
        &append_toml("hist", 3, 8, "entries", PATIENT_RETRIES),
    );
    let ran = run(&path, dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let history = events(&ran.run_dir());
    assert_eq!(history[0]["type"], "run");
    let invokes = history.iter().filter(|e| e["type"] == "invoke").count();
    let oks = history
        .iter()
        .filter(|e| e["type"] == "complete" && e["outcome"] == "ok")
        .count();
    assert_eq!(oks, 24);
    assert!(invokes >= 24);
    // Every commit is joined to the snapshot it made (by its tag); no two share one.
    let mut ids: Vec<i64> = history
        .iter()
        .filter(|e| e["type"] == "snapshot")
        .map(|e| e["snapshot_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 24, "{ids:?}");
    // The report is the library's type again, with raw histograms and fairness.
    let report = ducklake_stress::report::read(&ran.run_dir().join("report.json")).unwrap();
    assert_eq!(report.totals.counts.commits, 24);
    let h = report.latency_ms.commit.histogram().unwrap();
    assert_eq!(h.len(), 24);
    assert_eq!((report.fairness.commits_min, report.fairness.commits_max), (8, 8));
    assert!(report.fairness.longest_without_commit_seconds > 0.0);
    assert!(report.setup_seconds > 0.0 && report.run_seconds > 0.0);
    let snapshots = report.checks.iter().find(|c| c.name == "snapshots").unwrap();
    assert_eq!(
        snapshots.status,
        ducklake_stress::checker::CheckStatus::Pass,
        "{}",
        snapshots.summary
    );
    assert_eq!(
        snapshots.evidence["time_travel_versions"].as_array().unwrap().len(),
        24,
        "small runs are time-travelled at every snapshot"
    );
}

#[test]
fn a_single_writer_makes_no_hidden_retries() {
    // Calibrates catalog_rollbacks: what the check calls hidden retries is not noise that
    // one writer alone would produce too.
    let dir = tempdir();
    let path = scenario(dir.path(), "solo", &append_toml("solo", 1, 30, "entries", ""));
    let ran = run(&path, dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let c = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "catalog_rollbacks")
        .unwrap()
        .clone();
    let per_commit = c["evidence"]["per_commit"].as_f64().unwrap();
    assert!(
        per_commit < 0.1,
        "one writer alone rolled back {per_commit} catalog transactions per commit: {c}"
    );
    assert_eq!(r["totals"]["commits"], 30);
}

#[test]
fn a_lock_held_before_the_run_is_a_diagnosed_hang_within_the_deadline() {
    let env = SharedEnv::up();
    // A first run creates the catalog; then someone locks it and walks away.
    let dir = env.dir.path().join("first");
    std::fs::create_dir_all(&dir).unwrap();
    let first = run(
        &scenario(&dir, "first", &append_toml("first", 1, 2, "entries", "")),
        &dir,
        &["--env-file", &env.env_arg()],
    );
    assert_eq!(first.code, 0, "{}", first.explain());
    let holder = ducklake_stress::runtime::block_on(ducklake_stress::environment::pg::connect(
        &env.endpoints().postgres,
        None,
        "someone/psql",
    ))
    .unwrap();
    ducklake_stress::runtime::block_on(
        holder.batch_execute("BEGIN; LOCK TABLE ducklake_snapshot IN ACCESS EXCLUSIVE MODE"),
    )
    .unwrap();
    let toml = append_toml("locked", 2, 5, "entries", "").replace("deadline = \"3m\"", "deadline = \"8s\"");
    let started = Instant::now();
    let ran = run(&scenario(&dir, "locked", &toml), &dir, &["--env-file", &env.env_arg()]);
    let took = started.elapsed();
    assert_eq!(ran.code, 4, "{}", ran.explain());
    assert!(
        took < Duration::from_secs(40),
        "the deadline of 8 s held only after {took:?}"
    );
    let r = ran.report();
    assert_eq!(r["verdict"], "hang");
    let summary = r["diagnosis"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("someone/psql") && summary.contains("AccessExclusiveLock on ducklake_snapshot"),
        "{summary}"
    );
    assert_eq!(r["totals"]["commits"], 0);
    assert!(ran.stdout.contains("set-up"), "{}", ran.explain());
    drop(holder);
}

#[test]
fn orphans_and_idle_sessions_that_are_not_the_runs_do_not_fail_it() {
    let env = SharedEnv::up();
    // An earlier "run" left an orphan under the lake's data path...
    let s3 = env.endpoints().s3.unwrap();
    ducklake_stress::runtime::block_on(ducklake_stress::environment::s3::put_object(
        &s3,
        "lake/main/entries/left-by-an-earlier-run.parquet",
        vec![1u8; 64],
    ))
    .unwrap();
    // ...and another application sits idle in a transaction on the same Postgres, on a
    // table of its own.
    let other = ducklake_stress::runtime::block_on(ducklake_stress::environment::pg::connect(
        &env.endpoints().postgres,
        None,
        "another-app",
    ))
    .unwrap();
    ducklake_stress::runtime::block_on(
        other.batch_execute("CREATE TABLE IF NOT EXISTS other_app (x int); BEGIN; INSERT INTO other_app VALUES (1)"),
    )
    .unwrap();
    let dir = env.dir.path().join("strict");
    std::fs::create_dir_all(&dir).unwrap();
    let toml = append_toml(
        "strict",
        2,
        5,
        "entries",
        &format!("{PATIENT_RETRIES}[checks]\nmax_orphan_files = 0\n"),
    );
    let ran = run(&scenario(&dir, "strict", &toml), &dir, &["--env-file", &env.env_arg()]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let store = &r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "object_store")
        .unwrap()["evidence"];
    assert_eq!(store["orphan_files"], 0, "{store}");
    assert!(store["orphan_files_before_the_run"].as_u64().unwrap() >= 1, "{store}");
    let locks = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "catalog_locks")
        .unwrap()
        .clone();
    assert_eq!(locks["status"], "pass", "{locks}");
    assert!(
        locks["evidence"]["ignored_sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["application_name"] == "another-app"),
        "{locks}"
    );
    drop(other);
}

#[test]
fn a_harness_killed_mid_run_leaves_a_history_that_check_can_judge() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let env = SharedEnv::up();
    let dir = env.dir.path().join("killed");
    std::fs::create_dir_all(&dir).unwrap();
    let toml =
        append_toml("killed", 3, 1, "entries", PATIENT_RETRIES).replace("commits_per_writer = 1", "duration = \"60s\"");
    let path = scenario(&dir, "killed", &toml);
    let mut child = bin()
        .arg("run")
        .arg(&path)
        .args([
            "--quiet",
            "--results-dir",
            dir.to_str().unwrap(),
            "--env-file",
            &env.env_arg(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until commits are in the history, then kill the harness outright.
    let until = Instant::now() + Duration::from_secs(60);
    let run_dir = loop {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("history.ndjson").exists());
        if let Some(d) = found.filter(|d| events(d).iter().filter(|e| e["outcome"] == "ok").count() >= 10) {
            break d;
        }
        assert!(Instant::now() < until, "no commits in the history within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert!(
        !run_dir.join("report.json").exists(),
        "the harness was killed before writing a report"
    );
    // Its writers' sessions die with it; then the history alone lets `check` judge the run.
    std::thread::sleep(Duration::from_secs(2));
    let (ran, results) = env.check("entries", Some(&run_dir), &[]);
    for name in LAKE_CHECKS {
        assert_eq!(check_status(&results, name), "pass", "{name}: {}", ran.explain());
    }
    assert!(ran.stdout.contains("snapshots"), "{}", ran.explain());
}

#[test]
fn a_lost_commit_acknowledgement_is_resolved_as_committed_and_the_lost_file_is_caught() {
    // Finding (DuckDB 1.5.5, ducklake d8a1881e): when the catalog COMMIT is durable but its
    // acknowledgement is lost, DuckDB reports the commit as failed and deletes the Parquet
    // file it wrote, while the catalog keeps the snapshot that references it. The harness
    // must resolve each such commit as committed (from its tag) and catch every lost file.
    let dir = tempdir();
    let ran = run(&repo().join("scenarios/lost-commit-ack.toml"), dir.path(), &[]);
    let r = ran.report();
    let t = &r["totals"];
    let committed = t["resolved_committed"].as_u64().unwrap();
    assert!(
        committed >= 1,
        "the nemesis ended sessions whose commit had landed: {t}\n{}",
        ran.explain()
    );
    assert_eq!(t["unresolved"], 0, "{t}");
    let checks = r["checks"].as_array().unwrap();
    let store = checks.iter().find(|c| c["name"] == "object_store").unwrap();
    assert_eq!(store["status"], "fail", "{store}");
    assert_eq!(
        store["evidence"]["missing_count"].as_u64().unwrap(),
        committed,
        "one lost file per lost acknowledgement: {store}"
    );
    assert_eq!(r["verdict"], "fail");
    assert_eq!(ran.code, 1, "{}", ran.explain());
    // catalog_integrity holds: the catalog itself is consistent, it is the data that is gone.
    assert_eq!(
        checks.iter().find(|c| c["name"] == "catalog_integrity").unwrap()["status"],
        "pass"
    );
    // Each failed COMMIT also leaked a catalog session on the client side (duckdb-postgres#545):
    // writer_sessions reports it as that known upstream finding, which does not fail the run.
    let sessions = checks.iter().find(|c| c["name"] == "writer_sessions").unwrap();
    assert_eq!(sessions["status"], "known", "{sessions}");
    assert_eq!(sessions["known"]["reference"], "duckdb-postgres#545", "{sessions}");
    assert!(
        !sessions["evidence"]["leaked"].as_array().unwrap().is_empty(),
        "{sessions}"
    );
}

//! Writers on many hosts, with containers as the hosts: `run --coordinate` and
//! `worker --coordinator` over TCP, each worker container on its own network address.
//!   - docker-compose.workers.yml as users run it: a coordinator container and 4 worker
//!     containers of 4 writers each, against the compose stack's Postgres and S3;
//!   - a worker container cut off from the network mid-run (`disconnect_worker`): reported
//!     as lost, its writers' sessions fenced and their transactions accounted for;
//!   - a worker with the wrong token is refused.
//!
//! Without a reachable engine every test says so and counts as skipped (see containers.rs).

mod common;

use common::docker::*;
use common::{bin, tempdir, Ran};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The compose stack's Postgres and S3 on free host ports, default credentials (the
/// workers read docker-compose.network.env.json, which has the defaults).
fn stack(cmd: Vec<&'static str>, extra_files: Vec<&'static str>, extra_vars: Vec<(String, String)>) -> Stack {
    let mut vars = vec![
        ("DLS_PG_PORT".to_string(), free_port().to_string()),
        ("DLS_S3_PORT".to_string(), free_port().to_string()),
    ];
    vars.extend(extra_vars);
    Stack {
        cmd,
        project: format!("dls-remote-{}", hex(4)),
        vars,
        down: false,
        extra_files,
    }
}

fn the_report(results: &Path) -> Value {
    let dirs: Vec<PathBuf> = std::fs::read_dir(results)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("report.json").exists())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        dirs.len(),
        1,
        "expected one run directory with a report under {}: {dirs:?}",
        results.display()
    );
    serde_json::from_str(&std::fs::read_to_string(dirs[0].join("report.json")).unwrap()).unwrap()
}

#[test]
fn four_worker_containers_of_four_writers_pass_every_check() {
    let test = "four_worker_containers_of_four_writers_pass_every_check";
    let Some((cmd, _)) = engine_and_compose(test) else {
        return;
    };
    let dir = tempdir();
    let results = dir.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let vars = vec![
        ("DLS_RUN_TOKEN".to_string(), hex(16)),
        ("DLS_RESULTS_DIR".to_string(), results.display().to_string()),
        ("DLS_HARNESS_IMAGE".to_string(), HARNESS_IMAGE.to_string()),
        ("DLS_WORKERS".to_string(), "4".to_string()),
    ];
    let mut stack = stack(cmd, vec!["docker-compose.workers.yml"], vars);
    let (ok, out) = stack.compose(&["up", "-d", "--scale", "worker=4"]);
    assert!(ok, "compose up failed:\n{out}");
    let coordinator = stack.compose(&["ps", "-q", "coordinator"]).1.trim().to_string();
    assert!(!coordinator.is_empty(), "no coordinator container");
    let exited = || docker(&["inspect", "-f", "{{.State.Status}}", &coordinator]) == "exited";
    let until = Instant::now() + Duration::from_secs(300);
    while !exited() {
        assert!(
            Instant::now() < until,
            "the coordinator did not finish within 300 s:\n{}",
            stack.compose(&["logs", "--no-color", "--tail", "40"]).1
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let code = docker(&["inspect", "-f", "{{.State.ExitCode}}", &coordinator]);
    let logs = stack.compose(&["logs", "--no-color", "--tail", "60"]).1;
    assert_eq!(code, "0", "the coordinator's exit code:\n{logs}");
    let r = the_report(&results);
    assert_eq!(r["verdict"], "pass", "{}\n{logs}", r["verdict_reason"]);
    common::assert_checks_pass(&r, "4 workers x 4 writers", common::Allow::Nothing);
    let workers = r["remote_workers"]
        .as_array()
        .expect("the report lists the remote workers");
    assert_eq!(workers.len(), 4, "{workers:?}");
    let mut hosts: Vec<&str> = workers.iter().map(|w| w["host"].as_str().unwrap()).collect();
    hosts.sort();
    hosts.dedup();
    assert_eq!(
        hosts.len(),
        4,
        "every worker on its own container (host name): {hosts:?}"
    );
    let mut peers: Vec<&str> = workers
        .iter()
        .map(|w| w["peer"].as_str().unwrap().split(':').next().unwrap())
        .collect();
    peers.sort();
    peers.dedup();
    assert_eq!(peers.len(), 4, "every worker from its own network address: {peers:?}");
    for w in workers {
        assert_eq!(w["writers"], 4, "{w}");
        assert!(w["lost_at_seconds"].is_null(), "no worker was lost: {w}");
        assert!(
            w["commits"].as_u64().unwrap() > 0,
            "every worker's writers committed: {w}"
        );
    }
    let sum: u64 = workers.iter().map(|w| w["commits"].as_u64().unwrap()).sum();
    assert_eq!(
        sum,
        r["totals"]["commits"].as_u64().unwrap(),
        "the workers' commits add up to the run's"
    );
    assert_eq!(r["writers"].as_array().unwrap().len(), 16);
    let (ok, out) = stack.compose(&["down", "-v"]);
    assert!(ok, "compose down -v failed:\n{out}");
    stack.down = true;
    let left = leftovers(&format!("com.docker.compose.project={}", stack.project));
    assert!(left.is_empty(), "compose down -v left behind: {left:?}");
}

/// Worker containers started with `docker run` on the stack's network, removed on drop.
struct Workers {
    label: String,
}

impl Workers {
    fn start(count: u32, network: &str, coordinator: &str, token: &str) -> Self {
        let label = format!("dls-remote-test={}", hex(4));
        let env_file = common::repo().join("docker-compose.network.env.json");
        for _ in 0..count {
            docker(&[
                "run",
                "-d",
                "--label",
                &label,
                "--network",
                network,
                "-v",
                &format!("{}:/env.json:ro", env_file.display()),
                "-e",
                &format!("DLS_RUN_TOKEN={token}"),
                HARNESS_IMAGE,
                "worker",
                "--coordinator",
                coordinator,
                "--env-file",
                "/env.json",
            ]);
        }
        Workers { label }
    }

    fn logs(&self) -> String {
        let ids = docker(&["ps", "-aq", "--filter", &format!("label={}", self.label)]);
        ids.lines()
            .map(|id| format!("--- {id}\n{}", sh("docker", &["logs", "--tail", "15", id]).1))
            .collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let (_, ids) = sh("docker", &["ps", "-aq", "--filter", &format!("label={}", self.label)]);
        for id in ids.lines().filter(|l| !l.trim().is_empty()) {
            let _ = sh("docker", &["rm", "-f", id]);
        }
    }
}

/// The coordinator on this host, listening on every address (the workers reach it at the
/// compose network's gateway).
fn coordinator(scenario: &str, env_json: &Path, port: u16, workers: u32, token: &str, results: &Path) -> Child {
    bin()
        .args(["run", scenario, "--env-file"])
        .arg(env_json)
        .args([
            "--coordinate",
            &format!("0.0.0.0:{port}"),
            "--workers",
            &workers.to_string(),
            "--token",
            token,
            "--quiet",
            "--results-dir",
        ])
        .arg(results)
        .current_dir(common::repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the coordinator starts")
}

fn wait_bounded(mut child: Child, limit: Duration) -> Ran {
    let until = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= until {
            let _ = child.kill();
            let ran = Ran::from(child.wait_with_output().unwrap());
            panic!(
                "the coordinator did not end within {} s: {}",
                limit.as_secs(),
                ran.explain()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ran::from(child.wait_with_output().unwrap())
}

/// Postgres and S3 up, env.json for this host, and the network and its gateway.
fn services(test: &str) -> Option<(Stack, tempfile::TempDir, PathBuf, String, String)> {
    let (cmd, _) = engine_and_compose(test)?;
    let stack = stack(cmd, Vec::new(), Vec::new());
    let (ok, out) = stack.compose(&["up", "-d", "postgres", "s3"]);
    assert!(ok, "compose up failed:\n{out}");
    stack.wait_healthy(2);
    let dir = tempdir();
    let env_json = stack.env_json(dir.path());
    let network = format!("{}_default", stack.project);
    let gateway = docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
        &network,
    ]);
    Some((stack, dir, env_json, network, gateway))
}

#[test]
fn a_worker_cut_off_from_the_network_is_reported_and_its_writers_accounted_for() {
    let test = "a_worker_cut_off_from_the_network_is_reported_and_its_writers_accounted_for";
    let Some((_stack, dir, env_json, network, gateway)) = services(test) else {
        return;
    };
    let (port, token, results) = (free_port(), hex(16), dir.path().join("results"));
    let child = coordinator("scenarios/remote-disconnect.toml", &env_json, port, 4, &token, &results);
    let workers = Workers::start(4, &network, &format!("{gateway}:{port}"), &token);
    let ran = wait_bounded(child, Duration::from_secs(300));
    let r = ran.report();
    let context = format!("{}\nworkers:\n{}", ran.explain(), workers.logs());
    let n = &r["nemesis"][0];
    assert!(
        n["error"].is_null() && n["started_at_seconds"].is_number(),
        "the fault did not act: {n}\n{context}"
    );
    let all = r["remote_workers"].as_array().expect("remote workers in the report");
    assert_eq!(all.len(), 4, "{context}");
    let lost: Vec<&Value> = all.iter().filter(|w| w["lost_at_seconds"].is_number()).collect();
    assert_eq!(lost.len(), 1, "exactly the disconnected worker is lost: {all:?}");
    let gone = lost[0];
    assert_eq!(gone["expected_loss"], true, "{gone}");
    assert!(
        gone["lost_reason"].as_str().unwrap().contains("nothing heard"),
        "lost by its silence, not a closed connection: {gone}"
    );
    let cut_at = n["started_at_seconds"].as_f64().unwrap();
    let lost_at = gone["lost_at_seconds"].as_f64().unwrap();
    assert!(lost_at >= cut_at, "declared lost ({lost_at}) after the cut ({cut_at})");
    // Its 4 writers ended as expected crashes; nobody else crashed.
    let crashes = r["crashes"].as_array().unwrap();
    let first = gone["first_writer"].as_u64().unwrap();
    let mine: Vec<u64> = crashes.iter().map(|c| c["writer"].as_u64().unwrap()).collect();
    assert_eq!(
        mine,
        (first..first + 4).collect::<Vec<_>>(),
        "the lost worker's writers, and only they, ended as crashes: {crashes:?}"
    );
    assert!(crashes.iter().all(|c| c["expected"] == true), "{crashes:?}");
    for w in all.iter().filter(|w| w["lost_at_seconds"].is_null()) {
        assert!(w["commits"].as_u64().unwrap() > 0, "the other workers went on: {w}");
        assert_eq!(w["failed"], 0, "only the lost worker's transactions may fail: {w}");
    }
    assert!(
        gone["failed"].as_u64().unwrap() <= 4,
        "at most its 4 in-flight transactions failed: {gone}"
    );
    assert!(
        gone["sessions_fenced"].as_u64().unwrap() >= 1,
        "its catalog sessions were still open in Postgres and were terminated: {gone}"
    );
    // Every transaction of the lost writers that had begun is accounted for: committed,
    // failed, or resolved from its tag; none is left unknown.
    assert_eq!(r["totals"]["indeterminate"], 0, "{}", r["totals"]);
    assert_eq!(ran.code, 0, "{context}");
    common::assert_checks_pass(&r, "after a disconnected worker", common::Allow::KnownSessionLeak);
}

#[test]
fn a_worker_with_the_wrong_token_is_refused() {
    let test = "a_worker_with_the_wrong_token_is_refused";
    let Some((_stack, dir, env_json, network, gateway)) = services(test) else {
        return;
    };
    let (port, token, results) = (free_port(), hex(16), dir.path().join("results"));
    let file = common::scenario(
        dir.path(),
        "remote-small",
        &common::append_toml("remote-small", 2, 5, "remote_small", common::PATIENT_RETRIES),
    );
    let child = coordinator(file.to_str().unwrap(), &env_json, port, 1, &token, &results);
    let intruder = Workers::start(1, &network, &format!("{gateway}:{port}"), "not-the-token");
    let until = Instant::now() + Duration::from_secs(60);
    let exit_of = |w: &Workers| {
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label={}", w.label),
            "--filter",
            "status=exited",
        ])
    };
    while exit_of(&intruder).is_empty() {
        assert!(
            Instant::now() < until,
            "the worker with a wrong token was not sent away within 60 s:\n{}",
            intruder.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        intruder.logs().contains("refused this worker: wrong token"),
        "{}",
        intruder.logs()
    );
    let _worker = Workers::start(1, &network, &format!("{gateway}:{port}"), &token);
    let ran = wait_bounded(child, Duration::from_secs(240));
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    assert_eq!(r["workers_refused"], 1, "{}", ran.explain());
    assert_eq!(r["remote_workers"].as_array().unwrap().len(), 1);
    assert_eq!(r["totals"]["commits"], 10, "2 writers x 5 commits on the one worker");
}

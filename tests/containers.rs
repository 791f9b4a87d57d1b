//! Container paths against a real Docker engine, with the images of scripts/build-images.sh:
//! the compose stack (up, env.json, a scenario, down -v leaves nothing; scripts/compose.sh's
//! choice of images) and `run --docker` (with no `DLS_*` variable it finds the project's
//! images; a missing image's error names the build script; `--build-images`; its containers
//! are gone after a passing run, a hung run and an interrupted one, and a killed harness's
//! leftovers are removed by the next run); the root Dockerfile built from the project's base.
//!
//! Without a reachable engine every test here says so on stderr, appends a line to
//! $DLS_SKIPPED_TESTS_FILE (scripts/test.sh counts those as skipped, not passed) and
//! returns. An engine without the images is a failure: scripts/test.sh builds them.

mod common;

use common::docker::*;
use common::{append_toml, bin, scenario, tempdir, Ran, PATIENT_RETRIES};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const OWNER_LABEL: &str = "ducklake-stress.owner-pid";

#[test]
fn compose_stack_with_local_images_runs_a_scenario_and_down_leaves_nothing() {
    let test = "compose_stack_with_local_images_runs_a_scenario_and_down_leaves_nothing";
    let Some((cmd, has_wait)) = engine_and_compose(test) else {
        return;
    };
    // Non-default ports and credentials: env.json must follow the same variables as the stack.
    let vars: Vec<(String, String)> = vec![
        ("DLS_PG_PORT".into(), free_port().to_string()),
        ("DLS_S3_PORT".into(), free_port().to_string()),
        ("DLS_PG_PASSWORD".into(), hex(10)),
        ("DLS_S3_KEY_ID".into(), format!("GK{}", hex(12))),
        ("DLS_S3_SECRET".into(), hex(32)),
    ];
    let mut stack = Stack {
        cmd,
        project: format!("dls-test-{}", hex(4)),
        vars,
        down: false,
        extra_files: Vec::new(),
    };
    let up: &[&str] = if has_wait {
        &["up", "-d", "--wait"]
    } else {
        &["up", "-d"]
    };
    let (ok, out) = stack.compose(up);
    assert!(ok, "compose up failed:\n{out}");
    stack.wait_healthy(2);

    let dir = tempdir();
    let env_json = stack.env_json(dir.path());
    let file = scenario(
        dir.path(),
        "compose-small",
        &append_toml("compose-small", 2, 15, "entries", PATIENT_RETRIES),
    );
    let run = common::run(
        &file,
        &dir.path().join("results"),
        &["--env-file", env_json.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "the scenario against the compose stack: {}", run.explain());
    let report = run.report();
    assert_eq!(report["verdict"], "pass", "{}", run.explain());
    common::assert_checks_pass(&report, "against the compose stack", common::Allow::Nothing);
    assert_eq!(
        report["totals"]["commits"],
        30,
        "2 writers x 15 commits: {}",
        run.explain()
    );

    // The same scenario from the harness image (binary + extensions inside), host network.
    let work = dir.path().display().to_string();
    let (ok, out) = sh(
        "docker",
        &[
            "run",
            "--rm",
            "--network",
            "host",
            "-v",
            &format!("{work}:/work"),
            HARNESS_IMAGE,
            "run",
            "compose-small.toml",
            "--env-file",
            "env.json",
            "--results-dir",
            "results-image",
            "--quiet",
        ],
    );
    assert!(ok, "the harness image's run against the compose stack failed:\n{out}");
    assert!(out.contains("verdict: PASS"), "{out}");

    let (ok, out) = stack.compose(&["down", "-v"]);
    assert!(ok, "compose down -v failed:\n{out}");
    stack.down = true;
    let left = leftovers(&format!("com.docker.compose.project={}", stack.project));
    assert!(left.is_empty(), "compose down -v left behind: {left:?}");
}

// --------------------------------------------------------------------- run --docker

fn docker_run_cmd(scenario: &Path, results: &Path) -> Command {
    let mut cmd = bin();
    cmd.arg("run")
        .arg(scenario)
        .arg("--docker")
        .arg("--results-dir")
        .arg(results)
        .arg("--quiet");
    cmd.env("DLS_POSTGRES_IMAGE", PG_IMAGE)
        .env("DLS_S3_IMAGE", S3_IMAGE)
        .env_remove("DLS_S3_KIND");
    cmd
}

fn owned_by(pid: u32) -> Vec<String> {
    leftovers(&format!("{OWNER_LABEL}={pid}"))
}

/// The anonymous volumes of the run's containers (they carry no label of their own).
fn volumes_of(pid: u32) -> Vec<String> {
    let ids = docker(&["ps", "-a", "-q", "--filter", &format!("label={OWNER_LABEL}={pid}")]);
    ids.lines()
        .flat_map(|id| {
            docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", id])
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_volumes_gone(volumes: &[String]) {
    assert!(
        !volumes.is_empty(),
        "the run's containers had no volume (the images declare one each)"
    );
    let left: Vec<&String> = volumes
        .iter()
        .filter(|v| sh("docker", &["volume", "inspect", v]).0)
        .collect();
    assert!(left.is_empty(), "volumes left behind: {left:?}");
}

/// Runs with a deadline; returns the child's pid and what it printed.
fn run_bounded(mut cmd: Command, limit: Duration) -> (u32, Ran) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => (pid, Ran::from(out.unwrap())),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("the harness did not finish within {limit:?}");
        }
    }
}

/// `run --docker` as a new user types it: no `DLS_*` variable says which images to use.
fn docker_run_without_image_variables(scenario: &Path, results: &Path) -> Command {
    let mut cmd = bin();
    cmd.arg("run")
        .arg(scenario)
        .arg("--docker")
        .arg("--results-dir")
        .arg(results)
        .arg("--quiet");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DLS_") && k != "DLS_SKIPPED_TESTS_FILE") {
        cmd.env_remove(k);
    }
    cmd
}

#[test]
fn docker_environment_passing_run_with_default_images_removes_its_containers() {
    let test = "docker_environment_passing_run_with_default_images_removes_its_containers";
    if engine_with_images(test).is_none() {
        return;
    }
    let dir = tempdir();
    let file = scenario(
        dir.path(),
        "docker-small",
        &append_toml("docker-small", 2, 15, "entries", PATIENT_RETRIES),
    );
    let cmd = docker_run_without_image_variables(&file, &dir.path().join("results"));
    let (pid, ran) = run_bounded(cmd, Duration::from_secs(300));
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let report = ran.report();
    assert_eq!(report["verdict"], "pass", "{}", ran.explain());
    assert_eq!(report["environment"]["kind"], "docker", "{}", ran.explain());
    common::assert_checks_pass(&report, "against the containers", common::Allow::Nothing);
    // The registry's images win when this engine has them; here it has the project's only.
    let expected = |registry: &str, local: &str| (if image_present(registry) { registry } else { local }).to_string();
    let (pg, s3) = (
        expected("postgres:16", PG_IMAGE),
        expected("minio/minio:latest", S3_IMAGE),
    );
    let used = &report["environment"]["endpoints"]["containers"];
    assert_eq!(
        used["postgres"]["image"],
        pg.as_str(),
        "report.json names the catalog's image: {}",
        ran.explain()
    );
    assert_eq!(
        used["s3"]["image"],
        s3.as_str(),
        "report.json names the S3 server's image: {}",
        ran.explain()
    );
    let server = report["versions"]["s3_server"].as_str().unwrap();
    assert!(server.contains(&format!("(container {s3})")), "{}", ran.explain());
    let said = [format!("docker: postgres from {pg} ("), format!("S3 from {s3} (")];
    assert!(
        said.iter().all(|s| ran.stderr.contains(s)),
        "the console says which images: {}",
        ran.explain()
    );
    assert_eq!(report["totals"]["commits"], 30, "{}", ran.explain());
    let left = owned_by(pid);
    assert!(left.is_empty(), "the run left containers behind: {left:?}");
}

#[test]
fn docker_environment_missing_image_error_names_the_build_script() {
    let test = "docker_environment_missing_image_error_names_the_build_script";
    if let Some(reason) = engine_missing() {
        common::skipped(test, &reason);
        return;
    }
    let dir = tempdir();
    let file = scenario(
        dir.path(),
        "docker-missing",
        &append_toml("docker-missing", 1, 3, "entries", PATIENT_RETRIES),
    );
    let missing = format!("ducklake-stress/no-such-image-{}", hex(4));
    let mut cmd = docker_run_without_image_variables(&file, &dir.path().join("results"));
    cmd.env("DLS_POSTGRES_IMAGE", &missing);
    let (pid, ran) = run_bounded(cmd, Duration::from_secs(300));
    assert_eq!(
        ran.code,
        3,
        "a missing image is an environment error: {}",
        ran.explain()
    );
    let said = format!("DLS_POSTGRES_IMAGE={missing} is not on this Docker engine");
    assert!(ran.stderr.contains(&said), "{}", ran.explain());
    assert!(
        ran.stderr.contains("`scripts/build-images.sh`"),
        "the error names the build command: {}",
        ran.explain()
    );
    assert!(owned_by(pid).is_empty(), "containers left: {:?}", owned_by(pid));
}

#[test]
fn docker_environment_build_images_flag_builds_then_runs() {
    let test = "docker_environment_build_images_flag_builds_then_runs";
    if engine_with_images(test).is_none() {
        return;
    }
    // Local data: the catalog's container only, so the script builds (or finds current) postgres.
    let dir = tempdir();
    let toml = append_toml("docker-build", 1, 3, "entries", PATIENT_RETRIES);
    let toml = toml.replace("data = \"s3\"", "data = \"local\"");
    let file = scenario(dir.path(), "docker-build", &toml);
    let mut cmd = docker_run_without_image_variables(&file, &dir.path().join("results"));
    cmd.arg("--build-images").current_dir(common::repo());
    let (pid, ran) = run_bounded(cmd, Duration::from_secs(1200));
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let said = "building the project's images with scripts/build-images.sh postgres";
    assert!(ran.stderr.contains(said), "{}", ran.explain());
    assert!(
        ran.stderr.contains("ducklake-stress/postgres"),
        "the script's own lines are shown: {}",
        ran.explain()
    );
    assert_eq!(ran.report()["verdict"], "pass", "{}", ran.explain());
    assert!(owned_by(pid).is_empty(), "containers left: {:?}", owned_by(pid));
}

#[test]
fn docker_environment_hung_run_removes_its_containers() {
    let test = "docker_environment_hung_run_removes_its_containers";
    if engine_with_images(test).is_none() {
        return;
    }
    let dir = tempdir();
    let toml = r#"name = "docker-hang"
[run]
writers = 2
duration = "10s"
deadline = "30s"
stall_after = "3s"
[lake]
data = "s3"
table = "entries"
[[nemesis]]
kind = "lock_catalog_table"
table = "ducklake_snapshot"
after = "1s"
"#;
    let file = scenario(dir.path(), "docker-hang", toml);
    let (pid, ran) = run_bounded(
        docker_run_cmd(&file, &dir.path().join("results")),
        Duration::from_secs(300),
    );
    assert_eq!(
        ran.code,
        4,
        "a catalog locked for good must end as a hang: {}",
        ran.explain()
    );
    let left = owned_by(pid);
    assert!(left.is_empty(), "the hung run left containers behind: {left:?}");
}

fn history_started(results: &Path) -> bool {
    let Ok(runs) = std::fs::read_dir(results) else {
        return false;
    };
    runs.flatten().any(|r| {
        std::fs::metadata(r.path().join("history.ndjson"))
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    })
}

#[test]
fn docker_environment_interrupted_run_removes_its_containers() {
    let test = "docker_environment_interrupted_run_removes_its_containers";
    if engine_with_images(test).is_none() {
        return;
    }
    let dir = tempdir();
    let results = dir.path().join("results");
    let toml = "name = \"docker-interrupt\"\n[run]\nwriters = 2\nduration = \"2m\"\n[lake]\ndata = \"s3\"\ntable = \
        \"entries\"\n";
    let file = scenario(dir.path(), "docker-interrupt", toml);
    let mut cmd = docker_run_cmd(&file, &results);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let guard = KillOnDrop(pid);
    let mut running = || {
        let exited = child.try_wait().unwrap();
        assert!(
            exited.is_none(),
            "the harness ended before it was interrupted ({exited:?}): read its report in {}",
            results.display()
        );
        true
    };
    wait_for("two containers of the run", Duration::from_secs(120), || {
        running() && owned_by(pid).iter().filter(|l| l.starts_with("container")).count() == 2
    });
    wait_for("the writers' first history entries", Duration::from_secs(120), || {
        running() && history_started(&results)
    });
    let volumes = volumes_of(pid);
    let (ok, out) = sh("kill", &["-INT", &pid.to_string()]);
    assert!(ok, "kill -INT: {out}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let ran = Ran::from(
        rx.recv_timeout(Duration::from_secs(180))
            .expect("the harness ends within 180 s of Ctrl-C")
            .unwrap(),
    );
    std::mem::forget(guard);
    assert_eq!(ran.code, 130, "an interrupted run exits 130: {}", ran.explain());
    let left = owned_by(pid);
    assert!(left.is_empty(), "the interrupted run left containers behind: {left:?}");
    assert_volumes_gone(&volumes);
}

struct KillOnDrop(u32);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.0.to_string()]).status();
    }
}

#[test]
fn docker_environment_removes_what_a_killed_harness_left() {
    let test = "docker_environment_removes_what_a_killed_harness_left";
    if engine_with_images(test).is_none() {
        return;
    }
    let dir = tempdir();
    let results = dir.path().join("results");
    let toml =
        "name = \"docker-killed\"\n[run]\nwriters = 1\nduration = \"2m\"\n[lake]\ndata = \"s3\"\ntable = \"entries\"\n";
    let file = scenario(dir.path(), "docker-killed", toml);
    let mut child = docker_run_cmd(&file, &results)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let guard = KillOnDrop(pid);
    wait_for("two containers of the run", Duration::from_secs(120), || {
        owned_by(pid).iter().filter(|l| l.starts_with("container")).count() == 2
    });
    let volumes = volumes_of(pid);
    drop(guard); // SIGKILL: no clean-up can run
    let _ = child.wait();
    assert_eq!(
        owned_by(pid).iter().filter(|l| l.starts_with("container")).count(),
        2,
        "SIGKILL leaves the containers (the premise of this test)"
    );

    let file = scenario(
        dir.path(),
        "docker-after",
        &append_toml("docker-after", 1, 3, "entries", PATIENT_RETRIES),
    );
    let (next, ran) = run_bounded(
        docker_run_cmd(&file, &dir.path().join("results2")),
        Duration::from_secs(300),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(
        ran.stderr.contains("left by an earlier harness process"),
        "the next run says what it removed: {}",
        ran.explain()
    );
    let left: Vec<String> = [owned_by(pid), owned_by(next)].concat();
    assert!(left.is_empty(), "containers left: {left:?}");
    assert_volumes_gone(&volumes);
}

#[test]
fn docker_pause_of_the_catalog_container_stalls_commits_and_the_run_recovers() {
    let test = "docker_pause_of_the_catalog_container_stalls_commits_and_the_run_recovers";
    if engine_with_images(test).is_none() {
        return;
    }
    let dir = tempdir();
    let toml = r#"name = "docker-pause"
[run]
writers = 2
duration = "12s"
deadline = "3m"
stall_after = "2s"
[lake]
data = "s3"
table = "entries"
[retry.ducklake]
max_retry_count = 100
[[nemesis]]
kind = "pause_catalog"
after = "2s"
hold = "5s"
"#;
    let file = scenario(dir.path(), "docker-pause", toml);
    let (pid, ran) = run_bounded(
        docker_run_cmd(&file, &dir.path().join("results")),
        Duration::from_secs(300),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let n = &r["nemesis"][0];
    assert!(n["error"].is_null(), "the fault failed: {n}");
    assert!(n["target"].as_str().unwrap().starts_with("postgres container"), "{n}");
    let (paused, resumed) = (
        n["started_at_seconds"].as_f64().expect("paused"),
        n["ended_at_seconds"].as_f64().expect("resumed"),
    );
    // A frozen catalog lets no commit finish: none in the whole seconds inside the pause.
    let timeline = r["timeline"].as_array().unwrap();
    let second = |s: &serde_json::Value| s["second"].as_f64().unwrap();
    let during: u64 = timeline
        .iter()
        .filter(|s| second(s) >= paused + 1.0 && second(s) + 1.0 <= resumed - 0.5)
        .map(|s| s["commits"].as_u64().unwrap())
        .sum();
    assert_eq!(
        during, 0,
        "commits completed while the catalog container was paused ({paused:.1}-{resumed:.1} s): {}",
        r["timeline"]
    );
    let stall = common::stall_begun_by(&r, resumed);
    assert!(stall["until"].as_f64().expect("the stall ended") >= paused, "{stall}");
    let after = common::commits_after(&r, resumed);
    assert!(
        after > 0,
        "no commit after the catalog container was unpaused: {}",
        r["timeline"]
    );
    common::assert_checks_pass(
        &r,
        "after the catalog container was paused",
        common::Allow::KnownSessionLeak,
    );
    assert!(owned_by(pid).is_empty(), "containers left: {:?}", owned_by(pid));
}

// ------------------------------------------------------------ the repository's Dockerfile

/// An image removed when the test ends, passed or not.
struct ImageGuard(String);
impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = sh("docker", &["rmi", "--force", &self.0]);
    }
}

#[test]
fn root_dockerfile_builds_from_the_projects_base_and_its_image_runs() {
    let test = "root_dockerfile_builds_from_the_projects_base_and_its_image_runs";
    if engine_with_images(test).is_none() {
        return;
    }
    // Its offline way (see its header): a context of the release binary, extensions, scenarios.
    let ctx = tempdir();
    std::fs::copy(
        env!("CARGO_BIN_EXE_ducklake-stress"),
        ctx.path().join("ducklake-stress"),
    )
    .unwrap();
    let extensions = std::env::var("DUCKLAKE_STRESS_EXTENSION_DIR").expect("set by scripts/env.sh");
    let scenarios = common::repo().join("scenarios");
    for (from, to) in [
        (extensions.as_str(), "extensions"),
        (scenarios.to_str().unwrap(), "scenarios"),
    ] {
        let (ok, out) = sh("cp", &["-a", from, ctx.path().join(to).to_str().unwrap()]);
        assert!(ok, "copying {from}: {out}");
    }
    let image = ImageGuard(format!("dls-test-dockerfile-{}", hex(4)));
    let dockerfile = common::repo().join("Dockerfile");
    let build_arg = format!("BASE_IMAGE={BASE_IMAGE}");
    let (file, context) = (dockerfile.to_str().unwrap(), ctx.path().to_str().unwrap());
    let args: &[&str] = &[
        "build",
        "-q",
        "-f",
        file,
        "--target",
        "prebuilt",
        "--build-arg",
        &build_arg,
        "-t",
        &image.0,
        context,
    ];
    let (ok, out) = sh("docker", args);
    assert!(ok, "the root Dockerfile did not build from {BASE_IMAGE}:\n{out}");
    let (ok, out) = sh("docker", &["run", "--rm", &image.0, "--version"]);
    assert!(ok, "ducklake-stress --version in the image failed:\n{out}");
    assert_eq!(
        out.trim(),
        format!("ducklake-stress {}", env!("CARGO_PKG_VERSION")),
        "the image's binary"
    );
    // The scenarios and extensions are where the image's environment says.
    let listing = concat!(
        "ls $DUCKLAKE_STRESS_EXTENSION_DIR/*/*/ducklake.duckdb_extension",
        " /opt/ducklake-stress/scenarios/quickstart.toml"
    );
    let (ok, out) = sh(
        "docker",
        &["run", "--rm", "--entrypoint", "sh", &image.0, "-c", listing],
    );
    assert!(ok, "the image's extension dir or scenarios are missing:\n{out}");
}

// ------------------------------------------------------------------- scripts/compose.sh

#[test]
fn compose_script_picks_the_projects_images_when_the_registrys_are_missing() {
    let test = "compose_script_picks_the_projects_images_when_the_registrys_are_missing";
    let Some(_) = engine_and_compose(test) else { return };
    let registry = ["postgres:16", "minio/minio:latest", "minio/mc:latest"];
    let local = registry.iter().any(|i| !image_present(i));
    // `config` resolves the files and variables without starting anything.
    let mut cmd = Command::new("timeout");
    let project = format!("dls-test-{}", hex(4));
    cmd.args(["120", "scripts/compose.sh", "-p", project.as_str(), "config"])
        .current_dir(common::repo());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DLS_")) {
        cmd.env_remove(k);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "scripts/compose.sh config failed:\n{stdout}{stderr}"
    );
    let (pg, s3) = if local {
        (PG_IMAGE, S3_IMAGE)
    } else {
        ("postgres:16", "minio/minio:latest")
    };
    for image in [pg, s3] {
        assert!(
            stdout.contains(&format!("image: {image}")),
            "compose's configuration has no {image}:\n{stdout}"
        );
        assert!(
            stderr.contains(image.trim_end_matches(":latest")),
            "the script says it uses {image}: {stderr}"
        );
    }
    // env compose names the same S3 server.
    let dir = tempdir();
    let env_json = dir.path().join("env.json");
    let out = bin()
        .args(["env", "compose", "--out"])
        .arg(&env_json)
        .env_remove("DLS_S3_IMAGE")
        .output()
        .unwrap();
    let ran = common::Ran::from(out);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let written = std::fs::read_to_string(&env_json).unwrap();
    let server = format!("{} (docker-compose)", if local { S3_IMAGE } else { "minio/minio" });
    assert!(
        written.contains(&server),
        "env compose's S3 server is not {server}: {written}"
    );
}

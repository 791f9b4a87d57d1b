//! Docker helpers shared by the container tests (tests/containers.rs, tests/remote.rs):
//! bounded docker and compose calls, the local images, leftovers by label.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

pub const PG_IMAGE: &str = "ducklake-stress/postgres";
pub const S3_IMAGE: &str = "ducklake-stress/garage";
pub const HARNESS_IMAGE: &str = "ducklake-stress/harness";
pub const BASE_IMAGE: &str = "ducklake-stress/debian-base";

pub fn sh(program: &str, args: &[&str]) -> (bool, String) {
    // `timeout` bounds every call: a wedged engine must fail the test, not hang it.
    let out = Command::new("timeout").arg("120").arg(program).args(args).output();
    match out {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("{program} did not run: {e}")),
    }
}

pub fn docker(args: &[&str]) -> String {
    let (ok, out) = sh("docker", args);
    assert!(ok, "docker {} failed: {out}", args.join(" "));
    out.trim().to_string()
}

/// Why the container tests cannot run here, if they cannot.
pub fn engine_missing() -> Option<String> {
    let (ok, out) = sh("docker", &["info", "--format", "{{.ServerVersion}}"]);
    (!ok).then(|| {
        format!(
            "no Docker engine reachable (`docker info`: {})",
            out.lines().last().unwrap_or("").trim()
        )
    })
}

/// None when the test should be skipped (reason recorded); panics when images are missing.
pub fn engine_with_images(test: &str) -> Option<()> {
    if let Some(reason) = engine_missing() {
        super::skipped(test, &reason);
        return None;
    }
    for image in [BASE_IMAGE, PG_IMAGE, S3_IMAGE, HARNESS_IMAGE] {
        let hint = "run scripts/build-images.sh (scripts/test.sh does) before the container tests";
        assert!(image_present(image), "the image {image} is missing: {hint}");
    }
    Some(())
}

pub fn image_present(image: &str) -> bool {
    sh("docker", &["image", "inspect", "--format", "{{.Id}}", image]).0
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn hex(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

/// Containers, volumes and networks that carry `label`, as "kind id" lines.
pub fn leftovers(label: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (kind, args) in [
        ("container", vec!["ps", "-a", "-q"]),
        ("volume", vec!["volume", "ls", "-q"]),
        ("network", vec!["network", "ls", "-q"]),
    ] {
        let filter = format!("label={label}");
        let out = docker(&[args.as_slice(), &["--filter", &filter]].concat());
        found.extend(
            out.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("{kind} {l}")),
        );
    }
    found
}

// ---------------------------------------------------------------------------- compose

/// `docker compose` (v2) if present, else `docker-compose` (v1), which lacks `--wait`.
pub fn compose_command() -> Option<(Vec<&'static str>, bool)> {
    if sh("docker", &["compose", "version"]).0 {
        return Some((vec!["docker", "compose"], true));
    }
    sh("docker-compose", &["version"])
        .0
        .then(|| (vec!["docker-compose"], false))
}

pub struct Stack {
    pub cmd: Vec<&'static str>,
    pub project: String,
    pub vars: Vec<(String, String)>,
    pub down: bool,
    /// Compose files after docker-compose.yml and docker-compose.local.yml.
    pub extra_files: Vec<&'static str>,
}

impl Stack {
    pub fn compose(&self, args: &[&str]) -> (bool, String) {
        let mut base = vec![
            "-p",
            &self.project,
            "-f",
            "docker-compose.yml",
            "-f",
            "docker-compose.local.yml",
        ];
        for f in &self.extra_files {
            base.extend(["-f", f]);
        }
        let out = Command::new("timeout")
            .arg("180")
            .args(&self.cmd)
            .args(base)
            .args(args)
            .current_dir(super::repo())
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("compose runs");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// `env compose --out DIR/env.json` with the stack's variables: its env.json on this host.
    pub fn env_json(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let env_json = dir.join("env.json");
        let ran = super::Ran::from(
            super::bin()
                .args(["env", "compose", "--out"])
                .arg(&env_json)
                .envs(self.vars.iter().map(|(k, v)| (k, v)))
                .output()
                .unwrap(),
        );
        assert_eq!(ran.code, 0, "env compose: {}", ran.explain());
        env_json
    }

    /// Healthy within a deadline (compose v1 has no `--wait`; v2's is used when present).
    pub fn wait_healthy(&self, services: usize) {
        let until = Instant::now() + Duration::from_secs(120);
        let label = format!("label=com.docker.compose.project={}", self.project);
        loop {
            let health = docker(&["ps", "--filter", &label, "--format", "{{.Names}} {{.Status}}"]);
            let healthy = health.lines().filter(|l| l.contains("(healthy)")).count();
            if healthy == services {
                return;
            }
            assert!(
                Instant::now() < until,
                "the compose stack was not healthy within 120 s:\n{health}\n{}",
                self.compose(&["logs", "--tail", "30"]).1
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.down {
            let _ = self.compose(&["down", "-v", "--remove-orphans"]);
        }
    }
}

pub fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < until, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The engine with its images and a compose command, or None (the test recorded as skipped).
pub fn engine_and_compose(test: &str) -> Option<(Vec<&'static str>, bool)> {
    engine_with_images(test)?;
    let found = compose_command();
    if found.is_none() {
        super::skipped(
            test,
            "a Docker engine answers but neither `docker compose` nor `docker-compose` is installed",
        );
    }
    found
}

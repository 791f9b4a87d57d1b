//! The `docker` environment (`run --docker`): Postgres and an S3 server as containers,
//! removed when the run ends: after the report, on errors, on Ctrl-C/SIGTERM (the run
//! winds down and drops them) and on panics (Drop). A harness killed outright cannot
//! clean up; its containers carry its pid and host as labels, and the next `--docker` run
//! on this host removes those whose owner is gone.
//!
//! Driven through the `docker` command line, which negotiates the API version with any
//! engine: testcontainers 0.28 (the newest, bollard 0.21) sends Docker API 1.53 on every
//! request and never negotiates, which Engine 20.10 (API 1.41) refuses; see the README.
//!
//! Images: see `images` (the `DLS_*` variables, the registry's, the project's own). The S3
//! server's kind is `DLS_S3_KIND` (`minio` or `garage`), else `garage` when the image name
//! says so. Both image kinds must behave like the official ones, as `docker/postgres` and
//! `docker/garage` do.

pub use super::docker_cli::{docker, S3Kind};
use super::docker_cli::{docker_binary, DOCKER_CMD_DEADLINE};
use super::images::{self, Chosen};
use super::native::BUCKET;
use super::process::{output_within, wait_until};
use super::{ContainerImages, EnvFile, Environment, PgEndpoint, S3Endpoint};
use crate::error::environment;
use crate::util::ids::random_hex;
use std::process::Command;
use std::time::{Duration, Instant};

/// Label on every container the harness starts (value: the run's owner pid).
pub const OWNER_LABEL: &str = "ducklake-stress.owner-pid";
const HOST_LABEL: &str = "ducklake-stress.host";
const READY_DEADLINE: Duration = Duration::from_secs(90);

/// The images of one run (see `images`).
#[derive(Debug, Clone)]
pub struct Images {
    pub postgres: Chosen,
    pub s3: Option<Chosen>,
    pub s3_kind: S3Kind,
}

impl Images {
    /// Chooses (and if need be pulls) the images; `--build-images` builds the project's first.
    pub fn resolve(with_s3: bool, build_images: bool) -> anyhow::Result<Self> {
        if build_images {
            images::build_local(with_s3)?;
        }
        let postgres = images::resolve(&images::POSTGRES)?;
        let s3 = if with_s3 {
            Some(images::resolve(&images::S3)?)
        } else {
            None
        };
        let s3_kind = images::s3_kind(s3.as_ref().map(|c| c.image.as_str()).unwrap_or(""))?;
        Ok(Images { postgres, s3, s3_kind })
    }

    /// One line for the console: which image each service runs, and why.
    pub fn describe(&self) -> String {
        let mut line = format!(
            "docker: postgres from {} ({})",
            self.postgres.image, self.postgres.reason
        );
        if let Some(s3) = &self.s3 {
            line.push_str(&format!(", S3 from {} ({})", s3.image, s3.reason));
        }
        line
    }
}

/// The containers of one run; dropping removes them with their anonymous volumes.
pub struct Containers {
    ids: Vec<(&'static str, String)>,
}

impl Containers {
    /// (service, container id): `postgres` first, then `s3` if started.
    pub fn ids(&self) -> &[(&'static str, String)] {
        &self.ids
    }

    /// The container of a service (`postgres` or `s3`), for faults such as `docker pause`.
    pub fn id_of(&self, service: &str) -> Option<&str> {
        self.ids.iter().find(|(s, _)| *s == service).map(|(_, id)| id.as_str())
    }

    pub fn remove_all(&mut self) {
        if self.ids.is_empty() {
            return;
        }
        let ids: Vec<String> = self.ids.drain(..).map(|(_, id)| id).collect();
        if let Err(e) = docker(&[strings(&["rm", "--force", "--volumes"]), ids.clone()].concat()) {
            let ids = ids.join(" ");
            eprintln!("warning: removing containers {ids} failed: {e:#}; remove them with `docker rm -f -v {ids}`");
        }
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        self.remove_all();
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Removes containers left by harness processes of this host that no longer exist
/// (killed with SIGKILL, or a machine crash): they would hold ports and memory forever.
fn remove_orphans() {
    let Ok(list) = docker(&strings(&[
        "ps",
        "-a",
        "--filter",
        &format!("label={OWNER_LABEL}"),
        "--format",
        &format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}} {{{{.Label \"{HOST_LABEL}\"}}}}"),
    ])) else {
        return;
    };
    let host = hostname();
    let orphans: Vec<String> = list
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (id, pid, h) = (f.next()?, f.next()?.parse::<i32>().ok()?, f.next().unwrap_or(""));
            let gone = h == host && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err();
            gone.then(|| id.to_string())
        })
        .collect();
    if !orphans.is_empty() {
        eprintln!(
            "removing {} container(s) left by an earlier harness process that no longer exists",
            orphans.len()
        );
        let _ = docker(&[strings(&["rm", "--force", "--volumes"]), orphans].concat());
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `docker run -d` with the owner labels and one port published on loopback; returns the
/// container id and the host port.
fn run_container(image: &str, env: &[(&str, &str)], port: u16, cmd: &[String]) -> anyhow::Result<(String, u16)> {
    let mut args = strings(&["run", "--detach", "--label"]);
    args.push(format!("{OWNER_LABEL}={}", std::process::id()));
    args.push("--label".into());
    args.push(format!("{HOST_LABEL}={}", hostname()));
    args.extend(["--publish".into(), format!("127.0.0.1::{port}")]);
    for (k, v) in env {
        args.extend(["--env".into(), format!("{k}={v}")]);
    }
    args.push(image.to_string());
    args.extend(cmd.iter().cloned());
    // The image is on the engine (images::resolve pulled it if need be).
    let id = docker(&args)?;
    Ok((id.clone(), host_port(&id, port)?))
}

fn host_port(id: &str, port: u16) -> anyhow::Result<u16> {
    let mapped = docker(&strings(&["port", id, &format!("{port}/tcp")]))?;
    mapped
        .lines()
        .find_map(|l| l.rsplit(':').next()?.trim().parse().ok())
        .ok_or_else(|| {
            environment(format!(
                "`docker port {id} {port}/tcp` answered {mapped:?}, not a host port"
            ))
        })
}

fn container_alive(id: &str) -> anyhow::Result<()> {
    let state = docker(&strings(&["inspect", "-f", "{{.State.Status}}", id]))?;
    if state == "exited" || state == "dead" {
        let logs = output_within(
            Command::new(docker_binary()).args(["logs", "--tail", "20", id]),
            DOCKER_CMD_DEADLINE,
        )
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .unwrap_or_default();
        return Err(environment(format!(
            "container {id} stopped during start-up; its last lines:\n{logs}"
        )));
    }
    Ok(())
}

pub fn start(with_s3: bool, build_images: bool) -> anyhow::Result<(Environment, Containers)> {
    let started = Instant::now();
    let images = Images::resolve(with_s3, build_images)?;
    eprintln!("{}", images.describe());
    remove_orphans();
    let mut containers = Containers { ids: Vec::new() };
    let pg = start_postgres(&images, &mut containers)?;
    let s3 = match &images.s3 {
        Some(chosen) => Some(start_s3(&chosen.image, images.s3_kind, &mut containers)?),
        None => None,
    };
    let local_data_dir =
        (!with_s3).then(|| std::env::temp_dir().join(format!("ducklake-stress-data-{}", random_hex(4))));
    let kind = if images.s3_kind == S3Kind::Garage {
        "garage"
    } else {
        "minio"
    };
    let s3_server = images.s3.as_ref().map(|c| format!("{kind} (container {})", c.image));
    let used = ContainerImages {
        postgres: images.postgres,
        s3: images.s3,
    };
    let (catalog_dir, native, used) = (None, None, Some(used));
    let endpoints = EnvFile {
        postgres: pg,
        s3,
        local_data_dir,
        catalog_dir,
        s3_server,
        native,
        containers: used,
    };
    let mut env = Environment::existing(endpoints);
    env.startup = started.elapsed();
    Ok((env, containers))
}

fn start_postgres(images: &Images, containers: &mut Containers) -> anyhow::Result<PgEndpoint> {
    let password = random_hex(12);
    let cmd = strings(&[
        "postgres",
        "-c",
        &format!("max_connections={}", super::postgres::MAX_CONNECTIONS),
    ]);
    let env = [
        ("POSTGRES_USER", "ducklake"),
        ("POSTGRES_PASSWORD", password.as_str()),
        ("POSTGRES_DB", super::postgres::CATALOG_DB),
    ];
    let (id, port) = run_container(&images.postgres.image, &env, 5432, &cmd)?;
    containers.ids.push(("postgres", id.clone()));
    let pg = PgEndpoint {
        host: "127.0.0.1".into(),
        port,
        user: "ducklake".into(),
        password,
        dbname: super::postgres::CATALOG_DB.into(),
    };
    let probe = pg.clone();
    // The official image restarts the server once after initialisation: wait for a real session.
    wait_until(
        "postgres container",
        READY_DEADLINE,
        || container_alive(&id),
        || {
            crate::runtime::block_on(async {
                crate::environment::pg::connect(&probe, None, "ducklake-stress/setup")
                    .await
                    .map(|_| ())
            })
        },
    )?;
    Ok(pg)
}

fn start_s3(image: &str, kind: S3Kind, containers: &mut Containers) -> anyhow::Result<S3Endpoint> {
    let (id, endpoint) = match kind {
        S3Kind::Minio => {
            let (user, secret) = ("ducklake".to_string(), random_hex(16));
            let env = [
                ("MINIO_ROOT_USER", user.as_str()),
                ("MINIO_ROOT_PASSWORD", secret.as_str()),
            ];
            let (id, port) = run_container(image, &env, 9000, &strings(&["server", "/data", "--address", ":9000"]))?;
            (id, S3Endpoint::loopback(port, user, secret, BUCKET))
        }
        S3Kind::Garage => {
            // Garage's key form: GK + 12 bytes in hex, and a 32-byte secret in hex.
            let (key, secret) = (format!("GK{}", random_hex(12)), random_hex(32));
            let env = [
                ("GARAGE_KEY_ID", key.as_str()),
                ("GARAGE_SECRET_KEY", secret.as_str()),
                ("GARAGE_BUCKET", BUCKET),
                ("GARAGE_S3_PORT", "3900"),
            ];
            let (id, port) = run_container(image, &env, 3900, &strings(&["server"]))?;
            (id, S3Endpoint::loopback(port, key, secret, BUCKET))
        }
    };
    containers.ids.push(("s3", id.clone()));
    let probe = endpoint.clone();
    wait_until(
        "S3 container",
        READY_DEADLINE,
        || container_alive(&id),
        || {
            crate::runtime::block_on(async {
                match kind {
                    S3Kind::Minio => super::s3::create_bucket(&probe).await,
                    // The entrypoint makes the bucket once the layout is applied.
                    S3Kind::Garage => super::s3::head_bucket(&probe).await,
                }
            })
        },
    )?;
    Ok(endpoint)
}

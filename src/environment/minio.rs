//! A private MinIO server, preferred when a `minio` binary is on PATH (users' machines).

use super::process::{free_port, wait_until, ServiceProcess};
use super::S3Endpoint;
use crate::util::ids::random_hex;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub fn find_binary() -> Option<PathBuf> {
    std::env::var("MINIO_BIN")
        .ok()
        .map(PathBuf::from)
        .or_else(|| super::postgres::which_dir("minio").map(|d| d.join("minio")))
}

pub struct NativeMinio {
    pub process: ServiceProcess,
    pub endpoint: S3Endpoint,
    pub version: String,
}

pub fn start(binary: &Path, scratch: &Path, bucket: &str, deadline: Duration) -> anyhow::Result<NativeMinio> {
    let dir = scratch.join("minio");
    std::fs::create_dir_all(&dir)?;
    let (port, console) = (free_port()?, free_port()?);
    let (user, password) = (format!("ducklake{}", random_hex(4)), random_hex(20));
    let version = super::process::output_within(Command::new(binary).arg("--version"), Duration::from_secs(10))
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("minio")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|_| "minio (version unknown)".into());
    let mut cmd = Command::new(binary);
    cmd.arg("server")
        .arg(dir.join("data"))
        .args([
            "--address",
            &format!("127.0.0.1:{port}"),
            "--console-address",
            &format!("127.0.0.1:{console}"),
        ])
        .env("MINIO_ROOT_USER", &user)
        .env("MINIO_ROOT_PASSWORD", &password);
    let mut process = ServiceProcess::spawn("minio", &mut cmd, None, &dir.join("minio.log"), Signal::SIGTERM)?;
    let endpoint = S3Endpoint::loopback(port, user, password, bucket);
    let probe = endpoint.clone();
    wait_until(
        "minio",
        deadline,
        || process.ensure_running(),
        || crate::runtime::block_on(super::s3::create_bucket(&probe)),
    )?;
    Ok(NativeMinio {
        process,
        endpoint,
        version,
    })
}

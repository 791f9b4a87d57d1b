//! A private single-node Garage S3 server (used where no `minio` binary is on PATH).
//! Set-up follows Garage's single-node guide: layout assign/apply, key import with
//! generated credentials, bucket create and allow.

use super::process::{free_port, wait_until, ServiceProcess};
use super::S3Endpoint;
use crate::error::environment;
use crate::util::ids::random_hex;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub fn find_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("GARAGE_BIN") {
        return Some(PathBuf::from(p));
    }
    super::postgres::which_dir("garage")
        .map(|d| d.join("garage"))
        .or_else(|| {
            let home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
            Some(home.join("bin/garage")).filter(|p| p.is_file())
        })
}

pub struct NativeGarage {
    pub process: ServiceProcess,
    pub endpoint: S3Endpoint,
    pub version: String,
}

pub fn start(binary: &Path, scratch: &Path, bucket: &str, deadline: Duration) -> anyhow::Result<NativeGarage> {
    let dir = scratch.join("garage");
    std::fs::create_dir_all(dir.join("meta"))?;
    std::fs::create_dir_all(dir.join("data"))?;
    let (rpc_port, s3_port) = (free_port()?, free_port()?);
    let config = write_config(&dir, rpc_port, s3_port)?;
    let cli = Cli {
        binary,
        config: &config,
    };
    let version = version(binary);

    let mut cmd = Command::new(binary);
    cmd.arg("-c").arg(&config).arg("server").env("RUST_LOG", "garage=warn");
    let mut process = ServiceProcess::spawn("garage", &mut cmd, None, &dir.join("garage.log"), Signal::SIGTERM)?;

    // `status` needs the daemon's RPC up; `node id` alone would answer from the key file.
    wait_until(
        "garage (rpc)",
        deadline,
        || process.ensure_running(),
        || cli.run(&["status"]),
    )?;
    let node = cli
        .run(&["node", "id", "-q"])
        .map_err(|e| environment(format!("{e:#}")))?;
    let node_id = node.split('@').next().unwrap_or(&node);
    let (key_id, secret) = configure(&cli, node_id, bucket).map_err(|e| {
        environment(format!(
            "configuring garage failed: {e:#}. Its log: {}",
            dir.join("garage.log").display()
        ))
    })?;
    let endpoint = S3Endpoint::loopback(s3_port, key_id, secret, bucket);
    let probe = endpoint.clone();
    wait_until(
        "garage (s3 api)",
        deadline,
        || process.ensure_running(),
        || crate::runtime::block_on(super::s3::head_bucket(&probe)),
    )?;
    Ok(NativeGarage {
        process,
        endpoint,
        version,
    })
}

fn version(binary: &Path) -> String {
    super::process::output_within(Command::new(binary).arg("--version"), Duration::from_secs(10))
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "garage (version unknown)".into())
}

/// garage.toml for one node on loopback, with a fresh RPC secret; returns its path.
fn write_config(dir: &Path, rpc_port: u16, s3_port: u16) -> anyhow::Result<PathBuf> {
    let config = dir.join("garage.toml");
    std::fs::write(
        &config,
        format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"
"#,
            meta = dir.join("meta").display(),
            data = dir.join("data").display(),
            secret = random_hex(32),
        ),
    )?;
    Ok(config)
}

/// The `garage` command line against this node's config.
struct Cli<'a> {
    binary: &'a Path,
    config: &'a Path,
}

impl Cli<'_> {
    /// Its standard output; an error with its standard error when it fails.
    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = super::process::output_within(
            Command::new(self.binary).arg("-c").arg(self.config).args(args),
            Duration::from_secs(10),
        )?;
        if !out.status.success() {
            anyhow::bail!(
                "garage {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Gives the node its layout, imports a fresh key and creates the bucket it may use:
/// returns the key's (id, secret).
fn configure(cli: &Cli, node_id: &str, bucket: &str) -> anyhow::Result<(String, String)> {
    cli.run(&["layout", "assign", "-z", "dc1", "-c", "1G", node_id])?;
    cli.run(&["layout", "apply", "--version", "1"])?;
    let key_id = format!("GK{}", random_hex(12));
    let secret = random_hex(32);
    cli.run(&["key", "import", "--yes", "-n", "ducklake-stress", &key_id, &secret])?;
    cli.run(&["bucket", "create", bucket])?;
    cli.run(&[
        "bucket",
        "allow",
        "--read",
        "--write",
        "--owner",
        bucket,
        "--key",
        "ducklake-stress",
    ])?;
    Ok((key_id, secret))
}

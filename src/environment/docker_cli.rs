//! The docker command line, bounded in time, with secrets masked in its messages: below both
//! the images (pull, build, inspect) and the containers of a run.

use super::process::output_within;
use crate::error::environment;
use std::process::Command;
use std::time::Duration;

/// How long one `docker` command may take.
pub const DOCKER_CMD_DEADLINE: Duration = Duration::from_secs(60);

/// Which S3 server an image runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Kind {
    Minio,
    Garage,
}

/// Runs `docker ARGS`, bounded in time; stdout on success, a clear error otherwise.
pub fn docker(args: &[String]) -> anyhow::Result<String> {
    let out = output_within(Command::new(docker_binary()).args(args), DOCKER_CMD_DEADLINE).map_err(|e| {
        environment(format!(
            "`docker {}` did not run: {e:#}. The docker environment needs the docker command line and \
            a running Docker engine; without them use the default native environment or --env-file.",
            args.first().map(String::as_str).unwrap_or("")
        ))
    })?;
    if !out.status.success() {
        return Err(environment(format!(
            "`docker {}` failed: {}",
            shown(args),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The command line for messages, with passwords and secrets masked.
fn shown(args: &[String]) -> String {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, _)) if k.contains("PASSWORD") || k.contains("SECRET") => format!("{k}=****"),
            _ => a.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `$DOCKER`, else `docker`.
pub fn docker_binary() -> String {
    std::env::var("DOCKER")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "docker".into())
}

//! The `native` environment: a private Postgres and S3 server as child processes in a
//! scratch directory, started in parallel and torn down when the value is dropped.

use super::process::{stop_process_group, ServiceProcess};
use super::{endpoints::NativeState, EnvFile, Environment};
use crate::error::environment;
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const BUCKET: &str = "ducklake-stress";
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Owns the service processes and the scratch directory. Drop order matters: the
/// services stop before their data directory is removed.
pub struct NativeServices {
    pub services: Vec<ServiceProcess>,
    scratch: Option<tempfile::TempDir>,
    pub scratch_path: PathBuf,
}

impl NativeServices {
    /// Stops everything now (also what Drop does).
    pub fn teardown(&mut self) {
        for s in self.services.iter_mut().rev() {
            s.stop(Duration::from_secs(10));
        }
        self.services.clear();
        self.scratch.take();
    }

    /// Leaves the scratch directory behind (`--keep-env`), e.g. to read the server logs.
    pub fn keep_scratch(&mut self) -> PathBuf {
        if let Some(dir) = self.scratch.take() {
            return dir.keep();
        }
        self.scratch_path.clone()
    }

    /// Handles for faults that pause, kill or restart these services during a run.
    pub fn handles(&self) -> Vec<super::process::ServiceHandle> {
        self.services.iter().map(|s| s.handle()).collect()
    }

    /// What `env down` needs to stop these services later.
    pub fn state(&self) -> NativeState {
        NativeState {
            process_groups: self.services.iter().map(|s| s.pid()).collect(),
            scratch_dir: self.scratch_path.clone(),
        }
    }

    /// Leaves the services running after the harness exits (`env up`). Call only once
    /// their state is safely recorded: from here on nothing stops them but `env down`.
    pub fn detach(mut self) {
        for s in self.services.drain(..) {
            s.detach();
        }
        self.keep_scratch();
    }
}

impl Drop for NativeServices {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Starts Postgres and, if `with_s3`, an S3 server (MinIO if on PATH, else Garage).
pub fn start(with_s3: bool) -> anyhow::Result<Environment> {
    let started = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("ducklake-stress-")
        .tempdir()
        .map_err(|e| {
            environment(format!(
                "cannot create a scratch directory under {}: {e}",
                std::env::temp_dir().display()
            ))
        })?;
    // Postgres runs as another user when we are root: it needs to enter the directory.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755))?;
    let pg_dir = scratch.path().join("postgres");
    let s3_dir = scratch.path().join("s3");
    std::fs::create_dir_all(&pg_dir)?;
    std::fs::create_dir_all(&s3_dir)?;

    let (pg, s3) = std::thread::scope(|scope| {
        let pg = scope.spawn(|| super::postgres::start(&pg_dir, START_DEADLINE));
        let s3 = with_s3.then(|| scope.spawn(|| start_s3(&s3_dir)));
        let pg = pg
            .join()
            .unwrap_or_else(|_| Err(environment("postgres start-up panicked")));
        let s3 = s3.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(environment("S3 server start-up panicked")))
        });
        (pg, s3)
    });
    let scratch_path = scratch.path().to_path_buf();
    let mut native = NativeServices {
        services: Vec::new(),
        scratch: Some(scratch),
        scratch_path: scratch_path.clone(),
    };
    // Keep whatever did start, so that an error below still tears it down.
    let pg = match pg {
        Ok(pg) => pg,
        Err(e) => {
            if let Some(Ok(s3)) = s3 {
                native.services.push(s3.0);
            }
            return Err(e);
        }
    };
    native.services.push(pg.process);
    let (s3_endpoint, s3_server) = match s3 {
        Some(Ok((process, endpoint, version))) => {
            native.services.push(process);
            (Some(endpoint), Some(version))
        }
        Some(Err(e)) => return Err(e),
        None => (None, None),
    };
    let local_data_dir = (!with_s3).then(|| scratch_path.join("lake-data"));
    if let Some(dir) = &local_data_dir {
        std::fs::create_dir_all(dir)?;
    }
    let endpoints = EnvFile {
        postgres: pg.endpoint,
        s3: s3_endpoint,
        local_data_dir,
        catalog_dir: Some(scratch_path.clone()),
        s3_server,
        native: None,
        containers: None,
    };
    tracing::info!(postgres = %pg.version, "native environment up in {:?}", started.elapsed());
    Ok(Environment {
        endpoints,
        startup: started.elapsed(),
        native: Some(native),
        containers: None,
    })
}

fn start_s3(dir: &std::path::Path) -> anyhow::Result<(ServiceProcess, super::S3Endpoint, String)> {
    if let Some(minio) = super::minio::find_binary() {
        let m = super::minio::start(&minio, dir, BUCKET, START_DEADLINE)?;
        return Ok((m.process, m.endpoint, m.version));
    }
    let Some(garage) = super::garage::find_binary() else {
        return Err(environment(
            "no S3 server found: neither `minio` nor `garage` is on PATH (or in ~/.cargo/bin). Run \
            scripts/setup.sh, which installs Garage, or set GARAGE_BIN/MINIO_BIN, or use lake data = \"local\", or \
            point at an existing S3 with --env-file.",
        ));
    };
    let g = super::garage::start(&garage, dir, BUCKET, START_DEADLINE)?;
    Ok((g.process, g.endpoint, g.version))
}

/// `env down`: stops the process groups recorded by `env up` and removes their scratch dir.
/// Only processes whose command line names that scratch dir are signalled, and only a
/// directory the harness made is removed: env.json may be stale (a reboot reuses pids).
pub fn stop_detached(state: &NativeState) -> anyhow::Result<()> {
    let scratch = state.scratch_dir.display().to_string();
    let ours = state
        .scratch_dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("ducklake-stress-"));
    if !ours {
        return Err(crate::error::bad_input(format!(
            "env.json names {scratch} as the scratch directory, which the \
            harness did not create; refusing to stop or delete anything."
        )));
    }
    for &pgid in &state.process_groups {
        let cmdline = std::fs::read(format!("/proc/{pgid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&scratch) {
            stop_process_group(pgid, Signal::SIGINT, Duration::from_secs(10));
        }
    }
    let _ = std::fs::remove_dir_all(&state.scratch_dir);
    Ok(())
}

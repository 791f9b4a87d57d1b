//! A private PostgreSQL server: `initdb` into a scratch directory, loopback only, a random
//! password with SCRAM authentication (no trust), run as the `postgres` OS user when the
//! harness runs as root (Postgres refuses to run as root).

use super::process::{free_port, wait_until, ServiceProcess};
use super::PgEndpoint;
use crate::error::environment;
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid, User};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const CATALOG_DB: &str = "ducklake_catalog";
/// Room for the largest scenario (256 writers, a few catalog connections each) plus the
/// harness's own sessions.
pub const MAX_CONNECTIONS: u32 = 1000;
const SUPERUSER: &str = "ducklake_stress";

/// Finds the server binaries: $PG_BIN, `pg_config --bindir`, the newest
/// /usr/lib/postgresql/*/bin, or `initdb` on PATH.
pub fn find_bindir() -> anyhow::Result<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Ok(dir) = std::env::var("PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_initdb(&dir) {
            return Ok(dir);
        }
        return Err(environment(format!(
            "PG_BIN={} holds no initdb/postgres binaries; point it at the server's bin \
            directory (e.g. /usr/lib/postgresql/15/bin) or unset it.",
            dir.display()
        )));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, d)| has_initdb(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    if let Some(dir) = which_dir("initdb").filter(|d| has_initdb(d)) {
        return Ok(dir);
    }
    Err(environment(
        "no PostgreSQL server binaries (initdb, postgres) were found via PG_BIN, pg_config, \
        /usr/lib/postgresql/*/bin or PATH. Run scripts/setup.sh (it installs the postgresql package), or set PG_BIN, \
        or use an existing server with --env-file/--pg-dsn.",
    ))
}

pub fn which_dir(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).find(|d| d.join(program).is_file()))
}

/// Whom to run the server as: ourselves, or `postgres` if we are root.
fn server_user() -> anyhow::Result<Option<(Uid, Gid)>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    match User::from_name("postgres")? {
        Some(u) => Ok(Some((u.uid, u.gid))),
        None => Err(environment(
            "the harness runs as root, Postgres refuses to, and there is no `postgres` OS user to \
            run it as. Run scripts/setup.sh (the postgresql package creates that user) or run the harness as a normal \
            user.",
        )),
    }
}

pub struct NativePostgres {
    pub process: ServiceProcess,
    pub endpoint: PgEndpoint,
    pub version: String,
}

pub fn start(scratch: &Path, deadline: Duration) -> anyhow::Result<NativePostgres> {
    let bindir = find_bindir()?;
    let owner = server_user()?;
    let data = scratch.join("pgdata");
    let socket_dir = scratch.join("pgsock");
    std::fs::create_dir_all(&socket_dir)?;
    let password = crate::util::ids::random_hex(16);
    let pwfile = scratch.join("pgpass.tmp");
    std::fs::write(&pwfile, &password)?;
    if let Some((uid, gid)) = owner {
        for p in [scratch, socket_dir.as_path(), pwfile.as_path()] {
            nix::unistd::chown(p, Some(uid), Some(gid))?;
        }
    }
    init_data_dir(&bindir, &data, &pwfile, owner)?;

    let port = free_port()?;
    let mut server = server_command(&bindir, &data, port, &socket_dir);
    let owner = owner.map(|(uid, gid)| (uid.as_raw(), gid.as_raw()));
    let mut process = ServiceProcess::spawn(
        "postgres",
        &mut server,
        owner,
        &scratch.join("postgres.log"),
        Signal::SIGINT,
    )?;

    let endpoint = PgEndpoint {
        host: "127.0.0.1".into(),
        port,
        user: SUPERUSER.into(),
        password,
        dbname: CATALOG_DB.into(),
    };
    let admin = endpoint.clone();
    let version = wait_until(
        "postgres",
        deadline,
        || process.ensure_running(),
        || create_catalog(&admin),
    )?;
    Ok(NativePostgres {
        process,
        endpoint,
        version,
    })
}

/// `initdb` as the server's user, with the superuser's password read from `pwfile`, which
/// is removed as soon as initdb has read it.
fn init_data_dir(bindir: &Path, data: &Path, pwfile: &Path, owner: Option<(Uid, Gid)>) -> anyhow::Result<()> {
    let mut initdb = Command::new(bindir.join("initdb"));
    initdb.arg("-D").arg(data).args([
        "-U",
        SUPERUSER,
        "--auth=scram-sha-256",
        "-E",
        "UTF8",
        "--no-sync",
        "--locale=C",
    ]);
    initdb.arg(format!("--pwfile={}", pwfile.display()));
    if let Some((uid, gid)) = owner {
        use std::os::unix::process::CommandExt;
        initdb.uid(uid.as_raw()).gid(gid.as_raw());
    }
    let out = super::process::output_within(&mut initdb, Duration::from_secs(60))
        .map_err(|e| environment(format!("could not run {}: {e:#}", bindir.join("initdb").display())))?;
    let _ = std::fs::remove_file(pwfile);
    if !out.status.success() {
        return Err(environment(format!(
            "initdb failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The server on loopback `port` only, its socket in `socket_dir`.
fn server_command(bindir: &Path, data: &Path, port: u16, socket_dir: &Path) -> Command {
    let mut server = Command::new(bindir.join("postgres"));
    server
        .arg("-D")
        .arg(data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", socket_dir.display()))
        // Many writers, each with a small pool of catalog connections, plus the monitor.
        .arg("-c")
        .arg(format!("max_connections={MAX_CONNECTIONS}"));
    server
}

/// Creates the catalog database once the server answers; returns the server's version.
fn create_catalog(admin: &PgEndpoint) -> anyhow::Result<String> {
    crate::runtime::block_on(async {
        let client = crate::environment::pg::connect(admin, Some("postgres"), "ducklake-stress/setup").await?;
        let v: String = client.query_one("SHOW server_version", &[]).await?.get(0);
        client.batch_execute(&format!("CREATE DATABASE {CATALOG_DB}")).await?;
        anyhow::Ok(v)
    })
}

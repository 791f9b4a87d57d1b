//! `env compose`: the env.json for the repository's docker-compose stack, from the same
//! `DLS_*` variables and defaults that docker-compose.yml reads (ports, passwords, key).
//! The compose file is the source of truth; the defaults below must match it (the
//! container tests run the stack with non-default values to keep both in step).

use super::{EnvFile, PgEndpoint, S3Endpoint};
use crate::error::bad_input;

pub const DEFAULT_S3_KEY_ID: &str = "GK0123456789abcdef01234567";
pub const DEFAULT_S3_SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn var(name: &str, default: &str) -> String {
    // Compose's ${VAR:-default} also falls back when the variable is empty.
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn port(name: &str, default: u16) -> anyhow::Result<u16> {
    let raw = var(name, &default.to_string());
    raw.parse().map_err(|_| {
        bad_input(format!(
            "{name}={raw:?} is not a TCP port; docker-compose.yml publishes it on \
        the host, so give a number from 1 to 65535 (default {default})."
        ))
    })
}

/// What `docker compose up` with the current environment variables serves on this host.
pub fn env_file() -> anyhow::Result<EnvFile> {
    let postgres = PgEndpoint {
        host: "127.0.0.1".into(),
        port: port("DLS_PG_PORT", 5432)?,
        user: "ducklake".into(),
        password: var("DLS_PG_PASSWORD", "ducklake-stress"),
        dbname: super::postgres::CATALOG_DB.into(),
    };
    let s3 = S3Endpoint::loopback(
        port("DLS_S3_PORT", 9000)?,
        var("DLS_S3_KEY_ID", DEFAULT_S3_KEY_ID),
        var("DLS_S3_SECRET", DEFAULT_S3_SECRET),
        super::native::BUCKET,
    );
    // The image scripts/compose.sh starts (docker-compose.local.yml's when it adds that file).
    let local = super::images::compose_uses_local_images();
    let default_image = if local { super::images::S3.local } else { "minio/minio" };
    let server = format!("{} (docker-compose)", var("DLS_S3_IMAGE", default_image));
    let (local_data_dir, catalog_dir, native, containers) = (None, None, None, None);
    Ok(EnvFile {
        postgres,
        s3: Some(s3),
        local_data_dir,
        catalog_dir,
        s3_server: Some(server),
        native,
        containers,
    })
}

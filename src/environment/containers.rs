//! The `docker` environment: Postgres and MinIO containers started with testcontainers
//! and removed when the run ends. It needs a Docker engine, which the project's own CI
//! machines do not have, so the tested path there is `native`; this one is for users.

use super::native::BUCKET;
use crate::util::ids::random_hex;
use super::process::wait_until;
use super::{EnvFile, Environment, PgEndpoint, S3Endpoint};
use crate::error::environment;
use std::time::{Duration, Instant};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

/// Keeps the containers; dropping removes them.
pub struct Containers {
    postgres: Option<ContainerAsync<GenericImage>>,
    minio: Option<ContainerAsync<GenericImage>>,
}

impl Drop for Containers {
    fn drop(&mut self) {
        // testcontainers removes containers from its Drop, which needs a runtime context.
        let _guard = crate::runtime::get().enter();
        self.minio.take();
        self.postgres.take();
    }
}

pub fn start(with_s3: bool) -> anyhow::Result<(Environment, Containers)> {
    let started = Instant::now();
    let password = random_hex(12);
    let docker_error = |what: &str, e: testcontainers::TestcontainersError| {
        environment(format!("starting the {what} container failed: {e}. The docker environment needs a running Docker engine; without one use the default native environment or --env-file."))
    };
    let postgres = crate::runtime::block_on(
        GenericImage::new("postgres", "16")
            .with_exposed_port(5432.tcp())
            .with_wait_for(WaitFor::message_on_stderr("database system is ready to accept connections"))
            .with_env_var("POSTGRES_USER", "ducklake")
            .with_env_var("POSTGRES_PASSWORD", &password)
            .with_env_var("POSTGRES_DB", super::postgres::CATALOG_DB)
            .with_cmd(["postgres".to_string(), "-c".to_string(), format!("max_connections={}", super::postgres::MAX_CONNECTIONS)])
            .start(),
    )
    .map_err(|e| docker_error("postgres", e))?;
    let pg_port = crate::runtime::block_on(postgres.get_host_port_ipv4(5432.tcp())).map_err(|e| docker_error("postgres", e))?;
    let pg = PgEndpoint { host: "127.0.0.1".into(), port: pg_port, user: "ducklake".into(), password, dbname: super::postgres::CATALOG_DB.into() };
    let probe = pg.clone();
    // The image restarts the server once after initialisation: wait for a real session.
    wait_until("postgres container", Duration::from_secs(60), || Ok(()), || {
        crate::runtime::block_on(async { crate::environment::pg::connect(&probe, None, "ducklake-stress/setup").await.map(|_| ()) })
    })?;

    let mut containers = Containers { postgres: Some(postgres), minio: None };
    let s3 = if with_s3 {
        let secret = random_hex(16);
        let minio = crate::runtime::block_on(
            GenericImage::new("minio/minio", "latest")
                .with_exposed_port(9000.tcp())
                .with_wait_for(WaitFor::message_on_stdout("API:"))
                .with_env_var("MINIO_ROOT_USER", "ducklake")
                .with_env_var("MINIO_ROOT_PASSWORD", &secret)
                .with_cmd(["server", "/data", "--address", ":9000"])
                .start(),
        )
        .map_err(|e| docker_error("minio", e))?;
        let port = crate::runtime::block_on(minio.get_host_port_ipv4(9000.tcp())).map_err(|e| docker_error("minio", e))?;
        containers.minio = Some(minio);
        let endpoint = S3Endpoint::loopback(port, "ducklake".into(), secret, BUCKET);
        let probe = endpoint.clone();
        wait_until("minio container", Duration::from_secs(60), || Ok(()), || crate::runtime::block_on(super::s3::create_bucket(&probe)))?;
        Some(endpoint)
    } else {
        None
    };
    let local_data_dir = (!with_s3).then(|| std::env::temp_dir().join(format!("ducklake-stress-data-{}", random_hex(4))));
    let endpoints = EnvFile { postgres: pg, s3, local_data_dir, catalog_dir: None, s3_server: with_s3.then(|| "minio (testcontainers)".into()), native: None };
    let mut env = Environment::existing(endpoints);
    env.startup = started.elapsed();
    Ok((env, containers))
}

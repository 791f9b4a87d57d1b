//! Services a run talks to: where they come from (started here, or already running) and
//! how to reach them. `native` provisions a private Postgres and S3 server as child
//! processes; `docker` starts them as containers; `existing` reads connection details from flags or an env.json file.

pub mod compose;
pub mod containers;
pub mod docker_cli;
pub mod endpoints;
pub mod existing;
pub mod garage;
pub mod images;
pub mod minio;
pub mod native;
pub mod pg;
pub mod postgres;
pub mod process;
pub mod s3;

pub use endpoints::{ContainerImages, EnvFile, PgEndpoint, S3Endpoint};

use std::time::Duration;

/// A reachable environment. Dropping it tears down whatever it started.
pub struct Environment {
    pub endpoints: EnvFile,
    /// How long provisioning took (zero for `existing`).
    pub startup: Duration,
    /// Keeps native services alive; `None` for an existing environment.
    pub native: Option<native::NativeServices>,
    /// Keeps containers alive (`--docker`).
    pub containers: Option<containers::Containers>,
}

impl Environment {
    pub fn existing(endpoints: EnvFile) -> Self {
        Environment {
            endpoints,
            startup: Duration::ZERO,
            native: None,
            containers: None,
        }
    }
}

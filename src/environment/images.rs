//! Which images `run --docker` starts. Per service: the image its `DLS_*` variable names;
//! else the registry image (`postgres:16`, `minio/minio:latest`) when this engine has it;
//! else the project's own (`ducklake-stress/postgres`, `ducklake-stress/garage`, built
//! offline by scripts/build-images.sh) when it has that; else the registry image is
//! pulled, and when that fails too the error names the one command that builds them.
//! `--build-images` runs that command first (cached: seconds when the images are current).

use super::docker_cli::{docker, S3Kind};
use crate::error::{bad_input, environment};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const BUILD_IMAGES_SCRIPT: &str = "scripts/build-images.sh";
/// A pull over a slow link is minutes; a missing network fails at once.
const PULL_DEADLINE: Duration = Duration::from_secs(600);
/// A cold build-images.sh took 144 s here; ten times that is a wedged build.
const BUILD_DEADLINE: Duration = Duration::from_secs(1800);

/// One service's image candidates.
pub struct Service {
    pub name: &'static str,
    pub variable: &'static str,
    pub registry: &'static str,
    pub local: &'static str,
}

pub const POSTGRES: Service = Service {
    name: "postgres",
    variable: "DLS_POSTGRES_IMAGE",
    registry: "postgres:16",
    local: "ducklake-stress/postgres",
};
pub const S3: Service = Service {
    name: "s3",
    variable: "DLS_S3_IMAGE",
    registry: "minio/minio:latest",
    local: "ducklake-stress/garage",
};

/// The image chosen for a service and why (for the console and the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chosen {
    pub image: String,
    pub reason: String,
}

/// What `choose` decided before anything is pulled.
#[derive(Debug, PartialEq, Eq)]
enum Pick {
    /// On this engine already.
    Present(Chosen),
    /// Not on this engine: try `docker pull`, else fail naming the build script.
    Pull(Chosen),
}

fn choose(svc: &Service, variable: Option<String>, present: &dyn Fn(&str) -> bool) -> Pick {
    if let Some(image) = variable {
        let chosen = Chosen {
            reason: format!("from {}", svc.variable),
            image,
        };
        return if present(&chosen.image) {
            Pick::Present(chosen)
        } else {
            Pick::Pull(chosen)
        };
    }
    if present(svc.registry) {
        return Pick::Present(Chosen {
            image: svc.registry.into(),
            reason: "the default image".into(),
        });
    }
    if present(svc.local) {
        let reason = format!("the project's image; {} is not on this engine", svc.registry);
        return Pick::Present(Chosen {
            image: svc.local.into(),
            reason,
        });
    }
    Pick::Pull(Chosen {
        image: svc.registry.into(),
        reason: "the default image, pulled".into(),
    })
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub fn present(image: &str) -> bool {
    docker(&[
        "image".into(),
        "inspect".into(),
        "--format".into(),
        "{{.Id}}".into(),
        image.into(),
    ])
    .is_ok()
}

/// The image for one service on this engine, pulled if need be.
pub fn resolve(svc: &Service) -> anyhow::Result<Chosen> {
    match choose(svc, variable(svc.variable), &present) {
        Pick::Present(chosen) => Ok(chosen),
        Pick::Pull(chosen) => {
            let out = super::process::output_within(
                Command::new(super::docker_cli::docker_binary()).args(["pull", "--quiet", &chosen.image]),
                PULL_DEADLINE,
            );
            match out {
                Ok(o) if o.status.success() => Ok(chosen),
                Ok(o) => Err(missing(svc, &chosen.image, String::from_utf8_lossy(&o.stderr).trim())),
                Err(e) => Err(missing(svc, &chosen.image, &format!("{e:#}"))),
            }
        }
    }
}

fn missing(svc: &Service, image: &str, pull_error: &str) -> anyhow::Error {
    let what = match variable(svc.variable) {
        Some(_) => format!("{}={image} is not on this Docker engine", svc.variable),
        None => format!(
            "neither {} nor the project's {} is on this Docker engine",
            svc.registry, svc.local
        ),
    };
    environment(format!(
        "{what}, and `docker pull {image}` failed ({pull_error}). Build the project's images with \
         `{BUILD_IMAGES_SCRIPT}` (or run again with --docker --build-images), then leave {} unset; \
         a machine with a registry can pull {} instead.",
        svc.variable, svc.registry
    ))
}

/// The images docker-compose.yml names by default (MinIO's bucket is made by `minio/mc`).
const COMPOSE_REGISTRY_IMAGES: [&str; 3] = ["postgres:16", "minio/minio:latest", "minio/mc:latest"];

/// Whether scripts/compose.sh adds docker-compose.local.yml (the same rule, for `env compose`):
/// a registry image of the stack is missing and both of the project's images are there.
pub fn compose_uses_local_images() -> bool {
    COMPOSE_REGISTRY_IMAGES.iter().any(|i| !present(i)) && present(POSTGRES.local) && present(S3.local)
}

/// The S3 server's kind: `DLS_S3_KIND`, else `garage` when the image's name says so.
pub fn s3_kind(image: &str) -> anyhow::Result<S3Kind> {
    match variable("DLS_S3_KIND").as_deref() {
        Some("minio") => Ok(S3Kind::Minio),
        Some("garage") => Ok(S3Kind::Garage),
        None if image.contains("garage") => Ok(S3Kind::Garage),
        None => Ok(S3Kind::Minio),
        Some(other) => Err(bad_input(format!(
            "DLS_S3_KIND={other:?} is not a kind of S3 server the docker environment knows; set it to \"minio\" or \
             \"garage\" (or unset it to infer it from the image, now {image:?})."
        ))),
    }
}

/// The repository's build script: from the working directory, else from the checkout this
/// binary was built in.
fn build_script() -> Option<PathBuf> {
    let here = PathBuf::from(BUILD_IMAGES_SCRIPT);
    let built_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(BUILD_IMAGES_SCRIPT);
    [here, built_in].into_iter().find(|p| p.is_file())
}

/// `--build-images`: scripts/build-images.sh for the services' images, its progress on stderr.
pub fn build_local(with_s3: bool) -> anyhow::Result<()> {
    let script = build_script().ok_or_else(|| {
        environment(format!(
            "--build-images runs {BUILD_IMAGES_SCRIPT} of the ducklake-stress repository, and there is none in \
             this directory (nor in {}): run the harness from the repository's checkout.",
            env!("CARGO_MANIFEST_DIR")
        ))
    })?;
    let images: &[&str] = if with_s3 {
        &["postgres", "garage"]
    } else {
        &["postgres"]
    };
    eprintln!(
        "docker: building the project's images with {} {}",
        script.display(),
        images.join(" ")
    );
    // The script's output goes to our stderr: a cold build takes minutes and says what it does.
    let child = Command::new("bash")
        .arg(&script)
        .args(images)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()
        .map_err(|e| environment(format!("could not run {}: {e}", script.display())))?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut child = child;
    let status =
        crate::util::deadline::run_with_deadline("building the images", BUILD_DEADLINE, move || Ok(child.wait()?))
            .inspect_err(|_| {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            })?;
    if !status.success() {
        return Err(environment(format!(
            "{} {} failed ({status}); its messages are above.",
            script.display(),
            images.join(" ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(variable: Option<&str>, on_engine: &[&str]) -> Pick {
        let on_engine: Vec<String> = on_engine.iter().map(|s| s.to_string()).collect();
        choose(&POSTGRES, variable.map(String::from), &|image| {
            on_engine.iter().any(|i| i == image)
        })
    }

    #[test]
    fn the_registry_image_wins_when_the_engine_has_it() {
        let Pick::Present(c) = pick(None, &["postgres:16", "ducklake-stress/postgres"]) else {
            panic!("present")
        };
        assert_eq!(c.image, "postgres:16");
    }

    #[test]
    fn the_projects_image_stands_in_for_a_missing_registry_image() {
        let Pick::Present(c) = pick(None, &["ducklake-stress/postgres"]) else {
            panic!("present")
        };
        assert_eq!(c.image, "ducklake-stress/postgres");
        assert!(c.reason.contains("postgres:16 is not on this engine"), "{}", c.reason);
    }

    #[test]
    fn neither_image_means_pulling_the_registry_one() {
        assert_eq!(
            pick(None, &[]),
            Pick::Pull(Chosen {
                image: "postgres:16".into(),
                reason: "the default image, pulled".into()
            })
        );
    }

    #[test]
    fn the_variable_is_taken_as_given_even_when_another_image_is_there() {
        let reason = "from DLS_POSTGRES_IMAGE".to_string();
        assert_eq!(
            pick(Some("my/pg:15"), &["postgres:16"]),
            Pick::Pull(Chosen {
                image: "my/pg:15".into(),
                reason: reason.clone()
            })
        );
        assert_eq!(
            pick(Some("my/pg:15"), &["my/pg:15"]),
            Pick::Present(Chosen {
                image: "my/pg:15".into(),
                reason
            })
        );
    }
}

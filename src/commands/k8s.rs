//! `k8s`: prints the Kubernetes manifests of a run whose writers are spread over worker
//! pods (see `deploy::k8s`). Everything a pod would only find out at run time (a lake the
//! pods cannot share, extension files on this machine, an env.json it cannot read) is
//! refused here, before anything reaches the cluster.

use crate::cli::K8sArgs;
use crate::deploy::k8s::{base_name, Deployment};
use crate::environment::EnvFile;
use crate::error::{bad_input, exit_code};
use crate::scenario::{CatalogKind, DataStore, Scenario};

pub fn k8s(args: K8sArgs) -> anyhow::Result<i32> {
    let (text, scenario) = crate::scenario::load_text_with(&args.scenario, &args.set)?;
    let origin = args.scenario.display().to_string();
    shareable(&scenario, &origin, args.workers)?;
    let mut env = EnvFile::read(&args.env_file)?;
    // Pids and scratch directories of services `env up` started here mean nothing in a pod.
    env.native = None;
    if scenario.lake.data == DataStore::S3 && env.s3.is_none() {
        return Err(bad_input(format!(
            "{}: has no `s3` section, but {origin} keeps its data on S3; the pods need the \
            bucket's endpoint and keys as they reach them.",
            args.env_file.display()
        )));
    }
    let name = match &args.name {
        Some(n) => dns_label("--name", n, 63 - "-coordinator".len())?,
        None => base_name(&scenario.name),
    };
    if let Some(ns) = &args.namespace {
        dns_label("--namespace", ns, 63)?;
    }
    let token = args.token.clone().unwrap_or_else(|| crate::util::ids::random_hex(16));
    let deployment = Deployment {
        name,
        namespace: args.namespace.as_deref(),
        image: &args.image,
        workers: args.workers,
        scenario_text: &text,
        env_json: &serde_json::to_string_pretty(&env)?,
        token: &token,
        deadline_secs: scenario.run.deadline.as_secs(),
        results_claim: args.results_claim.as_deref(),
    };
    let yaml = deployment.to_yaml()?;
    match &args.out {
        // The Secret holds passwords: the file is the user's alone.
        Some(path) => {
            crate::util::write_atomically_with_mode(path, yaml.as_bytes(), 0o600)?;
            eprintln!(
                "wrote {} ({} worker pods, {} writers); apply it with: kubectl apply -f {}",
                path.display(),
                args.workers,
                scenario.run.writers,
                path.display()
            );
        }
        None => print!("{yaml}"),
    }
    Ok(exit_code::PASS)
}

/// A lake every pod can write: a Postgres catalog, data on S3, extensions from the image.
fn shareable(scenario: &Scenario, origin: &str, workers: u32) -> anyhow::Result<()> {
    if scenario.lake.catalog != CatalogKind::Postgres {
        return Err(bad_input(format!(
            "{origin}: lake.catalog = \"{}\" is a file on one machine; pods on other nodes \
            cannot share it. Use catalog = \"postgres\" for a run on Kubernetes.",
            scenario.lake.catalog.name()
        )));
    }
    if scenario.lake.data != DataStore::S3 {
        return Err(bad_input(format!(
            "{origin}: lake.data = \"local\" is a directory on one machine; pods on other \
            nodes cannot share it. Use data = \"s3\" for a run on Kubernetes."
        )));
    }
    if !scenario.lake.extension_files.is_empty() {
        let names: Vec<&String> = scenario.lake.extension_files.keys().collect();
        return Err(bad_input(format!(
            "{origin}: [lake] extensions loads {names:?} from files on this machine, which \
            the pods do not have. Build an image with those files in its extension directory \
            (DUCKLAKE_STRESS_EXTENSION_DIR) and drop the setting."
        )));
    }
    if workers > scenario.run.writers {
        return Err(bad_input(format!(
            "--workers {workers} is more than the scenario's {} writers (run.writers in \
            {origin}): some pods would have nothing to do. Give at most {} workers, or more writers (--set \
            run.writers=N).",
            scenario.run.writers, scenario.run.writers
        )));
    }
    Ok(())
}

/// `value` if it is a DNS-1123 label of at most `max` characters, which Kubernetes names
/// must be.
fn dns_label(flag: &str, value: &str, max: usize) -> anyhow::Result<String> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && value.as_bytes()[0].is_ascii_lowercase()
        && !value.ends_with('-');
    if !ok {
        return Err(bad_input(format!(
            "{flag} {value:?} is not a Kubernetes name: use at most {max} lowercase letters, \
            digits and '-', starting with a letter and not ending with '-'."
        )));
    }
    Ok(value.to_string())
}

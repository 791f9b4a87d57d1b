//! Kubernetes manifests for a run whose writers are spread over a cluster: the same
//! coordinator and workers as `run --coordinate` / `worker --coordinator` on one machine,
//! packaged as
//! - a Secret with the env.json (the cluster's catalog and S3 as the pods see them) and the
//!   run's token (workers without it are refused);
//! - a ConfigMap with the scenario's text (overrides already applied);
//! - the coordinator as a Job (one pod that runs the checks and writes the report) and a
//!   Service in front of it, so workers find it by name whatever node it lands on;
//! - the workers as an Indexed Job (`completions = parallelism = workers`).
//!
//! No pod is ever restarted by Kubernetes (`backoffLimit: 0`, `restartPolicy: Never`): a
//! writer that dies is a finding for the run to report, not something to paper over, and a
//! restarted worker would reuse commit tags. Both Jobs carry `activeDeadlineSeconds` so a
//! stuck run ends on the cluster too, a little after the scenario's own deadline.

use serde_json::{json, Value};

/// The coordinator's port (inside the cluster only).
pub const PORT: u16 = 7878;
/// Kubernetes names are at most 63 characters; the longest suffix added is "-coordinator".
const MAX_BASE_NAME: usize = 63 - "-coordinator".len();
/// Set-up (image pull, ATTACH, waiting for every worker) and the checks after the run,
/// on top of the scenario's deadline, before Kubernetes ends the pods.
const SETUP_AND_CHECKS_SECS: u64 = 600;

/// What the manifests are made of.
pub struct Deployment<'a> {
    /// Base of every object's name (DNS-1123 label; see `base_name`).
    pub name: String,
    pub namespace: Option<&'a str>,
    pub image: &'a str,
    pub workers: u32,
    pub scenario_text: &'a str,
    pub env_json: &'a str,
    pub token: &'a str,
    /// The scenario's deadline: no run lasts longer.
    pub deadline_secs: u64,
    /// A PersistentVolumeClaim for the coordinator's results (else an emptyDir: the report
    /// is then only in the pod's log).
    pub results_claim: Option<&'a str>,
}

/// A DNS-1123 label from a scenario name: lowercase letters, digits and '-', starting with
/// a letter, short enough for every suffix.
pub fn base_name(scenario_name: &str) -> String {
    let mut name = String::from("dls-");
    for c in scenario_name.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    name.truncate(MAX_BASE_NAME);
    name.trim_end_matches('-').to_string()
}

impl Deployment<'_> {
    /// Every object, in the order `kubectl apply -f` should create them.
    pub fn objects(&self) -> Vec<Value> {
        vec![
            self.secret(),
            self.config_map(),
            self.service(),
            self.coordinator_job(),
            self.workers_job(),
        ]
    }

    /// The objects as one YAML stream (documents separated by `---`).
    pub fn to_yaml(&self) -> anyhow::Result<String> {
        let mut out = String::from(
            "# ducklake-stress on Kubernetes: kubectl apply -f this file; the report is in \
            the\n# coordinator's log (kubectl logs job/NAME-coordinator) and under /results.\n",
        );
        for object in self.objects() {
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(&object)?);
        }
        Ok(out)
    }

    fn coordinator_host(&self) -> String {
        match self.namespace {
            Some(ns) => format!("{}-coordinator.{ns}.svc", self.name),
            None => format!("{}-coordinator", self.name),
        }
    }

    fn metadata(&self, name: String, component: Option<&str>) -> Value {
        let mut labels = json!({
            "app.kubernetes.io/name": "ducklake-stress",
            "app.kubernetes.io/instance": self.name,
        });
        if let Some(c) = component {
            labels["app.kubernetes.io/component"] = json!(c);
        }
        let mut meta = json!({ "name": name, "labels": labels });
        if let Some(ns) = self.namespace {
            meta["namespace"] = json!(ns);
        }
        meta
    }

    fn selector(&self, component: &str) -> Value {
        json!({
            "app.kubernetes.io/name": "ducklake-stress",
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/component": component,
        })
    }

    fn secret(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.metadata(format!("{}-env", self.name), None),
            "type": "Opaque",
            "stringData": { "env.json": self.env_json, "token": self.token },
        })
    }

    fn config_map(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.metadata(format!("{}-scenario", self.name), None),
            "data": { "scenario.toml": self.scenario_text },
        })
    }

    fn service(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.metadata(format!("{}-coordinator", self.name), Some("coordinator")),
            "spec": {
                "selector": self.selector("coordinator"),
                "ports": [{ "name": "workers", "port": PORT, "targetPort": PORT, "protocol": "TCP" }],
            },
        })
    }

    fn coordinator_job(&self) -> Value {
        let args = json!([
            "run",
            "/etc/ducklake-stress/scenario/scenario.toml",
            "--env-file",
            "/etc/ducklake-stress/env/env.json",
            "--coordinate",
            format!("0.0.0.0:{PORT}"),
            "--workers",
            self.workers.to_string(),
            "--results-dir",
            "/results",
        ]);
        let results = match self.results_claim {
            Some(claim) => json!({ "name": "results", "persistentVolumeClaim": { "claimName": claim } }),
            None => json!({ "name": "results", "emptyDir": {} }),
        };
        let mut container = self.container("coordinator", args);
        container["ports"] = json!([{ "name": "workers", "containerPort": PORT, "protocol": "TCP" }]);
        container["volumeMounts"] = json!([
            { "name": "scenario", "mountPath": "/etc/ducklake-stress/scenario", "readOnly": true },
            { "name": "env", "mountPath": "/etc/ducklake-stress/env", "readOnly": true },
            { "name": "results", "mountPath": "/results" },
        ]);
        let volumes = json!([
            { "name": "scenario", "configMap": { "name": format!("{}-scenario", self.name) } },
            {
                "name": "env",
                "secret": {
                    "secretName": format!("{}-env", self.name),
                    "items": [{ "key": "env.json", "path": "env.json" }],
                },
            },
            results,
        ]);
        self.job("coordinator", json!({}), container, volumes)
    }

    fn workers_job(&self) -> Value {
        // Worker pods may start long before the coordinator's (image pulls, scheduling):
        // they keep trying for as long as the Job may live.
        let args = json!([
            "worker",
            "--coordinator",
            format!("{}:{PORT}", self.coordinator_host()),
            "--connect-within",
            format!("{}s", self.deadline_secs + SETUP_AND_CHECKS_SECS)
        ]);
        let container = self.container("worker", args);
        let spec = json!({ "completionMode": "Indexed", "completions": self.workers, "parallelism": self.workers });
        self.job("workers", spec, container, json!([]))
    }

    fn container(&self, name: &str, args: Value) -> Value {
        json!({
            "name": name,
            "image": self.image,
            "args": args,
            "env": [
                {
                    "name": "DLS_RUN_TOKEN",
                    "valueFrom": { "secretKeyRef": { "name": format!("{}-env", self.name), "key": "token" } },
                },
                { "name": "DUCKLAKE_STRESS_LOG", "value": "info" },
            ],
        })
    }

    /// A Job of pods that are never retried and end by the run's deadline.
    fn job(&self, component: &str, mut spec: Value, container: Value, volumes: Value) -> Value {
        spec["backoffLimit"] = json!(0);
        spec["activeDeadlineSeconds"] = json!(self.deadline_secs + SETUP_AND_CHECKS_SECS);
        let mut pod_spec = json!({ "restartPolicy": "Never", "containers": [container] });
        if volumes.as_array().is_some_and(|v| !v.is_empty()) {
            pod_spec["volumes"] = volumes;
        }
        spec["template"] = json!({
            "metadata": { "labels": self.selector(component) },
            "spec": pod_spec,
        });
        let name = if component == "coordinator" {
            format!("{}-coordinator", self.name)
        } else {
            format!("{}-{component}", self.name)
        };
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": self.metadata(name, Some(component)),
            "spec": spec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment<'static> {
        Deployment {
            name: base_name("Quick start!"),
            namespace: Some("stress"),
            image: "registry.example/ducklake-stress:1",
            workers: 4,
            scenario_text: "name = \"q\"\n",
            env_json: "{}",
            token: "t0k",
            deadline_secs: 120,
            results_claim: None,
        }
    }

    #[test]
    fn names_are_dns_labels_that_fit_every_suffix() {
        assert_eq!(base_name("Quick start!"), "dls-quick-start");
        let long = base_name(&"x".repeat(200));
        assert!(long.len() + "-coordinator".len() <= 63, "{long}");
        assert_eq!(base_name("a__b--"), "dls-a-b");
    }

    #[test]
    fn workers_find_the_coordinator_through_its_service_and_share_its_token() {
        let objects = deployment().objects();
        let kinds: Vec<&str> = objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["Secret", "ConfigMap", "Service", "Job", "Job"]);
        let (service, coordinator, workers) = (&objects[2], &objects[3], &objects[4]);
        assert_eq!(
            service["spec"]["selector"],
            coordinator["spec"]["template"]["metadata"]["labels"]
        );
        let worker_args = &workers["spec"]["template"]["spec"]["containers"][0]["args"];
        assert_eq!(worker_args[2], format!("dls-quick-start-coordinator.stress.svc:{PORT}"));
        assert_eq!(workers["spec"]["completions"], 4);
        assert_eq!(workers["spec"]["completionMode"], "Indexed");
        let coordinator_args = coordinator["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap();
        let after = |flag: &str| {
            coordinator_args
                .iter()
                .position(|a| a == flag)
                .map(|i| coordinator_args[i + 1].clone())
        };
        assert_eq!(after("--workers"), Some(json!("4")));
        for job in [coordinator, workers] {
            assert_eq!(job["spec"]["backoffLimit"], 0);
            assert_eq!(job["spec"]["activeDeadlineSeconds"], 720);
            let env = &job["spec"]["template"]["spec"]["containers"][0]["env"][0];
            assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "dls-quick-start-env");
        }
        assert_eq!(objects[0]["stringData"]["token"], "t0k");
    }

    #[test]
    fn yaml_is_one_document_per_object() {
        let yaml = deployment().to_yaml().unwrap();
        assert_eq!(yaml.matches("\n---\n").count(), 5, "{yaml}");
    }
}

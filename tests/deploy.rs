//! `ducklake-stress k8s`: the manifests it prints are valid Kubernetes objects, checked by
//! `kubernetes-validate` (PyPI; it carries the API's JSON schemas, so no cluster is needed)
//! in strict mode, which rejects unknown fields. No cluster is reachable here: that the
//! pods then run is shown by the same coordinator and workers in containers
//! (tests/containers.rs), not by this test. Where the validator is missing the test cannot
//! judge and says it skipped (scripts/setup-test.sh installs it).

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// The oldest Kubernetes release the manifests must suit: Indexed Jobs are stable since
/// 1.24; 1.30 is the oldest still in wide use.
const OLDEST_KUBERNETES: &str = "1.30.0";

fn env_json(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("env.json");
    std::fs::write(
        &path,
        r#"{"postgres": {"host": "catalog.db.svc", "port": 5432, "user": "ducklake", "password": "pw", "dbname": "lake"},
            "s3": {"endpoint": "minio.storage.svc:9000", "access_key_id": "k", "secret_access_key": "s", "bucket": "b",
                   "region": "us-east-1", "url_style": "path", "use_ssl": false}}"#,
    )
    .unwrap();
    path
}

fn k8s(scenario: &Path, env: &Path, extra: &[&str]) -> Ran {
    let mut cmd = bin();
    cmd.args(["k8s"])
        .arg(scenario)
        .args([
            "--workers",
            "4",
            "--image",
            "registry.example/ducklake-stress:1.5.5",
            "--env-file",
        ])
        .arg(env)
        .args(extra);
    Ran::from(cmd.output().expect("binary runs"))
}

/// `kubernetes-validate --strict` on `file` for each version: (all valid, what it printed).
fn validate(file: &Path, versions: &[&str]) -> (bool, String) {
    let mut ok = true;
    let mut said = String::new();
    for v in versions {
        let out = Command::new("kubernetes-validate")
            .args(["--strict", "--no-warn", "-k", v])
            .arg(file)
            .output()
            .expect("kubernetes-validate runs");
        ok &= out.status.success();
        said.push_str(&format!(
            "[k8s {v}] {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    (ok, said)
}

#[test]
fn k8s_manifests_are_valid_kubernetes_objects_and_a_broken_one_is_caught() {
    let test = "k8s_manifests_are_valid_kubernetes_objects_and_a_broken_one_is_caught";
    if tool("kubernetes-validate").is_none() {
        return skipped(
            test,
            "kubernetes-validate not installed (PyPI package kubernetes-validate; scripts/setup-test.sh installs it)",
        );
    }
    let dir = tempdir();
    let manifests = dir.path().join("k8s.yaml");
    let ran = k8s(
        &repo().join("scenarios/quickstart.toml"),
        &env_json(dir.path()),
        &[
            "--namespace",
            "stress",
            "--set",
            "run.writers=16",
            "--out",
            manifests.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let yaml = std::fs::read_to_string(&manifests).unwrap();
    for kind in [
        "kind: Secret",
        "kind: ConfigMap",
        "kind: Service",
        "completionMode: Indexed",
        "writers = 16",
    ] {
        assert!(yaml.contains(kind), "{kind} missing from:\n{yaml}");
    }
    let (ok, said) = validate(&manifests, &[OLDEST_KUBERNETES, "1.37.0"]);
    assert!(ok, "the manifests are not valid Kubernetes objects:\n{said}\n{yaml}");
    // The validator judges: one misspelled field (what a typo in the generator would do)
    // must be rejected, or the check above proves nothing.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        yaml.replacen("completionMode: Indexed", "completionMod: Indexed", 1),
    )
    .unwrap();
    let (ok, said) = validate(&broken, &["1.37.0"]);
    assert!(!ok, "kubernetes-validate accepted an unknown field:\n{said}");
}

#[test]
fn k8s_refuses_what_pods_cannot_share_naming_the_setting() {
    let dir = tempdir();
    let env = env_json(dir.path());
    let sqlite = scenario(
        dir.path(),
        "sqlite",
        "name = \"s\"\n[run]\nwriters = 4\nduration = \"2s\"\n[lake]\ncatalog = \"sqlite\"\n",
    );
    let ran = k8s(&sqlite, &env, &[]);
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("lake.catalog = \"sqlite\"") && ran.stderr.contains("catalog = \"postgres\""),
        "{}",
        ran.explain()
    );
    let few = scenario(
        dir.path(),
        "few",
        "name = \"f\"\n[run]\nwriters = 2\nduration = \"2s\"\n",
    );
    let ran = k8s(&few, &env, &[]);
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("--workers 4 is more than the scenario's 2 writers"),
        "{}",
        ran.explain()
    );
    let ran = k8s(
        &repo().join("scenarios/quickstart.toml"),
        &env,
        &["--set", "run.writers=8", "--name", "Bad_Name"],
    );
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("--name \"Bad_Name\" is not a Kubernetes name"),
        "{}",
        ran.explain()
    );
}

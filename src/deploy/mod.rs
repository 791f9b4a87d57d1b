//! Running the harness elsewhere than this machine: manifests for a Kubernetes cluster
//! (`ducklake-stress k8s`), whose pods run the same coordinator and workers as
//! `run --coordinate` and `worker --coordinator`.

pub mod k8s;

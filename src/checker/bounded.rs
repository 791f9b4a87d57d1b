//! Running all checks within a time limit, from a run or from `ducklake-stress check`.
//! Checks can block where no timeout reaches (DuckDB scanning through a catalog table
//! someone holds locked), so they run on a thread of their own; checks that did not finish
//! in time become `error` results and the caller still writes its report.

use super::{fill_missing, run_all_into, CheckContext, CheckResult, CheckStatus, RunFacts};
use crate::environment::EnvFile;
use crate::lake::{self, LakeTarget};
use crate::scenario::ChecksSpec;
use crate::util::deadline::run_with_deadline;
use crate::util::LockExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct CheckRequest {
    pub target: Arc<LakeTarget>,
    pub catalog: Arc<tokio_postgres::Client>,
    pub endpoints: EnvFile,
    pub table: String,
    pub run: Option<RunFacts>,
    pub thresholds: ChecksSpec,
    /// application_name of the checker's own DuckDB instance.
    pub application_name: String,
    /// Further application_name prefixes of the harness's own sessions.
    pub own_sessions: Vec<String>,
}

pub fn run_within(request: CheckRequest, limit: Duration) -> Vec<CheckResult> {
    let done = Arc::new(Mutex::new(Vec::new()));
    let sink = done.clone();
    let outcome = run_with_deadline("the checks", limit, move || {
        let r = request;
        let lake = lake::open(&r.target, &r.application_name, None)?;
        let metadata = if r.target.catalog.is_postgres() {
            None
        } else {
            Some(super::context::open_metadata(&lake)?)
        };
        let mut own = r.own_sessions.clone();
        own.push(r.application_name.clone());
        let ctx = CheckContext {
            lake: &lake,
            catalog: &r.catalog,
            catalog_kind: r.target.catalog,
            metadata: metadata.as_ref(),
            env: &r.endpoints,
            table: &r.table,
            run: r.run.as_ref(),
            thresholds: &r.thresholds,
            own_sessions: own,
        };
        run_all_into(&ctx, &sink);
        Ok(())
    });
    let finished = done.locked().clone();
    match outcome {
        Ok(()) => finished,
        Err(e) => fill_missing(finished, CheckStatus::Error, &format!("{e:#}")),
    }
}

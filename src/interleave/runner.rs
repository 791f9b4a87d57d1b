//! One permutation from a fresh lake to its verdict: set-up, the sessions, the steps in
//! lock-step, the invariants, the teardown. Every wait is bounded: a step that does not
//! return within `step_timeout` is recorded as blocked and the next one runs (a later step
//! of the same session first waits for it once more); whatever is still running at the end
//! is interrupted, and a session that will not end is left behind, said so, never waited on.

use super::fresh::{FreshLake, Place};
use super::model::{Schedule, SessionKind, SessionSpec};
use super::outcome::{InvariantResult, PermutationResult, StepResult, StepStatus};
use super::process::{ProcessConn, ProcessSpec};
use super::session::{Conn, Done, Returned, Session};
use crate::util::deadline::run_with_deadline;
use std::collections::BTreeSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opening an instance (extensions, ATTACH) or the set-up statements.
const OPEN_LIMIT: Duration = Duration::from_secs(60);
/// After a step returns, how long a blocked step gets to finish "during" it.
const SETTLE: Duration = Duration::from_millis(300);
/// How long interrupted steps and closing sessions get.
const WIND_DOWN: Duration = Duration::from_secs(5);

pub struct Context {
    pub schedule: Schedule,
    pub place: Place,
}

type Mask = Arc<dyn Fn(&str) -> String + Send + Sync>;

pub fn run_permutation(ctx: &Context, p: usize, repeat: u32) -> PermutationResult {
    let t0 = Instant::now();
    let s = &ctx.schedule;
    let order = &s.permutations[p];
    let mut result = PermutationResult {
        index: p + 1,
        repeat,
        order: order.iter().map(|&i| s.steps[i].name.clone()).collect(),
        steps: order
            .iter()
            .map(|&i| StepResult::new(&s.steps[i], &s.sessions[s.steps[i].session].name))
            .collect(),
        invariants: Vec::new(),
        setup_error: None,
        cannot_continue: None,
        mismatches: Vec::new(),
        matched: false,
        seconds: 0.0,
        session_pids: Default::default(),
    };
    match ctx.place.fresh(repeat, p + 1) {
        Ok(lake) => {
            let all_ended = run_on(ctx, &lake, p, repeat, &mut result);
            if all_ended {
                lake.remove();
            }
        }
        Err(e) => result.setup_error = Some(format!("{e:#}")),
    }
    judge(s, order, &mut result);
    result.seconds = t0.elapsed().as_secs_f64();
    result
}

/// Set-up, steps, invariants on `lake`; false when a session had to be left behind.
fn run_on(ctx: &Context, lake: &FreshLake, p: usize, repeat: u32, result: &mut PermutationResult) -> bool {
    let s = &ctx.schedule;
    let app = format!("ducklake-stress/{}/il{repeat}-{}", ctx.place.run_id, p + 1);
    let target = lake.target.clone();
    let mask: Mask = Arc::new(move |t: &str| target.mask_secrets(t));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let sessions = match open_sessions(s, lake, &app, &mask, &done_tx) {
        Ok(sessions) => sessions,
        Err(e) => {
            result.setup_error = Some(format!("{e:#}"));
            return true;
        }
    };
    drop(done_tx);
    result.session_pids = sessions.iter().filter_map(|s| Some((s.name.clone(), s.pid?))).collect();
    let mut run = Lockstep {
        schedule: s,
        order: &s.permutations[p],
        sessions: &sessions,
        done: &done_rx,
        pending: BTreeSet::new(),
        steps: &mut result.steps,
    };
    result.cannot_continue = run.all();
    let (interrupted, stuck) = run.finish();
    if !interrupted.is_empty() && result.cannot_continue.is_none() {
        result.cannot_continue = Some(format!(
            "{} still blocked {} s after the last step, and interrupted",
            interrupted.join(", "),
            s.step_timeout.as_secs_f64()
        ));
    }
    let mut all_ended = true;
    // Direct catalog sessions first: a lock they hold would keep a DuckDB session waiting.
    let (catalog, duckdb): (Vec<_>, Vec<_>) = sessions
        .into_iter()
        .zip(&s.sessions)
        .partition(|(_, spec)| spec.kind == SessionKind::Catalog);
    for (session, _) in catalog.into_iter().chain(duckdb) {
        all_ended &= session.close(WIND_DOWN);
    }
    if stuck {
        all_ended = false;
    }
    result.invariants = invariants(s, lake, &app, &mask);
    all_ended
}

/// The sessions, in file order, each on its own thread; with `shared_instance` the DuckDB
/// ones are connections of one instance. The set-up statements run before any starts.
fn open_sessions(
    s: &Schedule,
    lake: &FreshLake,
    app: &str,
    mask: &Mask,
    done: &std::sync::mpsc::Sender<Done>,
) -> anyhow::Result<Vec<Session>> {
    let shared = if s.shared_instance {
        Some(open_instance(lake, &format!("{app}-shared"))?)
    } else {
        None
    };
    let duckdb = |name: &str| -> anyhow::Result<duckdb::Connection> {
        match &shared {
            Some(c) => c
                .try_clone()
                .map_err(|e| crate::error::environment(format!("cloning a connection failed: {e}"))),
            None => open_instance(lake, &format!("{app}-{name}")),
        }
    };
    let setup = duckdb("setup")?;
    let statements = s.setup.clone();
    run_with_deadline("the schedule's set-up", OPEN_LIMIT, move || {
        for sql in &statements {
            setup
                .execute_batch(sql)
                .map_err(|e| crate::error::bad_input(format!("[setup] statement `{sql}` failed: {e}")))?;
        }
        Ok(())
    })?;
    let mut out = Vec::new();
    for spec in &s.sessions {
        let conn = match spec.kind {
            SessionKind::Duckdb if spec.process => Conn::Process(process_session(lake, spec, app, mask)?),
            SessionKind::Duckdb => Conn::Duckdb(duckdb(&spec.name)?),
            SessionKind::Catalog => Conn::Postgres(catalog_session(lake, &format!("{app}-{}", spec.name), &spec.name)?),
        };
        // A process session ran its connect statements as it started.
        for sql in spec.connect_sql.iter().filter(|_| !spec.process) {
            if let Returned::Error { message, .. } = conn.run(sql, &**mask) {
                return Err(crate::error::bad_input(format!(
                    "session {}: its connect statement `{sql}` failed: {message}",
                    spec.name
                )));
            }
        }
        out.push(Session::start(&spec.name, conn, done.clone(), mask.clone())?);
    }
    Ok(out)
}

/// A session's instance in a child process of its own, connect statements run.
fn process_session(lake: &FreshLake, spec: &SessionSpec, app: &str, mask: &Mask) -> anyhow::Result<ProcessConn> {
    let process = ProcessSpec {
        session: spec.name.clone(),
        target: (*lake.target).clone(),
        application_name: format!("{app}-{}", spec.name),
        attach_options: lake.attach_options.clone(),
        connect_sql: spec.connect_sql.clone(),
    };
    ProcessConn::start(&process, OPEN_LIMIT, &**mask)
}

fn open_instance(lake: &FreshLake, app: &str) -> anyhow::Result<duckdb::Connection> {
    let (target, app, options) = (lake.target.clone(), app.to_string(), lake.attach_options.clone());
    run_with_deadline("attaching the lake", OPEN_LIMIT, move || {
        crate::lake::open_with(&target, &app, None, &options)
    })
}

fn catalog_session(lake: &FreshLake, app: &str, name: &str) -> anyhow::Result<tokio_postgres::Client> {
    let Some(schema) = &lake.pg_schema else {
        return Err(crate::error::bad_input(format!(
            "session {name} has kind = \"catalog\", a direct connection to the Postgres catalog, but this lake's \
            catalog is a {} file: run the schedule with lake.catalog = \"postgres\".",
            lake.target.catalog.name()
        )));
    };
    crate::runtime::block_on(async {
        let client = crate::environment::pg::connect(&lake.target.env.postgres, None, app).await?;
        let sql = format!("SET search_path TO \"{schema}\"");
        tokio::time::timeout(Duration::from_secs(10), client.batch_execute(&sql)).await??;
        Ok(client)
    })
}

/// The steps of one permutation in lock-step.
struct Lockstep<'a> {
    schedule: &'a Schedule,
    order: &'a [usize],
    sessions: &'a [Session],
    done: &'a Receiver<Done>,
    /// Positions sent and not returned yet.
    pending: BTreeSet<usize>,
    steps: &'a mut Vec<StepResult>,
}

impl Lockstep<'_> {
    fn session_of(&self, pos: usize) -> usize {
        self.schedule.steps[self.order[pos]].session
    }

    /// Runs every step; returns why the schedule could not go on, if it could not.
    fn all(&mut self) -> Option<String> {
        let timeout = self.schedule.step_timeout;
        for pos in 0..self.order.len() {
            let session = self.session_of(pos);
            let name = self.steps[pos].name.clone();
            // A session runs one statement at a time: its blocked step must end first.
            let waiting: Vec<usize> = self
                .pending
                .iter()
                .copied()
                .filter(|&q| self.session_of(q) == session)
                .collect();
            if !waiting.is_empty() {
                self.wait_for(&waiting, timeout, &name);
                if let Some(&q) = self.pending.iter().find(|&&q| self.session_of(q) == session) {
                    return Some(format!(
                        "step {} of session {} was still blocked when its next step {name} was due ({} s later); \
                            the remaining steps did not run",
                        self.steps[q].name,
                        self.sessions[session].name,
                        timeout.as_secs_f64() * 2.0
                    ));
                }
            }
            if let Err(e) = self.sessions[session].send(pos, &self.schedule.steps[self.order[pos]].sql) {
                return Some(format!("{e:#}"));
            }
            self.pending.insert(pos);
            self.wait_for(&[pos], timeout, &name);
            if self.pending.contains(&pos) {
                self.steps[pos].blocked = true;
            } else if !self.pending.is_empty() {
                let others: Vec<usize> = self.pending.iter().copied().collect();
                self.wait_for(&others, SETTLE, &name);
            }
        }
        None
    }

    /// Waits until every position in `positions` returned or `limit` passed, recording
    /// whatever returns meanwhile (a blocked step, as finished during `during`).
    fn wait_for(&mut self, positions: &[usize], limit: Duration, during: &str) {
        let until = Instant::now() + limit;
        while positions.iter().any(|p| self.pending.contains(p)) {
            let left = until.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(left) {
                Ok(d) => self.record(d, during),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn record(&mut self, d: Done, during: &str) {
        self.pending.remove(&d.step);
        let step = &mut self.steps[d.step];
        step.record(d.returned, d.millis);
        if step.blocked {
            step.completed_during = Some(during.to_string());
        }
    }

    /// Gives blocked steps a last `step_timeout`, then interrupts what is left. Returns the
    /// steps interrupted, and whether any never returned even then.
    fn finish(&mut self) -> (Vec<String>, bool) {
        let left: Vec<usize> = self.pending.iter().copied().collect();
        self.wait_for(&left, self.schedule.step_timeout, "the end of the permutation");
        if self.pending.is_empty() {
            return (Vec::new(), false);
        }
        let interrupted = self.pending.iter().map(|&p| self.steps[p].name.clone()).collect();
        for &pos in &self.pending {
            self.steps[pos].status = StepStatus::Stuck;
            self.sessions[self.session_of(pos)].interrupt();
        }
        // What the interrupt ended is still recorded (as an interrupted error), not stuck.
        let left: Vec<usize> = self.pending.iter().copied().collect();
        self.wait_for(&left, WIND_DOWN, "the interrupt at the end");
        (interrupted, !self.pending.is_empty())
    }
}

/// The invariants, on a fresh instance of the same lake.
fn invariants(s: &Schedule, lake: &FreshLake, app: &str, mask: &Mask) -> Vec<InvariantResult> {
    if s.invariants.is_empty() {
        return Vec::new();
    }
    let conn = match open_instance(lake, &format!("{app}-invariants")) {
        Ok(c) => c,
        Err(e) => {
            let e = format!("{e:#}");
            return s
                .invariants
                .iter()
                .map(|i| InvariantResult::from(i, Err(e.clone())))
                .collect();
        }
    };
    let (specs, mask) = (s.invariants.clone(), mask.clone());
    let conn = Conn::Duckdb(conn);
    let ran = run_with_deadline("the invariants", OPEN_LIMIT, move || {
        Ok(specs.iter().map(|i| conn.run(&i.sql, &*mask)).collect::<Vec<_>>())
    });
    match ran {
        Ok(returned) => s
            .invariants
            .iter()
            .zip(returned)
            .map(|(i, r)| InvariantResult::from(i, Ok(r)))
            .collect(),
        Err(e) => {
            let e = format!("{e:#}");
            s.invariants
                .iter()
                .map(|i| InvariantResult::from(i, Err(e.clone())))
                .collect()
        }
    }
}

fn judge(s: &Schedule, order: &[usize], result: &mut PermutationResult) {
    let mut mismatches = Vec::new();
    if let Some(e) = &result.setup_error {
        mismatches.push(format!("set-up failed: {e}"));
    }
    if let Some(e) = &result.cannot_continue {
        mismatches.push(format!("the schedule could not go on: {e}"));
    }
    if result.setup_error.is_none() {
        for (pos, &i) in order.iter().enumerate() {
            if let Some(why) = result.steps[pos].judge(&s.steps[i]) {
                mismatches.push(why);
            }
            if result.steps[pos].status == StepStatus::Stuck && !s.steps[i].has_expectation() {
                mismatches.push(format!("step {} never returned", result.steps[pos].name));
            }
        }
    }
    for inv in &result.invariants {
        if !inv.matched {
            mismatches.push(match (&inv.error, inv.expect_rows) {
                (Some(e), _) => format!("invariant {} failed: {e}", inv.name),
                (None, n) => format!(
                    "invariant {}: expected {} rows, got {}",
                    inv.name,
                    n.unwrap_or(0),
                    inv.rows.unwrap_or(0)
                ),
            });
        }
    }
    result.matched = mismatches.is_empty();
    result.mismatches = mismatches;
}

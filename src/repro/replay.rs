//! The chosen transactions as an interleaving schedule. Their SQL is rebuilt from the
//! workload's generator ((run, writer, transaction) decide it), one step per statement.
//! The history has one invoke and one complete time per attempt, not one per statement, so
//! BEGIN and the statements are placed at the attempt's invoke and COMMIT at its complete:
//! every transaction did all its writing before any COMMIT that completed after it began.

use super::finding::{Finding, Seen};
use crate::interleave::model::{Schedule, ScheduleLake, SessionKind, SessionSpec, StepSpec};
use crate::report::Report;
use crate::workload::WorkloadSpec;
use std::time::Duration;

/// A step that does not return within this is *blocked* (the runner goes on).
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// One transaction to replay: its statements between BEGIN and COMMIT, and when the history
/// saw it begin and end.
#[derive(Debug, Clone)]
pub struct TxnPlan {
    pub writer: u32,
    pub txn: u64,
    /// Every statement the transaction makes of its rows, as the workload writes it.
    pub generated: Vec<String>,
    /// Which of `generated` it runs, in order: shrinking drops the others.
    pub kept: Vec<usize>,
    /// Which of its rows it writes (positions among them): shrinking drops the others.
    /// None: all of them, the workload cannot write a subset.
    pub rows: Option<Vec<usize>>,
    pub begin_at: f64,
    pub commit_at: f64,
}

impl TxnPlan {
    /// The transaction whole: every statement, every row.
    pub fn new(writer: u32, txn: u64, generated: Vec<String>, begin_at: f64, commit_at: f64) -> Self {
        TxnPlan {
            writer,
            txn,
            kept: (0..generated.len()).collect(),
            generated,
            rows: None,
            begin_at,
            commit_at,
        }
    }

    /// The statements it runs between BEGIN and COMMIT.
    pub fn statements(&self) -> impl Iterator<Item = &String> {
        self.kept.iter().filter_map(|&i| self.generated.get(i))
    }
}

/// Rebuilds a transaction's statements from (run, writer, transaction) with the run's
/// workload: whole, or for a subset of its rows where the workload can.
pub struct Rows {
    generator: Box<dyn crate::workload::Generator>,
    run_id: String,
    workload: &'static str,
}

impl Rows {
    pub fn new(spec: &WorkloadSpec, table: &str, run_id: &str) -> Self {
        Rows {
            generator: crate::workload::generator(spec, table),
            run_id: run_id.to_string(),
            workload: spec.kind.name(),
        }
    }

    /// `plan` writing only the rows at `rows`, its kept statements kept; None: the workload
    /// cannot, or that leaves no row or a different number of statements.
    pub fn with_rows(&self, plan: &TxnPlan, rows: &[usize]) -> Option<TxnPlan> {
        let sql = self.generator.txn_sql_rows(&self.run_id, plan.writer, plan.txn, rows)?;
        let generated = crate::util::split_statements(&sql);
        (generated.len() == plan.generated.len()).then(|| TxnPlan {
            generated,
            rows: Some(rows.to_vec()),
            ..plan.clone()
        })
    }

    /// Every row position of `plan`'s transaction, if the workload can write a subset.
    fn all(&self, plan: &TxnPlan) -> Option<Vec<usize>> {
        let n = self.generator.rows_for(plan.writer) as usize;
        let all: Vec<usize> = (0..n).collect();
        self.generator
            .txn_sql_rows(&self.run_id, plan.writer, plan.txn, &all)
            .map(|_| all)
    }
}

/// What every schedule of one reproducer shares: the lake, the sessions' settings, the
/// table's set-up and the invariant.
#[derive(Debug, Clone)]
pub struct Base {
    pub name: String,
    pub description: String,
    pub lake: ScheduleLake,
    pub connect_sql: Vec<String>,
    pub setup: Vec<String>,
    pub finding_invariants: Vec<crate::interleave::model::InvariantSpec>,
    /// Transactions whose COMMIT step expects `ok` (see `Finding::must_commit`).
    pub must_commit: std::collections::BTreeSet<(u32, u64)>,
}

/// Each chosen transaction's statements, rebuilt by the run's workload.
pub fn plans(finding: &Finding, rows: &Rows) -> anyhow::Result<Vec<TxnPlan>> {
    finding
        .txns
        .iter()
        .map(|s: &Seen| {
            let sql = rows.generator.txn_sql(&rows.run_id, s.writer, s.txn);
            let statements = crate::util::split_statements(&sql);
            if statements.is_empty() {
                return Err(crate::error::bad_input(format!(
                    "the {} workload does not rebuild its SQL from (run, writer, transaction), so w{} t{} \
                    cannot be replayed.",
                    rows.workload, s.writer, s.txn
                )));
            }
            let mut plan = TxnPlan::new(
                s.writer,
                s.txn,
                statements,
                s.invoke_at,
                s.complete_at.unwrap_or(f64::MAX),
            );
            plan.rows = rows.all(&plan);
            Ok(plan)
        })
        .collect()
}

/// The run's lake, its writers' settings, the table as the run made it before the writers
/// started.
pub fn base(report: &Report, finding: &Finding, run_id: &str) -> Base {
    let s = &report.scenario;
    let r = &s.retry.ducklake;
    let mut connect_sql = vec![
        format!("SET ducklake_max_retry_count = {}", r.max_retry_count),
        format!("SET ducklake_retry_wait_ms = {}", r.retry_wait_ms),
        format!("SET ducklake_retry_backoff = {}", r.retry_backoff),
    ];
    connect_sql.extend(s.client.settings.iter().map(|(k, v)| format!("SET {k} = {v}")));
    connect_sql.extend(s.workload.kind.connect_sql(&s.workload));
    let table = &s.lake.table;
    // The user's own tables (the sql workload) are made by its set-up, the seed below.
    let mut setup: Vec<String> = (s.workload.kind.table() != crate::workload::Table::Own)
        .then(|| crate::workload::create_sql(&s.workload, table))
        .into_iter()
        .collect();
    if let Some(n) = s.lake.table_data_inlining_row_limit {
        setup.push(crate::util::lake_table::inlining_limit_sql(table, n));
    }
    setup.extend(crate::workload::seed_sql(&s.workload, table, run_id));
    Base {
        name: format!("repro-{}", s.name),
        description: format!(
            "Replay of run {run_id} ({}): check {} failed: {}",
            s.name, finding.check, finding.summary
        ),
        lake: ScheduleLake {
            catalog: s.lake.catalog,
            data: s.lake.data,
            data_inlining_row_limit: s.lake.data_inlining_row_limit,
            extension_files: s.lake.extension_files.clone(),
        },
        connect_sql,
        setup,
        finding_invariants: finding.invariants.clone(),
        must_commit: finding.must_commit.clone(),
    }
}

/// The session of a writer.
pub fn session_name(writer: u32) -> String {
    format!("w{writer}")
}

/// The schedule replaying `plans`: one session per writer, one permutation, the steps in
/// the order the history saw them (see the module's doc).
pub fn schedule(base: &Base, plans: &[TxnPlan]) -> Schedule {
    let mut writers: Vec<u32> = plans.iter().map(|p| p.writer).collect();
    writers.sort_unstable();
    writers.dedup();
    let sessions = writers
        .iter()
        .map(|&w| SessionSpec {
            name: session_name(w),
            kind: SessionKind::Duckdb,
            connect_sql: base.connect_sql.clone(),
            process: false,
        })
        .collect();
    // (time, writer, txn, position in the transaction) orders every step; a transaction's
    // own steps keep their order, and a writer's transactions follow one another.
    let mut timed: Vec<((f64, u32, u64, usize), StepSpec)> = Vec::new();
    for p in plans {
        let session = writers.binary_search(&p.writer).unwrap_or_default();
        let prefix = format!("w{}_t{}", p.writer, p.txn);
        let step = |name: String, sql: &str| StepSpec {
            name,
            session,
            sql: sql.to_string(),
            expect: None,
            expect_rows: None,
            expect_blocked: None,
        };
        timed.push((
            (p.begin_at, p.writer, p.txn, 0),
            step(format!("{prefix}_begin"), "BEGIN"),
        ));
        for (i, sql) in p.statements().enumerate() {
            timed.push((
                (p.begin_at, p.writer, p.txn, i + 1),
                step(format!("{prefix}_q{}", i + 1), sql),
            ));
        }
        let mut commit = step(format!("{prefix}_commit"), "COMMIT");
        if base.must_commit.contains(&(p.writer, p.txn)) {
            commit.expect = Some(crate::interleave::model::Expect::Ok);
        }
        timed.push(((p.commit_at, p.writer, p.txn, usize::MAX), commit));
    }
    timed.sort_by(|(a, _), (b, _)| a.0.total_cmp(&b.0).then((a.1, a.2, a.3).cmp(&(b.1, b.2, b.3))));
    // Steps in file order per session (the runner's sessions run their steps in that order).
    let steps: Vec<StepSpec> = timed.into_iter().map(|(_, s)| s).collect();
    Schedule {
        name: base.name.clone(),
        description: Some(base.description.clone()),
        rule: None,
        source: None,
        known: None,
        lake: base.lake.clone(),
        shared_instance: base.lake.catalog == crate::scenario::CatalogKind::Duckdb,
        sessions,
        setup: base.setup.clone(),
        permutations: vec![(0..steps.len()).collect()],
        steps,
        all_permutations: false,
        step_timeout: STEP_TIMEOUT,
        invariants: base.finding_invariants.clone(),
    }
}

/// The same transactions one after another, in the order they committed: what the check
/// would accept. A candidate whose serial run fails the invariant too shows no race (two
/// plain INSERTs of a key duplicate it however they are ordered), so shrinking refuses it.
pub fn serial(base: &Base, plans: &[TxnPlan]) -> Schedule {
    let one_by_one: Vec<TxnPlan> = plans
        .iter()
        .map(|p| TxnPlan {
            begin_at: p.commit_at,
            ..p.clone()
        })
        .collect();
    let mut s = schedule(base, &one_by_one);
    s.name = format!("{}-serial", base.name);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_the_history_begin_and_statements_at_invoke_commit_at_complete() {
        let plan = |writer, begin_at, commit_at| {
            TxnPlan::new(writer, 0, vec!["DELETE".into(), "INSERT".into()], begin_at, commit_at)
        };
        let base = Base {
            name: "r".into(),
            description: "d".into(),
            lake: ScheduleLake {
                catalog: crate::scenario::CatalogKind::Postgres,
                data: crate::scenario::DataStore::Local,
                data_inlining_row_limit: None,
                extension_files: Default::default(),
            },
            connect_sql: vec![],
            setup: vec![],
            finding_invariants: vec![crate::interleave::model::InvariantSpec {
                name: "i".into(),
                sql: "SELECT 1".into(),
                expect_rows: Some(0),
            }],
            must_commit: [(1, 0)].into(),
        };
        let s = schedule(&base, &[plan(2, 0.01, 0.5), plan(1, 0.02, 0.4)]);
        let names: Vec<&str> = s.permutations[0].iter().map(|&i| s.steps[i].name.as_str()).collect();
        assert_eq!(
            names,
            [
                "w2_t0_begin",
                "w2_t0_q1",
                "w2_t0_q2",
                "w1_t0_begin",
                "w1_t0_q1",
                "w1_t0_q2",
                "w1_t0_commit",
                "w2_t0_commit"
            ]
        );
        assert_eq!(s.sessions.len(), 2);
        // w1 t0 must commit for a run to count; w2 t0 may fail.
        let expect = |name: &str| s.steps.iter().find(|x| x.name == name).unwrap().expect;
        assert_eq!(expect("w1_t0_commit"), Some(crate::interleave::model::Expect::Ok));
        assert_eq!(expect("w2_t0_commit"), None);
        assert_eq!(s.sessions[s.steps[0].session].name, "w2");
        let text = crate::interleave::write::to_toml(&s);
        crate::interleave::parse::parse_str(&text, "repro.toml").unwrap();
    }
}

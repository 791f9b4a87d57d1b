//! `repro RUN_DIR` against real Postgres, S3 and DuckLake: an `upsert-empty` run whose
//! `upsert_keys` check found duplicated keys (duckdb/ducklake#1393) shrinks to a schedule of
//! at most 2 sessions, one key each, that fails at least 9 times of 10; the Python script
//! written beside it reproduces the duplicate with DuckDB 1.5.5 from PyPI; the same race
//! written with the `sql` workload replays the user's own statements; a run that passed has
//! nothing to reproduce.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The directory of the first of `tries` runs of `file` whose check `name` ended `status`:
/// the writers of a race may happen to run one after the other, and then nothing breaks.
fn run_until(env: &SharedEnv, results: &Path, file: &Path, (name, status): (&str, &str), tries: u32) -> PathBuf {
    (0..tries)
        .map(|_| run(file, results, &["--env-file", &env.env_arg()]))
        .find(|ran| check(&ran.report(), name) == status)
        .unwrap_or_else(|| panic!("{tries} runs of {} and {name} never {status}", file.display()))
        .run_dir()
}

/// An `upsert-empty` run whose upsert_keys check failed (reported as known).
fn failed_upsert_run(env: &SharedEnv, results: &Path) -> PathBuf {
    let file = repo().join("scenarios/upsert-empty.toml");
    run_until(env, results, &file, ("upsert_keys", "known"), 4)
}

fn repro(run_dir: &Path, env: &SharedEnv) -> Ran {
    Ran::from(
        bin()
            .arg("repro")
            .arg(run_dir)
            .args(["--env-file", &env.env_arg(), "--quiet"])
            .output()
            .unwrap(),
    )
}

/// python3 with the duckdb package at 1.5.5, if this machine has them.
fn python_with_duckdb() -> Option<()> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import duckdb; print(duckdb.__version__)"])
        .output()
        .ok()?;
    (String::from_utf8_lossy(&out.stdout).trim() == "1.5.5").then_some(())
}

#[test]
fn a_failed_upsert_run_shrinks_to_two_sessions_that_fail_nine_of_ten() {
    let env = SharedEnv::up();
    let results = tempdir();
    let run_dir = failed_upsert_run(&env, results.path());
    let ran = repro(&run_dir, &env);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let dir = run_dir.join("repro");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("repro.json")).unwrap()).unwrap();
    assert_eq!(summary["check"], "upsert_keys", "{summary}");
    assert!(summary["before"]["failed"].as_u64().unwrap() >= 1, "{summary}");
    assert!(summary["after"]["failed"].as_u64().unwrap() >= 9, "{summary}");
    assert_eq!(summary["after"]["runs"], 10, "{summary}");
    let schedule = ducklake_stress::interleave::load(&dir.join("repro.toml")).unwrap();
    assert!(schedule.sessions.len() <= 2, "{summary}");
    assert!(
        schedule.steps.len() < summary["original"]["steps"].as_u64().unwrap() as usize,
        "{summary}"
    );
    // Run serially the shrunk transactions must not duplicate a key, so a zero-row DELETE
    // stays in (two bare INSERTs of a key would duplicate it in any order).
    assert!(
        schedule.steps.iter().any(|s| s.sql.starts_with("DELETE")),
        "{:?}",
        schedule.steps
    );
    // Rows shrink too: one key in each transaction is enough to duplicate it.
    let commits = schedule.steps.iter().filter(|s| s.sql == "COMMIT").count();
    assert_eq!(summary["shrunk_rows"], commits, "one row a transaction: {summary}");
    let delete = schedule.steps.iter().find(|s| s.sql.starts_with("DELETE")).unwrap();
    assert!(!delete.sql.contains(','), "one key deleted: {}", delete.sql);
    for f in ["repro.sql", "repro.test", "repro.py"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        // (repro.py carries the SQL as JSON, its quotes escaped)
        assert!(text.contains("DELETE FROM lake."), "{f}:\n{text}");
    }
    let test = std::fs::read_to_string(dir.join("repro.test")).unwrap();
    assert!(
        test.contains("statement ok con1\nBEGIN") && test.contains("statement ok con2\nBEGIN"),
        "{test}"
    );
    // The schedule runs as any interleaving scenario does.
    let again = Ran::from(
        bin()
            .arg("run")
            .arg(dir.join("repro.toml"))
            .args(["--env-file", &env.env_arg(), "--results-dir"])
            .arg(results.path())
            .args(["--repeat", "3", "--quiet"])
            .output()
            .unwrap(),
    );
    assert!(again.stdout.contains("duplicate_keys"), "{}", again.explain());
    if python_with_duckdb().is_none() {
        skipped(
            "a_failed_upsert_run_shrinks…/repro.py",
            "python3 with duckdb 1.5.5 is missing (pip install duckdb==1.5.5)",
        );
        return;
    }
    let dsn = env.endpoints().postgres.conn_string(None, Some("repro-py"));
    for extra in [vec![], vec!["--postgres".to_string(), dsn]] {
        let py = Ran::from(
            std::process::Command::new("python3")
                .arg(dir.join("repro.py"))
                .args(&extra)
                .output()
                .unwrap(),
        );
        assert_eq!(py.code, 1, "repro.py {extra:?} should reproduce: {}", py.explain());
        assert!(py.stdout.contains("REPRODUCED"), "{}", py.explain());
    }
}

/// A pipeline's own upsert, as a newcomer writes it with the `sql` workload: DELETE the keys,
/// INSERT them, and a check that no key is held twice. Four writers on an empty table hit
/// duckdb/ducklake#1393 as upsert-empty does, and `sql_statements` fails.
const SQL_UPSERT: &str = r#"name = "sql-upsert-empty"
[run]
writers = 4
commits_per_writer = 1
deadline = "2m"
[lake]
table = "items"
data_inlining_row_limit = 0
[retry.ducklake]
max_retry_count = 100
[workload]
kind = "sql"
setup = "CREATE TABLE IF NOT EXISTS items (k INTEGER, w INTEGER)"
statements = [
  "DELETE FROM items WHERE k IN (1, 2, 3)",
  "INSERT INTO items SELECT unnest([1, 2, 3]), {writer}",
]
check = "SELECT k FROM items GROUP BY k HAVING count(*) > 1"
expect_rows = 0
[checks]
max_failed_commits = 1000
"#;

/// repro rebuilds the user's own statements (their placeholders rendered, the run's `USE`
/// in every session) and the check query as the invariant, and shrinks them as it does the
/// upsert workload's.
#[test]
fn a_failed_sql_check_replays_the_users_statements_and_shrinks_to_two_sessions() {
    let env = SharedEnv::up();
    let results = tempdir();
    let file = scenario(results.path(), "sql-upsert-empty", SQL_UPSERT);
    let run_dir = run_until(&env, results.path(), &file, ("sql_statements", "fail"), 4);
    let ran = repro(&run_dir, &env);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let dir = run_dir.join("repro");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("repro.json")).unwrap()).unwrap();
    assert_eq!(summary["check"], "sql_statements", "{summary}");
    assert!(summary["after"]["failed"].as_u64().unwrap() >= 9, "{summary}");
    let schedule = ducklake_stress::interleave::load(&dir.join("repro.toml")).unwrap();
    assert!(schedule.sessions.len() <= 2, "{summary}");
    assert!(
        schedule
            .sessions
            .iter()
            .all(|s| s.connect_sql.iter().any(|q| q == "USE lake.\"main\"")),
        "{:?}",
        schedule.sessions
    );
    let sql: Vec<&str> = schedule.steps.iter().map(|s| s.sql.as_str()).collect();
    assert!(sql.contains(&"DELETE FROM items WHERE k IN (1, 2, 3)"), "{sql:?}");
    assert!(
        sql.iter()
            .any(|q| q.starts_with("INSERT INTO items SELECT unnest([1, 2, 3]), ")),
        "{sql:?}"
    );
    assert_eq!(
        schedule.invariants.len(),
        1,
        "one check query, the same for every transaction"
    );
    assert!(schedule.invariants[0]
        .sql
        .ends_with("SELECT k FROM items GROUP BY k HAVING count(*) > 1"));
    if python_with_duckdb().is_some() {
        let py = Ran::from(
            std::process::Command::new("python3")
                .arg(dir.join("repro.py"))
                .output()
                .unwrap(),
        );
        assert_eq!(py.code, 1, "repro.py should reproduce: {}", py.explain());
    }
}

/// A check that a later transaction makes false (its own rows, which the next upsert of the
/// keys deletes) fails run one after another too: repro says it needs no race and does not
/// shrink; the transactions it judges must commit (their COMMITs expect `ok`).
#[test]
fn a_check_that_fails_serially_too_is_said_to_need_no_race() {
    let env = SharedEnv::up();
    let results = tempdir();
    let toml = SQL_UPSERT
        .replace("name = \"sql-upsert-empty\"", "name = \"sql-own-rows\"")
        .replace(
            "writers = 4\ncommits_per_writer = 1",
            "writers = 2\ncommits_per_writer = 2",
        )
        .replace("(k INTEGER, w INTEGER)", "(k INTEGER, w INTEGER, t BIGINT)")
        .replace("{writer}\"", "{writer}, {txn}\"")
        .replace(
            "SELECT k FROM items GROUP BY k HAVING count(*) > 1\"\nexpect_rows = 0",
            "SELECT * FROM items WHERE w = {writer} AND t = {txn}\"\nexpect_rows = 3",
        );
    let file = scenario(results.path(), "sql-own-rows", &toml);
    // A later upsert deletes the rows an earlier one checks.
    let run_dir = run_until(&env, results.path(), &file, ("sql_statements", "fail"), 3);
    let ran = repro(&run_dir, &env);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(ran.stdout.contains("it needs no race"), "{}", ran.explain());
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("repro/repro.json")).unwrap()).unwrap();
    assert!(summary["after"].is_null(), "not shrunk: {summary}");
    let schedule = ducklake_stress::interleave::load(&run_dir.join("repro/repro.toml")).unwrap();
    assert!(
        schedule.invariants.len() >= 2,
        "a check query per judged transaction: {:?}",
        schedule.invariants
    );
    let must_commit = schedule
        .steps
        .iter()
        .filter(|s| s.sql == "COMMIT" && s.expect.is_some())
        .count();
    assert_eq!(must_commit, schedule.invariants.len(), "{:?}", schedule.steps);
}

#[test]
fn a_run_that_passed_has_nothing_to_reproduce() {
    let env = SharedEnv::up();
    let results = tempdir();
    let scenario = scenario(
        results.path(),
        "passes",
        &append_toml("passes", 2, 2, "repro_passes", ""),
    );
    let ran = run(&scenario, results.path(), &["--env-file", &env.env_arg()]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let run_dir = ran.run_dir();
    let out = repro(&run_dir, &env);
    assert_eq!(out.code, 0, "{}", out.explain());
    assert!(out.stdout.contains("nothing to reproduce"), "{}", out.explain());
    assert!(!run_dir.join("repro").exists());
    let missing = repro(&results.path().join("no-such-run"), &env);
    assert_eq!(missing.code, 2, "{}", missing.explain());
    assert!(missing.stderr.contains("report.json"), "{}", missing.explain());
}

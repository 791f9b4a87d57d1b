//! Interleaving scenarios and `conflicts`, against a real Postgres catalog and real DuckLake
//! (the harness starts its own Postgres; the lakes keep their data in local directories).

mod common;

use common::{bin, repo, scenario, tempdir, Ran};
use serde_json::Value;
use std::path::Path;

/// `run` of an interleaving scenario, with its interleave.json.
fn run_schedule(file: &Path, results: &Path, extra: &[&str]) -> (Ran, Value) {
    let ran = Ran::from(
        bin()
            .arg("run")
            .arg(file)
            .arg("--results-dir")
            .arg(results)
            .args(extra)
            .output()
            .expect("binary runs"),
    );
    let path = ran
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report path: {}", ran.explain()))
        .to_string();
    assert!(path.ends_with("interleave.json"), "{path}");
    let report = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (ran, report)
}

fn step<'a>(report: &'a Value, permutation: usize, name: &str) -> &'a Value {
    report["results"][permutation]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

const TWO_SESSIONS: &str = r#"
[[sessions]]
name = "s1"
[[sessions]]
name = "s2"
"#;

fn steps(list: &[(&str, &str, &str, Option<&str>)]) -> String {
    list.iter()
        .map(|(session, name, sql, expect)| {
            let expect = expect.map(|e| format!("expect = \"{e}\"\n")).unwrap_or_default();
            format!("[[steps]]\nsession = \"{session}\"\nname = \"{name}\"\nsql = \"{sql}\"\n{expect}")
        })
        .collect()
}

#[test]
fn two_creates_of_one_table_conflict_and_the_second_commit_is_refused() {
    let dir = tempdir();
    let toml = format!(
        "name = \"create-twice\"\npermutations = [[\"a1\", \"b1\", \"a2\", \"b2\", \"a3\", \"b3\"]]\n{TWO_SESSIONS}{}",
        steps(&[
            ("s1", "a1", "BEGIN", None),
            ("s1", "a2", "CREATE TABLE lake.t (k INTEGER)", Some("ok")),
            ("s1", "a3", "COMMIT", Some("ok")),
            ("s2", "b1", "BEGIN", None),
            ("s2", "b2", "CREATE TABLE lake.t (k INTEGER)", Some("ok")),
            ("s2", "b3", "COMMIT", Some("conflict")),
        ])
    );
    let file = scenario(dir.path(), "create-twice", &toml);
    let (ran, r) = run_schedule(&file, dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert_eq!(step(&r, 0, "a3")["status"], "ok");
    assert_eq!(step(&r, 0, "b3")["status"], "error");
    assert_eq!(step(&r, 0, "b3")["class"], "conflict", "{r:#}");
    assert_eq!(r["verdict"], "pass");
    assert!(ran.stdout.contains("permutation 1 of 1"), "{}", ran.stdout);
    let junit = std::fs::read_to_string(
        Path::new(ran.stdout.lines().find_map(|l| l.strip_prefix("report: ")).unwrap()).with_file_name("junit.xml"),
    )
    .unwrap();
    assert!(junit.contains("permutation 1: a1 b1 a2 b2 a3 b3"), "{junit}");
    let root = junit.lines().find(|l| l.starts_with("<testsuites")).unwrap();
    assert!(
        !root.contains("skipped"),
        "Jenkins refuses a skipped count on the root: {root}"
    );
}

#[test]
fn two_inserts_into_one_table_both_commit_and_both_rows_are_there() {
    let dir = tempdir();
    let toml = format!(
        "name = \"insert-twice\"\npermutations = [[\"a1\", \"b1\", \"a2\", \"b2\", \"a3\", \"b3\"]]\n{TWO_SESSIONS}\
         [setup]\nsql = [\"CREATE TABLE lake.t (k INTEGER)\"]\n{}\
         [[invariants]]\nname = \"both\"\nsql = \"SELECT * FROM lake.t\"\nexpect_rows = 2\n",
        steps(&[
            ("s1", "a1", "BEGIN", None),
            ("s1", "a2", "INSERT INTO lake.t VALUES (1)", None),
            ("s1", "a3", "COMMIT", Some("ok")),
            ("s2", "b1", "BEGIN", None),
            ("s2", "b2", "INSERT INTO lake.t VALUES (2)", None),
            ("s2", "b3", "COMMIT", Some("ok")),
        ])
    );
    let file = scenario(dir.path(), "insert-twice", &toml);
    let (ran, r) = run_schedule(&file, dir.path(), &["--repeat", "2"]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert_eq!(step(&r, 0, "a2")["changed"], 1);
    assert_eq!(r["results"][0]["invariants"][0]["rows"], 2);
    assert_eq!(r["results"].as_array().unwrap().len(), 2, "two repetitions");
    assert_eq!(r["deterministic"], true, "{r:#}");
    assert!(ran.stdout.contains("deterministic"), "{}", ran.stdout);
}

/// A direct Postgres session holds the catalog's snapshot table locked: s1's INSERT, whose
/// transaction must first read the latest snapshot, is recorded as blocked, the unlock runs,
/// and the INSERT then ends and commits.
const LOCKED: &str = r#"name = "locked-catalog"
step_timeout = "2s"
permutations = [["lock", "s1_begin", "s1_insert", "unlock", "s1_commit"]]
[[sessions]]
name = "s1"
[[sessions]]
name = "holder"
kind = "catalog"
[setup]
sql = ["CREATE TABLE lake.t (k INTEGER)"]
[[steps]]
session = "s1"
name = "s1_begin"
sql = "BEGIN"
[[steps]]
session = "s1"
name = "s1_insert"
sql = "INSERT INTO lake.t VALUES (1)"
expect = "ok"
expect_blocked = true
[[steps]]
session = "s1"
name = "s1_commit"
sql = "COMMIT"
expect = "ok"
[[steps]]
session = "holder"
name = "lock"
sql = "BEGIN; LOCK TABLE ducklake_snapshot IN ACCESS EXCLUSIVE MODE"
[[steps]]
session = "holder"
name = "unlock"
sql = "COMMIT"
[[invariants]]
name = "committed"
sql = "SELECT * FROM lake.t"
expect_rows = 1
"#;

#[test]
fn a_step_behind_a_catalog_lock_is_reported_blocked_and_the_schedule_finishes() {
    let dir = tempdir();
    let file = scenario(dir.path(), "locked", LOCKED);
    let (ran, r) = run_schedule(&file, dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let insert = step(&r, 0, "s1_insert");
    assert_eq!(insert["blocked"], true, "{r:#}");
    assert_eq!(insert["status"], "ok");
    assert_eq!(insert["completed_during"], "unlock");
    // It waited at least the step timeout, which passed before the unlock ran.
    assert!(insert["millis"].as_u64().unwrap() >= 2000, "{insert}");
    assert_eq!(step(&r, 0, "s1_commit")["status"], "ok");
    assert!(ran.stdout.contains("<waiting ...>"), "{}", ran.stdout);
}

#[test]
fn a_lock_never_released_ends_the_permutation_reported_not_hung() {
    let dir = tempdir();
    let toml = LOCKED.replace("\"unlock\", ", "");
    let file = scenario(dir.path(), "never-unlocked", &toml);
    let started = std::time::Instant::now();
    let (ran, r) = run_schedule(&file, dir.path(), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let p = &r["results"][0];
    let why = p["cannot_continue"].as_str().unwrap_or_else(|| panic!("{p:#}"));
    assert!(why.contains("s1_insert") && why.contains("s1_commit"), "{why}");
    assert_eq!(step(&r, 0, "s1_insert")["blocked"], true);
    assert_eq!(step(&r, 0, "s1_commit")["status"], "not_run");
    assert!(ran.stdout.contains("could not go on"), "{}", ran.stdout);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}

/// The same lock schedules with s1's DuckDB instance in a child process of its own: the
/// step blocks and completes during the unlock as on a thread; never unlocked, it is
/// interrupted through the process, and the process is gone when the run ends.
#[test]
fn a_session_in_its_own_process_blocks_completes_and_is_interrupted_like_a_thread() {
    let dir = tempdir();
    let in_process = |toml: &str| toml.replacen("name = \"s1\"\n", "name = \"s1\"\nmode = \"process\"\n", 1);
    let file = scenario(dir.path(), "locked-process", &in_process(LOCKED));
    let checked = Ran::from(bin().arg("validate").arg(&file).output().unwrap());
    assert!(
        checked.stdout.contains("2 sessions (1 in a process of its own)"),
        "{}",
        checked.explain()
    );
    let (ran, r) = run_schedule(&file, dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let pid = r["results"][0]["session_pids"]["s1"]
        .as_u64()
        .unwrap_or_else(|| panic!("no pid: {r:#}"));
    assert_ne!(pid, 0);
    let insert = step(&r, 0, "s1_insert");
    assert_eq!(insert["blocked"], true, "{r:#}");
    assert_eq!(insert["completed_during"], "unlock", "{r:#}");
    assert_eq!(step(&r, 0, "s1_commit")["status"], "ok");
    assert_eq!(r["results"][0]["invariants"][0]["rows"], 1, "{r:#}");
    let never = scenario(
        dir.path(),
        "never-unlocked-process",
        &in_process(&LOCKED.replace("\"unlock\", ", "")),
    );
    let started = std::time::Instant::now();
    let (ran, r) = run_schedule(&never, dir.path(), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(step(&r, 0, "s1_insert")["blocked"], true, "{r:#}");
    assert!(r["results"][0]["cannot_continue"].is_string(), "{r:#}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
    let pid = r["results"][0]["session_pids"]["s1"].as_u64().unwrap();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "session process {pid} outlived its run"
    );
    // Sessions of a DuckDB-file catalog share one instance: no process of their own.
    let shared = scenario(
        dir.path(),
        "process-on-file",
        &in_process(&format!("name = \"f\"\n[lake]\ncatalog = \"duckdb\"\n{TWO_SESSIONS}")),
    );
    let ran = Ran::from(bin().arg("validate").arg(&shared).output().unwrap());
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("sessions[0].mode"), "{}", ran.stderr);
}

#[test]
fn every_order_of_two_sessions_of_three_steps_is_twenty_and_validate_says_so() {
    let dir = tempdir();
    let toml = format!(
        "name = \"all\"\npermutations = \"all\"\n{TWO_SESSIONS}{}",
        steps(&[
            ("s1", "a1", "SELECT 1", None),
            ("s1", "a2", "SELECT 2", None),
            ("s1", "a3", "SELECT 3", None),
            ("s2", "b1", "SELECT 1", None),
            ("s2", "b2", "SELECT 2", None),
            ("s2", "b3", "SELECT 3", None),
        ])
    );
    let file = scenario(dir.path(), "all", &toml);
    let ran = Ran::from(bin().arg("validate").arg(&file).output().unwrap());
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(ran.stdout.contains("20 permutation(s), every order"), "{}", ran.stdout);
    // An error names the file, the line and the key.
    let bad = scenario(
        dir.path(),
        "bad",
        &toml.replace("session = \"s2\"\nname = \"b3\"", "session = \"s9\"\nname = \"b3\""),
    );
    let ran = Ran::from(bin().arg("validate").arg(&bad).output().unwrap());
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("bad.toml:") && ran.stderr.contains("steps[5].session"),
        "{}",
        ran.stderr
    );
}

fn conflicts(dir: &Path, results: &Path, extra: &[&str]) -> Ran {
    Ran::from(
        bin()
            .args(["conflicts", "--catalog", "postgres", "--quiet", "--dir"])
            .arg(dir)
            .arg("--results-dir")
            .arg(results)
            .args(extra)
            .output()
            .unwrap(),
    )
}

#[test]
fn conflicts_on_postgres_prints_the_matrix_and_a_wrong_expectation_fails() {
    let dir = tempdir();
    let ran = conflicts(&repo().join("scenarios/conflicts"), dir.path(), &[]);
    let rules = std::fs::read_dir(repo().join("scenarios/conflicts")).unwrap().count();
    let lines: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" postgres "))
        .collect();
    assert_eq!(lines.len(), rules, "{}", ran.explain());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("| insert-insert-both-commit |") && l.ends_with("| holds |")),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("ducklake") && ran.stdout.contains("sha256"),
        "{}",
        ran.stdout
    );
    // On DuckLake 1.5.5 the one rule that does not hold is the one known upstream.
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(
        lines.iter().any(|l| l.starts_with("| upsert-rows-absent |")
            && l.ends_with("| broken (known: duckdb/ducklake#1393) |")),
        "{}",
        ran.stdout
    );
    // The same rule with the documented outcome turned around must be reported broken.
    let wrong = tempdir();
    let text = std::fs::read_to_string(repo().join("scenarios/conflicts/04-table-create-same-name.toml")).unwrap();
    std::fs::write(
        wrong.path().join("wrong.toml"),
        text.replace("expect = \"conflict\"", "expect = \"ok\""),
    )
    .unwrap();
    let ran = conflicts(wrong.path(), dir.path(), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert!(ran.stdout.contains("| BROKEN |"), "{}", ran.stdout);
}

#[test]
fn a_known_broken_rule_fails_conflicts_only_with_strict() {
    let dir = tempdir();
    let rules = tempdir();
    let file = "15-upsert-rows-absent.toml";
    std::fs::copy(repo().join("scenarios/conflicts").join(file), rules.path().join(file)).unwrap();
    let ran = conflicts(rules.path(), dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(
        ran.stdout.contains("broken (known: duckdb/ducklake#1393)"),
        "{}",
        ran.stdout
    );
    let ran = conflicts(rules.path(), dir.path(), &["--strict"]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
}

#[test]
fn a_rule_on_a_duckdb_file_catalog_runs_its_sessions_on_one_instance_and_holds() {
    let dir = tempdir();
    let file = repo().join("scenarios/conflicts/04-table-create-same-name.toml");
    let (ran, r) = run_schedule(&file, dir.path(), &["--set", "lake.catalog=\"duckdb\"", "--quiet"]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert_eq!(r["catalog"], "duckdb");
    assert_eq!(r["instance"], "one shared instance");
    assert_eq!(step(&r, 0, "s2_commit")["class"], "conflict", "{r:#}");
    assert_eq!(r["versions"]["postgres"], "none (catalog = duckdb)");
}

#[test]
fn compare_of_two_interleaving_runs_tells_a_permutation_that_broke() {
    let dir = tempdir();
    let file = repo().join("scenarios/conflicts/04-table-create-same-name.toml");
    let (ran, _) = run_schedule(&file, &dir.path().join("a"), &["--quiet"]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    // The candidate expects s2's COMMIT (steps[5]) to succeed: its permutation mismatches.
    let (ran, _) = run_schedule(
        &file,
        &dir.path().join("b"),
        &["--quiet", "--set", "steps.5.expect=\"ok\""],
    );
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let compared = Ran::from(
        bin()
            .arg("compare")
            .arg(dir.path().join("a"))
            .arg(dir.path().join("b"))
            .arg("--fail-if-worse")
            .arg("--out")
            .arg(dir.path().join("c"))
            .output()
            .unwrap(),
    );
    assert_eq!(compared.code, 1, "{}", compared.explain());
    assert!(
        compared.stdout.contains("| 1/1 | 0/1 | broken |"),
        "{}",
        compared.stdout
    );
    assert!(dir.path().join("c/comparison.json").is_file());
}

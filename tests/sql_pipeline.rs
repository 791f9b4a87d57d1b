//! The sql workload as a user models a pipeline with it, against real Postgres, S3 and
//! DuckLake: tables of its own (named literally or with `{table}`) through sweep and
//! compare, a statement that cannot work stopped by the preflight or judged during the run,
//! `expect_rows` / `expect`, and the smaller things a first user met (issue 21).

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A pipeline step: a batch of events and a watermark row per transaction, in two tables
/// the statements name as `events` and `watermark` (`names` replaces them, e.g. by
/// `{table}` and `{table}_wm`).
fn pipeline_toml(name: &str, events: &str, watermark: &str, check: &str) -> String {
    format!(
        r#"name = "{name}"
[run]
writers = 2
commits_per_writer = 4
deadline = "2m"
[lake]
table = "ev"
data_inlining_row_limit = 0
[retry.ducklake]
max_retry_count = 100
[workload]
kind = "sql"
batch_rows = 3
keys = 50
setup = "CREATE TABLE IF NOT EXISTS lake.{events} (run VARCHAR, w INTEGER, t BIGINT, k INTEGER, label VARCHAR); CREATE TABLE IF NOT EXISTS lake.{watermark} (run VARCHAR, w INTEGER, t BIGINT)"
statements = [
    "INSERT INTO lake.{events} SELECT '{{run}}', {{writer}}, {{txn}}, unnest([{{keys}}]), 'x'",
    "INSERT INTO lake.{watermark} VALUES ('{{run}}', {{writer}}, {{txn}})",
]
{check}
[checks]
max_failed_commits = 1000
"#
    )
}

const COUNT_CHECK: &str =
    "check = \"SELECT count(*) FROM lake.{events} WHERE run = '{run}' AND w = {writer} AND t = {txn}\"\nexpect = 3";

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn check_of(report: &Value, name: &str) -> Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .clone()
}

/// Every report passed, judged the two tables the statements wrote (in a schema of the
/// run's own), and checked every committed transaction; the schemas all differ.
fn all_passed_on_their_own_tables(reports: &[PathBuf], tables: [&str; 2], why: &str) {
    let mut schemas = std::collections::HashSet::new();
    for path in reports {
        let r = json(path);
        assert_eq!(
            r["verdict"],
            "pass",
            "{}: {} {why}",
            path.display(),
            r["verdict_reason"]
        );
        let schema = r["scenario"]["workload"]["sql"]["schema"].as_str().unwrap().to_string();
        assert!(
            schema.starts_with("main_") && schemas.insert(schema.clone()),
            "{schema} {schemas:?}"
        );
        let stats = check_of(&r, "table_stats");
        assert_eq!(stats["status"], "pass", "{stats}");
        for t in tables {
            assert!(
                stats["summary"].as_str().unwrap().contains(&format!("{schema}.{t}:")),
                "{t} in {stats}"
            );
        }
        let sql = check_of(&r, "sql_statements");
        assert_eq!(sql["status"], "pass", "{sql}");
        assert!(
            sql["evidence"]["checked"].as_u64().unwrap() > 0 && sql["evidence"]["checked"] == r["totals"]["commits"],
            "{sql}"
        );
    }
}

fn report_files(aggregate: &Value) -> Vec<PathBuf> {
    aggregate["report_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f.as_str().unwrap()))
        .collect()
}

/// A sweep of two points and a comparison of the scenario with itself, in one environment.
fn sweep_and_compare(env: &SharedEnv, toml: &str, tables: [&str; 2]) {
    let dir = env.dir.path().join(format!("campaign-{}", tables[0]));
    std::fs::create_dir_all(&dir).unwrap();
    let s = scenario(&dir, "pipeline", toml);
    let validated = Ran::from(bin().arg("validate").arg(&s).output().unwrap());
    assert_eq!(validated.code, 0, "{}", validated.explain());
    let common = [
        "--env-file",
        &env.env_arg(),
        "--quiet",
        "--results-dir",
        dir.to_str().unwrap(),
    ];
    let ran = Ran::from(
        bin()
            .args([
                "sweep",
                s.to_str().unwrap(),
                "--param",
                "run.writers=1,2",
                "--seed",
                "1",
            ])
            .args(common)
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let sweep_file = ran
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("sweep: "))
        .map(PathBuf::from)
        .expect("sweep path");
    let sweep = json(&sweep_file);
    let runs: Vec<PathBuf> = sweep["points"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| report_files(&p["aggregate"]))
        .collect();
    assert_eq!(runs.len(), 2, "{}", ran.explain());
    all_passed_on_their_own_tables(&runs, tables, &ran.stdout);

    let out = dir.join("cmp");
    let ran = Ran::from(
        bin()
            .args([
                "compare",
                s.to_str().unwrap(),
                s.to_str().unwrap(),
                "--repeat",
                "1",
                "--out",
                out.to_str().unwrap(),
            ])
            .args(common)
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let c = json(&out.join("comparison.json"));
    let runs: Vec<PathBuf> = [&c["baseline"]["aggregate"], &c["candidate"]["aggregate"]]
        .into_iter()
        .flat_map(report_files)
        .collect();
    assert_eq!(runs.len(), 2, "{}", ran.explain());
    all_passed_on_their_own_tables(&runs, tables, &ran.stdout);
}

#[test]
fn a_sweep_and_a_compare_of_a_sql_scenario_with_two_tables_of_its_own_pass() {
    let env = SharedEnv::up();
    let toml = pipeline_toml(
        "literal",
        "events",
        "watermark",
        &COUNT_CHECK.replace("{events}", "events"),
    );
    sweep_and_compare(&env, &toml, ["events", "watermark"]);
}

#[test]
fn a_sweep_and_a_compare_of_a_sql_scenario_naming_its_tables_with_placeholders_pass() {
    let env = SharedEnv::up();
    let toml = pipeline_toml(
        "placeholders",
        "{schema}.{table}",
        "{table}_wm",
        &COUNT_CHECK.replace("{events}", "{table}"),
    );
    assert!(
        toml.contains("lake.{schema}.{table} (run") && toml.contains("INSERT INTO lake.{table}_wm"),
        "{toml}"
    );
    sweep_and_compare(&env, &toml, ["ev", "ev_wm"]);
}

/// A run in the shared environment; the history it left.
fn run_in(env: &SharedEnv, name: &str, toml: &str) -> (Ran, PathBuf) {
    let dir = env.dir.path().join(format!("run-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    (
        run(&scenario(&dir, name, toml), &dir, &["--env-file", &env.env_arg()]),
        dir,
    )
}

#[test]
fn a_statement_with_a_type_error_ends_the_run_before_any_writer_starts() {
    let env = SharedEnv::up();
    let toml = pipeline_toml("typo", "events", "watermark", "").replace(
        "VALUES ('{run}', {writer}, {txn})",
        "VALUES ('{run}', 'w{writer}'::INTEGER, {txn})",
    );
    assert!(toml.contains("::INTEGER"), "{toml}");
    let (ran, dir) = run_in(&env, "typo", &toml);
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("workload.statements[1]")
            && ran.stderr.contains("preflight")
            && ran.stderr.contains("Conversion Error"),
        "{}",
        ran.explain()
    );
    assert!(!ran.stdout.contains("report: "), "{}", ran.explain());
    // No writer began a transaction: the history, if written at all, holds no invoke.
    for entry in walk(&dir).into_iter().filter(|p| p.ends_with("history.ndjson")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(!text.contains("\"invoke\""), "{}: {text}", entry.display());
    }
    // The same statements as a writing [[actors]] group are named where the file has them.
    let actors = toml.replace("[workload]\nkind = \"sql\"", "[[actors]]\nkind = \"sql\"\ncount = 2");
    assert!(actors.contains("[[actors]]"), "{actors}");
    let (ran, _) = run_in(&env, "typo-actors", &actors);
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("actors[0].statements[1] cannot work"),
        "{}",
        ran.explain()
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The preflight runs writer 0's first transaction; writer 1's statements fail on every
/// attempt (not for a conflict): the run fails however many failed commits it allows.
#[test]
fn a_statement_that_fails_on_every_attempt_fails_the_run_whatever_max_failed_commits_says() {
    let env = SharedEnv::up();
    let toml = pipeline_toml("broken-w1", "events", "watermark", "").replace(
        "('{run}', {writer}, {txn})",
        "('{run}', 1000000000 * {writer} * 3, {txn})",
    );
    assert!(toml.contains("1000000000 *"), "{toml}");
    let (ran, _) = run_in(&env, "broken-w1", &toml);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let r = ran.report();
    let c = check_of(&r, "sql_statements");
    assert_eq!(c["status"], "fail", "{c}");
    assert_eq!(
        c["evidence"]["failed_every_attempt"]["workload.statements[1]"], r["totals"]["failed"],
        "{c}\n{}",
        r["totals"]
    );
    assert!(
        c["summary"].as_str().unwrap().contains("workload.statements[1]")
            && c["summary"].as_str().unwrap().contains("whatever max_failed_commits"),
        "{c}"
    );
    assert!(
        r["totals"]["commits"].as_u64().unwrap() > 0,
        "writer 0 commits: {}",
        r["totals"]
    );
    assert_eq!(r["verdict"], "fail", "{}", r["verdict_reason"]);
}

#[test]
fn expect_rows_counts_rows_of_any_type_and_expect_compares_the_single_value() {
    let env = SharedEnv::up();
    let rows =
        "check = \"SELECT * FROM lake.events WHERE run = '{run}' AND w = {writer} AND t = {txn}\"\nexpect_rows = 3";
    let (ran, _) = run_in(&env, "rows", &pipeline_toml("rows", "events", "watermark", rows));
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let c = check_of(&r, "sql_statements");
    assert!(
        c["status"] == "pass" && c["evidence"]["checked"] == r["totals"]["commits"],
        "{c}"
    );
    assert!(c["summary"].as_str().unwrap().contains("returned 3 row(s)"), "{c}");
    // Text compared as text; the rows column says what is true of a sql run.
    let value = "check = \"SELECT DISTINCT label FROM lake.events WHERE run = '{run}' AND w = {writer} AND t = \
        {txn}\"\nexpect = \"x\"";
    let (ran, _) = run_in(&env, "value", &pipeline_toml("value", "events", "watermark", value));
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let c = check_of(&ran.report(), "sql_statements");
    assert!(
        c["status"] == "pass" && c["summary"].as_str().unwrap().contains("returned 'x'"),
        "{c}"
    );
    assert!(
        ran.stdout.contains("rows not counted (sql)") && !ran.stdout.contains("| rows 0 |"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("SKIP  not applicable:") && ran.stdout.matches("SKIP").count() == 1,
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("time travel not checked"), "{}", ran.stdout);
    // The same count with expect_rows = 1 fails, saying how many rows came back.
    let wrong =
        "check = \"SELECT * FROM lake.events WHERE run = '{run}' AND w = {writer} AND t = {txn}\"\nexpect_rows = 1";
    let (ran, _) = run_in(&env, "wrong", &pipeline_toml("wrong", "events", "watermark", wrong));
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let c = check_of(&ran.report(), "sql_statements");
    assert!(
        c["evidence"]["examples"][0]
            .as_str()
            .unwrap()
            .contains("check returned 3 row(s), expected 1"),
        "{c}"
    );
}

#[test]
fn local_data_dir_given_beside_an_env_file_is_honoured_and_another_one_is_named_as_such() {
    let env = SharedEnv::up();
    assert!(
        env.endpoints().local_data_dir.is_none(),
        "the shared environment has S3 and no local_data_dir"
    );
    let dir = env.dir.path().join("run-local");
    let data = env.dir.path().join("local-data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let toml = append_toml("local", 2, 3, "t_local", PATIENT_RETRIES).replace("data = \"s3\"", "data = \"local\"");
    let s = scenario(&dir, "local", &toml);
    let ran = run(
        &s,
        &dir,
        &["--env-file", &env.env_arg(), "--local-data-dir", data.to_str().unwrap()],
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let parquet = walk(&data)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count();
    assert!(parquet >= 6, "{parquet} parquet files under {}", data.display());
    // The catalog now remembers that directory: another one is refused by DuckLake, and the
    // message says why instead of suggesting Postgres is unreachable.
    let other = env.dir.path().join("other-data");
    std::fs::create_dir_all(&other).unwrap();
    let ran = run(
        &s,
        &dir,
        &[
            "--env-file",
            &env.env_arg(),
            "--local-data-dir",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.explain());
    assert!(
        ran.stderr.contains("DATA_PATH") && ran.stderr.contains("another data path"),
        "{}",
        ran.explain()
    );
    assert!(!ran.stderr.contains("Postgres is reachable"), "{}", ran.explain());
}

#[test]
fn validate_prints_words_and_takes_the_set_a_mistyped_override_suggests() {
    let dir = tempdir();
    let s = scenario(dir.path(), "v", &append_toml("v", 2, 12, "t", ""));
    let ran = Ran::from(bin().arg("validate").arg(&s).output().unwrap());
    assert!(
        ran.code == 0 && ran.stdout.contains("12 commits per writer") && !ran.stdout.contains("CommitsPerWriter"),
        "{}",
        ran.explain()
    );
    let ran = Ran::from(
        bin()
            .arg("validate")
            .arg(&s)
            .args(["--set", "run.writers=3"])
            .output()
            .unwrap(),
    );
    assert!(ran.code == 0 && ran.stdout.contains("3 writers"), "{}", ran.explain());
    let ran = Ran::from(
        bin()
            .arg("validate")
            .arg(&s)
            .args(["--set", "run.writerz=3"])
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 2, "{}", ran.explain());
    let suggested = ran
        .stderr
        .split("check it with `ducklake-stress ")
        .nth(1)
        .and_then(|t| t.split('`').next())
        .unwrap_or_else(|| panic!("{}", ran.explain()));
    assert_eq!(
        suggested,
        format!("validate {} --set run.writerz=3", s.display()),
        "{}",
        ran.explain()
    );
    let again = Ran::from(bin().args(suggested.split(' ')).output().unwrap());
    assert!(
        again.code == 2 && again.stderr.contains("writerz") && !again.stderr.contains("unexpected argument"),
        "{}",
        again.explain()
    );
}

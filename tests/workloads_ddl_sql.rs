//! The ddl and sql workloads and upsert's MERGE INTO, against real Postgres, S3 and
//! DuckLake: each scenario end to end at small size, each checker failing on a lake broken
//! on purpose, and the scenario keys' validation.

mod common;
use common::*;
use ducklake_stress::lake::{self, ExtensionSource, LakeTarget};

fn check_of(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .clone()
}

fn result_of(results: &serde_json::Value, name: &str) -> serde_json::Value {
    results
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .clone()
}

/// A shipped scenario with `from` replaced by `to` (a shorter duration, another table).
fn shipped(file: &str, edits: &[(&str, &str)]) -> String {
    let mut toml = std::fs::read_to_string(repo().join("scenarios").join(file)).unwrap();
    for (from, to) in edits {
        assert!(toml.contains(from), "{file} has no `{from}`");
        toml = toml.replace(from, to);
    }
    toml
}

/// A connection to the shared environment's lake, for breaking it.
fn breaker(env: &SharedEnv) -> duckdb::Connection {
    let target = LakeTarget {
        env: env.endpoints(),
        catalog: Default::default(),
        data_path: None,
        extensions: ExtensionSource::resolve(None),
        data_inlining_row_limit: Some(0),
    };
    lake::open(&target, "ducklake-stress/test/breaker", None).unwrap()
}

/// Runs `toml` in the shared environment; the check on its table must pass before breaking.
fn healthy(env: &SharedEnv, name: &str, table: &str, toml: &str, checker: &str) -> std::path::PathBuf {
    let dir = env.dir.path().join(format!("run-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let ran = run(&scenario(&dir, name, toml), &dir, &["--env-file", &env.env_arg()]);
    let run_dir = ran.run_dir();
    let (before, results) = env.check(table, Some(&run_dir), &[]);
    assert_eq!(
        check_status(&results, checker),
        "pass",
        "before breaking: {} {}",
        before.explain(),
        result_of(&results, checker)
    );
    run_dir
}

// ---- sql ----

#[test]
fn the_sql_scenario_runs_and_every_committed_transaction_meets_its_expectation() {
    let dir = tempdir();
    let ran = run(
        &scenario(
            dir.path(),
            "sql",
            &shipped("sql.toml", &[("duration = \"8s\"", "duration = \"4s\"")]),
        ),
        dir.path(),
        &[],
    );
    let r = ran.report();
    let c = check_of(&r, "sql_statements");
    assert_eq!(c["status"], "pass", "{c}");
    let commits = r["totals"]["commits"].as_u64().unwrap();
    assert!(commits > 0, "{}", r["totals"]);
    assert_eq!(c["evidence"]["checked"], commits, "{c}");
    assert_eq!(c["evidence"]["expect"], 5, "{c}");
    for name in ["row_count", "transaction_integrity"] {
        let s = check_of(&r, name);
        assert!(
            s["status"] == "skipped" && s["summary"].as_str().unwrap().contains("sql_statements"),
            "{s}"
        );
    }
    for name in ["snapshots", "object_store", "catalog_integrity", "catalog_locks"] {
        assert_eq!(check(&r, name), "pass", "{}", check_of(&r, name));
    }
    assert_eq!(ran.code, 0, "{}", ran.explain());
}

#[test]
fn a_row_deleted_behind_the_harness_fails_sql_statements() {
    let env = SharedEnv::up();
    let toml = shipped(
        "sql.toml",
        &[("duration = \"8s\"", "duration = \"3s\""), ("sql_events", "t_sql")],
    );
    let run_dir = healthy(&env, "sql", "t_sql", &toml, "sql_statements");
    // One row of one transaction: (w, t, k) names a row, a transaction's keys being distinct.
    breaker(&env)
        .execute_batch(
            "DELETE FROM lake.t_sql WHERE concat_ws(':', w, t, k) = (SELECT min(concat_ws(':', w, \
        t, k)) FROM lake.t_sql)",
        )
        .unwrap();
    let (after, results) = env.check("t_sql", Some(&run_dir), &[]);
    assert_eq!(after.code, 1, "{}", after.explain());
    let c = result_of(&results, "sql_statements");
    assert_eq!(c["status"], "fail", "{c}");
    assert_eq!(
        c["evidence"]["problems"],
        serde_json::json!({ "expectation_failed": 1 }),
        "{c}"
    );
    assert!(
        c["evidence"]["examples"][0]
            .as_str()
            .unwrap()
            .contains("check returned 4, expected 5"),
        "{c}"
    );
}

// ---- ddl ----

#[test]
fn the_ddl_scenario_runs_and_leaves_every_table_as_the_last_commit_made_it() {
    let dir = tempdir();
    let ran = run(
        &scenario(
            dir.path(),
            "ddl",
            &shipped("ddl.toml", &[("duration = \"8s\"", "duration = \"4s\"")]),
        ),
        dir.path(),
        &[],
    );
    let r = ran.report();
    let c = check_of(&r, "ddl_tables");
    assert_eq!(c["status"], "pass", "{c}\n{}", ran.explain());
    assert!(c["evidence"]["tables_present"].as_u64().unwrap() > 0, "{c}");
    assert_eq!(
        check(&r, "catalog_integrity"),
        "pass",
        "{}",
        check_of(&r, "catalog_integrity")
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
}

#[test]
fn a_table_dropped_and_a_column_added_behind_the_harness_fail_ddl_tables() {
    let env = SharedEnv::up();
    let toml = shipped(
        "ddl.toml",
        &[("duration = \"8s\"", "duration = \"3s\""), ("ddl_base", "t_ddl")],
    );
    let run_dir = healthy(&env, "ddl", "t_ddl", &toml, "ddl_tables");
    let conn = breaker(&env);
    let victim: String = conn
        .query_row(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' AND \
        table_name LIKE 't_ddl_%' ORDER BY table_name LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let tag = victim.rsplit('_').next().unwrap().to_string();
    conn.execute_batch(&format!(
        "DROP TABLE lake.\"{victim}\"; ALTER TABLE lake.t_ddl ADD COLUMN c_{tag}_w99_t0 INTEGER"
    ))
    .unwrap();
    drop(conn);
    let (after, results) = env.check("t_ddl", Some(&run_dir), &[]);
    assert_eq!(after.code, 1, "{}", after.explain());
    let c = result_of(&results, "ddl_tables");
    assert_eq!(c["status"], "fail", "{c}");
    let problems = c["evidence"]["problems"].as_object().unwrap();
    assert_eq!(
        problems.keys().collect::<Vec<_>>(),
        ["column_without_alter", "missing_table"],
        "{c}"
    );
    assert!(c["evidence"]["examples"].to_string().contains(&victim), "{c}");
}

// ---- upsert with MERGE INTO ----

#[test]
fn merge_upserts_on_a_seeded_table_keep_every_key_once() {
    let dir = tempdir();
    let ran = run(
        &scenario(
            dir.path(),
            "merge",
            &shipped("upsert-merge.toml", &[("duration = \"8s\"", "duration = \"4s\"")]),
        ),
        dir.path(),
        &[],
    );
    let r = ran.report();
    assert_eq!(
        r["scenario"]["workload"]["upsert"]["statement"], "merge",
        "{}",
        r["scenario"]["workload"]
    );
    assert_eq!(check(&r, "upsert_keys"), "pass", "{}", check_of(&r, "upsert_keys"));
    assert!(r["totals"]["commits"].as_u64().unwrap() > 0, "{}", r["totals"]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
}

/// Four writers, one MERGE each of the same 3 keys into an empty table. Should DuckLake let
/// more than one commit, every key is duplicated and upsert_keys must say so; should they
/// conflict (or run one after the other), every key is once and the run passes.
#[test]
fn first_merges_of_absent_keys_are_judged_by_upsert_keys() {
    let dir = tempdir();
    let edits = [
        ("duration = \"8s\"", "commits_per_writer = 1"),
        ("keys = 20", "keys = 3"),
        ("seed = true", "seed = false"),
        ("upserts_merge", "upserts_merge_empty"),
    ];
    let ran = run(
        &scenario(dir.path(), "merge-empty", &shipped("upsert-merge.toml", &edits)),
        dir.path(),
        &[],
    );
    let r = ran.report();
    let c = check_of(&r, "upsert_keys");
    eprintln!(
        "merge on an empty table: commits {} errors {} upsert_keys {}",
        r["totals"]["commits"], r["errors"], c
    );
    if c["status"] == "pass" {
        assert_eq!(ran.code, 0, "{}", ran.explain());
        return;
    }
    assert_eq!(c["status"], "fail", "{c}");
    assert!(!c["evidence"]["duplicated_keys"].as_array().unwrap().is_empty(), "{c}");
    assert_eq!(ran.code, 1, "{}", ran.explain());
}

#[test]
fn a_duplicated_key_behind_merge_upserts_fails_upsert_keys() {
    let env = SharedEnv::up();
    let toml = shipped(
        "upsert-merge.toml",
        &[("duration = \"8s\"", "duration = \"3s\""), ("upserts_merge", "t_merge")],
    );
    let run_dir = healthy(&env, "merge", "t_merge", &toml, "upsert_keys");
    breaker(&env)
        .execute_batch("INSERT INTO lake.t_merge SELECT * FROM lake.t_merge WHERE row_seq = 1")
        .unwrap();
    let (after, results) = env.check("t_merge", Some(&run_dir), &[]);
    assert_eq!(after.code, 1, "{}", after.explain());
    let c = result_of(&results, "upsert_keys");
    assert_eq!(c["evidence"]["duplicated_keys"], serde_json::json!([1]), "{c}");
}

// ---- validation ----

fn validate(dir: &std::path::Path, toml: &str) -> Ran {
    let path = scenario(dir, "workload", toml);
    Ran::from(bin().arg("validate").arg(&path).output().unwrap())
}

#[test]
fn sql_ddl_and_merge_keys_are_validated_with_their_line() {
    let dir = tempdir();
    let head = "name = \"w\"\n[run]\nwriters = 2\nduration = \"5s\"\n[workload]\n";
    for (body, line, key, says) in [
        (
            "kind = \"sql\"\nstatements = [\"SELECT {writer}\", \"SELECT {wrtier}\"]\n",
            7,
            "workload.statements[1]",
            "{wrtier}",
        ),
        (
            "kind = \"sql\"\nstatements = []\n",
            7,
            "workload.statements",
            "is empty",
        ),
        (
            "kind = \"sql\"\nstatements = [\n  \"SELECT 1\",\n  \" ; \",\n]\n",
            9,
            "workload.statements[1]",
            "empty statement",
        ),
        (
            "kind = \"sql\"\nbatch_rows = 2\n",
            6,
            "workload.statements",
            "is required",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\nsetup = \"CREATE TABLE t{writer} (a INT)\"\n",
            8,
            "workload.setup",
            "{writer}",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\ncheck = \"SELECT 1\"\n",
            8,
            "workload.check",
            "expect_rows",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\nexpect_rows = 3\n",
            8,
            "workload.expect_rows",
            "workload.check",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\nexpect = 3\n",
            8,
            "workload.expect",
            "workload.check",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\ncheck = \"SELECT 1\"\nexpect_rows = 1\nexpect = 1\n",
            10,
            "workload.expect",
            "keep one",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\ncheck = \"SELECT 1\"\nexpect = [1]\n",
            9,
            "workload.expect",
            "array",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\nschema = \"a-b\"\n",
            8,
            "workload.schema",
            "plain name",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\nsetup = \"CREATE TABLE {table}_{txn} (a INT)\"\n",
            8,
            "workload.setup",
            "{txn}",
        ),
        ("kind = \"append\"\nschema = \"s\"\n", 7, "workload.schema", "sql"),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\nkeys = 2\nbatch_rows = 3\n",
            8,
            "workload.keys",
            "batch_rows",
        ),
        (
            "kind = \"sql\"\nstatements = [\"SELECT 1\"]\npayload_bytes = 3\n",
            8,
            "workload.payload_bytes",
            "does not apply",
        ),
        (
            "kind = \"append\"\nstatements = [\"SELECT 1\"]\n",
            7,
            "workload.statements",
            "sql",
        ),
        ("kind = \"ddl\"\nkeys = 3\n", 7, "workload.keys", "upsert"),
        (
            "kind = \"counter\"\nstatement = \"merge\"\n",
            7,
            "workload.statement",
            "read_then_write",
        ),
        (
            "kind = \"upsert\"\nstatement = \"update\"\n",
            7,
            "workload.statement",
            "merge",
        ),
        (
            "kind = \"append\"\nstatement = \"merge\"\n",
            7,
            "workload.statement",
            "upsert",
        ),
    ] {
        let ran = validate(dir.path(), &format!("{head}{body}"));
        assert_eq!(ran.code, 2, "{body}: {}", ran.explain());
        assert!(
            ran.stderr.contains(&format!("workload.toml:{line}:"))
                && ran.stderr.contains(key)
                && ran.stderr.contains(says),
            "{body}: {}",
            ran.explain()
        );
        assert!(!ran.stderr.contains("panicked"), "{}", ran.explain());
    }
    for ok in [
        "kind = \"sql\"\nstatements = [\"SELECT {'a': 1}, {keys}\"]\ncheck = \"SELECT {rand}\"\nexpect_rows = 1\n",
        "kind = \"sql\"\nschema = \"mine\"\nsetup = \"CREATE TABLE {schema}.{table}_{run} (a INT)\"\nstatements = \
            [\"INSERT INTO {table} VALUES (1)\"]\ncheck = \"SELECT 'a'\"\nexpect = \"a\"\n",
        "kind = \"ddl\"\n",
        "kind = \"upsert\"\nstatement = \"merge\"\n",
    ] {
        let ran = validate(dir.path(), &format!("{head}{ok}"));
        assert_eq!(ran.code, 0, "{ok}: {}", ran.explain());
    }
    for file in ["sql.toml", "ddl.toml", "upsert-merge.toml"] {
        let ran = Ran::from(
            bin()
                .arg("validate")
                .arg(repo().join("scenarios").join(file))
                .output()
                .unwrap(),
        );
        assert_eq!(ran.code, 0, "{file}: {}", ran.explain());
    }
}

// ---- data_inlining_row_limit per table ----

/// `[lake] table_data_inlining_row_limit` is persisted on the scenario's table at set-up,
/// where every later client of the lake finds it.
#[test]
fn a_table_inlining_limit_is_persisted_in_the_lake() {
    let env = SharedEnv::up();
    let dir = env.dir.path().join("run-inline");
    std::fs::create_dir_all(&dir).unwrap();
    let toml =
        append_toml("inline", 1, 2, "t_inline", "").replace("[lake]\n", "[lake]\ntable_data_inlining_row_limit = 7\n");
    assert!(toml.contains("table_data_inlining_row_limit"), "{toml}");
    let ran = run(&scenario(&dir, "inline", &toml), &dir, &["--env-file", &env.env_arg()]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let conn = breaker(&env);
    let options: Vec<String> = conn
        .prepare(
            "SELECT concat_ws('|', option_name, value, scope, scope_entry) FROM ducklake_options('lake') WHERE \
            option_name = 'data_inlining_row_limit'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        options.iter().any(|o| o.contains("|7|") && o.contains("t_inline")),
        "{options:?}"
    );
}

/// Appends to a run's history one transaction that failed with `class` and `message`.
fn append_failed_txn(run_dir: &std::path::Path, writer: u32, txn: u64, class: &str, message: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(run_dir.join("history.ndjson"))
        .unwrap();
    let invoke =
        serde_json::json!({ "type": "invoke", "writer": writer, "txn": txn, "attempt": 1, "at": 0.5, "rows": 3 });
    let complete = serde_json::json!({ "type": "complete", "writer": writer, "txn": txn, "attempt": 1, "at": 0.6, "outcome": "fail", "step": "insert", "error_class": class, "error": message });
    writeln!(f, "{invoke}\n{complete}").unwrap();
}

/// An error DuckDB calls internal, and one of a class DDL should never meet, recorded in
/// the history: `ddl_tables` names both.
#[test]
fn an_internal_error_and_a_lost_connection_in_the_history_fail_ddl_tables() {
    let env = SharedEnv::up();
    let toml = shipped(
        "ddl.toml",
        &[
            ("duration = \"8s\"", "commits_per_writer = 3"),
            ("ddl_base", "t_ddl_err"),
        ],
    );
    let run_dir = healthy(&env, "ddl-err", "t_ddl_err", &toml, "ddl_tables");
    append_failed_txn(
        &run_dir,
        0,
        1000,
        "other",
        "INTERNAL Error: Failed to commit DuckLake transaction.Calling GetValueInternal on a value that is NULL",
    );
    append_failed_txn(
        &run_dir,
        1,
        1000,
        "connection_lost",
        "server closed the connection unexpectedly",
    );
    let (after, results) = env.check("t_ddl_err", Some(&run_dir), &[]);
    assert_eq!(after.code, 1, "{}", after.explain());
    let c = result_of(&results, "ddl_tables");
    let problems = c["evidence"]["problems"].as_object().unwrap();
    assert_eq!(
        problems.keys().collect::<Vec<_>>(),
        ["internal_error", "unexpected_error"],
        "{c}"
    );
    assert!(
        c["evidence"]["examples"]
            .to_string()
            .contains("w0 t1000 a1: INTERNAL Error"),
        "{c}"
    );
    assert_eq!(c["evidence"]["error_classes"]["connection_lost"], 1, "{c}");
}

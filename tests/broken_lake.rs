//! Each check fails on a lake broken on purpose, and passes on the same lake before it was
//! broken: a check that cannot fail proves nothing.

mod common;
use common::*;
use ducklake_stress::lake::{self, ExtensionSource, LakeTarget};
use std::path::PathBuf;

/// A healthy lake: one run of 3 writers into `table`, and `check` passes on it.
fn healthy_lake(env: &SharedEnv, table: &str) -> PathBuf {
    let dir = env.dir.path().join(format!("run-{table}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = scenario(&dir, table, &append_toml(table, 3, 6, table, PATIENT_RETRIES));
    let ran = run(&path, &dir, &["--env-file", &env.env_arg()]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let run_dir = ran.run_dir();
    let (before, results) = env.check(table, Some(&run_dir), &[]);
    assert_eq!(before.code, 0, "check must pass before the lake is broken: {}", before.explain());
    for name in ["row_count", "transaction_integrity", "table_stats", "object_store", "leftover_sessions"] {
        assert_eq!(check_status(&results, name), "pass", "{name} before breaking: {results}");
    }
    run_dir
}

fn duckdb(env: &SharedEnv) -> duckdb::Connection {
    let target = LakeTarget { env: env.endpoints(), data_path: None, extensions: ExtensionSource::resolve(None), data_inlining_row_limit: None };
    lake::open(&target, "ducklake-stress/test/breaker", None).unwrap()
}

fn catalog(env: &SharedEnv) -> tokio_postgres::Client {
    ducklake_stress::runtime::block_on(ducklake_stress::pg::connect(&env.endpoints().postgres, None, "ducklake-stress/test/breaker")).unwrap()
}

fn exec_catalog(env: &SharedEnv, sql: &str) {
    let c = catalog(env);
    ducklake_stress::runtime::block_on(c.batch_execute(sql)).unwrap();
}

#[test]
fn a_deleted_data_file_fails_object_store() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_deleted");
    let conn = duckdb(&env);
    let file: String = conn
        .query_row("SELECT data_file FROM ducklake_list_files('lake', 't_deleted', schema => 'main') LIMIT 1", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    let s3 = env.endpoints().s3.unwrap();
    let key = file.strip_prefix(&format!("s3://{}/", s3.bucket)).unwrap().to_string();
    ducklake_stress::runtime::block_on(ducklake_stress::environment::s3::delete_object(&s3, &key)).unwrap();

    let (ran, results) = env.check("t_deleted", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "object_store"), "fail", "{results}");
    assert!(ran.stdout.contains("1 missing"), "{}", ran.explain());
}

#[test]
fn a_duplicated_row_fails_integrity_and_row_count() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_dup");
    let conn = duckdb(&env);
    conn.execute_batch("INSERT INTO lake.t_dup SELECT * FROM lake.t_dup LIMIT 1").unwrap();
    drop(conn);
    let (ran, results) = env.check("t_dup", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "transaction_integrity"), "fail", "{results}");
    assert_eq!(check_status(&results, "row_count"), "fail", "{results}");
    assert!(ran.stdout.contains("duplicate_rows"), "{}", ran.explain());
}

#[test]
fn rows_of_a_failed_transaction_fail_integrity() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_failed");
    // Rewrite the ledger so that transaction 0 of writer 0 is recorded as failed, while its
    // rows are in the table: exactly what a lost-rollback bug would look like.
    let ledger_path = run_dir.join("ledger.json");
    let mut ledger: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ledger_path).unwrap()).unwrap();
    ledger["ledger"]["0"][0]["outcome"] = "failed".into();
    std::fs::write(&ledger_path, serde_json::to_vec(&ledger).unwrap()).unwrap();
    let (ran, results) = env.check("t_failed", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "transaction_integrity"), "fail", "{results}");
    assert!(ran.stdout.contains("failed_present"), "{}", ran.explain());
}

#[test]
fn tampered_table_stats_fail_table_stats() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_stats");
    exec_catalog(
        &env,
        "UPDATE ducklake_table_stats SET record_count = record_count + 7
         WHERE table_id = (SELECT table_id FROM ducklake_table WHERE table_name = 't_stats' AND end_snapshot IS NULL)",
    );
    let (ran, results) = env.check("t_stats", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "table_stats"), "fail", "{results}");
}

#[test]
fn an_orphan_file_is_counted_and_can_fail_the_threshold() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_orphan");
    let s3 = env.endpoints().s3.unwrap();
    ducklake_stress::runtime::block_on(ducklake_stress::environment::s3::put_object(&s3, "lake/main/t_orphan/stray.parquet", vec![0u8; 123])).unwrap();
    // Reported without a threshold...
    let (ran, results) = env.check("t_orphan", Some(&run_dir), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let evidence = &results.as_array().unwrap().iter().find(|c| c["name"] == "object_store").unwrap()["evidence"];
    assert_eq!(evidence["orphan_files"], 1, "{evidence}");
    assert_eq!(evidence["orphan_bytes"], 123, "{evidence}");
    // ...and failing with one.
    let (ran, results) = env.check("t_orphan", Some(&run_dir), &["--max-orphan-files", "0"]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "object_store"), "fail", "{results}");
}

#[test]
fn a_session_idle_in_transaction_holding_a_lock_fails_leftover_sessions() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_idle");
    let holder = catalog(&env);
    ducklake_stress::runtime::block_on(holder.batch_execute("BEGIN; LOCK TABLE ducklake_metadata IN ROW EXCLUSIVE MODE")).unwrap();
    let (ran, results) = env.check("t_idle", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "leftover_sessions"), "fail", "{results}");
    assert!(ran.stdout.contains("idle in transaction") && ran.stdout.contains("ducklake-stress/test/breaker"), "{}", ran.explain());
    drop(holder);
}

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
    assert_eq!(
        before.code,
        0,
        "check must pass before the lake is broken: {}",
        before.explain()
    );
    for name in [
        "row_count",
        "transaction_integrity",
        "snapshots",
        "table_stats",
        "object_store",
        "catalog_integrity",
        "writer_sessions",
        "catalog_locks",
    ] {
        assert_eq!(
            check_status(&results, name),
            "pass",
            "{name} before breaking: {results}"
        );
    }
    run_dir
}

fn duckdb(env: &SharedEnv) -> duckdb::Connection {
    // No inlining: deletes and inserts go to files, as in the runs these tests break.
    let target = LakeTarget {
        env: env.endpoints(),
        catalog: Default::default(),
        data_path: None,
        extensions: ExtensionSource::resolve(None),
        data_inlining_row_limit: Some(0),
    };
    lake::open(&target, "ducklake-stress/test/breaker", None).unwrap()
}

fn catalog(env: &SharedEnv) -> tokio_postgres::Client {
    ducklake_stress::runtime::block_on(ducklake_stress::environment::pg::connect(
        &env.endpoints().postgres,
        None,
        "ducklake-stress/test/breaker",
    ))
    .unwrap()
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
        .query_row(
            "SELECT data_file FROM ducklake_list_files('lake', 't_deleted', schema => 'main') LIMIT 1",
            [],
            |r| r.get(0),
        )
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
    conn.execute_batch("INSERT INTO lake.t_dup SELECT * FROM lake.t_dup LIMIT 1")
        .unwrap();
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
    // Rewrite the history so that transaction 0 of writer 0 is recorded as failed, while its
    // rows (and its snapshot) are in the lake: what a lost-rollback bug would look like.
    let path = run_dir.join("history.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut changed = 0;
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            let mut e: serde_json::Value = serde_json::from_str(l).unwrap();
            if e["type"] == "complete" && e["writer"] == 0 && e["txn"] == 0 && e["outcome"] == "ok" {
                e["outcome"] = "fail".into();
                changed += 1;
            }
            e.to_string()
        })
        .collect();
    assert_eq!(changed, 1, "{text}");
    std::fs::write(&path, edited.join("\n") + "\n").unwrap();
    let (ran, results) = env.check("t_failed", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "transaction_integrity"), "fail", "{results}");
    assert_eq!(check_status(&results, "snapshots"), "fail", "{results}");
    assert!(
        ran.stdout.contains("failed_present") && ran.stdout.contains("failed_with_snapshot"),
        "{}",
        ran.explain()
    );
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
    ducklake_stress::runtime::block_on(ducklake_stress::environment::s3::put_object(
        &s3,
        "lake/main/t_orphan/stray.parquet",
        vec![0u8; 123],
    ))
    .unwrap();
    // Reported without a threshold...
    let (ran, results) = env.check("t_orphan", Some(&run_dir), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let evidence = &results
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "object_store")
        .unwrap()["evidence"];
    assert_eq!(evidence["orphan_files"], 1, "{evidence}");
    assert_eq!(evidence["orphan_bytes"], 123, "{evidence}");
    // ...and failing with one.
    let (ran, results) = env.check("t_orphan", Some(&run_dir), &["--max-orphan-files", "0"]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "object_store"), "fail", "{results}");
}

#[test]
fn a_session_idle_in_transaction_holding_a_catalog_lock_fails_catalog_locks() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_idle");
    let holder = catalog(&env);
    ducklake_stress::runtime::block_on(
        holder.batch_execute("BEGIN; LOCK TABLE ducklake_metadata IN ROW EXCLUSIVE MODE"),
    )
    .unwrap();
    let (ran, results) = env.check("t_idle", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "catalog_locks"), "fail", "{results}");
    assert!(
        ran.stdout.contains("idle in transaction") && ran.stdout.contains("ducklake-stress/test/breaker"),
        "{}",
        ran.explain()
    );
    drop(holder);
}

/// The run's snapshot ids, from the history (what the writers saw).
fn committed_snapshots(run_dir: &std::path::Path) -> Vec<(u64, u64, i64)> {
    std::fs::read_to_string(run_dir.join("history.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "snapshot")
        .map(|e| {
            (
                e["writer"].as_u64().unwrap(),
                e["txn"].as_u64().unwrap(),
                e["snapshot_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_removed_snapshot_fails_snapshots() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_snap");
    let snaps = committed_snapshots(&run_dir);
    assert_eq!(
        snaps.len(),
        18,
        "3 writers x 6 commits, each with its snapshot id: {snaps:?}"
    );
    let (_, _, victim) = snaps[snaps.len() / 2];
    exec_catalog(
        &env,
        &format!(
            "DELETE FROM ducklake_snapshot_changes WHERE snapshot_id = {victim}; DELETE FROM \
        ducklake_snapshot WHERE snapshot_id = {victim}"
        ),
    );
    let (ran, results) = env.check("t_snap", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "snapshots"), "fail", "{results}");
    assert!(ran.stdout.contains("committed_without_snapshot"), "{}", ran.explain());
}

#[test]
fn rows_moved_to_another_transaction_fail_integrity() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_moved");
    let conn = duckdb(&env);
    // Writer 1's transaction 2 now claims the rows of its transaction 3 too (same counts of
    // rows per number would hide it from a count; the derived payload does not).
    conn.execute_batch(
        "UPDATE lake.t_moved SET txn_seq = 2, row_seq = row_seq + 100 WHERE writer_id = 1 AND txn_seq = 3",
    )
    .unwrap();
    drop(conn);
    let (ran, results) = env.check("t_moved", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "transaction_integrity"), "fail", "{results}");
    assert!(ran.stdout.contains("moved_or_altered_row"), "{}", ran.explain());
}

#[test]
fn a_data_file_of_a_missing_table_fails_catalog_integrity() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_nofile");
    exec_catalog(
        &env,
        "CREATE TEMP TABLE extra AS SELECT * FROM ducklake_data_file LIMIT 1;
         UPDATE extra SET data_file_id = -data_file_id - 1, table_id = 987654;
         INSERT INTO ducklake_data_file SELECT * FROM extra;",
    );
    let (ran, results) = env.check("t_nofile", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "catalog_integrity"), "fail", "{results}");
    assert!(ran.stdout.contains("data_file_without_table"), "{}", ran.explain());
}

#[test]
fn next_file_id_below_a_used_id_fails_catalog_integrity() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_nextid");
    exec_catalog(
        &env,
        "UPDATE ducklake_snapshot SET next_file_id = 1 WHERE snapshot_id = (SELECT max(snapshot_id) \
        FROM ducklake_snapshot)",
    );
    let (ran, results) = env.check("t_nextid", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    assert_eq!(check_status(&results, "catalog_integrity"), "fail", "{results}");
    assert!(ran.stdout.contains("next_file_id_in_use"), "{}", ran.explain());
}

#[test]
fn a_deleted_file_of_an_older_snapshot_fails_object_store() {
    let env = SharedEnv::up();
    let run_dir = healthy_lake(&env, "t_old");
    // Deleting every row of one commit ends its data file in a new snapshot: the file is no
    // longer in the current snapshot, but time travel to older ones still reads it.
    let conn = duckdb(&env);
    conn.execute_batch("DELETE FROM lake.t_old WHERE writer_id = 0 AND txn_seq = 0")
        .unwrap();
    drop(conn);
    let c = catalog(&env);
    let rows = ducklake_stress::runtime::block_on(c.query(
        "SELECT f.path FROM ducklake_data_file f JOIN ducklake_table t ON t.table_id = f.table_id WHERE t.table_name \
            = 't_old' AND f.end_snapshot IS NOT NULL",
        &[],
    ))
    .unwrap();
    let old: String = rows
        .first()
        .expect("the emptied data file is ended, not rewritten")
        .get(0);
    let s3 = env.endpoints().s3.unwrap();
    let objects =
        ducklake_stress::runtime::block_on(ducklake_stress::environment::s3::list_objects(&s3, "lake/")).unwrap();
    let key = objects
        .iter()
        .find(|o| o.key.ends_with(&old))
        .expect("the old file is in the store")
        .key
        .clone();
    let (before, results) = env.check("t_old", None, &[]);
    assert_eq!(
        check_status(&results, "object_store"),
        "pass",
        "before deleting the old file: {}",
        before.explain()
    );
    ducklake_stress::runtime::block_on(ducklake_stress::environment::s3::delete_object(&s3, &key)).unwrap();
    let (ran, results) = env.check("t_old", Some(&run_dir), &[]);
    assert_eq!(check_status(&results, "object_store"), "fail", "{results}");
    assert!(ran.stdout.contains("1 missing"), "{}", ran.explain());
}

/// A small run of `kind` ("counter" or "bank", with its `options`) into `table`, on which
/// the workload's checker passes; returns the run directory and the run's id.
fn healthy_keyed_lake(env: &SharedEnv, table: &str, kind: &str, options: &str, checker: &str) -> (PathBuf, String) {
    let dir = env.dir.path().join(format!("run-{table}"));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = format!(
        "name = \"{table}\"\n[run]\nwriters = 3\ncommits_per_writer = 6\ndeadline = \"3m\"\n[lake]\ntable = \"{table}\"\ndata_inlining_row_limit = 0\n\
         [retry.ducklake]\nmax_retry_count = 100\n[retry.harness]\nmax_attempts = 20\n[workload]\nkind = \"{kind}\"\n{options}\n\
         [checks]\nmax_failed_commits = 1000\ntable_stats = \"report\"\n"
    );
    let ran = run(&scenario(&dir, table, &toml), &dir, &["--env-file", &env.env_arg()]);
    let run_dir = ran.run_dir();
    let (before, results) = env.check(table, Some(&run_dir), &[]);
    assert_eq!(
        check_status(&results, checker),
        "pass",
        "{checker} before breaking: {}",
        before.explain()
    );
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("facts.json")).unwrap()).unwrap();
    (run_dir, facts["run_id"].as_str().unwrap().to_string())
}

fn check_result(results: &serde_json::Value, name: &str) -> serde_json::Value {
    results
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

#[test]
fn a_lost_and_a_doubled_increment_behind_the_harness_fail_counter_increments() {
    let env = SharedEnv::up();
    let (run_dir, run_id) = healthy_keyed_lake(
        &env,
        "t_counter",
        "counter",
        "counters = 4\nbatch_rows = 2",
        "counter_increments",
    );
    let conn = duckdb(&env);
    let values: Vec<(i32, i64)> = conn
        .prepare("SELECT k, v FROM lake.t_counter WHERE run_id = ? ORDER BY v DESC, k")
        .unwrap()
        .query_map([&run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (lost, lost_was) = values[0];
    let doubled = values[1].0;
    assert!(
        lost_was > 0,
        "18 transactions of 2 increments left the top counter at 0: {values:?}"
    );
    // One increment of the top counter lost, one of the next counted twice: each its own commit.
    conn.execute_batch(&format!(
        "UPDATE lake.t_counter SET v = v - 1 WHERE run_id = '{run_id}' AND k = {lost}"
    ))
    .unwrap();
    conn.execute_batch(&format!(
        "UPDATE lake.t_counter SET v = v + 1 WHERE run_id = '{run_id}' AND k = {doubled}"
    ))
    .unwrap();
    drop(conn);
    let (ran, results) = env.check("t_counter", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let c = check_result(&results, "counter_increments");
    assert_eq!(c["status"], "fail", "{c}");
    let problems = c["evidence"]["problems"].as_object().unwrap();
    assert_eq!(
        problems.keys().collect::<Vec<_>>(),
        ["changed_outside_run", "counted_twice", "lost_update"],
        "{c}"
    );
    assert_eq!(problems["changed_outside_run"], 2, "{c}");
    let off = c["evidence"]["counters_off"].as_array().unwrap();
    let found = |k: i32| {
        off.iter()
            .find(|o| o["counter"] == k)
            .unwrap_or_else(|| panic!("counter {k} not reported: {c}"))
            .clone()
    };
    assert_eq!(found(lost)["found"], lost_was - 1, "{c}");
    assert_eq!(found(lost)["committed"], lost_was, "{c}");
    let examples = c["evidence"]["examples"].to_string();
    assert!(
        examples.contains(&format!("counter {lost} = {}, expected {lost_was}", lost_was - 1)),
        "{examples}"
    );
    assert!(examples.contains("made by no transaction of this run"), "{examples}");
}

#[test]
fn a_bank_total_off_by_one_and_an_overdraft_fail_bank_total() {
    let env = SharedEnv::up();
    let opts = "accounts = 4\ninitial_balance = 50\nmax_transfer = 20\nallow_negative = false";
    let (run_dir, run_id) = healthy_keyed_lake(&env, "t_bank", "bank", opts, "bank_total");
    let conn = duckdb(&env);
    // An overdraft that keeps the total: only the negative balance is wrong.
    conn.execute_batch(&format!(
        "UPDATE lake.t_bank SET v = CASE k WHEN 0 THEN -5 ELSE v + (SELECT v + 5 FROM lake.t_bank WHERE run_id = \
            '{run_id}' AND k = 0) END WHERE run_id = '{run_id}' AND k IN (0, 1)"
    ))
    .unwrap();
    let (ran, results) = env.check("t_bank", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let c = check_result(&results, "bank_total");
    assert_eq!(
        c["evidence"]["problems"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["negative_balance"],
        "{c}"
    );
    assert_eq!(c["evidence"]["lowest_negative"]["balance"], -5, "{c}");
    // Then one unit appears from nowhere.
    conn.execute_batch(&format!(
        "UPDATE lake.t_bank SET v = v + 1 WHERE run_id = '{run_id}' AND k = 2"
    ))
    .unwrap();
    let snapshot: i64 = conn
        .query_row("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    let (ran, results) = env.check("t_bank", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let c = check_result(&results, "bank_total");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["evidence"]["problems"]
            .as_object()
            .unwrap()
            .contains_key("total_changed"),
        "{c}"
    );
    let wrong = c["evidence"]["wrong_totals"].as_array().unwrap();
    assert!(
        wrong
            .iter()
            .any(|w| w["snapshot"] == snapshot && w["total"] == 201 && w["made_by"] == "no transaction of this run"),
        "{c}"
    );
    assert!(
        wrong.iter().any(|w| w["snapshot"].is_null() && w["total"] == 201),
        "the table now: {c}"
    );
}

#[test]
fn a_deleted_row_put_back_behind_the_harness_fails_delete_rows() {
    let env = SharedEnv::up();
    let (run_dir, run_id) = healthy_keyed_lake(
        &env,
        "t_delete",
        "delete",
        "deleters = 1\nbatch_rows = 5\npayload_bytes = 16",
        "delete_rows",
    );
    let (_, results) = env.check("t_delete", Some(&run_dir), &[]);
    let c = check_result(&results, "delete_rows");
    let first_delete = c["evidence"]["delete_snapshots"][0]["snapshot"]
        .as_i64()
        .unwrap_or_else(|| panic!("the run deleted nothing: {c}"));
    // A row the run deleted comes back: copied from the snapshot before the first delete.
    let conn = duckdb(&env);
    let put_back = conn
        .execute(
            &format!(
                "INSERT INTO lake.t_delete SELECT * FROM (FROM lake.t_delete AT (VERSION => {})) o WHERE run_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM lake.t_delete n WHERE n.run_id = ?1 AND n.writer_id = o.writer_id AND n.txn_seq = o.txn_seq AND n.row_seq = o.row_seq) LIMIT 1",
                first_delete - 1
            ),
            [&run_id],
        )
        .unwrap();
    assert_eq!(put_back, 1);
    drop(conn);
    let (ran, results) = env.check("t_delete", Some(&run_dir), &[]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let c = check_result(&results, "delete_rows");
    assert_eq!(c["status"], "fail", "{c}");
    let problems = c["evidence"]["problems"].as_object().unwrap();
    assert_eq!(
        problems.keys().collect::<Vec<_>>(),
        ["changed_outside_run", "deleted_row_back"],
        "{c}"
    );
    assert_eq!(
        (
            problems["changed_outside_run"].as_u64(),
            problems["deleted_row_back"].as_u64()
        ),
        (Some(1), Some(1)),
        "{c}"
    );
    assert!(
        c["evidence"]["examples"].to_string().contains("is back in snapshot"),
        "{c}"
    );
}

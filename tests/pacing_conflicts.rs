//! Pacing (`run.rate`, an open model with Poisson arrivals, and `run.think_time`) and
//! conflicts named by table and statement, against real Postgres and DuckLake. The data
//! files stay local (`lake.data = "local"`): the object store plays no part in pacing or in
//! what conflicted (DuckLake finds conflicts in its catalog), and the runs stay light.

mod common;
use common::*;

/// The seed of the paced test: its schedule has 19 and 21 arrivals in [0, 10 s) for
/// writers 0 and 1 at 2/s (`the_test_seed_gives_about_twenty_arrivals` below).
const SEED: u64 = 18;

fn paced_toml(name: &str, rate: &str, duration: &str) -> String {
    format!(
        r#"name = "{name}"
[run]
writers = 2
duration = "{duration}"
deadline = "2m"
rate = "{rate}"
rate_seed = {SEED}
[lake]
table = "paced"
data = "local"
data_inlining_row_limit = 0
[workload]
batch_rows = 5
payload_bytes = 16
{PATIENT_RETRIES}"#
    )
}

#[test]
fn the_test_seed_gives_about_twenty_arrivals() {
    use ducklake_stress::scenario::pacing::Schedule;
    for w in 0..2 {
        let n = Schedule::new(2.0, SEED, w).take_while(|t| *t < 10.0).count();
        assert!((17..=23).contains(&n), "writer {w}: {n} arrivals");
    }
}

#[test]
fn a_paced_run_makes_its_rate_and_reports_the_schedule_lag() {
    let dir = tempdir();
    let ran = run(
        &scenario(dir.path(), "paced", &paced_toml("paced", "2/s", "10s")),
        dir.path(),
        &[],
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let p = &r["pacing"];
    assert_eq!(p["pacing"]["model"], "rate", "{p}");
    assert_eq!(p["kept"], true, "{p}");
    for w in r["writers"].as_array().unwrap() {
        let n = w["transactions"].as_u64().unwrap();
        assert!(
            (17..=23).contains(&n),
            "writer {}: {n} transactions, 20 +/- 3 expected",
            w["writer"]
        );
    }
    // Every arrival the seeded schedule had in the window was served.
    assert_eq!(p["started"], p["scheduled"], "{p}");
    assert_eq!(p["lag_ms"]["count"], r["totals"]["transactions"], "{p}");
    assert!(
        p["lag_ms"]["p99"].as_f64().unwrap() >= 0.0 && p["latency_from_due_ms"]["count"] == r["totals"]["commits"],
        "{p}"
    );
    let summary = std::fs::read_to_string(ran.run_dir().join("summary.txt")).unwrap();
    assert!(
        summary.contains("pacing: Poisson arrivals at 2.00/s per writer") && summary.contains("schedule lag p50"),
        "{summary}"
    );
    assert!(!summary.contains("rate not kept"), "{summary}");
}

#[test]
fn an_impossible_rate_is_reported_as_not_kept() {
    let dir = tempdir();
    let ran = run(
        &scenario(dir.path(), "flooded", &paced_toml("flooded", "1000/s", "4s")),
        dir.path(),
        &[],
    );
    // Not kept is a warning: the run's other figures are valid for the load it did get.
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let p = &r["pacing"];
    assert_eq!(p["kept"], false, "{p}");
    let why = p["not_kept"].as_str().unwrap();
    assert!(
        why.starts_with("rate not kept: ") && why.contains("scheduled transactions started"),
        "{why}"
    );
    assert!(
        p["started"].as_u64().unwrap() * 10 < p["scheduled"].as_u64().unwrap(),
        "{p}"
    );
    let summary = std::fs::read_to_string(ran.run_dir().join("summary.txt")).unwrap();
    assert!(summary.contains("rate not kept: "), "{summary}");
    let md = std::fs::read_to_string(ran.run_dir().join("summary.md")).unwrap();
    assert!(md.contains("**rate not kept: "), "{md}");
}

#[test]
fn think_time_spaces_a_writers_transactions() {
    let dir = tempdir();
    let toml =
        paced_toml("thinking", "2/s", "3s").replace("rate = \"2/s\"\nrate_seed = 18\n", "think_time = \"500ms\"\n");
    let ran = run(&scenario(dir.path(), "thinking", &toml), dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    assert_eq!(
        r["pacing"]["pacing"],
        serde_json::json!({ "model": "think_time", "think_ms": 500 })
    );
    // At most one transaction per 500 ms pause (plus the first) in 3 s, per writer.
    for w in r["writers"].as_array().unwrap() {
        let n = w["transactions"].as_u64().unwrap();
        assert!((1..=7).contains(&n), "writer {}: {n} transactions", w["writer"]);
    }
}

/// The issue's pipeline: each transaction inserts events and updates the writer's own
/// watermark row. DuckLake checks conflicts per table: an UPDATE is a delete and an
/// insert, so two writers' watermark updates conflict though they touch different rows.
fn watermark_toml(name: &str, writers: u32, duration: &str, extra_run: &str) -> String {
    format!(
        r#"name = "{name}"
[run]
writers = {writers}
duration = "{duration}"
deadline = "3m"
{extra_run}
[lake]
table = "events"
data = "local"
data_inlining_row_limit = 0
[retry.ducklake]
max_retry_count = 50
[workload]
kind = "sql"
setup = "CREATE TABLE IF NOT EXISTS lake.events (w INTEGER, t BIGINT, i INTEGER); CREATE TABLE IF NOT EXISTS lake.watermark (w INTEGER, hw BIGINT); INSERT INTO lake.watermark SELECT range, -1 FROM range({writers})"
statements = [
    "INSERT INTO lake.events SELECT {{writer}}, {{txn}}, range FROM range(50)",
    "UPDATE lake.watermark SET hw = {{txn}} WHERE w = {{writer}}",
]
[checks]
max_failed_commits = 100000
table_stats = "report"
"#
    )
}

#[test]
fn a_conflict_names_its_table_and_statement_and_the_summary_shows_the_whole_message() {
    let dir = tempdir();
    let ran = run(
        &scenario(dir.path(), "watermark", &watermark_toml("watermark", 4, "6s", "")),
        dir.path(),
        &[],
    );
    let r = ran.report();
    let conflict = &r["errors"]["conflict"];
    assert!(
        conflict["count"].as_u64().unwrap_or(0) > 0,
        "no conflict in 6 s of 4 writers: {}\n{}",
        r["errors"],
        ran.explain()
    );
    let groups = conflict["conflicts"].as_array().unwrap();
    let top = &groups[0];
    assert_eq!(top["table"], "main.watermark", "{top}");
    assert_eq!(top["object"], "table", "{top}");
    assert!(top["id"].as_i64().is_some(), "{top}");
    assert!(
        top["statement"]
            .as_str()
            .unwrap()
            .starts_with("workload.statements[1]: UPDATE lake.watermark"),
        "{top}"
    );
    // Every conflict was on the watermark table: the events' inserts never conflict.
    assert!(groups.iter().all(|g| g["table"] == "main.watermark"), "{groups:?}");
    let counted: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, conflict["count"].as_u64().unwrap(), "{groups:?}");
    let example = top["example"].as_str().unwrap();
    let tail = example
        .split("Transaction conflict - ")
        .nth(1)
        .unwrap_or_else(|| panic!("{example}"));
    let summary = std::fs::read_to_string(ran.run_dir().join("summary.txt")).unwrap();
    assert!(
        summary.contains(tail)
            && summary.contains("on main.watermark (table id")
            && summary.contains("workload.statements[1]"),
        "{summary}"
    );
    let md = std::fs::read_to_string(ran.run_dir().join("summary.md")).unwrap();
    assert!(
        md.contains("| conflict |") && md.contains(tail) && md.contains("main.watermark"),
        "{md}"
    );
}

#[test]
fn conflicts_on_two_tables_name_each_table_and_the_statement_that_wrote_it() {
    // Even writers update table a, odd writers table b (the other UPDATE matches no row and
    // changes nothing): each table has its own conflicts.
    let toml = r#"name = "two-tables"
[run]
writers = 4
duration = "5s"
deadline = "2m"
[lake]
table = "a"
data = "local"
data_inlining_row_limit = 0
[workload]
kind = "sql"
setup = "CREATE TABLE IF NOT EXISTS lake.a (k INTEGER, v BIGINT); CREATE TABLE IF NOT EXISTS lake.b (k INTEGER, v BIGINT); INSERT INTO lake.a VALUES (0, 0); INSERT INTO lake.b VALUES (0, 0)"
statements = [
    "UPDATE lake.a SET v = v + 1 WHERE {writer} % 2 = 0",
    "UPDATE lake.b SET v = v + 1 WHERE {writer} % 2 = 1",
]
[checks]
max_failed_commits = 100000
table_stats = "report"
"#;
    let dir = tempdir();
    let ran = run(&scenario(dir.path(), "two-tables", toml), dir.path(), &[]);
    let r = ran.report();
    let groups = r["errors"]["conflict"]["conflicts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (table, statement) in [
        ("main.a", "workload.statements[0]: UPDATE lake.a"),
        ("main.b", "workload.statements[1]: UPDATE lake.b"),
    ] {
        let g = groups
            .iter()
            .find(|g| g["table"] == table)
            .unwrap_or_else(|| panic!("no conflict on {table}: {groups:?}\n{}", ran.explain()));
        assert!(g["statement"].as_str().unwrap().starts_with(statement), "{g}");
    }
    let summary = std::fs::read_to_string(ran.run_dir().join("summary.txt")).unwrap();
    assert!(
        summary.contains("on main.a (table id") && summary.contains("on main.b (table id"),
        "{summary}"
    );
}

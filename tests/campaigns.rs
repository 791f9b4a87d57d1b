//! Campaigns against real services: `--set`, `run --repeat`, `sweep`, `compare`, and a
//! DuckLake extension loaded from a file of the user's.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A small append scenario: `writers` writers, `commits` commits each.
fn small(dir: &Path, name: &str, writers: u32, commits: u32, ducklake_retries: u32) -> PathBuf {
    scenario(
        dir,
        name,
        &format!(
            "name = \"{name}\"\n[run]\nwriters = {writers}\ncommits_per_writer = {commits}\ndeadline = \
                \"3m\"\n[retry.ducklake]\nmax_retry_count = {ducklake_retries}\n[retry.harness]\nmax_attempts = \
                1\n[workload]\nbatch_rows = 5\n[checks]\nmax_failed_commits = 1000000\n"
        ),
    )
}

fn campaign(args: &[&str], results: &Path) -> Ran {
    Ran::from(
        bin()
            .args(args)
            .arg("--results-dir")
            .arg(results)
            .arg("--quiet")
            .output()
            .expect("binary runs"),
    )
}

/// The path a campaign printed after `prefix: `.
fn printed(ran: &Ran, prefix: &str) -> PathBuf {
    let line = ran
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line\n{}", ran.explain()));
    PathBuf::from(line)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn set_overrides_a_key_and_the_report_records_it() {
    let dir = tempdir();
    let s = small(dir.path(), "set", 4, 3, 10);
    let ran = run(
        &s,
        dir.path(),
        &["--set", "run.writers=2", "--set", "workload.batch_rows=7"],
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    assert_eq!(r["scenario"]["run"]["writers"], 2);
    assert_eq!(r["totals"]["rows_committed"], 2 * 3 * 7);
    assert_eq!(
        r["overrides"],
        serde_json::json!(["run.writers=2", "workload.batch_rows=7"])
    );
}

#[test]
fn a_bad_override_is_refused_before_anything_starts_naming_the_key() {
    let dir = tempdir();
    let s = small(dir.path(), "badset", 2, 1, 10);
    let ran = run(&s, dir.path(), &["--set", "run.writers=0"]);
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("run.writers") && ran.stderr.contains("--set run.writers=0"),
        "{}",
        ran.explain()
    );
    let ran = run(&s, dir.path(), &["--set", "run.writerz=3"]);
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("writerz"), "{}", ran.explain());
}

#[test]
fn a_two_by_two_sweep_with_two_repetitions_accounts_for_eight_runs() {
    let dir = tempdir();
    let s = small(dir.path(), "sweep", 2, 4, 10);
    let ran = campaign(
        &[
            "sweep",
            s.to_str().unwrap(),
            "--param",
            "run.writers=2,3",
            "--param",
            "retry.ducklake.max_retry_count=0,10",
            "--repeat",
            "2",
            "--seed",
            "42",
        ],
        dir.path(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let sweep_json = printed(&ran, "sweep: ");
    let sweep = json(&sweep_json);
    let points = sweep["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let runs: u64 = points.iter().map(|p| p["aggregate"]["reports"].as_u64().unwrap()).sum();
    assert_eq!(runs, 8, "every run gave a report");
    assert_eq!(sweep["order"].as_array().unwrap().len(), 8);
    for p in points {
        let writers: u64 = p["point"]["values"][0][1].as_str().unwrap().parse().unwrap();
        let commits: u64 = p["aggregate"]["commits"].as_u64().unwrap();
        let failed: u64 = p["aggregate"]["failed_total"].as_u64().unwrap();
        assert_eq!(
            commits + failed,
            2 * writers * 4,
            "each run's transactions all accounted: {p}"
        );
    }
    let out = sweep_json.parent().unwrap();
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8, "{csv}");
    assert!(
        csv.starts_with("run.writers,retry.ducklake.max_retry_count,repetition,report,verdict"),
        "{csv}"
    );
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(
        md.contains("## Envelope") && md.contains("retry.ducklake.max_retry_count=10"),
        "{md}"
    );
    assert_eq!(sweep["envelope"]["rows"].as_array().unwrap().len(), 2);
    let html = std::fs::read_to_string(out.join("sweep.html")).unwrap();
    assert!(
        html.contains("chart-sweep-throughput") && html.contains("<svg") && html.contains("id=\"envelope\""),
        "sweep.html with its heatmap and envelope"
    );
    // Each run had its own table, in the one environment the sweep started.
    let tables: std::collections::HashSet<String> = points
        .iter()
        .flat_map(|p| {
            p["aggregate"]["report_files"].as_array().unwrap().iter().map(|f| {
                json(Path::new(f.as_str().unwrap()))["scenario"]["lake"]["table"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    assert_eq!(tables.len(), 8);
}

#[test]
fn repeat_runs_the_same_point_and_a_report_against_itself_is_no_difference() {
    let dir = tempdir();
    // Enough transactions (2 x 600) that "no difference" can be shown: the intervals of
    // failed commits and of the median latency must fit in the margins (1 point, 10 %).
    // DuckLake retries on, so no commit fails: 0 of 600 keeps the interval inside ±1 point.
    let s = small(dir.path(), "again", 4, 150, 100);
    let ran = run(&s, dir.path(), &["--repeat", "2"]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let sweep = json(&printed(&ran, "repeat: "));
    assert_eq!(sweep["points"][0]["aggregate"]["reports"], 2);
    let report = sweep["points"][0]["aggregate"]["report_files"][0]
        .as_str()
        .unwrap()
        .to_string();
    let out = dir.path().join("self");
    let ran = Ran::from(
        bin()
            .args(["compare", &report, &report, "--out"])
            .arg(&out)
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let c = json(&out.join("comparison.json"));
    assert_eq!(c["verdict"], "no_difference", "{}", ran.explain());
    // A directory of runs is a side too: both reports of the repetition.
    let runs_dir = Path::new(&report).parent().unwrap().parent().unwrap().to_path_buf();
    let ran = Ran::from(
        bin()
            .args(["compare"])
            .arg(&runs_dir)
            .arg(&report)
            .arg("--out")
            .arg(dir.path().join("dir"))
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert_eq!(
        json(&dir.path().join("dir").join("comparison.json"))["baseline"]["aggregate"]["reports"],
        2
    );
}

#[test]
fn more_ducklake_retries_give_fewer_failed_commits_with_an_interval() {
    let dir = tempdir();
    let none = small(dir.path(), "retries-0", 8, 8, 0);
    let many = small(dir.path(), "retries-100", 8, 8, 100);
    let out = dir.path().join("cmp");
    let ran = Ran::from(
        bin()
            .args([
                "compare",
                none.to_str().unwrap(),
                many.to_str().unwrap(),
                "--repeat",
                "2",
                "--quiet",
                "--fail-if-worse",
                "--out",
            ])
            .arg(&out)
            .arg("--results-dir")
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let c = json(&out.join("comparison.json"));
    assert_eq!(c["baseline"]["aggregate"]["reports"], 2, "{}", ran.explain());
    assert_eq!(c["candidate"]["aggregate"]["reports"], 2);
    let failed = c["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "failed commits")
        .unwrap()
        .clone();
    assert_eq!(failed["judgement"], "better", "{failed}\n{}", ran.stdout);
    assert!(failed["interval"]["high"].as_f64().unwrap() < 0.0, "{failed}");
    assert_eq!(c["verdict"], "better", "{}", ran.stdout);
    // The same comparison the other way round is worse, and --fail-if-worse says so.
    let back = dir.path().join("back");
    let candidate_reports: Vec<String> = c["candidate"]["aggregate"]["report_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let baseline_reports: Vec<String> = c["baseline"]["aggregate"]["report_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let ran = Ran::from(
        bin()
            .args([
                "compare",
                &candidate_reports[0],
                &baseline_reports[0],
                "--fail-if-worse",
                "--out",
            ])
            .arg(&back)
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 1, "{}", ran.explain());
}

/// The ducklake extension file of the setup script's cache directory.
fn released_ducklake() -> PathBuf {
    let dir = std::env::var_os("DUCKLAKE_STRESS_EXTENSION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/ducklake-stress/extensions"));
    let found: Vec<PathBuf> = glob_ducklake(&dir.join(format!("v{}", ducklake_stress::DUCKDB_VERSION)));
    found
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no ducklake.duckdb_extension under {}", dir.display()))
}

fn glob_ducklake(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|e| {
            e.filter_map(|e| e.ok())
                .map(|e| e.path().join("ducklake.duckdb_extension"))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default()
}

/// Each extension was verified once (issue 24): the report says how and gives the SHA-256
/// of the bytes every instance loaded; a directory's file is hashed as it is on disk.
fn assert_verified(r: &Value, how: &str) {
    use sha2::Digest;
    let extensions = r["versions"]["extensions"].as_array().unwrap();
    assert_eq!(extensions.len(), 5, "{extensions:?}");
    for e in extensions {
        assert_eq!(e["verified"], how, "{e}");
        let on_disk = std::fs::read(e["file"].as_str().unwrap()).unwrap();
        assert_eq!(e["sha256"], hex::encode(sha2::Sha256::digest(on_disk)), "{e}");
    }
}

/// Every file under `dir`, recursively (none if it does not exist).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let paths = entries.filter_map(|e| e.ok()).map(|e| e.path());
    paths
        .flat_map(|p| if p.is_dir() { files_under(&p) } else { vec![p] })
        .collect()
}

#[test]
fn an_extension_from_a_file_is_loaded_and_told_apart_by_its_hash() {
    use sha2::Digest;
    let dir = tempdir();
    let s = small(dir.path(), "ext", 2, 2, 10);
    let released = released_ducklake();
    let copy_dir = dir.path().join("patched");
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join("ducklake.duckdb_extension");
    std::fs::copy(&released, &copy).unwrap();
    let ran = run(
        &s,
        dir.path(),
        &["--extension", &format!("ducklake={}", copy.display())],
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let r = ran.report();
    let ducklake = r["versions"]["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "ducklake")
        .unwrap()
        .clone();
    assert_eq!(ducklake["source"], "file");
    assert_eq!(ducklake["file"], copy.canonicalize().unwrap().display().to_string());
    assert_eq!(
        ducklake["sha256"],
        hex::encode(sha2::Sha256::digest(std::fs::read(&released).unwrap()))
    );
    assert!(!ducklake["version"].as_str().unwrap().is_empty(), "{ducklake}");
    assert_verified(&r, "signature");
    // A user's own build: no signature check, still one hashed private copy.
    let from_file = format!("ducklake={}", copy.display());
    let ran = run(
        &s,
        dir.path(),
        &["--extension", &from_file, "--allow-unsigned-extensions"],
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert_verified(&ran.report(), "unsigned allowed");
    // A file whose signature no longer matches is refused before any writer starts (no
    // history, no report), whether writers are threads or processes, and the message names
    // the file and says what to do.
    let mut bytes = std::fs::read(&released).unwrap();
    let n = bytes.len();
    bytes[n - 300] ^= 0xff;
    std::fs::write(&copy, bytes).unwrap();
    for mode in ["thread", "process"] {
        let results = dir.path().join(format!("tampered-{mode}"));
        let ran = run(
            &s,
            &results,
            &["--extension", &from_file, "--set", &format!("run.mode={mode}")],
        );
        assert_eq!(ran.code, 3, "{mode}: {}", ran.explain());
        assert!(
            ran.stderr.contains("--allow-unsigned-extensions"),
            "{mode}: {}",
            ran.explain()
        );
        assert!(
            ran.stderr.contains(&copy.canonicalize().unwrap().display().to_string()),
            "{mode}: {}",
            ran.explain()
        );
        assert_eq!(files_under(&results), Vec::<PathBuf>::new(), "{mode}: a writer's trace");
    }
    // Named otherwise, DuckDB could not tell which extension it is: refused at parse time.
    let wrong = copy_dir.join("my-ducklake.duckdb_extension");
    std::fs::copy(&released, &wrong).unwrap();
    let ran = run(
        &s,
        dir.path(),
        &["--extension", &format!("ducklake={}", wrong.display())],
    );
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("ducklake.duckdb_extension"), "{}", ran.explain());
}

/// The reports of one side of a comparison, copied into a directory of their own, so they
/// can be compared again (swapped, or against themselves) without running anything.
fn side_reports(comparison: &Value, side: &str, into: &Path) -> PathBuf {
    let dir = into.join(side);
    for (i, file) in comparison[side]["aggregate"]["report_files"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let to = dir.join(format!("run{i}"));
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(file.as_str().unwrap(), to.join("report.json")).unwrap();
    }
    dir
}

fn check_row<'a>(comparison: &'a Value, name: &str) -> &'a Value {
    comparison["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} row: {}", comparison["checks"]))
}

/// Correctness decides a comparison first. The baseline is `upsert-empty` (4 concurrent
/// first upserts: DuckLake 1.5.5 duplicates every key, duckdb/ducklake#1393, reported as a
/// known finding); the candidate is the same scenario on a table seeded with every key, where
/// the same upserts conflict as documented and the harness retries them, with DuckLake
/// waiting 1 s before its own retries (so it is no faster for that). The candidate fixes
/// `upsert_keys` and is "better" for it, whatever its speed, while the record_count
/// behaviour it now shows is reported, not weighed; swapped, "worse", and `--fail-if-worse`
/// exits 1; the baseline against itself shows no difference in the check.
#[test]
fn a_comparison_is_decided_by_a_check_one_side_fails() {
    let dir = tempdir();
    let s = repo().join("scenarios/upsert-empty.toml");
    let s = s.to_str().unwrap();
    let args = [
        "compare",
        s,
        s,
        "--repeat",
        "3",
        "--candidate-set",
        "workload.seed=true",
        "--candidate-set",
        "retry.ducklake.retry_wait_ms=1000",
    ];
    let ran = campaign(&args, dir.path());
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let c = json(&printed(&ran, "comparison: "));
    let row = check_row(&c, "upsert_keys");
    assert_eq!(
        row["baseline"]["known"], 3,
        "the race must show in every baseline run: {row}"
    );
    assert_eq!(row["baseline"]["known_as"], "duckdb/ducklake#1393", "{row}");
    assert_eq!(row["candidate"]["pass"], 3, "{row}");
    assert_eq!(c["verdict"], "better", "{}", c["verdict_reason"]);
    let reason = c["verdict_reason"].as_str().unwrap();
    assert!(
        reason.contains("fixes `upsert_keys` (3 of 3 runs failed -> 0 of 3"),
        "{reason}"
    );
    assert!(
        ran.stdout.contains("| upsert_keys (known duckdb/ducklake#1393) |"),
        "the check's row in comparison.md:\n{}",
        ran.stdout
    );

    let stored = dir.path().join("stored");
    let (base, cand) = (
        side_reports(&c, "baseline", &stored),
        side_reports(&c, "candidate", &stored),
    );
    let swapped = campaign(
        &[
            "compare",
            cand.to_str().unwrap(),
            base.to_str().unwrap(),
            "--fail-if-worse",
        ],
        dir.path(),
    );
    assert_eq!(swapped.code, 1, "{}", swapped.explain());
    let w = json(&printed(&swapped, "comparison: "));
    assert_eq!(w["verdict"], "worse", "{}", w["verdict_reason"]);
    assert!(
        w["verdict_reason"].as_str().unwrap().contains("breaks `upsert_keys`"),
        "{}",
        w["verdict_reason"]
    );
    assert_eq!(w["newly_failing"], serde_json::json!(["upsert_keys"]));

    let same = campaign(
        &[
            "compare",
            base.to_str().unwrap(),
            base.to_str().unwrap(),
            "--fail-if-worse",
        ],
        dir.path(),
    );
    assert_eq!(same.code, 0, "{}", same.explain());
    let n = json(&printed(&same, "comparison: "));
    assert_eq!(
        check_row(&n, "upsert_keys")["judgement"],
        "no_difference",
        "{}",
        n["checks"]
    );
    assert!(
        !["better", "worse"].contains(&n["verdict"].as_str().unwrap()),
        "{}",
        n["verdict_reason"]
    );
    assert!(
        n["verdict_reason"].as_str().unwrap().contains("failing on both sides"),
        "{}",
        n["verdict_reason"]
    );
}

/// A user's own bank scenario written with `[[actors]]` and no `table_stats` key: DuckLake
/// 1.5.5's record_count keeps counting replaced rows, a known upstream finding, so the run
/// passes and lists it; with `--strict` the same run fails on it.
#[test]
fn a_known_upstream_finding_passes_with_its_reference_and_strict_fails_it() {
    let dir = tempdir();
    let toml = "name = \"my-bank\"\n[run]\nwriters = 3\nduration = \"3s\"\ndeadline = \"2m\"\n[lake]\ntable = \"my_accounts\"\ndata_inlining_row_limit = 0\n\
                [retry.ducklake]\nmax_retry_count = 100\n[[actors]]\nkind = \"bank\"\ncount = 3\naccounts = 6\ninitial_balance = 100\nmax_transfer = 20\nallow_negative = false\n\
                [checks]\nmax_failed_commits = 100000\n";
    let path = scenario(dir.path(), "my-bank", toml);
    let ran = run(&path, dir.path(), &[]);
    let r = ran.report();
    let stats = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "table_stats")
        .unwrap()
        .clone();
    assert_eq!(stats["status"], "known", "{stats}");
    assert_eq!(stats["known"]["reference"], "duckdb/ducklake#1247", "{stats}");
    assert!(
        stats["evidence"]["record_count"].as_i64().unwrap() > stats["evidence"]["scanned_rows"].as_i64().unwrap(),
        "{stats}"
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(
        r["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("known upstream findings: table_stats (duckdb/ducklake#1247)"),
        "{}",
        r["verdict_reason"]
    );

    let strict = run(&path, dir.path(), &["--strict"]);
    let r = strict.report();
    let stats = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "table_stats")
        .unwrap()
        .clone();
    assert_eq!(stats["status"], "fail", "{stats}");
    assert_eq!(stats["known"]["strict"], true, "{stats}");
    assert_eq!(strict.code, 1, "{}", strict.explain());
}

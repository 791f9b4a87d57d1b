//! Bad scenario files are refused with exit 2 and a message naming file, line and key;
//! every shipped scenario validates.

mod common;
use common::*;

fn validate(toml: &str) -> Ran {
    let dir = tempdir();
    let path = scenario(dir.path(), "broken", toml);
    let ran = Ran::from(bin().arg("validate").arg(&path).output().unwrap());
    // The message must name the file.
    if ran.code != 0 {
        assert!(
            ran.stderr.contains("broken.toml"),
            "message does not name the file: {}",
            ran.explain()
        );
    }
    ran
}

const GOOD: &str = r#"name = "ok"
[run]
writers = 2
duration = "5s"
"#;

#[test]
fn a_minimal_scenario_is_valid() {
    let ran = validate(GOOD);
    assert_eq!(ran.code, 0, "{}", ran.explain());
}

#[test]
fn every_shipped_scenario_validates() {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "scenarios/ should ship examples");
    let ran = Ran::from(bin().arg("validate").args(&files).output().unwrap());
    assert_eq!(ran.code, 0, "{}", ran.explain());
}

#[test]
fn unknown_key_names_line_and_key() {
    let ran = validate("name = \"x\"\n[run]\nwriters = 2\nduration = \"5s\"\nwritters = 3\n");
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("broken.toml:5:"), "{}", ran.explain());
    assert!(ran.stderr.contains("writters"), "{}", ran.explain());
}

#[test]
fn zero_writers_is_refused_with_its_line() {
    let ran = validate("name = \"x\"\n[run]\nwriters = 0\nduration = \"5s\"\n");
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("broken.toml:3:"), "{}", ran.explain());
    assert!(ran.stderr.contains("run.writers"), "{}", ran.explain());
}

#[test]
fn negative_wait_is_refused() {
    let ran = validate(&format!("{GOOD}[retry.ducklake]\nretry_wait_ms = -5\n"));
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("broken.toml:6:"), "{}", ran.explain());
}

#[test]
fn wrong_type_is_refused() {
    let ran = validate("name = \"x\"\n[run]\nwriters = \"four\"\nduration = \"5s\"\n");
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("broken.toml:3:"), "{}", ran.explain());
}

#[test]
fn a_crashing_writer_needs_process_mode() {
    let ok = validate(
        "name = \"x\"\n[run]\nwriters = 2\nmode = \"process\"\nduration = \"5s\"\n[[nemesis]]\nkind = \
        \"crash_writer\"\n",
    );
    assert_eq!(ok.code, 0, "{}", ok.explain());
    let ran = validate("name = \"x\"\n[run]\nwriters = 2\nduration = \"5s\"\n[[nemesis]]\nkind = \"crash_writer\"\n");
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("broken.toml:5:") && ran.stderr.contains("run.mode = \"process\""),
        "{}",
        ran.explain()
    );
}

#[test]
fn duration_and_commit_count_together_are_refused() {
    let ran = validate("name = \"x\"\n[run]\nwriters = 2\nduration = \"5s\"\ncommits_per_writer = 3\n");
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("commits_per_writer"), "{}", ran.explain());
}

#[test]
fn backoff_below_one_names_its_line() {
    let ran = validate(&format!("{GOOD}[retry.harness]\nmax_attempts = 3\nbackoff = 0.5\n"));
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("broken.toml:7:") && ran.stderr.contains("retry.harness.backoff"),
        "{}",
        ran.explain()
    );
}

#[test]
fn a_bad_duration_is_refused() {
    let ran = validate("name = \"x\"\n[run]\nwriters = 2\nduration = \"soon\"\n");
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("broken.toml:4:") && ran.stderr.contains("run.duration"),
        "{}",
        ran.explain()
    );
}

#[test]
fn a_missing_file_is_bad_input() {
    let ran = Ran::from(bin().args(["validate", "/nonexistent/scenario.toml"]).output().unwrap());
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("/nonexistent/scenario.toml"), "{}", ran.explain());
}

#[test]
fn a_fault_after_the_run_is_refused() {
    let ran = validate(&format!(
        "{GOOD}[[nemesis]]\nkind = \"terminate_writer_sessions\"\nafter = \"10s\"\n"
    ));
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("broken.toml:5:") && ran.stderr.contains("nemesis.after"),
        "{}",
        ran.explain()
    );
}

#[test]
fn a_key_of_another_fault_kind_is_refused() {
    let ran = validate(&format!(
        "{GOOD}[[nemesis]]\nkind = \"terminate_writer_sessions\"\nhold = \"1s\"\n"
    ));
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("nemesis.hold") && ran.stderr.contains("does not apply"),
        "{}",
        ran.explain()
    );
}

#[test]
fn an_oversized_batch_is_refused() {
    let ran = validate(&format!(
        "{GOOD}[workload]\nbatch_rows = 1000000\npayload_bytes = 1000\n"
    ));
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("broken.toml:6:") && ran.stderr.contains("256 MiB"),
        "{}",
        ran.explain()
    );
}

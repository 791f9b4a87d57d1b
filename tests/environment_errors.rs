//! An environment that cannot be reached, or a missing extension, ends within seconds
//! with exit 3 and a message that says what to do.

mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn an_unreachable_postgres_is_exit_3_within_seconds() {
    let dir = tempdir();
    let path = scenario(
        dir.path(),
        "x",
        &append_toml("x", 2, 2, "entries", "").replace("\"s3\"", "\"local\""),
    );
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let ran = run(
        &path,
        dir.path(),
        &[
            "--pg-dsn",
            &format!("postgres://u:p@127.0.0.1:{port}/ducklake"),
            "--local-data-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.explain());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        ran.stderr.contains(&format!("127.0.0.1:{port}")) && ran.stderr.contains("--pg-dsn"),
        "{}",
        ran.explain()
    );
    assert!(!ran.stderr.contains("panicked"), "{}", ran.explain());
}

#[test]
fn a_missing_extension_is_exit_3_naming_it() {
    let dir = tempdir();
    let empty = tempdir();
    let path = scenario(
        dir.path(),
        "x",
        &append_toml("x", 1, 1, "entries", "").replace("\"s3\"", "\"local\""),
    );
    // No INSTALL fallback either, so the result is the same on machines with internet.
    let ran = Ran::from(
        bin()
            .env("DUCKLAKE_STRESS_NO_EXTENSION_INSTALL", "1")
            .arg("run")
            .arg(&path)
            .args([
                "--quiet",
                "--results-dir",
                dir.path().to_str().unwrap(),
                "--extension-dir",
                empty.path().to_str().unwrap(),
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 3, "{}", ran.explain());
    assert!(
        ran.stderr.contains("extension `parquet`") && ran.stderr.contains("scripts/setup.sh"),
        "{}",
        ran.explain()
    );
}

#[test]
fn a_broken_env_file_is_bad_input() {
    let dir = tempdir();
    let env = dir.path().join("env.json");
    std::fs::write(&env, "{\"postgres\": {\"host\": 1}}").unwrap();
    let path = scenario(dir.path(), "x", &append_toml("x", 1, 1, "entries", ""));
    let ran = run(&path, dir.path(), &["--env-file", env.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(ran.stderr.contains("env.json:1:"), "{}", ran.explain());
}

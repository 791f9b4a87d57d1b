//! Marks for scripts/bench-instructions.sh: with DUCKLAKE_STRESS_CALLGRIND_MARKS set, the
//! harness (and the bare loop) zero callgrind's counters when the writers start and dump
//! them when they have stopped, so that the instructions compared are those of the writing
//! alone, in every thread, without set-up or the checks after the run. Nothing happens
//! without the variable (or outside valgrind: callgrind_control then just fails).

use std::process::{Command, Stdio};

/// `callgrind_control --ACTION <this pid>`, waited for: "zero", or "dump=writing".
pub fn mark(action: &str) {
    if std::env::var_os("DUCKLAKE_STRESS_CALLGRIND_MARKS").is_none() {
        return;
    }
    let done = Command::new("callgrind_control")
        .arg(format!("--{action}"))
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !done.is_ok_and(|s| s.success()) {
        tracing::warn!("callgrind_control --{action} failed: is this running under valgrind --tool=callgrind?");
    }
}

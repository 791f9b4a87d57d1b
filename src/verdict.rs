//! The verdict of a run, decided in one place from how the run ended, the checks and the
//! thresholds. Exit codes follow from it (documented in the README).

use crate::checker::{CheckResult, CheckStatus};
use crate::metrics::Totals;
use crate::scenario::ChecksSpec;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Hang,
    Interrupted,
    Error,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        use crate::error::exit_code::*;
        match self {
            Verdict::Pass => PASS,
            Verdict::Fail => CHECK_FAILED,
            Verdict::Hang => HANG,
            Verdict::Interrupted => INTERRUPTED,
            Verdict::Error => ENVIRONMENT,
        }
    }
}

/// How the writing phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Completed,
    /// The deadline passed with work unfinished (set-up included).
    Deadline,
    Interrupted,
    /// Writers could not start (a failed ATTACH...).
    SetupFailed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Threshold {
    pub name: String,
    pub limit: u64,
    /// `None` when the check that measures it was skipped or could not run.
    pub actual: Option<u64>,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Thresholds judged inside a check, by the check's name: when that check is skipped while
/// its threshold is set, nothing was judged, and that must not pass silently.
const CHECK_THRESHOLDS: &[(&str, &str)] = &[
    ("max_orphan_files", "object_store"),
    ("max_catalog_rollbacks", "catalog_rollbacks"),
    ("max_leaked_sessions", "writer_sessions"),
];

fn check_limit(spec: &ChecksSpec, name: &str) -> Option<u64> {
    match name {
        "max_orphan_files" => spec.max_orphan_files,
        "max_catalog_rollbacks" => spec.max_catalog_rollbacks,
        "max_leaked_sessions" => spec.max_leaked_sessions,
        _ => None,
    }
}

pub fn thresholds(spec: &ChecksSpec, totals: &Totals, crashes: u64, checks: &[CheckResult]) -> Vec<Threshold> {
    let mut out: Vec<Threshold> = [
        ("max_failed_commits", spec.max_failed_commits, totals.counts.failed),
        (
            "max_indeterminate_commits",
            spec.max_indeterminate_commits,
            totals.counts.indeterminate,
        ),
        ("max_writer_crashes", spec.max_writer_crashes, crashes),
    ]
    .into_iter()
    .filter_map(|(name, limit, actual)| {
        limit.map(|limit| Threshold {
            name: name.into(),
            limit,
            actual: Some(actual),
            passed: actual <= limit,
            note: None,
        })
    })
    .collect();
    for (name, check) in CHECK_THRESHOLDS {
        let Some(limit) = check_limit(spec, name) else { continue };
        if let Some(c) = checks
            .iter()
            .find(|c| c.name == *check)
            .filter(|c| matches!(c.status, CheckStatus::Skipped | CheckStatus::Error))
        {
            out.push(Threshold {
                name: name.to_string(),
                limit,
                actual: None,
                passed: false,
                note: Some(format!(
                    "{check} did not judge it ({}): {}",
                    crate::checker::status_word(c.status),
                    c.summary
                )),
            });
        }
    }
    out
}

/// What decides the verdict besides checks and thresholds.
pub struct Circumstances<'a> {
    pub ending: Ending,
    /// The hang diagnosis' summary, for a run that hit its deadline.
    pub diagnosis: Option<&'a str>,
    pub setup_errors: &'a [String],
    /// The set-up failures are the lake's own behaviour (a DuckDB catalog file locked by
    /// another writer of the run), not a broken environment: the run fails (exit 1).
    pub setup_failure_is_finding: bool,
    /// Faults the scenario asked for that never happened (a run without them proves nothing).
    pub idle_nemeses: Vec<String>,
}

pub fn decide(c: &Circumstances, checks: &[CheckResult], thresholds: &[Threshold]) -> (Verdict, String) {
    if let Some(early) = ended_early(c) {
        return early;
    }
    if let Some(error) = checks_could_not_run(checks) {
        return error;
    }
    let why = failures(c, checks, thresholds);
    let known = known_list(checks);
    if why.is_empty() {
        let known = if known.is_empty() {
            String::new()
        } else {
            format!(", except known upstream findings: {known}")
        };
        (Verdict::Pass, format!("all checks and thresholds passed{known}"))
    } else {
        let known = if known.is_empty() {
            String::new()
        } else {
            format!("; known upstream findings besides: {known}")
        };
        (Verdict::Fail, format!("{}{known}", why.join("; ")))
    }
}

/// The verdict of a run that did not complete: its checks and thresholds do not decide it.
fn ended_early(c: &Circumstances) -> Option<(Verdict, String)> {
    Some(match c.ending {
        Ending::Deadline => (Verdict::Hang, c.diagnosis.unwrap_or("the deadline passed").to_string()),
        Ending::Interrupted => (
            Verdict::Interrupted,
            "interrupted by Ctrl-C or SIGTERM; the report holds what \
            was measured and checked until then"
                .into(),
        ),
        Ending::SetupFailed if c.setup_failure_is_finding => (
            Verdict::Fail,
            format!(
                "writers could not start: the DuckDB catalog file admits one writing \
                process, and another writer of this run held its lock (catalog_file_lock): {}",
                c.setup_errors.join("; ")
            ),
        ),
        Ending::SetupFailed => (
            Verdict::Error,
            format!("writers could not start: {}", c.setup_errors.join("; ")),
        ),
        Ending::Completed => return None,
    })
}

/// A check that could not run leaves the lake unjudged: an error, whatever the others said.
fn checks_could_not_run(checks: &[CheckResult]) -> Option<(Verdict, String)> {
    let errors: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Error)
        .map(|c| c.name.as_str())
        .collect();
    (!errors.is_empty()).then(|| {
        (
            Verdict::Error,
            format!(
                "checks could not run: {} (the lake was not judged; see their summaries)",
                errors.join(", ")
            ),
        )
    })
}

/// Why a completed run fails: failed checks, exceeded thresholds, faults that never happened.
fn failures(c: &Circumstances, checks: &[CheckResult], thresholds: &[Threshold]) -> Vec<String> {
    let mut why = Vec::new();
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| c.name.as_str())
        .collect();
    if !failed.is_empty() {
        why.push(format!("checks failed: {}", failed.join(", ")));
    }
    let over: Vec<String> = thresholds
        .iter()
        .filter(|t| !t.passed)
        .map(|t| match (t.actual, &t.note) {
            (Some(a), _) => format!("{} ({a} > {})", t.name, t.limit),
            (None, Some(note)) => format!("{} (set to {}, but {note})", t.name, t.limit),
            (None, None) => format!("{} (not measured)", t.name),
        })
        .collect();
    if !over.is_empty() {
        why.push(format!("thresholds exceeded: {}", over.join(", ")));
    }
    if !c.idle_nemeses.is_empty() {
        why.push(format!("faults did not happen: {}", c.idle_nemeses.join("; ")));
    }
    why
}

/// "upsert_keys (duckdb/ducklake#1393)": the checks a known finding explained.
fn known_list(checks: &[CheckResult]) -> String {
    checks
        .iter()
        .filter(|c| c.status == CheckStatus::Known)
        .map(|c| {
            format!(
                "{} ({})",
                c.name,
                c.known.as_ref().map(|k| k.reference.as_str()).unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn check(name: &str, status: CheckStatus) -> CheckResult {
        CheckResult {
            name: name.into(),
            status,
            summary: "why".into(),
            evidence: Value::Null,
            known: None,
        }
    }

    fn completed() -> Circumstances<'static> {
        Circumstances {
            ending: Ending::Completed,
            diagnosis: None,
            setup_errors: &[],
            setup_failure_is_finding: false,
            idle_nemeses: vec![],
        }
    }

    #[test]
    fn a_skipped_check_with_a_threshold_on_it_fails_the_run() {
        let spec = ChecksSpec {
            max_catalog_rollbacks: Some(5),
            ..ChecksSpec::default()
        };
        let checks = vec![
            check("catalog_rollbacks", CheckStatus::Skipped),
            check("row_count", CheckStatus::Pass),
        ];
        let th = thresholds(&spec, &Totals::default(), 0, &checks);
        let (v, why) = decide(&completed(), &checks, &th);
        assert_eq!(v, Verdict::Fail);
        assert!(why.contains("max_catalog_rollbacks"), "{why}");
        // Without the threshold the skip is only reported.
        let th = thresholds(&ChecksSpec::default(), &Totals::default(), 0, &checks);
        assert_eq!(decide(&completed(), &checks, &th).0, Verdict::Pass);
    }

    #[test]
    fn a_check_that_could_not_run_is_an_error_not_a_failure_and_a_warning_passes() {
        let checks = vec![
            check("object_store", CheckStatus::Error),
            check("row_count", CheckStatus::Fail),
        ];
        assert_eq!(decide(&completed(), &checks, &[]).0, Verdict::Error);
        let checks = vec![check("writer_sessions", CheckStatus::Warn)];
        assert_eq!(decide(&completed(), &checks, &[]).0, Verdict::Pass);
    }

    #[test]
    fn how_the_run_ended_comes_first() {
        let checks = vec![check("row_count", CheckStatus::Pass)];
        let c = Circumstances {
            ending: Ending::Deadline,
            diagnosis: Some("w1 in Commit for 9 s"),
            ..completed()
        };
        assert_eq!(
            decide(&c, &checks, &[]),
            (Verdict::Hang, "w1 in Commit for 9 s".to_string())
        );
        let c = Circumstances {
            ending: Ending::Interrupted,
            ..completed()
        };
        assert_eq!(decide(&c, &checks, &[]).0, Verdict::Interrupted);
        // Writers that could not attach: the environment's fault, unless the lake itself
        // refused them (a DuckDB catalog file locked by another writer of the run).
        let errors = ["w1: IO Error: Could not set lock on file".to_string()];
        let c = Circumstances {
            ending: Ending::SetupFailed,
            setup_errors: &errors,
            ..completed()
        };
        assert_eq!(decide(&c, &checks, &[]).0, Verdict::Error);
        let c = Circumstances {
            ending: Ending::SetupFailed,
            setup_errors: &errors,
            setup_failure_is_finding: true,
            ..completed()
        };
        assert_eq!(decide(&c, &checks, &[]).0, Verdict::Fail);
        let mut totals = Totals::default();
        totals.counts.failed = 3;
        let th = thresholds(&ChecksSpec::default(), &totals, 0, &checks);
        let (v, why) = decide(&completed(), &checks, &th);
        assert_eq!(v, Verdict::Fail);
        assert!(why.contains("max_failed_commits (3 > 0)"), "{why}");
    }
}

//! Known upstream findings: behaviours of DuckLake, DuckDB or its Postgres client that the
//! checks catch and that are already known upstream (`findings/known.toml`, compiled in).
//! A check result that one of them explains is reported as `known (<reference>)` instead of
//! failing, so a CI job does not fail on every run for a behaviour it cannot change, while
//! the finding stays visible; `checks.known_findings = "fail"` (`--strict`) keeps it failing.
//! A shipped scenario that should show a finding and did not is reported too: "fixed?".

use crate::checker::{CheckResult, CheckStatus, KnownRef};
use crate::scenario::KnownFindingsMode;
use serde::Deserialize;

const REGISTRY: &str = include_str!("../../findings/known.toml");

/// One entry of the registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub id: String,
    pub reference: String,
    pub url: String,
    pub title: String,
    pub check: String,
    pub problems: Vec<String>,
    #[serde(default)]
    pub workloads: Vec<String>,
    #[serde(default)]
    pub ducklake: Vec<String>,
    #[serde(default)]
    pub duckdb: Vec<String>,
    #[serde(default)]
    pub scenarios: Vec<String>,
    #[serde(default)]
    pub fixed: Option<String>,
    /// Whether a comparison weighs it as a failure: true when the data is wrong (a
    /// duplicated key), false for bookkeeping or a client-side leak, which a comparison
    /// reports beside its verdict. Default true.
    #[serde(default = "yes")]
    pub weigh: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registry {
    finding: Vec<Finding>,
}

/// What of a run a finding's applicability depends on.
pub struct RunTraits<'a> {
    pub scenario: &'a str,
    pub workloads: Vec<String>,
    pub ducklake: &'a str,
    pub duckdb: &'a str,
}

/// The registry, parsed. It is compiled in and unit-tested, so a parse error is a bug.
pub fn registry() -> Vec<Finding> {
    toml::from_str::<Registry>(REGISTRY)
        .map(|r| r.finding)
        .unwrap_or_else(|e| panic!("findings/known.toml: {e}"))
}

fn applies(f: &Finding, run: &RunTraits) -> bool {
    let any_or = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
    any_or(&f.ducklake, run.ducklake)
        && any_or(&f.duckdb, run.duckdb)
        && (f.workloads.is_empty() || run.workloads.iter().any(|w| f.workloads.contains(w)))
}

/// The findings that explain every problem of `result`, or none when one problem is not
/// explained (a known duplicate must not hide a lost key beside it).
fn explain<'f>(result: &CheckResult, findings: &'f [Finding], run: &RunTraits) -> Vec<&'f Finding> {
    if !matches!(result.status, CheckStatus::Fail | CheckStatus::Warn) {
        return Vec::new();
    }
    let kinds = result.problem_kinds();
    let candidates: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.check == result.name && applies(f, run))
        .collect();
    let explained = |k: &String| candidates.iter().any(|f| f.problems.contains(k));
    if kinds.is_empty() || !kinds.iter().all(explained) {
        return Vec::new();
    }
    candidates
        .into_iter()
        .filter(|f| f.problems.iter().any(|p| kinds.contains(p)))
        .collect()
}

/// Marks the results a known finding explains (status `known`, unless strict) and returns
/// the notes on findings a shipped scenario should have shown and did not.
pub fn apply(checks: &mut [CheckResult], run: &RunTraits, mode: KnownFindingsMode) -> Vec<String> {
    apply_with(&registry(), checks, run, mode)
}

pub fn apply_with(
    findings: &[Finding],
    checks: &mut [CheckResult],
    run: &RunTraits,
    mode: KnownFindingsMode,
) -> Vec<String> {
    let strict = mode == KnownFindingsMode::Fail;
    for c in checks.iter_mut() {
        let Some(f) = explain(c, findings, run).into_iter().next() else {
            continue;
        };
        c.known = Some(KnownRef {
            id: f.id.clone(),
            reference: f.reference.clone(),
            url: f.url.clone(),
            title: f.title.clone(),
            was: c.status,
            strict,
            weigh: f.weigh,
        });
        if !strict {
            c.status = CheckStatus::Known;
        }
    }
    not_seen(findings, checks, run)
}

/// Findings whose scenario this run is and whose check passed: on a listed version the race
/// did not show this time; on another version it may be fixed.
fn not_seen(findings: &[Finding], checks: &[CheckResult], run: &RunTraits) -> Vec<String> {
    let mut out = Vec::new();
    for f in findings
        .iter()
        .filter(|f| f.scenarios.iter().any(|s| s == run.scenario))
    {
        let Some(c) = checks.iter().find(|c| c.name == f.check) else {
            continue;
        };
        if c.status != CheckStatus::Pass {
            continue;
        }
        let listed = applies(f, run);
        out.push(if listed {
            format!(
                "known finding {} ({}) not seen in this run of {}, although it applies to ducklake {} (a race may \
                not show every time)",
                f.id, f.reference, run.scenario, run.ducklake
            )
        } else {
            format!(
                "known finding {} ({}) not seen on ducklake {} / DuckDB {}: fixed? (listed for ducklake {})",
                f.id,
                f.reference,
                run.ducklake,
                run.duckdb,
                list_or_any(&f.ducklake)
            )
        });
    }
    out
}

/// "upsert_keys: duckdb/ducklake#1393, <title> (<url>)": one line per check a known
/// finding explained, for the summaries.
pub fn lines(checks: &[CheckResult]) -> Vec<String> {
    checks
        .iter()
        .filter_map(|c| c.known.as_ref().map(|k| (c, k)))
        .map(|(c, k)| {
            let strict = if k.strict { " [--strict: left failing]" } else { "" };
            format!("{}: {}, {} ({}){strict}", c.name, k.reference, k.title, k.url)
        })
        .collect()
}

fn list_or_any(v: &[String]) -> String {
    if v.is_empty() {
        "any".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(name: &str, status: CheckStatus, problems: serde_json::Value) -> CheckResult {
        CheckResult {
            name: name.into(),
            status,
            summary: "s".into(),
            evidence: json!({ "problems": problems }),
            known: None,
        }
    }

    fn traits(workload: &str, ducklake: &'static str) -> RunTraits<'static> {
        let mut workloads = vec![workload.to_string()];
        if workload == "upsert" {
            workloads.push("upsert:delete_insert".into());
        }
        RunTraits {
            scenario: "upsert-empty",
            workloads,
            ducklake,
            duckdb: "v1.5.5",
        }
    }

    #[test]
    fn the_shipped_registry_parses_and_names_real_checks() {
        let names: Vec<&str> = crate::checker::all().iter().map(|c| c.name()).collect();
        let reg = registry();
        assert!(reg.len() >= 3);
        for f in &reg {
            assert!(
                names.contains(&f.check.as_str()),
                "{} names no check: {}",
                f.id,
                f.check
            );
            assert!(f.reference.contains('#') && f.url.starts_with("https://"), "{}", f.id);
        }
    }

    #[test]
    fn a_known_problem_on_a_listed_version_is_known_and_strict_keeps_it_failing() {
        let mut checks = vec![result("upsert_keys", CheckStatus::Fail, json!({ "duplicate_key": 3 }))];
        apply(&mut checks, &traits("upsert", "d8a1881e"), KnownFindingsMode::Known);
        assert_eq!(checks[0].status, CheckStatus::Known);
        assert_eq!(checks[0].known.as_ref().unwrap().reference, "duckdb/ducklake#1393");
        let mut strict = vec![result("upsert_keys", CheckStatus::Fail, json!({ "duplicate_key": 3 }))];
        apply(&mut strict, &traits("upsert", "d8a1881e"), KnownFindingsMode::Fail);
        assert_eq!(strict[0].status, CheckStatus::Fail);
        assert!(strict[0].known.as_ref().unwrap().strict);
    }

    #[test]
    fn an_unexplained_problem_another_version_or_workload_stays_failing() {
        for (problems, t) in [
            (
                json!({ "duplicate_key": 3, "lost_key": 1 }),
                traits("upsert", "d8a1881e"),
            ),
            (json!({ "duplicate_key": 3 }), traits("upsert", "39526e25")),
            (json!({ "record_count_above_scan": 1 }), traits("append", "d8a1881e")),
            (
                json!({ "duplicate_key": 3 }),
                RunTraits {
                    scenario: "x",
                    workloads: vec!["upsert".into(), "upsert:merge".into()],
                    ducklake: "d8a1881e",
                    duckdb: "v1.5.5",
                },
            ),
        ] {
            let name = if problems.get("record_count_above_scan").is_some() {
                "table_stats"
            } else {
                "upsert_keys"
            };
            let mut checks = vec![result(name, CheckStatus::Fail, problems)];
            apply(&mut checks, &t, KnownFindingsMode::Known);
            assert_eq!(checks[0].status, CheckStatus::Fail, "{:?}", checks[0]);
            assert!(checks[0].known.is_none());
        }
    }

    #[test]
    fn a_passing_scenario_of_a_finding_says_fixed_on_another_version() {
        let mut checks = vec![result("upsert_keys", CheckStatus::Pass, json!({}))];
        let notes = apply(&mut checks, &traits("upsert", "39526e25"), KnownFindingsMode::Known);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("fixed?") && notes[0].contains("#1393"), "{notes:?}");
        let notes = apply(&mut checks, &traits("upsert", "d8a1881e"), KnownFindingsMode::Known);
        assert!(notes[0].contains("not seen in this run"), "{notes:?}");
    }
}

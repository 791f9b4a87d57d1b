//! `conflicts`: DuckLake's documented conflict rules, each an interleaving scenario in
//! scenarios/conflicts/, run on each catalog; a matrix rule x catalog with the outcome the
//! documentation promises, the one observed, and a verdict. A rule broken with an upstream
//! issue on record (`known = "duckdb/ducklake#N"` in its file) is reported as known and
//! fails only with --strict, as the stress checks treat known findings.

use super::model::{Schedule, SessionKind};
use super::outcome::{PermutationResult, StepStatus};
use super::report::InterleaveReport;
use super::Prepared;
use crate::error::exit_code;
use crate::report::Versions;
use crate::scenario::CatalogKind;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellVerdict {
    Holds,
    Broken,
    /// Broken, with the upstream issue that explains it on record.
    KnownBroken,
    /// Not for this catalog (a step holds a lock through a direct Postgres session).
    NotApplicable,
    /// The schedule could not be set up: the rule was not judged.
    Error,
}

impl CellVerdict {
    pub fn word(self) -> &'static str {
        match self {
            CellVerdict::Holds => "holds",
            CellVerdict::Broken => "BROKEN",
            CellVerdict::KnownBroken => "broken (known)",
            CellVerdict::NotApplicable => "n/a",
            CellVerdict::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub rule: String,
    pub catalog: String,
    pub expected: String,
    pub observed: String,
    pub verdict: CellVerdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
    /// Why it did not hold, or could not be judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleInfo {
    pub name: String,
    pub file: String,
    pub rule: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matrix {
    pub rules: Vec<RuleInfo>,
    pub catalogs: Vec<String>,
    pub cells: Vec<Cell>,
    /// The versions and extension hashes each catalog's runs loaded.
    pub versions: Vec<(String, Versions)>,
    pub strict: bool,
    pub exit_code: i32,
}

/// The rule files in `dir`, sorted by name, parsed (any error is bad input naming its line).
pub fn load_rules(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Schedule)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            crate::error::bad_input(format!(
                "cannot read the conflict rules' directory {} ({e}); it is scenarios/conflicts in the repository, \
                or give --dir.",
                dir.display()
            ))
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(crate::error::bad_input(format!(
            "{} holds no .toml rule files.",
            dir.display()
        )));
    }
    files.into_iter().map(|f| super::load(&f).map(|s| (f, s))).collect()
}

/// The steps (and invariants) a rule's file expects something of, and what they did.
fn expected_and_observed(s: &Schedule, r: Option<&PermutationResult>) -> (String, String) {
    let order = &s.permutations[r.map(|r| r.index - 1).unwrap_or(0)];
    let mut expected = Vec::new();
    let mut observed = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        let spec = &s.steps[i];
        if !spec.has_expectation() {
            continue;
        }
        let mut want = Vec::new();
        if let Some(e) = spec.expect {
            want.push(e.describe());
        }
        if let Some(n) = spec.expect_rows {
            want.push(format!("{n} rows"));
        }
        if spec.expect_blocked == Some(true) {
            want.push("blocked".into());
        }
        expected.push(format!("{} {}", spec.name, want.join(" ")));
        if let Some(r) = r {
            observed.push(format!("{} {}", spec.name, r.steps[pos].outcome_word()));
        }
    }
    for (k, inv) in s.invariants.iter().enumerate() {
        if let Some(n) = inv.expect_rows {
            expected.push(format!("{} {n} rows", inv.name));
            if let Some(got) = r.and_then(|r| r.invariants.get(k)) {
                observed.push(match &got.error {
                    Some(_) => format!("{} error", inv.name),
                    None => format!("{} {} rows", inv.name, got.rows.unwrap_or(0)),
                });
            }
        }
    }
    (expected.join(", "), observed.join(", "))
}

/// The cell for one rule on one catalog from its report.
pub fn cell(s: &Schedule, report: &InterleaveReport, run_dir: &Path) -> Cell {
    let failed = report.results.iter().find(|r| !r.matched);
    let shown = failed.or(report.results.first());
    let (expected, observed) = expected_and_observed(s, shown);
    let (verdict, reason) = match failed {
        None if report.results.is_empty() => (CellVerdict::Error, Some("nothing ran (interrupted)".to_string())),
        None => (CellVerdict::Holds, None),
        Some(r) if r.setup_error.is_some() => (CellVerdict::Error, r.setup_error.clone()),
        // The known issue explains a rule that did not fire (a commit that went through, a
        // duplicate), not a step that failed in a way nobody expected (e.g. SQLite's lock).
        Some(r) if s.known.is_some() && !failed_unexpectedly(r) => {
            (CellVerdict::KnownBroken, Some(r.mismatches.join("; ")))
        }
        Some(r) => (CellVerdict::Broken, Some(r.mismatches.join("; "))),
    };
    Cell {
        rule: s.name.clone(),
        catalog: s.lake.catalog.name().into(),
        expected,
        observed,
        verdict,
        known: s.known.clone(),
        reason,
        run_dir: Some(run_dir.display().to_string()),
    }
}

fn failed_unexpectedly(r: &PermutationResult) -> bool {
    let step = |s: &super::outcome::StepResult| s.matched == Some(false) && s.status != StepStatus::Ok;
    r.steps.iter().any(step) || r.invariants.iter().any(|i| i.error.is_some())
}

/// A rule that needs a direct Postgres session cannot run on a file catalog.
pub fn applies(s: &Schedule, catalog: CatalogKind) -> bool {
    catalog == CatalogKind::Postgres || s.sessions.iter().all(|x| x.kind == SessionKind::Duckdb)
}

pub fn not_applicable(s: &Schedule, catalog: CatalogKind) -> Cell {
    let (expected, _) = expected_and_observed(s, None);
    Cell {
        rule: s.name.clone(),
        catalog: catalog.name().into(),
        expected,
        observed: String::new(),
        verdict: CellVerdict::NotApplicable,
        known: s.known.clone(),
        reason: Some("a session of this rule is a direct connection to a Postgres catalog".into()),
        run_dir: None,
    }
}

/// Runs every rule on every catalog; `progress` sees each cell as it is decided.
pub fn run(
    prepared: &Prepared,
    rules: &[(PathBuf, Schedule)],
    catalogs: &[CatalogKind],
    repeat: u32,
    strict: bool,
    progress: &mut dyn FnMut(&Cell),
) -> anyhow::Result<Matrix> {
    let mut cells = Vec::new();
    let mut versions = Vec::new();
    for &catalog in catalogs {
        for (file, rule) in rules {
            let mut s = rule.clone();
            s.lake.catalog = catalog;
            // A DuckDB file admits one writing process, and instances in one process lose
            // commits: its sessions are connections of one instance.
            s.shared_instance = s.shared_instance || catalog == CatalogKind::Duckdb;
            let c = if applies(&s, catalog) {
                let (report, dir) = super::run_schedule(prepared, s.clone(), file, repeat, &mut |_, _| {})?;
                if !versions.iter().any(|(c, _): &(String, Versions)| c == catalog.name()) {
                    versions.push((catalog.name().to_string(), report.versions.clone()));
                }
                cell(&s, &report, &dir)
            } else {
                not_applicable(&s, catalog)
            };
            progress(&c);
            cells.push(c);
            if crate::util::interrupt::is_interrupted() {
                break;
            }
        }
    }
    let broken = cells
        .iter()
        .any(|c| c.verdict == CellVerdict::Broken || (strict && c.verdict == CellVerdict::KnownBroken));
    let exit_code = if crate::util::interrupt::is_interrupted() {
        exit_code::INTERRUPTED
    } else if broken {
        exit_code::CHECK_FAILED
    } else if cells.iter().any(|c| c.verdict == CellVerdict::Error) {
        exit_code::ENVIRONMENT
    } else {
        exit_code::PASS
    };
    Ok(Matrix {
        rules: rules
            .iter()
            .map(|(f, s)| RuleInfo {
                name: s.name.clone(),
                file: f.display().to_string(),
                rule: s.rule.clone().unwrap_or_default(),
                source: s.source.clone().unwrap_or_default(),
            })
            .collect(),
        catalogs: catalogs.iter().map(|c| c.name().to_string()).collect(),
        cells,
        versions,
        strict,
        exit_code,
    })
}

/// The matrix as a Markdown table (also what the console prints), then the versions.
pub fn render(m: &Matrix) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| rule | catalog | expected | observed | verdict |\n|---|---|---|---|---|"
    );
    for c in &m.cells {
        let verdict = match (&c.known, c.verdict) {
            (Some(k), CellVerdict::KnownBroken) => format!("broken (known: {k})"),
            _ => c.verdict.word().to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {verdict} |",
            c.rule, c.catalog, c.expected, c.observed
        );
    }
    out.push('\n');
    for (catalog, v) in &m.versions {
        let _ = writeln!(
            out,
            "{catalog}: DuckDB {}, DuckLake {}, Postgres {}",
            v.duckdb, v.ducklake, v.postgres
        );
        for e in &v.extensions {
            let _ = writeln!(out, "  {} {} sha256 {} ({})", e.name, e.version, e.sha256, e.verified);
        }
    }
    out
}

/// Why cells did not hold, one line each.
pub fn reasons(m: &Matrix) -> String {
    let mut out = String::new();
    for c in m
        .cells
        .iter()
        .filter(|c| matches!(c.verdict, CellVerdict::Broken | CellVerdict::Error))
    {
        let _ = writeln!(
            out,
            "{} on {}: {} ({})",
            c.rule,
            c.catalog,
            super::render::short(c.reason.as_deref().unwrap_or(""), 300),
            c.run_dir.as_deref().unwrap_or("")
        );
    }
    out
}

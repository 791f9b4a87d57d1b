//! The interleaving report as people read it: the console (like the isolation tester's
//! output: each step, a blocked step's `<waiting ...>` and its later completion), Markdown,
//! and JUnit with one test case per permutation run (quick-junit, as the stress report).

use super::outcome::{PermutationResult, StepResult, StepStatus};
use super::report::InterleaveReport;
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write;
use std::time::Duration;

/// The first line of a message, cut to `max` characters (DuckDB's errors run long).
pub fn short(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(max).collect::<String>())
    }
}

pub fn header(r: &InterleaveReport) -> String {
    let how = if r.all_permutations {
        " (every order keeping each session's own)"
    } else {
        ""
    };
    format!(
        "schedule {}: {} permutation(s){how}, x{} repetition(s); catalog {}, data {}, {}; DuckDB {}, DuckLake {}\n",
        r.schedule, r.permutations, r.repeat, r.catalog, r.data, r.instance, r.versions.duckdb, r.versions.ducklake
    )
}

/// One permutation run, step by step.
pub fn permutation(p: &PermutationResult, total: usize, repeat: u32) -> String {
    let mut out = String::new();
    let rep = if repeat > 1 {
        format!(" (repetition {})", p.repeat)
    } else {
        String::new()
    };
    let _ = writeln!(out, "permutation {} of {total}{rep}: {}", p.index, p.order.join(" "));
    if let Some(e) = &p.setup_error {
        let _ = writeln!(out, "  set-up failed: {}", short(e, 300));
    }
    for s in &p.steps {
        let _ = writeln!(out, "  {}", step_line(s));
        if s.blocked && s.status != StepStatus::Stuck {
            let during = s.completed_during.as_deref().unwrap_or("?");
            let _ = writeln!(out, "  {:<20} <... completed during {during}>", s.name);
        }
    }
    if let Some(c) = &p.cannot_continue {
        let _ = writeln!(out, "  could not go on: {c}");
    }
    for i in &p.invariants {
        let got = match (&i.error, i.rows) {
            (Some(e), _) => format!("error: {}", short(e, 160)),
            (None, n) => format!("{} rows", n.unwrap_or(0)),
        };
        let want = i.expect_rows.map(|n| format!(" (expected {n})")).unwrap_or_default();
        let word = if i.matched { "" } else { "  MISMATCH" };
        let _ = writeln!(out, "  invariant {:<10} {got}{want}{word}", i.name);
        for row in i.sample.iter().take(3) {
            let _ = writeln!(out, "    | {row}");
        }
    }
    let verdict = if p.matched {
        "matched".to_string()
    } else {
        format!("MISMATCH: {}", p.mismatches.join("; "))
    };
    let _ = writeln!(out, "  => {verdict} ({:.1} s)", p.seconds);
    out
}

fn step_line(s: &StepResult) -> String {
    let sql = short(&s.sql.split_whitespace().collect::<Vec<_>>().join(" "), 60);
    let waiting = if s.blocked { " <waiting ...>" } else { "" };
    let mut line = format!("{:<20} {sql}{waiting}", s.name);
    let outcome = match s.status {
        StepStatus::Error => format!(
            "error {}: {}",
            s.class.as_deref().unwrap_or("other"),
            short(s.error.as_deref().unwrap_or(""), 140)
        ),
        _ => s.outcome_word(),
    };
    let _ = write!(line, "  -> {outcome}");
    if let (Some(e), Some(m)) = (&s.expected, s.matched) {
        let _ = write!(line, "  [expected {e}{}]", if m { "" } else { ": MISMATCH" });
    }
    line
}

pub fn footer(r: &InterleaveReport) -> String {
    let mut out = String::new();
    for d in r.determinism.iter().filter(|d| d.outcomes.len() > 1) {
        let _ = writeln!(out, "permutation {} is not deterministic:", d.permutation);
        for (sig, reps) in &d.outcomes {
            let _ = writeln!(out, "  {} of {}: {}", reps.len(), r.repeat, sig);
        }
    }
    let _ = writeln!(out, "verdict: {} ({})", r.verdict.to_uppercase(), r.verdict_reason);
    out
}

pub fn markdown(r: &InterleaveReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Interleaving `{}`: {}\n", r.schedule, r.verdict.to_uppercase());
    let _ = writeln!(out, "{}\n", r.verdict_reason);
    if let Some(rule) = &r.rule {
        let _ = writeln!(out, "Rule: {rule}\n");
    }
    let _ = writeln!(
        out,
        "Run `{}`, file `{}`; catalog {}, data {}, {}; DuckDB {}, DuckLake {}; step_timeout {} ms.\n",
        r.run_id, r.file, r.catalog, r.data, r.instance, r.versions.duckdb, r.versions.ducklake, r.step_timeout_ms
    );
    for p in &r.results {
        let rep = if r.repeat > 1 {
            format!(", repetition {}", p.repeat)
        } else {
            String::new()
        };
        let word = if p.matched { "matched" } else { "**MISMATCH**" };
        let _ = writeln!(out, "## Permutation {}{rep}: {word}\n", p.index);
        let _ = writeln!(out, "`{}`\n", p.order.join(" "));
        let _ = writeln!(
            out,
            "| step | session | sql | outcome | expected |\n|---|---|---|---|---|"
        );
        for s in &p.steps {
            let outcome = match &s.error {
                Some(e) => format!("{}: {}", s.outcome_word(), short(e, 120)),
                None => s.outcome_word(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} |",
                s.name,
                s.session,
                short(&s.sql, 80).replace('|', "\\|"),
                outcome.replace('|', "\\|"),
                s.expected.as_deref().unwrap_or("")
            );
        }
        for i in &p.invariants {
            let _ = writeln!(
                out,
                "\nInvariant `{}`: {} rows{}{}",
                i.name,
                i.rows.unwrap_or(0),
                i.expect_rows.map(|n| format!(" (expected {n})")).unwrap_or_default(),
                i.error
                    .as_ref()
                    .map(|e| format!(", error: {}", short(e, 160)))
                    .unwrap_or_default()
            );
        }
        for m in &p.mismatches {
            let _ = writeln!(out, "\n- {m}");
        }
        out.push('\n');
    }
    out
}

/// One suite, one test case per permutation run.
pub fn junit(r: &InterleaveReport) -> anyhow::Result<String> {
    let mut suite = TestSuite::new(r.schedule.as_str());
    suite.set_time(Duration::from_secs_f64(r.seconds.max(0.0)));
    suite.extra.insert("timestamp".into(), r.started_at.as_str().into());
    suite.extra.insert("id".into(), r.run_id.as_str().into());
    let props = [
        ("catalog", r.catalog.clone()),
        ("data", r.data.clone()),
        ("duckdb", r.versions.duckdb.clone()),
        ("ducklake", r.versions.ducklake.clone()),
        ("verdict", r.verdict.clone()),
    ];
    suite.add_properties(props.into_iter().map(|(k, v)| Property::new(k, v)));
    let class = format!("ducklake-stress.interleave.{}", r.schedule);
    for p in &r.results {
        let rep = if r.repeat > 1 {
            format!(" #{}", p.repeat)
        } else {
            String::new()
        };
        let name = format!("permutation {}{rep}: {}", p.index, p.order.join(" "));
        let status = if p.matched {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(p.mismatches.join("; ")).set_type("mismatch");
            s.set_description(permutation(p, r.permutations, r.repeat));
            s
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(class.as_str());
        case.set_time(Duration::from_secs_f64(p.seconds.max(0.0)));
        suite.add_test_case(case);
    }
    let mut report = quick_junit::Report::new("ducklake-stress");
    report.add_test_suite(suite);
    // Jenkins' schema refuses a `skipped` count on the root, as for the stress report.
    Ok(crate::export::junit::without_root_skipped(&report.to_string()?))
}

/// interleave.json, interleave.md and junit.xml in `dir`, each written atomically.
pub fn write_all(report: &InterleaveReport, dir: &std::path::Path) -> anyhow::Result<()> {
    use super::report::{JSON_FILE, JUNIT_FILE, MARKDOWN_FILE};
    let w = crate::util::write_atomically;
    w(&dir.join(JSON_FILE), &serde_json::to_vec_pretty(report)?)?;
    w(&dir.join(MARKDOWN_FILE), markdown(report).as_bytes())?;
    w(&dir.join(JUNIT_FILE), junit(report)?.as_bytes())?;
    Ok(())
}

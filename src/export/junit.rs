//! junit.xml: the run as a JUnit test suite, the format CI systems render. One test case
//! per check and per threshold, plus one for the run's verdict (a hang or an interrupted
//! run fails no check, yet must not show green). A failed check is a `<failure>` carrying
//! its summary and evidence; a skipped one is `<skipped>` with the reason; a check that
//! could not run is an `<error>`.

use super::html::evidence_text;
use super::Exporter;
use crate::checker::{CheckResult, CheckStatus};
use crate::report::Report;
use crate::verdict::{Threshold, Verdict};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub struct JunitExporter;

impl Exporter for JunitExporter {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }

    fn render(&self, report: &Report) -> anyhow::Result<Vec<u8>> {
        Ok(render(report)?.into_bytes())
    }
}

pub fn render(r: &Report) -> anyhow::Result<String> {
    let mut suite = TestSuite::new(r.scenario.name.as_str());
    suite.set_time(Duration::from_secs_f64(
        (r.setup_seconds + r.run_seconds + r.drain_seconds).max(0.0),
    ));
    // quick-junit's typed timestamp needs chrono; the report's own RFC 3339 time says the
    // same without another dependency.
    suite.extra.insert("timestamp".into(), r.started_at.as_str().into());
    suite.extra.insert("id".into(), r.run_id.as_str().into());
    suite.add_properties(properties(r).into_iter().map(|(k, v)| Property::new(k, v)));
    let class = |kind: &str| format!("ducklake-stress.{}.{kind}", r.scenario.name);
    suite.add_test_case(verdict_case(r, &class("run")));
    suite.add_test_cases(r.checks.iter().map(|c| check_case(c, &class("checks"))));
    suite.add_test_cases(r.thresholds.iter().map(|t| threshold_case(t, &class("thresholds"))));
    let mut report = quick_junit::Report::new("ducklake-stress");
    report.add_test_suite(suite);
    Ok(without_root_skipped(&report.to_string()?))
}

/// quick-junit writes a `skipped` count on `<testsuites>`, which Jenkins' xUnit schema
/// (tests/data/jenkins-xunit-junit-10.xsd) does not allow there, so Jenkins would reject
/// the whole file. The count stays on `<testsuite>`, where every consumer reads it.
pub(crate) fn without_root_skipped(xml: &str) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml.to_string();
    };
    let end = start + xml[start..].find('>').unwrap_or(0);
    let tag = &xml[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml.to_string();
    };
    let close = tag[at + 10..].find('"').map(|i| at + 10 + i + 1).unwrap_or(tag.len());
    format!("{}{}{}", &xml[..start + at], &tag[close..], &xml[end..])
}

fn properties(r: &Report) -> Vec<(&'static str, String)> {
    let v = &r.versions;
    vec![
        ("run_id", r.run_id.clone()),
        ("scenario_file", r.scenario_file.clone()),
        ("verdict", format!("{:?}", r.verdict).to_lowercase()),
        ("verdict_reason", r.verdict_reason.clone()),
        ("exit_code", r.exit_code.to_string()),
        ("writers", r.scenario.run.writers.to_string()),
        ("environment", r.environment.kind.clone()),
        ("tool_version", r.tool.version.clone()),
        ("duckdb", v.duckdb.clone()),
        ("ducklake", v.ducklake.clone()),
        ("postgres", v.postgres.clone()),
        ("s3_server", v.s3_server.clone()),
        ("commits", r.totals.counts.commits.to_string()),
        ("failed_commits", r.totals.counts.failed.to_string()),
        ("commits_per_second", format!("{:.2}", r.totals.commits_per_second)),
        ("commit_p99_ms", format!("{:.1}", r.latency_ms.commit.p99)),
    ]
}

fn non_success(kind: NonSuccessKind, message: &str, ty: &str, description: Option<String>) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message).set_type(ty);
    if let Some(d) = description {
        s.set_description(d);
    }
    s
}

fn verdict_case(r: &Report, class: &str) -> TestCase {
    let diagnosis = r.diagnosis.as_ref().map(|d| d.summary.clone());
    let status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => non_success(NonSuccessKind::Failure, &r.verdict_reason, "fail", None),
        Verdict::Hang => non_success(NonSuccessKind::Failure, &r.verdict_reason, "hang", diagnosis),
        Verdict::Interrupted => non_success(NonSuccessKind::Error, &r.verdict_reason, "interrupted", None),
        Verdict::Error => non_success(NonSuccessKind::Error, &r.verdict_reason, "error", diagnosis),
    };
    let mut case = TestCase::new("verdict", status);
    case.set_classname(class)
        .set_time(Duration::from_secs_f64((r.run_seconds + r.drain_seconds).max(0.0)));
    case.set_system_out(format!("{:?}: {}", r.verdict, r.verdict_reason));
    case
}

fn check_case(c: &CheckResult, class: &str) -> TestCase {
    let status = match c.status {
        CheckStatus::Pass | CheckStatus::Warn | CheckStatus::Known => TestCaseStatus::success(),
        CheckStatus::Fail => non_success(
            NonSuccessKind::Failure,
            &c.summary,
            "check_failed",
            evidence_text(&c.evidence),
        ),
        CheckStatus::Error => non_success(
            NonSuccessKind::Error,
            &c.summary,
            "check_error",
            evidence_text(&c.evidence),
        ),
        CheckStatus::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(c.summary.as_str());
            s
        }
    };
    let mut case = TestCase::new(c.name.as_str(), status);
    case.set_classname(class);
    // A warning is no failure, but a CI page should still show it beside the green.
    match c.status {
        CheckStatus::Warn => {
            case.set_system_out(format!("WARN: {}", c.summary));
        }
        CheckStatus::Known => {
            let reference = c.known.as_ref().map(|k| k.reference.as_str()).unwrap_or("?");
            case.set_system_out(format!("KNOWN ({reference}): {}", c.summary));
        }
        CheckStatus::Pass => {
            case.set_system_out(c.summary.as_str());
        }
        _ => {}
    }
    case
}

fn threshold_case(t: &Threshold, class: &str) -> TestCase {
    let actual = t.actual.map(|a| a.to_string()).unwrap_or_else(|| "not measured".into());
    let line = format!(
        "{}: {actual} (limit {}){}",
        t.name,
        t.limit,
        t.note.as_deref().map(|n| format!(" - {n}")).unwrap_or_default()
    );
    let status = if t.passed {
        TestCaseStatus::success()
    } else {
        non_success(NonSuccessKind::Failure, &line, "threshold_exceeded", None)
    };
    let mut case = TestCase::new(t.name.as_str(), status);
    case.set_classname(class).set_system_out(line);
    case
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_root_loses_only_its_skipped_count() {
        let xml = "<?xml version=\"1.0\"?>\n<testsuites name=\"x\" tests=\"3\" skipped=\"1\" time=\"2\">\n<testsuite \
            name=\"s\" tests=\"3\" skipped=\"1\">";
        assert_eq!(
            super::without_root_skipped(xml),
            "<?xml version=\"1.0\"?>\n<testsuites name=\"x\" tests=\"3\" time=\"2\">\n<testsuite name=\"s\" \
                tests=\"3\" skipped=\"1\">"
        );
        assert_eq!(
            super::without_root_skipped("<testsuites name=\"x\">"),
            "<testsuites name=\"x\">"
        );
    }
}

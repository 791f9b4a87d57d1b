//! The report formats as their consumers see them, from real runs against real Postgres, S3
//! and DuckLake: junit.xml validated by the schema Jenkins' xUnit plugin checks its input
//! against (tests/data/README.md), report.html rendered by headless Chromium.
//!
//! Chromium and xmllint come from Debian packages (scripts/setup-test.sh installs them where it
//! can). Where one is missing the test cannot judge: it says so on stderr and in
//! results/skipped-tests.txt, which scripts/test.sh prints with its totals (libtest has no
//! "skipped" outcome to report it with).

mod common;
use common::*;
use ducklake_stress::checker::CheckStatus;
use ducklake_stress::export::Exporter;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command to its end, or kills it after `limit` (the test never hangs on it).
fn run_bounded(cmd: &mut Command, limit: Duration) -> Ran {
    let dir = tempdir();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let until = Instant::now() + limit;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ran {
        code,
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    }
}

const SCHEMA: &str = "tests/data/jenkins-xunit-junit-10.xsd";

fn xmllint(xml: &Path) -> Ran {
    run_bounded(
        Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(repo().join(SCHEMA))
            .arg(xml),
        Duration::from_secs(30),
    )
}

/// 8 writers started together always lose commit races that DuckLake retries out of sight
/// (see tests/runs.rs): with `max_catalog_rollbacks = 0` the catalog_rollbacks check fails.
#[test]
fn junit_of_a_failing_run_validates_against_the_jenkins_schema_and_carries_the_failure() {
    let Some(_) = tool("xmllint") else {
        return skipped(
            "junit_of_a_failing_run_validates_against_the_jenkins_schema_and_carries_the_failure",
            "xmllint not installed (Debian package libxml2-utils; scripts/setup-test.sh installs it as root)",
        );
    };
    let dir = tempdir();
    let toml = append_toml(
        "junit-hidden-retries",
        8,
        6,
        "entries",
        &format!("{PATIENT_RETRIES}[checks]\nmax_catalog_rollbacks = 0\n"),
    );
    let path = scenario(dir.path(), "junit", &toml);
    let junit = dir.path().join("ci/out/junit.xml");
    let ran = run(&path, dir.path(), &["--junit", junit.to_str().unwrap()]);
    assert_eq!(ran.code, 1, "{}", ran.explain());
    let r = ran.report();
    assert_eq!(check(&r, "catalog_rollbacks"), "fail", "{}", r["checks"]);

    // --junit writes the same document the run directory holds.
    let xml = std::fs::read_to_string(&junit).expect("--junit FILE written");
    assert_eq!(xml, std::fs::read_to_string(ran.run_dir().join("junit.xml")).unwrap());
    let valid = xmllint(&junit);
    assert_eq!(
        valid.code,
        0,
        "junit.xml must validate against {SCHEMA}: {}",
        valid.explain()
    );

    // The schema can fail: a test case without its required name does not validate.
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        xml.replacen("<testcase name=\"catalog_rollbacks\"", "<testcase", 1),
    )
    .unwrap();
    assert_ne!(
        xmllint(&broken).code,
        0,
        "the schema must reject a test case without a name"
    );

    assert_suite(&xml, &r);
}

/// What a CI system reads out of junit.xml: one suite named after the scenario, a case per
/// check and threshold plus the verdict, the failing check as a failure with its evidence.
fn assert_suite(xml: &str, r: &Value) {
    let parsed = quick_junit::Report::deserialize_from_str(xml).expect("quick-junit reads it back");
    assert_eq!(parsed.test_suites.len(), 1);
    let suite = &parsed.test_suites[0];
    assert_eq!(suite.name.as_str(), "junit-hidden-retries");
    let checks = r["checks"].as_array().unwrap().len();
    let thresholds = r["thresholds"].as_array().unwrap().len();
    assert_eq!(suite.tests, 1 + checks + thresholds, "{xml}");
    let prop = |k: &str| {
        suite
            .properties
            .iter()
            .find(|p| p.name.as_str() == k)
            .map(|p| p.value.to_string())
    };
    assert_eq!(prop("run_id").as_deref(), r["run_id"].as_str());
    assert_eq!(prop("duckdb").as_deref(), r["versions"]["duckdb"].as_str());
    assert!(prop("scenario_file").unwrap().ends_with("junit.toml"));
    let case = |name: &str| {
        suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no test case {name} in {xml}"))
    };
    match &case("catalog_rollbacks").status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            message,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert!(message.as_ref().unwrap().contains("rolled back"), "{message:?}");
            assert!(
                description.as_ref().unwrap().contains("\"delta\""),
                "evidence carried: {description:?}"
            );
        }
        other => panic!("catalog_rollbacks should be a failure: {other:?}"),
    }
    match &case("upsert_keys").status {
        quick_junit::TestCaseStatus::Skipped { message, .. } => assert!(!message.as_ref().unwrap().is_empty()),
        other => panic!("upsert_keys is skipped for append: {other:?}"),
    }
    assert!(matches!(
        case("row_count").status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    assert!(matches!(
        case("verdict").status,
        quick_junit::TestCaseStatus::NonSuccess {
            kind: quick_junit::NonSuccessKind::Failure,
            ..
        }
    ));
    assert!(suite.failures >= 2, "the check and the verdict: {xml}");
}

/// A check that could not run is a JUnit `<error>`, not a failure; the document stays valid.
#[test]
fn a_check_that_could_not_run_is_a_junit_error() {
    let Some(_) = tool("xmllint") else {
        return skipped(
            "a_check_that_could_not_run_is_a_junit_error",
            "xmllint not installed (Debian package libxml2-utils)",
        );
    };
    let dir = tempdir();
    let path = scenario(
        dir.path(),
        "small",
        &append_toml("small", 2, 3, "entries", PATIENT_RETRIES),
    );
    let ran = run(&path, dir.path(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let mut report = ducklake_stress::report::read(&ran.run_dir().join("report.json")).unwrap();
    let c = report.checks.iter_mut().find(|c| c.name == "object_store").unwrap();
    c.status = CheckStatus::Error;
    c.summary = "listing the bucket failed: connection refused".into();
    let xml = String::from_utf8(ducklake_stress::export::junit::JunitExporter.render(&report).unwrap()).unwrap();
    let file = dir.path().join("error.xml");
    std::fs::write(&file, &xml).unwrap();
    assert_eq!(xmllint(&file).code, 0, "{xml}");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let case = parsed.test_suites[0]
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "object_store")
        .unwrap();
    assert!(
        matches!(&case.status, quick_junit::TestCaseStatus::NonSuccess { kind: quick_junit::NonSuccessKind::Error, message: Some(m), .. } if m.contains("connection refused")),
        "{:?}",
        case.status
    );
    assert_eq!(parsed.test_suites[0].errors, 1);
}

#[test]
fn junit_given_a_directory_is_refused_before_the_run() {
    let dir = tempdir();
    let ran = Ran::from(
        bin()
            .arg("run")
            .arg(repo().join("scenarios/quickstart.toml"))
            .arg("--junit")
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 2, "{}", ran.explain());
    assert!(
        ran.stderr.contains("--junit") && ran.stderr.contains("is a directory"),
        "{}",
        ran.explain()
    );
    assert!(!ran.stdout.contains("report:"), "no run may start: {}", ran.explain());
}

/// Measures each chart as Chromium laid it out: appended to a copy of the page, it writes
/// what it found into a <pre id="probe"> that --dump-dom prints.
const PROBE: &str = r#"<script>
const out = {};
for (const f of document.querySelectorAll('figure.chart')) {
  const svg = f.querySelector('svg');
  if (!svg) { out[f.id] = null; continue; }
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim() !== '');
  const lines = {};
  for (const p of svg.querySelectorAll('polyline')) {
    if (p.getAttribute('stroke-width') === '2') lines[p.getAttribute('stroke')] = (lines[p.getAttribute('stroke')] || 0) + 1;
  }
  out[f.id] = {
    width: box.width, height: box.height, texts: texts.length,
    drawn: texts.filter(t => t.getBBox().width > 0).map(t => [t.textContent.trim(), t.getBBox().width]),
    lines, rects: svg.querySelectorAll('rect').length,
  };
}
const v = document.getElementById('verdict'); out.verdict = v ? v.textContent : null;
out.tables = [...document.querySelectorAll('table[id]')].map(t => [t.id, t.rows.length]);
const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
</script>"#;

fn chromium(args: &[&str], page: &Path, profile: &Path) -> Ran {
    let url = format!("file://{}", page.display());
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url);
    run_bounded(&mut cmd, Duration::from_secs(120))
}

/// A run a person would want to look at: 4 writers, the snapshot table locked from 2 s to
/// 5 s (lock waiters, a stall), then writing resumes.
fn faulted_run(dir: &Path) -> (Ran, Value) {
    let toml = r#"name = "report-under-a-lock"
description = "4 writers; a session locks ducklake_snapshot from 2 s to 5 s"
[run]
writers = 4
duration = "8s"
deadline = "2m"
stall_after = "2s"
[lake]
data = "s3"
data_inlining_row_limit = 0
[retry.ducklake]
max_retry_count = 100
[workload]
batch_rows = 10
[[nemesis]]
kind = "lock_catalog_table"
table = "ducklake_snapshot"
after = "2s"
hold = "3s"
"#;
    let path = scenario(dir, "faulted", toml);
    let ran = run(&path, dir, &[]);
    let r = ran.report();
    (ran, r)
}

#[test]
fn the_html_report_renders_in_headless_chromium_with_its_charts() {
    let Some(_) = tool("chromium") else {
        return skipped(
            "the_html_report_renders_in_headless_chromium_with_its_charts",
            "chromium not installed (Debian package chromium; scripts/setup-test.sh installs it as root)",
        );
    };
    let dir = tempdir();
    let (ran, r) = faulted_run(dir.path());
    assert_eq!(ran.code, 0, "{}", ran.explain());
    assert!(
        r["nemesis"][0]["started_at_seconds"].as_f64().is_some(),
        "the fault acted: {}",
        r["nemesis"]
    );
    let html = std::fs::read_to_string(ran.run_dir().join("report.html")).unwrap();
    // Self-contained: nothing to fetch, no script of its own.
    for outside in ["http://", "https://", "<script", "<link", "@import", "url("] {
        let cleaned = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!cleaned.contains(outside), "report.html must not reference {outside:?}");
    }
    let probed = dir.path().join("probed.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{PROBE}\n</body>"))).unwrap();
    let dom = chromium(&["--dump-dom"], &probed, &dir.path().join("profile"));
    assert_eq!(dom.code, 0, "{}", dom.explain());
    let probe = dom
        .stdout
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no probe output: {}", dom.explain()));
    let probe: Value = serde_json::from_str(
        &probe
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
    .unwrap();
    assert_charts(&probe, &r);

    let png = dir.path().join("report.png");
    let shot = chromium(
        &["--window-size=1040,1500", &format!("--screenshot={}", png.display())],
        &ran.run_dir().join("report.html"),
        &dir.path().join("profile2"),
    );
    assert_eq!(shot.code, 0, "{}", shot.explain());
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[1..4], b"PNG");
    if let Some(keep) = std::env::var_os("DUCKLAKE_STRESS_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}

fn assert_charts(probe: &Value, r: &Value) {
    let words = |id: &str| -> Vec<String> {
        probe[id]["drawn"]
            .as_array()
            .unwrap_or_else(|| panic!("chart {id} missing: {probe}"))
            .iter()
            .map(|t| t[0].as_str().unwrap().to_string())
            .collect()
    };
    for id in [
        "chart-timeline",
        "chart-lock-waiters",
        "chart-latency-percentiles",
        "chart-commit-distribution",
        "chart-writers",
    ] {
        let c = &probe[id];
        assert!(
            c["width"].as_f64().unwrap() > 500.0 && c["height"].as_f64().unwrap() > 200.0,
            "{id} laid out too small: {c}"
        );
        // Every label has glyphs in the browser's font: text works without plotters' ttf.
        assert_eq!(
            c["drawn"].as_array().unwrap().len() as u64,
            c["texts"].as_u64().unwrap(),
            "{id}: some text has no width: {c}"
        );
        assert!(words(id).len() >= 6, "{id}: axis labels and title expected: {c}");
    }
    // Series: each of the timeline's three is drawn with its legend sample.
    let lines = probe["chart-timeline"]["lines"].as_object().unwrap();
    assert_eq!(lines.len(), 3, "commits, failures, harness retries: {lines:?}");
    assert!(lines.values().all(|n| n.as_u64().unwrap() >= 2), "{lines:?}");
    // The fault and the stall are marked on both time charts.
    for id in ["chart-timeline", "chart-lock-waiters"] {
        let w = words(id);
        assert!(
            w.iter().any(|t| t == "lock_catalog_table ducklake_snapshot"),
            "{id}: fault not marked: {w:?}"
        );
        if !r["stalls"].as_array().unwrap().is_empty() {
            assert!(w.iter().any(|t| t == "stall"), "{id}: stall not marked: {w:?}");
        }
    }
    let title = probe["chart-timeline"]["drawn"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t[0] == "seconds since the writers started")
        .unwrap()
        .clone();
    assert!(
        title[1].as_f64().unwrap() > 100.0,
        "an axis title is readable, not a speck: {title}"
    );
    assert!(
        r["postgres"]["peak_lock_waiters"].as_u64().unwrap() >= 1,
        "the lock made writers wait: {}",
        r["postgres"]
    );
    assert_eq!(probe["chart-lock-waiters"]["lines"].as_object().unwrap().len(), 1);
    let writers = words("chart-writers");
    for w in ["w0", "w1", "w2", "w3"] {
        assert!(writers.iter().any(|t| t == w), "{w} missing: {writers:?}");
    }
    assert!(words("chart-latency-percentiles").iter().any(|t| t == "99%"));
    assert!(
        probe["chart-commit-distribution"]["rects"].as_u64().unwrap() > 3,
        "distribution bars"
    );
    assert_eq!(probe["verdict"], "PASS (exit 0)");
}

/// The page in Chromium, measured by PROBE.
fn probe_page(page: &Path, dir: &Path, name: &str) -> Value {
    let probed = dir.join(format!("{name}-probed.html"));
    std::fs::write(
        &probed,
        std::fs::read_to_string(page)
            .unwrap()
            .replace("</body>", &format!("{PROBE}\n</body>")),
    )
    .unwrap();
    let dom = chromium(&["--dump-dom"], &probed, &dir.join(format!("{name}-profile")));
    assert_eq!(dom.code, 0, "{}", dom.explain());
    let probe = dom
        .stdout
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no probe output: {}", dom.explain()));
    serde_json::from_str(
        &probe
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
    .unwrap()
}

fn laid_out(probe: &Value, id: &str) -> Vec<String> {
    let c = &probe[id];
    assert!(
        c["width"].as_f64().unwrap_or(0.0) > 500.0 && c["height"].as_f64().unwrap_or(0.0) > 150.0,
        "{id} missing or laid out too small: {probe}"
    );
    assert_eq!(
        c["drawn"].as_array().unwrap().len() as u64,
        c["texts"].as_u64().unwrap(),
        "{id}: some text has no width: {c}"
    );
    c["drawn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_sweep_and_comparison_pages_render_in_headless_chromium() {
    let Some(_) = tool("chromium") else {
        return skipped(
            "the_sweep_and_comparison_pages_render_in_headless_chromium",
            "chromium not installed (Debian package chromium; scripts/setup-test.sh installs it as root)",
        );
    };
    let dir = tempdir();
    let toml = "name = \"tiny\"\n[run]\nwriters = 2\ncommits_per_writer = 3\ndeadline = \
        \"2m\"\n[retry.harness]\nmax_attempts = 1\n[workload]\nbatch_rows = 2\n[checks]\nmax_failed_commits = 1000\n";
    let s = scenario(dir.path(), "tiny", toml);
    let ran = Ran::from(
        bin()
            .args([
                "sweep",
                s.to_str().unwrap(),
                "--param",
                "run.writers=1,2",
                "--param",
                "retry.ducklake.max_retry_count=0,10",
                "--quiet",
                "--results-dir",
            ])
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let sweep_json = std::path::PathBuf::from(ran.stdout.lines().find_map(|l| l.strip_prefix("sweep: ")).unwrap());
    let out = sweep_json.parent().unwrap();
    let probe = probe_page(&out.join("sweep.html"), dir.path(), "sweep");
    let words = laid_out(&probe, "chart-sweep-throughput");
    for label in [
        "1 writers",
        "2 writers",
        "retry.ducklake.max_retry_count=0",
        "retry.ducklake.max_retry_count=10",
    ] {
        assert!(
            words.iter().any(|w| w == label),
            "{label} missing from the heatmap: {words:?}"
        );
    }
    laid_out(&probe, "chart-sweep-failed");
    laid_out(&probe, "chart-sweep-p99");
    let tables = probe["tables"].as_array().unwrap();
    assert!(
        tables.iter().any(|t| t[0] == "envelope" && t[1] == 3),
        "envelope table with a row per retry setting: {tables:?}"
    );

    let sweep: Value = serde_json::from_str(&std::fs::read_to_string(&sweep_json).unwrap()).unwrap();
    let report_of = |i: usize| {
        sweep["points"][i]["aggregate"]["report_files"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    let cmp = dir.path().join("cmp");
    let ran = Ran::from(
        bin()
            .args(["compare", &report_of(0), &report_of(1), "--out"])
            .arg(&cmp)
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 0, "{}", ran.explain());
    let probe = probe_page(&cmp.join("comparison.html"), dir.path(), "comparison");
    let lines = probe["chart-compare-latency"]["lines"]
        .as_object()
        .unwrap_or_else(|| panic!("{probe}"));
    assert_eq!(lines.len(), 2, "baseline and candidate: {lines:?}");
    laid_out(&probe, "chart-compare-failed");
    assert!(
        probe["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t[0] == "figures" && t[1].as_u64().unwrap() >= 6),
        "{probe}"
    );
    if let Some(keep) = std::env::var_os("DUCKLAKE_STRESS_KEEP_SWEEP_SCREENSHOT") {
        let shot = chromium(
            &[
                "--window-size=1040,1400",
                &format!("--screenshot={}", std::path::Path::new(&keep).display()),
            ],
            &out.join("sweep.html"),
            &dir.path().join("shot-profile"),
        );
        assert_eq!(shot.code, 0, "{}", shot.explain());
    }
}

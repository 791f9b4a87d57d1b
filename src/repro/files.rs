//! The reproducer as files in `RUN_DIR/repro/`: the schedule (`repro.toml`), a transcript
//! per session (`repro.sql`), DuckLake's own sqllogictest dialect with named connections
//! (`repro.test`), the standalone script (`repro.py`, see `python`), what it all means
//! (`repro.md`) and its numbers (`repro.json`). Each is written atomically.

use super::Tally;
use crate::interleave::outcome::PermutationResult;
use crate::interleave::Schedule;
use crate::report::Versions;
use std::fmt::Write;
use std::path::Path;

/// Everything the files say.
pub struct Written<'a> {
    pub run_id: &'a str,
    pub scenario: &'a str,
    pub check: &'a str,
    pub summary: &'a str,
    /// The replay before shrinking and the schedule it ran.
    pub original: &'a Schedule,
    pub before: &'a Tally,
    /// After shrinking (None: not shrunk, the replay never failed or --no-shrink).
    pub after: Option<&'a Tally>,
    pub schedule: &'a Schedule,
    /// Rows the shrunk schedule's transactions write (None: not shrunk, or not counted).
    pub rows: Option<usize>,
    pub versions: &'a Versions,
    /// Why shrinking stopped or did not run, if it did not run to the end.
    pub note: Option<String>,
}

pub fn write_all(dir: &Path, w: &Written) -> anyhow::Result<Vec<String>> {
    let files = [
        ("repro.toml", crate::interleave::write::to_toml(w.schedule)),
        ("repro.sql", transcript(w)),
        ("repro.test", sqllogictest(w.schedule)),
        ("repro.py", super::python::script(w.schedule, w.run_id, w.check)?),
        ("repro.md", markdown(w)),
        ("repro.json", summary_json(w)?),
    ];
    let mut names = Vec::new();
    for (name, text) in files {
        crate::util::write_atomically(&dir.join(name), text.as_bytes())?;
        names.push(name.to_string());
    }
    Ok(names)
}

/// The tallies and sizes, for scripts and tests.
fn summary_json(w: &Written) -> anyhow::Result<String> {
    let size = |s: &Schedule| serde_json::json!({"sessions": s.sessions.len(), "steps": s.steps.len()});
    Ok(serde_json::to_string_pretty(&serde_json::json!({
        "run_id": w.run_id,
        "check": w.check,
        "before": w.before,
        "after": w.after,
        "original": size(w.original),
        "shrunk": size(w.schedule),
        "shrunk_rows": w.rows,
        "reproduced": w.before.failed > 0,
    }))?)
}

/// A step's sql as one statement line (`;` added).
fn statement(sql: &str) -> String {
    format!("{};", sql.trim_end_matches(';'))
}

/// What a step did in `example`, e.g. `ok` or `error (conflict)`.
fn outcome_of(example: Option<&PermutationResult>, step: &str) -> String {
    example
        .and_then(|r| r.steps.iter().find(|s| s.name == step))
        .map(|s| s.outcome_word())
        .unwrap_or_else(|| "not run".into())
}

/// Per session its statements in order, each with its place in the schedule's order and
/// what it did in the last run that failed.
pub fn transcript(w: &Written) -> String {
    let s = w.schedule;
    let example = w.after.unwrap_or(w.before).example.as_ref();
    let order = &s.permutations[0];
    let mut out = format!(
        "-- Reproducer of run {} ({}): check {} failed: {}\n-- Written by ducklake-stress repro. The sessions run \
         their steps in the global order given by `-- step N of M`;\n-- each session is its own DuckDB instance with \
         the lake attached as `lake`.\n\n-- Set-up, once, on a fresh lake:\n",
        w.run_id, w.scenario, w.check, w.summary
    );
    for sql in &s.setup {
        let _ = writeln!(out, "{}", statement(sql));
    }
    for (i, session) in s.sessions.iter().enumerate() {
        let _ = writeln!(out, "\n-- Session {}:", session.name);
        for sql in &session.connect_sql {
            let _ = writeln!(out, "{}", statement(sql));
        }
        for (pos, &k) in order.iter().enumerate().filter(|(_, k)| s.steps[**k].session == i) {
            let step = &s.steps[k];
            let _ = writeln!(
                out,
                "-- step {} of {} ({}): {}\n{}",
                pos + 1,
                order.len(),
                step.name,
                outcome_of(example, &step.name),
                statement(&step.sql)
            );
        }
    }
    for inv in &s.invariants {
        let got = example
            .and_then(|r| r.invariants.iter().find(|i| i.name == inv.name))
            .and_then(|i| i.rows)
            .map(|n| format!("; got {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\n-- Afterwards, on a fresh instance ({}: expect {} rows{got}):\n{}",
            inv.name,
            inv.expect_rows.unwrap_or(0),
            statement(&inv.sql)
        );
    }
    out
}

/// DuckLake's sqllogictest form: a DuckDB-file catalog from `test-env` (the suite's
/// configurations swap in Postgres or SQLite), one named connection per session, steps in
/// the schedule's order. A COMMIT may fail with a conflict (`statement maybe`): what must
/// hold is the invariant at the end.
pub fn sqllogictest(s: &Schedule) -> String {
    let mut out = format!(
        "# name: test/sql/concurrent/{}.test\n# description: {}\n# group: [concurrent]\n\nrequire ducklake\n\n\
         require parquet\n\ntest-env DUCKLAKE_CONNECTION __TEST_DIR__/{{UUID}}.db\n\n\
         test-env DATA_PATH __TEST_DIR__\n\n",
        s.name.replace('-', "_"),
        s.description.as_deref().unwrap_or("").replace('\n', " ")
    );
    let inlining = s
        .lake
        .data_inlining_row_limit
        .map(|n| format!(", DATA_INLINING_ROW_LIMIT {n}"))
        .unwrap_or_default();
    let _ = write!(
        out,
        "statement ok\nATTACH 'ducklake:${{DUCKLAKE_CONNECTION}}' AS lake \
         (DATA_PATH '${{DATA_PATH}}/{}_files'{inlining})\n\n",
        s.name.replace('-', "_")
    );
    for sql in &s.setup {
        let _ = write!(out, "statement ok\n{sql}\n\n");
    }
    for (i, session) in s.sessions.iter().enumerate() {
        for sql in &session.connect_sql {
            let _ = write!(out, "statement ok con{}\n{sql}\n\n", i + 1);
        }
    }
    for &k in &s.permutations[0] {
        let step = &s.steps[k];
        let con = step.session + 1;
        let must = step.expect == Some(crate::interleave::model::Expect::Ok);
        if step.sql.trim().eq_ignore_ascii_case("COMMIT") && !must {
            let _ = write!(out, "statement maybe con{con}\nCOMMIT\n----\nTransaction conflict\n\n");
        } else {
            let _ = write!(out, "statement ok con{con}\n{}\n\n", step.sql.trim());
        }
    }
    for inv in &s.invariants {
        // Statements before the query (`USE lake."s"`) as statements of their own.
        let mut statements = crate::util::split_statements(&inv.sql);
        let query = statements.pop().unwrap_or_default();
        let _ = writeln!(out, "# {}", inv.name);
        for sql in statements {
            let _ = write!(out, "statement ok\n{sql}\n\n");
        }
        let _ = write!(
            out,
            "query I\nSELECT count(*) FROM ({query})\n----\n{}\n\n",
            inv.expect_rows.unwrap_or(0)
        );
    }
    out
}

fn session_summary(s: &Schedule) -> String {
    let commits = s
        .steps
        .iter()
        .filter(|x| x.sql.trim().eq_ignore_ascii_case("COMMIT"))
        .count();
    format!(
        "{} session(s), {} transaction(s), {} step(s)",
        s.sessions.len(),
        commits,
        s.steps.len()
    )
}

/// What fails, how often before and after shrinking, the versions, how to run the files.
pub fn markdown(w: &Written) -> String {
    let mut out = format!(
        "# Reproducer of run `{}` ({})\n\n**Check `{}` failed**: {}\n\n| | schedule | reproduced |\n|---|---|---|\n\
         | replay of the history | {} | {} |\n",
        w.run_id,
        w.scenario,
        w.check,
        w.summary,
        session_summary(w.original),
        w.before.describe()
    );
    if let Some(a) = w.after {
        let rows = w.rows.map(|r| format!(", {r} row(s)")).unwrap_or_default();
        let _ = writeln!(
            out,
            "| shrunk | {}{rows} | {} |",
            session_summary(w.schedule),
            a.describe()
        );
    }
    if w.before.failed == 0 {
        out.push_str(
            "\n**The replay did not reproduce the failure**: the race needs timing the history does not keep \
             (it has one start and one end per attempt, not per statement). The files hold the unshrunk replay.\n",
        );
    }
    if let Some(note) = &w.note {
        let _ = writeln!(out, "\n{note}");
    }
    let v = w.versions;
    let _ = write!(
        out,
        "\nVersions: DuckDB {}, DuckLake {}, catalog: {}, {} catalog, {} data.\n",
        v.duckdb,
        v.ducklake,
        v.postgres,
        w.schedule.lake.catalog.name(),
        format!("{:?}", w.schedule.lake.data).to_lowercase()
    );
    for e in &v.extensions {
        let _ = writeln!(out, "- {}: {}", e.name, e.sha256);
    }
    out.push_str(
        "\nHow the replay was built: each transaction's SQL rebuilt by the workload from (run, writer, transaction); \
         BEGIN and its statements placed at the attempt's start in the history, COMMIT at its end (the history \
         keeps no time per statement). Shrinking drops transactions, then statements, then rows (where the \
         workload can write a subset of a transaction's rows), while a candidate still \
         fails as often as the replay did and passes when its transactions run one after another.\n\n\
         Files:\n\n- `repro.toml`: the schedule; `ducklake-stress run repro/repro.toml --repeat 10` replays it \
         (`--extension ducklake=PATH --allow-unsigned-extensions` against a DuckLake you built)\n\
         - `repro.sql`: each session's statements in the global order\n\
         - `repro.py`: `python3 repro.py` (needs only `pip install duckdb`; a DuckDB-file catalog, or \
         `--postgres DSN`); exits 1 when it reproduces\n\
         - `repro.test`: the same in DuckLake's sqllogictest dialect, one named connection per session\n\
         - `repro.json`: these numbers\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::replay::{self, Base, TxnPlan};

    fn schedule() -> Schedule {
        let plan = |writer, commit_at| {
            let statements = vec![
                "DELETE FROM lake.t WHERE k = 'it''s'".into(),
                "INSERT INTO lake.t VALUES (1)".into(),
            ];
            TxnPlan::new(writer, 0, statements, 0.0, commit_at)
        };
        let base = Base {
            name: "repro-x".into(),
            description: "d".into(),
            lake: crate::interleave::model::ScheduleLake {
                catalog: crate::scenario::CatalogKind::Postgres,
                data: crate::scenario::DataStore::Local,
                data_inlining_row_limit: Some(0),
                extension_files: Default::default(),
            },
            connect_sql: vec!["SET ducklake_max_retry_count = 100".into()],
            setup: vec!["CREATE TABLE lake.t (k VARCHAR)".into()],
            finding_invariants: vec![crate::interleave::model::InvariantSpec {
                name: "duplicate_keys".into(),
                sql: "USE lake.main; SELECT k FROM t GROUP BY k HAVING count(*) > 1".into(),
                expect_rows: Some(0),
            }],
            must_commit: [(2, 0)].into(),
        };
        replay::schedule(&base, &[plan(1, 1.0), plan(2, 2.0)])
    }

    #[test]
    fn the_sqllogictest_has_a_named_connection_per_session_and_the_invariant() {
        let t = sqllogictest(&schedule());
        assert!(
            t.contains("test-env DUCKLAKE_CONNECTION __TEST_DIR__/{UUID}.db\n"),
            "{t}"
        );
        assert!(
            t.contains("AS lake (DATA_PATH '${DATA_PATH}/repro_x_files', DATA_INLINING_ROW_LIMIT 0)"),
            "{t}"
        );
        let begin2 = t.find("statement ok con2\nBEGIN").unwrap();
        assert!(t.find("statement ok con1\nBEGIN").unwrap() < begin2, "{t}");
        assert!(
            t.contains("statement maybe con1\nCOMMIT\n----\nTransaction conflict"),
            "{t}"
        );
        // w2 t0 must commit: no `maybe` for it.
        assert!(t.contains("statement ok con2\nCOMMIT\n"), "{t}");
        assert!(
            t.ends_with(
                "# duplicate_keys\nstatement ok\nUSE lake.main\n\nquery I\nSELECT count(*) FROM (SELECT k FROM t \
                 GROUP BY k HAVING count(*) > 1)\n----\n0\n\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn the_python_script_carries_the_schedule_as_json() {
        let s = schedule();
        let py = crate::repro::python::script(&s, "run-1", "upsert_keys").unwrap();
        let line = py.lines().find(|l| l.starts_with("SPEC = json.loads(")).unwrap();
        let literal = &line["SPEC = json.loads(".len()..line.len() - 1];
        let text: String = serde_json::from_str(literal).unwrap();
        let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(spec["steps"].as_array().unwrap().len(), 8);
        assert_eq!(spec["steps"][1]["sql"], "DELETE FROM lake.t WHERE k = 'it''s'");
        assert_eq!(spec["sessions"][1]["name"], "w2");
        assert_eq!(spec["invariants"][0]["expect_rows"], 0);
    }
}

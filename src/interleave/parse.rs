//! From a TOML file to a validated [`Schedule`]; errors name file, line, column and key
//! like the stress form's (they share its `Locator`).

use super::model::*;
use super::permute;
use crate::error::bad_input;
use crate::history::error_class::ErrorClass;
use crate::scenario::{CatalogKind, DataStore, Locator};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// Without `step_timeout`: long enough for DuckLake's own commit retries (10 by default,
/// 100 ms growing 1.5x: about 11 s in all) to end before a step counts as blocked.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Every error class a step may expect by name.
const CLASSES: [ErrorClass; 9] = [
    ErrorClass::RetriesExhausted,
    ErrorClass::Conflict,
    ErrorClass::CatalogPrimaryKey,
    ErrorClass::ConnectionLost,
    ErrorClass::S3Http,
    ErrorClass::CatalogFileLock,
    ErrorClass::CatalogBusy,
    ErrorClass::InterruptedByDeadline,
    ErrorClass::Other,
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: Spanned<String>,
    description: Option<String>,
    rule: Option<String>,
    source: Option<String>,
    known: Option<String>,
    permutations: Option<Spanned<toml::Value>>,
    step_timeout: Option<Spanned<String>>,
    instance: Option<Spanned<String>>,
    lake: Option<Spanned<RawLake>>,
    #[serde(default)]
    sessions: Vec<Spanned<RawSession>>,
    setup: Option<RawSetup>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
    #[serde(default)]
    invariants: Vec<Spanned<RawInvariant>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLake {
    catalog: Option<CatalogKind>,
    data: Option<DataStore>,
    data_inlining_row_limit: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    name: Spanned<String>,
    kind: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    #[serde(default)]
    sql: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetup {
    #[serde(default)]
    sql: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    session: Spanned<String>,
    name: Spanned<String>,
    sql: Spanned<String>,
    expect: Option<Spanned<String>>,
    expect_rows: Option<u64>,
    expect_blocked: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInvariant {
    name: Option<String>,
    sql: Spanned<String>,
    expect_rows: Option<u64>,
}

/// Whether `text` is an interleaving scenario rather than a stress one: it has sessions.
pub fn is_interleaving_text(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with("[[sessions]]"))
}

/// Whether the file at `path` is an interleaving scenario (unreadable files are not: the
/// stress form's loader then says why it cannot read them).
pub fn is_interleaving(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| is_interleaving_text(&t))
}

pub fn load(path: &Path) -> anyhow::Result<Schedule> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad_input(format!(
            "{}: cannot read the interleaving scenario ({e}). Check the path.",
            path.display()
        ))
    })?;
    parse_str(&text, &path.display().to_string())
}

/// The file with `--set` overrides applied first (as for the stress form); messages then
/// name the overrides too.
pub fn load_with(path: &Path, overrides: &[crate::scenario::Override]) -> anyhow::Result<Schedule> {
    if overrides.is_empty() {
        return load(path);
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad_input(format!(
            "{}: cannot read the interleaving scenario ({e}).",
            path.display()
        ))
    })?;
    let origin = path.display().to_string();
    let edited = crate::scenario::overrides::apply(&text, &origin, overrides)?;
    let sets: Vec<String> = overrides.iter().map(|o| format!("--set {o}")).collect();
    parse_str(&edited, &format!("{origin} (with {})", sets.join(" ")))
}

pub fn parse_str(text: &str, origin: &str) -> anyhow::Result<Schedule> {
    let here = Locator { text, origin };
    let raw: RawSchedule = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().to_string();
        here.error(e.span(), "", &format!("{msg}{}", hint_for(&msg)))
    })?;
    validate(raw, &here)
}

fn hint_for(msg: &str) -> &'static str {
    if msg.contains("unknown field `permutations`") {
        " `permutations` is a top-level key: in TOML a key written after a [[steps]] header belongs to that step, so \
            put `permutations = ...` near the top of the file, after `name` and before the first [[sessions]]."
    } else if msg.contains("unknown field") {
        " (keys are case-sensitive; see the README's section on interleaving scenarios)"
    } else {
        ""
    }
}

fn validate(raw: RawSchedule, here: &Locator) -> anyhow::Result<Schedule> {
    let name = raw.name.get_ref();
    if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(here.at(
            &raw.name,
            "name",
            "must be 1 to 100 letters, digits, '-', '_' or '.': it becomes part of a directory name.",
        ));
    }
    let lake = validate_lake(raw.lake.as_ref());
    let shared_instance = validate_instance(raw.instance.as_ref(), lake.catalog, here)?;
    let sessions = validate_sessions(&raw.sessions, shared_instance, here)?;
    let steps = validate_steps(&raw.steps, &sessions, here)?;
    let (permutations, all_permutations) = validate_permutations(raw.permutations.as_ref(), &steps, &sessions, here)?;
    let step_timeout = match &raw.step_timeout {
        Some(s) => parse_timeout(s, here)?,
        None => DEFAULT_STEP_TIMEOUT,
    };
    let invariants = raw
        .invariants
        .iter()
        .enumerate()
        .map(|(i, inv)| {
            let r = inv.get_ref();
            if r.sql.get_ref().trim().is_empty() {
                return Err(here.at(&r.sql, &format!("invariants[{i}].sql"), "is empty."));
            }
            Ok(InvariantSpec {
                name: r.name.clone().unwrap_or_else(|| format!("invariant_{}", i + 1)),
                sql: r.sql.get_ref().clone(),
                expect_rows: r.expect_rows,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Schedule {
        name: raw.name.into_inner(),
        description: raw.description,
        rule: raw.rule,
        source: raw.source,
        known: raw.known,
        lake,
        shared_instance,
        sessions,
        setup: raw.setup.map(|s| s.sql).unwrap_or_default(),
        steps,
        permutations,
        all_permutations,
        step_timeout,
        invariants,
    })
}

fn validate_lake(lake: Option<&Spanned<RawLake>>) -> ScheduleLake {
    let raw = lake.map(|l| l.get_ref());
    ScheduleLake {
        catalog: raw.and_then(|l| l.catalog).unwrap_or_default(),
        // Local by default: a schedule is about the catalog, and needs no S3 server.
        data: raw.and_then(|l| l.data).unwrap_or(DataStore::Local),
        data_inlining_row_limit: raw.and_then(|l| l.data_inlining_row_limit),
        extension_files: Default::default(),
    }
}

/// `instance = "own"` (default: each session its own DuckDB instance) or `"shared"`. A
/// DuckDB-file catalog always shares: DuckDB admits one writing process per file, and
/// several instances in one process lose commits (the README's findings).
fn validate_instance(i: Option<&Spanned<String>>, catalog: CatalogKind, here: &Locator) -> anyhow::Result<bool> {
    match i.map(|s| s.get_ref().as_str()) {
        None => Ok(catalog == CatalogKind::Duckdb),
        Some("shared") => Ok(true),
        Some("own") => Ok(catalog == CatalogKind::Duckdb),
        Some(other) => Err(here.at(
            i.expect("matched Some"),
            "instance",
            &format!("is \"{other}\"; allowed: \"own\" (an instance per session) or \"shared\"."),
        )),
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A session's or step's name: a valid name, not taken by an earlier one (`taken_why` says
/// what a repeated name means).
fn new_name<'a>(
    name: &Spanned<String>,
    key: &str,
    mut taken: impl Iterator<Item = &'a str>,
    taken_why: &str,
    here: &Locator,
) -> anyhow::Result<()> {
    let key = format!("{key}.name");
    if !is_name(name.get_ref()) {
        return Err(here.at(name, &key, "must be a name of letters, digits, '_' or '-'."));
    }
    if taken.any(|t| t == name.get_ref()) {
        return Err(here.at(name, &key, taken_why));
    }
    Ok(())
}

fn validate_sessions(raw: &[Spanned<RawSession>], shared: bool, here: &Locator) -> anyhow::Result<Vec<SessionSpec>> {
    let mut out: Vec<SessionSpec> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let r = s.get_ref();
        let key = format!("sessions[{i}]");
        new_name(
            &r.name,
            &key,
            out.iter().map(|o| o.name.as_str()),
            "is used by another session already.",
            here,
        )?;
        let process = validate_mode(r.mode.as_ref(), &key, shared, here)?;
        let kind = match r.kind.as_ref().map(|k| k.get_ref().as_str()) {
            None | Some("duckdb") => SessionKind::Duckdb,
            Some("catalog") => SessionKind::Catalog,
            Some(other) => {
                return Err(here.at(
                    r.kind.as_ref().expect("matched Some"),
                    &format!("{key}.kind"),
                    &format!(
                        "is \"{other}\"; allowed: \"duckdb\" (default: DuckDB attached to the lake) or \"catalog\" \
                            (a direct connection to the Postgres catalog)."
                    ),
                ))
            }
        };
        if process && kind == SessionKind::Catalog {
            return Err(here.at(
                r.mode.as_ref().expect("process was asked for"),
                &format!("{key}.mode"),
                "is \"process\", but a kind = \"catalog\" session is a Postgres connection, not a DuckDB \
                    instance: remove the key.",
            ));
        }
        out.push(SessionSpec {
            name: r.name.get_ref().clone(),
            kind,
            connect_sql: r.sql.clone(),
            process,
        });
    }
    if out.is_empty() {
        return Err(here.error(
            None,
            "sessions",
            "an interleaving scenario needs at least one [[sessions]].",
        ));
    }
    Ok(out)
}

/// `mode = "thread"` (default) or `"process"`: whether the session's DuckDB instance lives
/// in a child process. Sessions sharing one instance cannot each have a process.
fn validate_mode(mode: Option<&Spanned<String>>, key: &str, shared: bool, here: &Locator) -> anyhow::Result<bool> {
    let Some(m) = mode else { return Ok(false) };
    match m.get_ref().as_str() {
        "thread" => Ok(false),
        "process" if shared => Err(here.at(
            m,
            &format!("{key}.mode"),
            "is \"process\", but this schedule's sessions share one DuckDB instance (a DuckDB-file catalog, \
                which one process at a time may write, or instance = \"shared\"), so none can live in a \
                process of its own: remove the key, or use a Postgres or SQLite catalog.",
        )),
        "process" => Ok(true),
        other => Err(here.at(
            m,
            &format!("{key}.mode"),
            &format!(
                "is \"{other}\"; allowed: \"thread\" (default: the session's DuckDB instance on a thread of \
                    the runner) or \"process\" (in a child process of its own)."
            ),
        )),
    }
}

fn validate_steps(raw: &[Spanned<RawStep>], sessions: &[SessionSpec], here: &Locator) -> anyhow::Result<Vec<StepSpec>> {
    let mut out: Vec<StepSpec> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let r = s.get_ref();
        let key = format!("steps[{i}]");
        let taken = out.iter().map(|o| o.name.as_str());
        new_name(
            &r.name,
            &key,
            taken,
            "names another step already: step names are unique.",
            here,
        )?;
        let Some(session) = sessions.iter().position(|x| &x.name == r.session.get_ref()) else {
            let names: Vec<&str> = sessions.iter().map(|x| x.name.as_str()).collect();
            return Err(here.at(
                &r.session,
                &format!("{key}.session"),
                &format!("names no session; the [[sessions]] are: {}.", names.join(", ")),
            ));
        };
        if r.sql.get_ref().trim().is_empty() {
            return Err(here.at(&r.sql, &format!("{key}.sql"), "is empty."));
        }
        let expect = r.expect.as_ref().map(|e| parse_expect(e, &key, here)).transpose()?;
        out.push(StepSpec {
            name: r.name.get_ref().clone(),
            session,
            sql: r.sql.get_ref().clone(),
            expect,
            expect_rows: r.expect_rows,
            expect_blocked: r.expect_blocked,
        });
    }
    if out.is_empty() {
        return Err(here.error(None, "steps", "an interleaving scenario needs at least one [[steps]]."));
    }
    Ok(out)
}

fn parse_expect(e: &Spanned<String>, key: &str, here: &Locator) -> anyhow::Result<Expect> {
    let word = e.get_ref().as_str();
    match word {
        "ok" => return Ok(Expect::Ok),
        "error" => return Ok(Expect::Error),
        _ => {}
    }
    if let Some(c) = CLASSES.iter().find(|c| c.name() == word) {
        return Ok(Expect::Class(*c));
    }
    let names: Vec<&str> = CLASSES.iter().map(|c| c.name()).collect();
    Err(here.at(
        e,
        &format!("{key}.expect"),
        &format!(
            "is \"{word}\"; allowed: \"ok\", \"error\" (any error) or an error class: {}.",
            names.join(", ")
        ),
    ))
}

fn validate_permutations(
    raw: Option<&Spanned<toml::Value>>,
    steps: &[StepSpec],
    sessions: &[SessionSpec],
    here: &Locator,
) -> anyhow::Result<(Vec<Vec<usize>>, bool)> {
    let list = match raw.map(|r| (r, r.get_ref())) {
        None => None,
        Some((_, toml::Value::String(s))) if s == "all" => None,
        Some((r, toml::Value::Array(list))) if !list.is_empty() => Some((r, list)),
        Some((r, _)) => {
            return Err(here.at(
                r,
                "permutations",
                "must be \"all\" or a list of lists of step names, e.g. [[\"s1_begin\", \"s2_begin\"]].",
            ))
        }
    };
    let Some((r, list)) = list else {
        let sequences: Vec<Vec<usize>> = (0..sessions.len())
            .map(|s| (0..steps.len()).filter(|&i| steps[i].session == s).collect())
            .filter(|v: &Vec<usize>| !v.is_empty())
            .collect();
        let lengths: Vec<usize> = sequences.iter().map(Vec::len).collect();
        return match permute::count(&lengths) {
            Some(n) if n <= permute::MAX_PERMUTATIONS => Ok((permute::all(&sequences), true)),
            n => Err(here.error(
                raw.map(|r| r.span()),
                "permutations",
                &format!(
                    "\"all\" would be {} orders of these steps (steps per session: {lengths:?}); at most {} are run. \
                        List the orders to run instead.",
                    n.map(|n| n.to_string()).unwrap_or_else(|| "more than 2^64".into()),
                    permute::MAX_PERMUTATIONS
                ),
            )),
        };
    };
    let mut out = Vec::new();
    for (p, order) in list.iter().enumerate() {
        let names = order.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
            here.at(
                r,
                &format!("permutations[{p}]"),
                "must be a non-empty list of step names.",
            )
        })?;
        let mut indexes = Vec::new();
        for n in names {
            let name = n.as_str().unwrap_or_default();
            let Some(i) = steps.iter().position(|s| s.name == name) else {
                return Err(here.at(
                    r,
                    &format!("permutations[{p}]"),
                    &format!("names `{n}`, which is no step's name."),
                ));
            };
            indexes.push(i);
        }
        out.push(indexes);
    }
    if out.len() as u64 > permute::MAX_PERMUTATIONS {
        return Err(here.at(
            r,
            "permutations",
            &format!("lists more than {} orders.", permute::MAX_PERMUTATIONS),
        ));
    }
    Ok((out, false))
}

fn parse_timeout(s: &Spanned<String>, here: &Locator) -> anyhow::Result<Duration> {
    match humantime::parse_duration(s.get_ref().trim()) {
        Ok(d) if !d.is_zero() && d <= Duration::from_secs(600) => Ok(d),
        Ok(_) => Err(here.at(s, "step_timeout", "must be longer than zero and at most 10m.")),
        Err(e) => Err(here.at(
            s,
            "step_timeout",
            &format!(
                "`{}` is not a duration ({e}); write e.g. \"2s\" or \"500ms\".",
                s.get_ref()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"name = "t"
[[sessions]]
name = "s1"
[[sessions]]
name = "s2"
[[steps]]
session = "s1"
name = "a"
sql = "BEGIN"
[[steps]]
session = "s2"
name = "b"
sql = "BEGIN"
expect = "conflict"
"#;

    #[test]
    fn a_schedule_without_permutations_runs_every_order() {
        let s = parse_str(TWO, "t.toml").unwrap();
        assert!(s.all_permutations);
        assert_eq!(s.permutations, vec![vec![0, 1], vec![1, 0]]);
        assert_eq!(s.steps[1].expect, Some(Expect::Class(ErrorClass::Conflict)));
        assert!(is_interleaving_text(TWO));
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let bad = TWO.replace("expect = \"conflict\"", "expect = \"conflicted\"");
        let e = format!("{:#}", parse_str(&bad, "t.toml").unwrap_err());
        assert!(
            e.contains("t.toml:14:") && e.contains("steps[1].expect") && e.contains("conflict"),
            "{e}"
        );
        let bad = TWO.replace("session = \"s2\"", "session = \"s3\"");
        let e = format!("{:#}", parse_str(&bad, "t.toml").unwrap_err());
        assert!(e.contains("t.toml:11:") && e.contains("s1, s2"), "{e}");
        let late = format!("{TWO}permutations = [[\"a\", \"b\"]]\n");
        let e = format!("{:#}", parse_str(&late, "t.toml").unwrap_err());
        assert!(e.contains("top-level key"), "{e}");
        let early = TWO.replace("name = \"t\"\n", "name = \"t\"\npermutations = [[\"b\", \"a\"]]\n");
        assert_eq!(parse_str(&early, "t.toml").unwrap().permutations, vec![vec![1, 0]]);
        let unknown = TWO.replace("name = \"t\"\n", "name = \"t\"\npermutations = [[\"b\", \"c\"]]\n");
        let e = format!("{:#}", parse_str(&unknown, "t.toml").unwrap_err());
        assert!(e.contains("t.toml:2:") && e.contains("`\"c\"`"), "{e}");
    }
}

//! From a TOML file to a validated [`Scenario`]. Every error names the file, the line and
//! column, the key and what is allowed, because a CI log is often all the user has.

use super::model::*;
use crate::error::bad_input;
use crate::util::toml_place::Locator;
use crate::workload::WorkloadSpec;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

mod actors;
/// `[[nemesis]]`: each fault kind's keys, and the faults' fit with the run and the lake.
mod faults;
use faults::validate_nemesis;
/// `rate`, `rate_total`, `think_time` of `[run]` or the writing `[[actors]]` group.
mod pacing;
/// `[workload]`: the kind, and the keys each workload declares and validates itself.
mod workloads;

pub fn load_file(path: &Path) -> anyhow::Result<Scenario> {
    load_with(path, &[])
}

/// The file with `--set` overrides applied before it is parsed; messages then name the
/// file and the overrides, since a line may hold a value the file never had.
pub fn load_with(path: &Path, overrides: &[super::Override]) -> anyhow::Result<Scenario> {
    load_text_with(path, overrides).map(|(_, scenario)| scenario)
}

/// `load_with`, also returning the text it parsed (the file with the overrides applied),
/// for those who pass the scenario on (Kubernetes manifests).
pub fn load_text_with(path: &Path, overrides: &[super::Override]) -> anyhow::Result<(String, Scenario)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad_input(format!(
            "{}: cannot read the scenario file ({e}). Check the path; scenario files live in scenarios/.",
            path.display()
        ))
    })?;
    let origin = path.display().to_string();
    if overrides.is_empty() {
        let scenario = parse_str(&text, &origin)?;
        return Ok((text, scenario));
    }
    let edited = super::overrides::apply(&text, &origin, overrides)?;
    let sets: Vec<String> = overrides.iter().map(|o| format!("--set {o}")).collect();
    let scenario = parse_str(&edited, &format!("{origin} (with {})", sets.join(" ")))?;
    Ok((edited, scenario))
}

/// Parses and validates `text`; `origin` is the file name used in messages.
pub fn parse_str(text: &str, origin: &str) -> anyhow::Result<Scenario> {
    let here = Locator { text, origin };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().to_string();
        here.error(e.span(), "", &format!("{msg}{}", hint_for(&msg)))
    })?;
    validate(raw, &here)
}

/// Adds the allowed values for the enums whose serde message alone is terse.
fn hint_for(msg: &str) -> &'static str {
    let interleaving = [
        "sessions",
        "steps",
        "permutations",
        "step_timeout",
        "setup",
        "invariants",
    ];
    if interleaving
        .iter()
        .any(|k| msg.contains(&format!("unknown field `{k}`")))
    {
        " (a file with [[sessions]] and [[steps]] is an interleaving scenario: `run` and `validate` take it, \
            this command does not)"
    } else if msg.contains("unknown field") {
        " (keys are case-sensitive; see the README's scenario reference)"
    } else {
        ""
    }
}

/// Each writer holds one or two catalog connections; the native Postgres allows 1000.
const MAX_WRITERS: u32 = 256;

fn parse_duration(s: &Spanned<String>, key: &str, here: &Locator) -> anyhow::Result<Duration> {
    let d = humantime::parse_duration(s.get_ref().trim()).map_err(|e| {
        here.at(
            s,
            key,
            &format!(
                "`{}` is not a duration ({e}); write e.g. \"30s\", \"2m\" or \"1h\".",
                s.get_ref()
            ),
        )
    })?;
    if d.is_zero() {
        return Err(here.at(s, key, "must be longer than zero."));
    }
    Ok(d)
}

/// Plain identifiers only (they are also double-quoted in SQL, so reserved words work).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

fn validate(raw: RawScenario, here: &Locator) -> anyhow::Result<Scenario> {
    validate_name(&raw.name, here)?;
    let run = validate_run(&raw.run, here)?;
    let lake = validate_lake(raw.lake.as_ref(), here)?;
    let (workload, actors, group_pacing) = validate_writing(&raw, &run, here)?;
    let writing = actors.first().map(|g| g.count).unwrap_or(run.writers);
    validate_retry(&raw.retry, here)?;
    let mut run = run;
    run.pacing = pacing::validate(raw.run.get_ref(), group_pacing, writing, raw.name.get_ref(), here)?;
    if run.stall_after.is_zero() {
        // A few seconds beyond the slowest commit DuckLake's own retries allow.
        run.stall_after = (raw.retry.ducklake.longest_wait() + Duration::from_secs(5)).min(Duration::from_secs(600));
        // A paced writer is idle between transactions by design: not a stall.
        run.stall_after += run.pacing.longest_quiet(writing);
    }
    let nemesis = raw
        .nemesis
        .iter()
        .map(|n| validate_nemesis(n, here))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (spec, raw_n) in nemesis.iter().zip(&raw.nemesis) {
        faults::fits_run(spec, raw_n, &run, &lake, here)?;
    }
    let client = validate_client(raw.client.as_ref(), run.mode, here)?;
    Ok(Scenario {
        client,
        name: raw.name.into_inner(),
        description: raw.description,
        run,
        lake,
        retry: raw.retry,
        workload,
        checks: raw.checks,
        nemesis,
        actors,
    })
}

fn validate_name(name: &Spanned<String>, here: &Locator) -> anyhow::Result<()> {
    if name.get_ref().trim().is_empty() {
        return Err(here.at(name, "name", "must not be empty: it names the results directory."));
    }
    if name.get_ref().len() > 100 {
        return Err(here.at(
            name,
            "name",
            "is longer than 100 characters; it becomes part of a directory name.",
        ));
    }
    if !name
        .get_ref()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(here.at(
            name,
            "name",
            "may hold only letters, digits, '-', '_' and '.', since it becomes part of a directory name.",
        ));
    }
    Ok(())
}

/// The workload (of `[workload]` or the writing `[[actors]]` group), the actor groups, and
/// the writing group's pacing keys.
fn validate_writing(
    raw: &RawScenario,
    run: &RunSpec,
    here: &Locator,
) -> anyhow::Result<(WorkloadSpec, Vec<super::ActorGroup>, Option<pacing::GroupPacing>)> {
    let workload = workloads::of_section(raw.workload.as_ref(), here)?;
    let given = raw.workload.is_some().then_some(&workload);
    let actor_keys = actors::read(&raw.actors, here)?;
    let group_pacing = pacing::of_writing_group(&actor_keys);
    let writers_span = raw.run.get_ref().writers.span();
    let (actors, group_workload) = actors::validate(&raw.actors, &actor_keys, given, run, writers_span, here)?;
    let workload = group_workload.unwrap_or(workload);
    let writing = actors.first().map(|g| g.count).unwrap_or(run.writers);
    if let Some((key, what)) = workload.kind.writers_error(&workload, writing) {
        let span = raw
            .workload
            .as_ref()
            .and_then(|w| w.get_ref().get(key))
            .map(|v| v.span());
        return Err(here.error(span, &format!("workload.{key}"), &what));
    }
    Ok((workload, actors, group_pacing))
}

/// `[client]`: the keys are checked here for form only; whether DuckDB knows a setting or
/// DuckLake an ATTACH option is asked of DuckDB once at set-up (`lake::apply_settings`).
fn validate_client(c: Option<&Spanned<RawClient>>, mode: WriterMode, here: &Locator) -> anyhow::Result<ClientSpec> {
    let Some(c) = c else { return Ok(ClientSpec::default()) };
    let raw = c.get_ref();
    let mut spec = ClientSpec {
        cleanup: raw.cleanup.as_ref().map(|v| *v.get_ref()).unwrap_or_default(),
        instance: raw.instance.as_ref().map(|v| *v.get_ref()).unwrap_or_default(),
        ..Default::default()
    };
    if let Some(i) = &raw.instance {
        if spec.instance == InstanceMode::Shared && mode == WriterMode::Process {
            return Err(here.at(
                i,
                "client.instance",
                "is \"shared\", but run.mode = \"process\": writer processes \
                cannot share one DuckDB instance. Use run.mode = \"thread\" or instance = \"own\".",
            ));
        }
    }
    spec.settings = sql_values(raw.settings.as_ref(), "client.settings", here)?;
    spec.attach_options = sql_values(raw.attach_options.as_ref(), "client.attach_options", here)?;
    Ok(spec)
}

/// `{ key = value }` to SQL literals; a key must be an identifier, a value a string, number
/// or boolean.
fn sql_values(
    table: Option<&Spanned<std::collections::BTreeMap<String, toml::Value>>>,
    section: &str,
    here: &Locator,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let Some(table) = table else { return Ok(out) };
    for (key, value) in table.get_ref() {
        let name = format!("{section}.{key}");
        if !is_identifier(key) {
            return Err(here.at(
                table,
                &name,
                "is not a plain name (letters, digits, '_'): DuckDB settings and ATTACH options are plain names.",
            ));
        }
        let literal = match value {
            toml::Value::String(s) => crate::util::sql_str(s),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) if f.is_finite() => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => return Err(here.at(table, &name, "must be a string, a number or a boolean.")),
        };
        out.insert(key.clone(), literal);
    }
    Ok(out)
}

fn validate_run(run: &Spanned<RawRun>, here: &Locator) -> anyhow::Result<RunSpec> {
    let r = run.get_ref();
    let writers = *r.writers.get_ref();
    if writers == 0 || writers > MAX_WRITERS {
        return Err(here.at(
            &r.writers,
            "run.writers",
            &format!(
                "is {writers}; allowed: 1 to {MAX_WRITERS} (each \
            writer holds catalog connections; the native Postgres allows {} in all).",
                crate::environment::postgres::MAX_CONNECTIONS
            ),
        ));
    }
    let mode = r.mode.as_ref().map(|m| *m.get_ref()).unwrap_or(WriterMode::Thread);
    let stop = match (&r.duration, &r.commits_per_writer) {
        (Some(d), None) => StopCondition::Duration(parse_duration(d, "run.duration", here)?),
        (None, Some(c)) if *c.get_ref() == 0 => {
            return Err(here.at(c, "run.commits_per_writer", "must be at least 1."))
        }
        (None, Some(c)) => StopCondition::CommitsPerWriter(*c.get_ref()),
        (Some(d), Some(_)) => {
            return Err(here.at(
                d,
                "run.duration",
                "is set together with run.commits_per_writer; keep exactly one of the two.",
            ))
        }
        (None, None) => {
            return Err(here.at(
                run,
                "run",
                "needs either duration = \"30s\" or commits_per_writer = 100.",
            ))
        }
    };
    let deadline = match &r.deadline {
        Some(d) => parse_duration(d, "run.deadline", here)?,
        // Unset: five minutes past the planned end (or five minutes for commit counts).
        None => match stop {
            StopCondition::Duration(d) => d + Duration::from_secs(300),
            StopCondition::CommitsPerWriter(_) => Duration::from_secs(300),
        },
    };
    if let (StopCondition::Duration(d), Some(spanned)) = (stop, &r.deadline) {
        if deadline <= d {
            return Err(here.at(
                spanned,
                "run.deadline",
                "must be longer than run.duration: the deadline is the hard stop for a run that hangs.",
            ));
        }
    }
    let stall_after = r
        .stall_after
        .as_ref()
        .map(|s| parse_duration(s, "run.stall_after", here))
        .transpose()?
        .unwrap_or(Duration::ZERO);
    Ok(RunSpec {
        writers,
        mode,
        stop,
        deadline,
        stall_after,
        pacing: Default::default(),
    })
}

fn validate_lake(lake: Option<&Spanned<RawLake>>, here: &Locator) -> anyhow::Result<LakeSpec> {
    let Some(lake) = lake else {
        return Ok(LakeSpec {
            catalog: CatalogKind::Postgres,
            data: DataStore::S3,
            table: "entries".into(),
            data_inlining_row_limit: None,
            table_data_inlining_row_limit: None,
            extension_files: Default::default(),
        });
    };
    let l = lake.get_ref();
    let catalog = match l.catalog.as_ref().map(|c| (c, c.get_ref().as_str())) {
        None | Some((_, "postgres")) => CatalogKind::Postgres,
        Some((_, "sqlite")) => CatalogKind::Sqlite,
        Some((_, "duckdb")) => CatalogKind::Duckdb,
        Some((c, other)) => {
            return Err(here.at(
                c,
                "lake.catalog",
                &format!(
                    "is \"{other}\"; allowed: \"postgres\", \"sqlite\" (a \
                SQLite file in the environment's catalog directory) or \"duckdb\" (a DuckDB file there)."
                ),
            ))
        }
    };
    let table = match &l.table {
        Some(t) if !is_identifier(t.get_ref()) => return Err(here.at(
            t,
            "lake.table",
            "must be a plain SQL identifier (letters, digits, '_', not starting with a digit, at most 63 characters).",
        )),
        Some(t) => t.get_ref().clone(),
        None => "entries".into(),
    };
    Ok(LakeSpec {
        catalog,
        data: l.data.unwrap_or(DataStore::S3),
        table,
        data_inlining_row_limit: l.data_inlining_row_limit,
        table_data_inlining_row_limit: l.table_data_inlining_row_limit,
        extension_files: validate_extension_files(l.extensions.as_ref(), catalog, here)?,
    })
}

/// `extensions = { ducklake = "path/ducklake.duckdb_extension" }`: each a file that exists,
/// named as DuckDB derives the extension's name from it, of an extension the lake loads.
fn validate_extension_files(
    files: Option<&Spanned<std::collections::BTreeMap<String, String>>>,
    catalog: CatalogKind,
    here: &Locator,
) -> anyhow::Result<std::collections::BTreeMap<String, std::path::PathBuf>> {
    let mut out = std::collections::BTreeMap::new();
    let Some(files) = files else { return Ok(out) };
    let loaded = catalog.extensions();
    for (name, path) in files.get_ref() {
        let key = format!("lake.extensions.{name}");
        if !loaded.contains(&name.as_str()) {
            return Err(here.at(
                files,
                &key,
                &format!(
                    "`{name}` is not an extension this lake loads (it loads: {}).",
                    loaded.join(", ")
                ),
            ));
        }
        let file = std::path::Path::new(path);
        if file.file_name().and_then(|f| f.to_str()) != Some(&format!("{name}.duckdb_extension")) {
            return Err(here.at(
                files,
                &key,
                &format!(
                    "is \"{path}\", but DuckDB takes an extension's name from its \
                file name: the file must be called {name}.duckdb_extension (copy or link it under that name)."
                ),
            ));
        }
        let absolute = std::fs::canonicalize(file).map_err(|e| {
            here.at(
                files,
                &key,
                &format!(
                    "\"{path}\" cannot be \
            read ({e}); give the path of the built extension (relative paths start from the directory ducklake-stress \
            runs in)."
                ),
            )
        })?;
        out.insert(name.clone(), absolute);
    }
    Ok(out)
}

fn validate_retry(retry: &RetrySpec, here: &Locator) -> anyhow::Result<()> {
    // serde already rejected negative integers; floats and zero attempts are checked here.
    let bad = |key: &str, what: &str| {
        let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
        here.error(here.find_key(section, name), key, what)
    };
    if !(retry.ducklake.retry_backoff.is_finite() && retry.ducklake.retry_backoff >= 1.0) {
        return Err(bad(
            "retry.ducklake.retry_backoff",
            "must be a number >= 1.0 (1.0 keeps the wait constant).",
        ));
    }
    if !(retry.harness.backoff.is_finite() && retry.harness.backoff >= 1.0) {
        return Err(bad(
            "retry.harness.backoff",
            "must be a number >= 1.0 (1.0 keeps the wait constant).",
        ));
    }
    if retry.harness.max_attempts == 0 {
        return Err(bad(
            "retry.harness.max_attempts",
            "must be at least 1 (1 means: no harness retries).",
        ));
    }
    Ok(())
}

//! From a TOML file to a validated [`Scenario`]. Every error names the file, the line and
//! column, the key and what is allowed, because a CI log is often all the user has.

use super::model::*;
use super::sql_spec::RawStatement;
use crate::error::bad_input;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

mod actors;
/// `rate`, `rate_total`, `think_time` of `[run]` or the writing `[[actors]]` group.
mod pacing;
/// The keys of the ddl and sql workloads and upsert's statement.
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

/// What `validate` needs to check what was parsed: the file, and the `--set`s an origin
/// like `f.toml (with --set a=1 --set b=2)` carries (validate takes them too).
fn validate_args(origin: &str) -> String {
    match origin.split_once(" (with ") {
        Some((file, sets)) => format!("{file} {}", sets.strip_suffix(')').unwrap_or(sets)),
        None => origin.to_string(),
    }
}

/// Places in a file for messages; also used by the interleaving form (src/interleave).
pub(crate) struct Locator<'a> {
    pub(crate) text: &'a str,
    pub(crate) origin: &'a str,
}

impl Locator<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rfind('\n')
            .map(|nl| before.len() - nl)
            .unwrap_or(before.len() + 1);
        (line, col)
    }

    pub(crate) fn error(&self, span: Option<Range<usize>>, key: &str, what: &str) -> anyhow::Error {
        let place = match span {
            Some(s) => {
                let (line, col) = self.line_col(s.start);
                format!("{}:{line}:{col}", self.origin)
            }
            None => self.origin.to_string(),
        };
        let key = if key.is_empty() {
            String::new()
        } else {
            format!(" key `{key}`:")
        };
        bad_input(format!(
            "{place}:{key} {what} Fix the scenario file (check it with `ducklake-stress validate {}`).",
            validate_args(self.origin)
        ))
    }

    /// The span of `key = ...` inside `[section]`, for values serde does not keep spans of.
    fn find_key(&self, section: &str, key: &str) -> Option<Range<usize>> {
        let mut current = String::new();
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let t = line.trim();
            if t.starts_with('[') {
                current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            } else if current == section
                && t.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            {
                let start = offset + (line.len() - line.trim_start().len());
                return Some(start..start + t.len());
            }
            offset += line.len();
        }
        None
    }

    pub(crate) fn at<T>(&self, spanned: &Spanned<T>, key: &str, what: &str) -> anyhow::Error {
        self.error(Some(spanned.span()), key, what)
    }
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
/// One transaction's INSERT is a single SQL statement held in memory.
const MAX_BATCH_BYTES: u64 = 256 * 1024 * 1024;

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
    if raw.name.get_ref().trim().is_empty() {
        return Err(here.at(&raw.name, "name", "must not be empty: it names the results directory."));
    }
    if raw.name.get_ref().len() > 100 {
        return Err(here.at(
            &raw.name,
            "name",
            "is longer than 100 characters; it becomes part of a directory name.",
        ));
    }
    if !raw
        .name
        .get_ref()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(here.at(
            &raw.name,
            "name",
            "may hold only letters, digits, '-', '_' and '.', since it becomes part of a directory name.",
        ));
    }
    let run = validate_run(&raw.run, here)?;
    let lake = validate_lake(raw.lake.as_ref(), here)?;
    let workload = validate_workload(raw.workload.as_ref(), here)?;
    let given = raw.workload.is_some().then_some(&workload);
    let group_pacing = pacing::of_writing_group(&raw.actors);
    let (actors, group_workload) = actors::validate(raw.actors, given, &run, raw.run.get_ref().writers.span(), here)?;
    let workload = group_workload.unwrap_or(workload);
    let writing = actors.first().map(|g| g.count).unwrap_or(run.writers);
    if let Some(d) = &workload.delete {
        if d.deleters == 0 || d.deleters >= writing {
            let span = raw
                .workload
                .as_ref()
                .and_then(|w| w.get_ref().deleters.as_ref().map(|d| d.span()));
            return Err(here.error(
                span,
                "workload.deleters",
                &format!(
                    "is {}; allowed: 1 to run.writers - 1 ({}): a delete run needs deleters and appenders both.",
                    d.deleters,
                    writing.saturating_sub(1)
                ),
            ));
        }
    }
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
        if matches!(spec.kind, NemesisKind::CrashWriter | NemesisKind::KillWriter) && run.mode != WriterMode::Process {
            return Err(here.at(
                raw_n,
                "nemesis.kind",
                &format!(
                    "{:?} signals a writer process: it needs run.mode = \
                \"process\" (a thread cannot be killed alone; it would take the whole harness down).",
                    spec.kind
                ),
            ));
        }
        if !lake.catalog.is_postgres() && needs_postgres_catalog(&spec) {
            return Err(here.at(
                raw_n,
                "nemesis.kind",
                &format!(
                    "{:?} acts on a Postgres catalog, but lake.catalog = \
                \"{}\": drop this fault or use catalog = \"postgres\".",
                    spec.kind,
                    lake.catalog.name()
                ),
            ));
        }
        if let StopCondition::Duration(d) = run.stop {
            if spec.after >= d {
                return Err(here.at(
                    raw_n,
                    "nemesis.after",
                    "is not before the end of run.duration: the fault would never happen.",
                ));
            }
        }
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

/// Faults that act on the catalog's Postgres server or its sessions.
fn needs_postgres_catalog(spec: &NemesisSpec) -> bool {
    use NemesisKind::*;
    match spec.kind {
        LockCatalogTable | TerminateWriterSessions | PauseCatalog | IdleInTransactionTimeout | RestartCatalog => true,
        // Finding a writer caught committing reads pg_stat_activity.
        KillWriter => spec.during == FaultMoment::Commit,
        Latency => spec.target == Some(LatencyTarget::Catalog),
        CrashWriter | PauseS3 | KillS3 | RestartS3 | DisconnectWorker => false,
    }
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

fn validate_workload(w: Option<&Spanned<RawWorkload>>, here: &Locator) -> anyhow::Result<WorkloadSpec> {
    let mut spec = WorkloadSpec {
        kind: WorkloadKind::Append,
        batch_rows: 25,
        payload_bytes: 64,
        keys: 0,
        seed: false,
        counter: None,
        bank: None,
        delete: None,
        sql: None,
        upsert: None,
    };
    let Some(w) = w else { return Ok(spec) };
    let w = w.get_ref();
    if let Some(k) = w.kind {
        spec.kind = k;
    }
    if let Some(b) = &w.batch_rows {
        if *b.get_ref() == 0 || *b.get_ref() > 1_000_000 {
            return Err(here.at(b, "workload.batch_rows", "allowed: 1 to 1000000."));
        }
        spec.batch_rows = *b.get_ref();
    }
    if let Some(p) = &w.payload_bytes {
        if *p.get_ref() > 1_048_576 {
            return Err(here.at(p, "workload.payload_bytes", "allowed: 0 to 1048576."));
        }
        spec.payload_bytes = *p.get_ref();
    }
    validate_keys(w, &mut spec, here)?;
    workloads::validate(w, &mut spec, here)?;
    validate_counter(w, &mut spec, here)?;
    validate_bank(w, &mut spec, here)?;
    if spec.kind == WorkloadKind::Delete {
        spec.delete = Some(DeleteSpec {
            deleters: w.deleters.as_ref().map(|d| *d.get_ref()).unwrap_or(1),
        });
    } else if let Some(d) = &w.deleters {
        return Err(here.at(d, "workload.deleters", "applies to kind = \"delete\" only."));
    }
    if spec.batch_rows as u64 * (spec.payload_bytes as u64 + 120) > MAX_BATCH_BYTES {
        let span = w.batch_rows.as_ref().map(|b| b.span());
        return Err(here.error(
            span,
            "workload.batch_rows",
            "times payload_bytes makes one INSERT larger than 256 MiB; use smaller batches or payloads.",
        ));
    }
    Ok(spec)
}

/// `keys` and `seed` belong to `upsert`, which needs a key space at least one batch wide.
fn validate_keys(w: &RawWorkload, spec: &mut WorkloadSpec, here: &Locator) -> anyhow::Result<()> {
    if !matches!(spec.kind, WorkloadKind::Upsert | WorkloadKind::Sql) {
        if let Some(k) = &w.keys {
            return Err(here.at(k, "workload.keys", "applies to kind = \"upsert\" and \"sql\" only."));
        }
        if let Some(s) = &w.seed {
            return Err(here.at(s, "workload.seed", "applies to kind = \"upsert\" only."));
        }
        return Ok(());
    }
    if let (WorkloadKind::Sql, Some(s)) = (spec.kind, &w.seed) {
        return Err(here.at(
            s,
            "workload.seed",
            "applies to kind = \"upsert\" only (a sql workload seeds its table with `setup`).",
        ));
    }
    if w.batch_rows.is_none() {
        spec.batch_rows = 3;
    }
    spec.keys = w.keys.as_ref().map(|k| *k.get_ref()).unwrap_or(20);
    spec.seed = w.seed.as_ref().is_some_and(|s| *s.get_ref());
    if spec.keys < spec.batch_rows || spec.keys > 100_000 {
        let span = w.keys.as_ref().map(|k| k.span());
        return Err(here.error(
            span,
            "workload.keys",
            &format!(
                "is {}; allowed: batch_rows ({}, the keys one transaction replaces) to 100000.",
                spec.keys, spec.batch_rows
            ),
        ));
    }
    Ok(())
}

/// `counters` and `statement` belong to `counter`; `batch_rows` there is the counters one
/// transaction increments (default 1), at most all of them.
fn validate_counter(w: &RawWorkload, spec: &mut WorkloadSpec, here: &Locator) -> anyhow::Result<()> {
    if spec.kind != WorkloadKind::Counter {
        if let Some(c) = &w.counters {
            return Err(here.at(c, "workload.counters", "applies to kind = \"counter\" only."));
        }
        if let (Some(s), false) = (&w.statement, spec.kind == WorkloadKind::Upsert) {
            return Err(here.at(
                s,
                "workload.statement",
                "applies to kind = \"counter\" (\"update\", \
                \"read_then_write\") and \"upsert\" (\"delete_insert\", \"merge\") only.",
            ));
        }
        return Ok(());
    }
    if let Some(p) = &w.payload_bytes {
        return Err(here.at(
            p,
            "workload.payload_bytes",
            "does not apply to kind = \"counter\" (a counter row holds a number); remove it.",
        ));
    }
    if w.batch_rows.is_none() {
        spec.batch_rows = 1;
    }
    let counters = w.counters.as_ref().map(|c| *c.get_ref()).unwrap_or(5);
    if counters < spec.batch_rows || counters > 100_000 {
        let span = w.counters.as_ref().map(|c| c.span());
        return Err(here.error(
            span,
            "workload.counters",
            &format!(
                "is {counters}; allowed: batch_rows ({}, the counters one transaction increments) to 100000.",
                spec.batch_rows
            ),
        ));
    }
    let statement = match w.statement.as_ref().map(|s| (s, *s.get_ref())) {
        None | Some((_, RawStatement::Update)) => CounterStatement::Update,
        Some((_, RawStatement::ReadThenWrite)) => CounterStatement::ReadThenWrite,
        Some((s, _)) => {
            return Err(here.at(
                s,
                "workload.statement",
                "for kind = \"counter\" allowed: \"update\" or \"read_then_write\".",
            ))
        }
    };
    spec.counter = Some(CounterSpec { counters, statement });
    Ok(())
}

/// `accounts`, `initial_balance`, `max_transfer` and `allow_negative` belong to `bank`,
/// whose transactions always write two accounts.
fn validate_bank(w: &RawWorkload, spec: &mut WorkloadSpec, here: &Locator) -> anyhow::Result<()> {
    if spec.kind != WorkloadKind::Bank {
        let bank_only = [
            ("workload.accounts", w.accounts.as_ref().map(|s| s.span())),
            ("workload.initial_balance", w.initial_balance.as_ref().map(|s| s.span())),
            ("workload.max_transfer", w.max_transfer.as_ref().map(|s| s.span())),
            ("workload.allow_negative", w.allow_negative.as_ref().map(|s| s.span())),
        ];
        if let Some((key, span)) = bank_only.into_iter().find(|(_, span)| span.is_some()) {
            return Err(here.error(span, key, "applies to kind = \"bank\" only."));
        }
        return Ok(());
    }
    if let Some(b) = &w.batch_rows {
        return Err(here.at(
            b,
            "workload.batch_rows",
            "does not apply to kind = \"bank\" (a transfer always writes its two accounts); remove it.",
        ));
    }
    if let Some(p) = &w.payload_bytes {
        return Err(here.at(
            p,
            "workload.payload_bytes",
            "does not apply to kind = \"bank\" (an account row holds a number); remove it.",
        ));
    }
    spec.batch_rows = 2;
    let accounts = w.accounts.as_ref().map(|a| *a.get_ref()).unwrap_or(10);
    if !(2..=100_000).contains(&accounts) {
        return Err(here.error(
            w.accounts.as_ref().map(|a| a.span()),
            "workload.accounts",
            &format!("is {accounts}; allowed: 2 (a transfer needs two accounts) to 100000."),
        ));
    }
    let initial_balance = w.initial_balance.as_ref().map(|b| *b.get_ref()).unwrap_or(100);
    if !(0..=1_000_000_000).contains(&initial_balance) {
        return Err(here.error(
            w.initial_balance.as_ref().map(|b| b.span()),
            "workload.initial_balance",
            &format!("is {initial_balance}; allowed: 0 to 1000000000."),
        ));
    }
    let max_transfer = w.max_transfer.as_ref().map(|m| *m.get_ref()).unwrap_or(10);
    if !(1..=1_000_000_000).contains(&max_transfer) {
        return Err(here.error(
            w.max_transfer.as_ref().map(|m| m.span()),
            "workload.max_transfer",
            &format!("is {max_transfer}; allowed: 1 to 1000000000."),
        ));
    }
    let allow_negative = w.allow_negative.as_ref().map(|a| *a.get_ref()).unwrap_or(true);
    spec.bank = Some(BankSpec {
        accounts,
        initial_balance,
        max_transfer,
        allow_negative,
    });
    Ok(())
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

/// The optional keys each fault kind takes (`kind` and `after` apply to all), and the ones
/// it requires, with what to write.
fn nemesis_keys(kind: NemesisKind) -> (&'static [&'static str], &'static [(&'static str, &'static str)]) {
    use NemesisKind::*;
    match kind {
        LockCatalogTable => (&["table", "hold"], &[]),
        TerminateWriterSessions => (&["every", "during"], &[]),
        CrashWriter => (&[], &[]),
        KillWriter => (&["every", "during", "restart"], &[]),
        PauseCatalog | PauseS3 => (&["hold"], &[("hold", "how long the server stays paused (e.g. \"5s\")")]),
        IdleInTransactionTimeout => (&["hold", "timeout"], &[("timeout", "the value to set, e.g. \"50ms\"")]),
        RestartCatalog => (&["hold", "every", "mode"], &[]),
        KillS3 | RestartS3 => (&["hold", "every"], &[]),
        DisconnectWorker => (&[], &[]),
        Latency => (
            &["hold", "target", "delay", "jitter"],
            &[
                ("target", "\"catalog\" or \"s3\""),
                ("delay", "the added one-way delay, e.g. \"20ms\""),
            ],
        ),
    }
}

fn validate_nemesis(n: &Spanned<RawNemesis>, here: &Locator) -> anyhow::Result<NemesisSpec> {
    let r = n.get_ref();
    let present = [
        ("table", r.table.is_some()),
        ("hold", r.hold.is_some()),
        ("every", r.every.is_some()),
        ("during", r.during.is_some()),
        ("timeout", r.timeout.is_some()),
        ("mode", r.mode.is_some()),
        ("target", r.target.is_some()),
        ("delay", r.delay.is_some()),
        ("jitter", r.jitter.is_some()),
        ("restart", r.restart.is_some()),
    ];
    let (allowed, required) = nemesis_keys(r.kind);
    for (key, is_there) in present {
        if is_there && !allowed.contains(&key) {
            return Err(here.at(
                n,
                &format!("nemesis.{key}"),
                &format!(
                    "does not apply to kind {:?} (it takes: kind, after{}).",
                    r.kind,
                    allowed.iter().map(|k| format!(", {k}")).collect::<String>()
                ),
            ));
        }
    }
    for (key, what) in required {
        if !present.iter().any(|(k, there)| k == key && *there) {
            return Err(here.at(
                n,
                &format!("nemesis.{key}"),
                &format!("is required for {:?}: {what}.", r.kind),
            ));
        }
    }
    if r.kind == NemesisKind::KillWriter
        && r.during
            .as_ref()
            .is_some_and(|d| *d.get_ref() == FaultMoment::CommitAck)
    {
        return Err(here.at(
            n,
            "nemesis.during",
            "\"commit_ack\" applies to terminate_writer_sessions; kill_writer allows \"any\" and \"commit\".",
        ));
    }
    let table = match &r.table {
        Some(t) if is_identifier(t.get_ref()) => t.get_ref().clone(),
        Some(t) => {
            return Err(here.at(
                t,
                "nemesis.table",
                "must be a catalog table name such as \"ducklake_snapshot\".",
            ))
        }
        None => "ducklake_snapshot".into(),
    };
    let after = match &r.after {
        Some(a) if a.get_ref().trim() == "0s" || a.get_ref().trim() == "0" => Duration::ZERO,
        Some(a) => parse_duration(a, "nemesis.after", here)?,
        None => Duration::from_secs(1),
    };
    let hold = r
        .hold
        .as_ref()
        .map(|h| parse_duration(h, "nemesis.hold", here))
        .transpose()?;
    let every = r
        .every
        .as_ref()
        .map(|e| parse_duration(e, "nemesis.every", here))
        .transpose()?;
    let during = r.during.as_ref().map(|d| *d.get_ref()).unwrap_or_default();
    let timeout = r
        .timeout
        .as_ref()
        .map(|t| parse_duration(t, "nemesis.timeout", here))
        .transpose()?;
    let delay = r
        .delay
        .as_ref()
        .map(|t| parse_duration(t, "nemesis.delay", here))
        .transpose()?;
    let jitter = r
        .jitter
        .as_ref()
        .map(|t| parse_duration(t, "nemesis.jitter", here))
        .transpose()?;
    let mode = r.mode.as_ref().map(|m| *m.get_ref()).unwrap_or_default();
    let target = r.target.as_ref().map(|t| *t.get_ref());
    let restart = r.restart.as_ref().is_some_and(|b| *b.get_ref());
    Ok(NemesisSpec {
        kind: r.kind,
        table,
        after,
        hold,
        every,
        during,
        timeout,
        mode,
        target,
        delay,
        jitter,
        restart,
    })
}

#[cfg(test)]
mod validate_suggestion_tests {
    #[test]
    fn the_suggested_validate_command_carries_the_overrides_as_flags() {
        assert_eq!(
            super::validate_args("s.toml (with --set run.writers=3 --set a.b=c)"),
            "s.toml --set run.writers=3 --set a.b=c"
        );
        assert_eq!(super::validate_args("scenarios/s.toml"), "scenarios/s.toml");
    }
}

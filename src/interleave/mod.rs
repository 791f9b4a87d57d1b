//! Interleaving scenarios: deterministic schedules of named steps on several sessions, run
//! in lock-step like PostgreSQL's isolation tester, each permutation on a fresh lake, with
//! the outcome of every step and invariants afterwards judged against what the file
//! expects; and `conflicts`, DuckLake's documented conflict rules as such schedules.
//!
//! - `model`     the validated form; `parse` from TOML (file:line errors); `permute` the orders
//! - `fresh`     a fresh lake per permutation (catalog schema or file, data path)
//! - `session`   a session's thread and connection; `process` the same in a child process;
//!   `statement` one statement and what it returned, for both
//! - `runner`    one permutation in lock-step
//! - `outcome`   what a permutation did and whether it matched; `report`, `render` its formats
//! - `compare`   two sets of reports, permutation by permutation
//! - `conflicts` the rule x catalog matrix; `write` a schedule back in the file's form

pub mod compare;
pub mod conflicts;
pub mod fresh;
pub mod model;
pub mod outcome;
pub mod parse;
pub mod permute;
pub mod process;
pub mod render;
pub mod report;
pub mod runner;
pub mod session;
pub mod statement;
pub mod write;

pub use model::Schedule;
pub use parse::{is_interleaving, load, load_with};
pub use report::InterleaveReport;

use crate::environment::EnvFile;
use crate::lake::ExtensionSource;
use crate::report::Versions;
use crate::scenario::CatalogKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What every schedule of one invocation shares: the environment and the verified copies
/// of the extensions (kept alive by `_copies`).
pub struct Prepared {
    pub env: EnvFile,
    pub extensions: ExtensionSource,
    pub results_dir: PathBuf,
    _copies: tempfile::TempDir,
}

/// Stages (verifies once) the extensions every catalog in `catalogs` needs.
pub fn prepare(
    env: EnvFile,
    mut extensions: ExtensionSource,
    catalogs: &[CatalogKind],
    results_dir: &Path,
    scratch: Option<&Path>,
) -> anyhow::Result<Prepared> {
    let base = scratch.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    let copies = tempfile::Builder::new().prefix("extensions-").tempdir_in(&base)?;
    // Each catalog's set in a directory of its own (they share most files); one copy of
    // each extension is kept.
    let mut staged = Vec::new();
    for &c in catalogs {
        let (mut source, into) = (extensions.clone(), copies.path().join(c.name()));
        std::fs::create_dir_all(&into)?;
        let source =
            crate::util::deadline::run_with_deadline("verifying extensions", Duration::from_secs(120), move || {
                crate::lake::staged::stage(&mut source, c, &into)?;
                Ok(source)
            })?;
        for s in source.staged {
            if !staged
                .iter()
                .any(|x: &crate::lake::extensions::Staged| x.name == s.name)
            {
                staged.push(s);
            }
        }
    }
    extensions.staged = staged;
    Ok(Prepared {
        env,
        extensions,
        results_dir: results_dir.to_path_buf(),
        _copies: copies,
    })
}

/// Runs every permutation of `schedule` `repeat` times; `each` sees the report once before
/// the first permutation (`None`: the count and versions are known) and then every result
/// as it comes. The report is written into a new directory under the results directory.
pub fn run_schedule(
    prepared: &Prepared,
    schedule: Schedule,
    file: &Path,
    repeat: u32,
    each: &mut dyn FnMut(&InterleaveReport, Option<&outcome::PermutationResult>),
) -> anyhow::Result<(InterleaveReport, PathBuf)> {
    let started = SystemTime::now();
    let t0 = std::time::Instant::now();
    let run_id = crate::util::ids::new_run_id(started);
    let run_dir = prepared.results_dir.join(format!("{run_id}-{}", schedule.name));
    std::fs::create_dir_all(&run_dir)?;
    let mut extensions = prepared.extensions.clone();
    // Only the extensions this catalog loads: `load_all` loads every staged copy.
    let needed = schedule.lake.catalog.extensions();
    extensions.staged.retain(|s| needed.contains(&s.name.as_str()));
    let versions = versions(&prepared.env, &extensions, schedule.lake.catalog);
    let ctx = runner::Context {
        place: fresh::Place {
            env: prepared.env.clone(),
            lake: schedule.lake.clone(),
            extensions,
            run_id: run_id.clone(),
        },
        schedule,
    };
    let s = &ctx.schedule;
    let mut report = InterleaveReport::new(s, run_id, file, started, versions, repeat);
    each(&report, None);
    'all: for r in 1..=repeat {
        for p in 0..s.permutations.len() {
            if crate::util::interrupt::is_interrupted() {
                break 'all;
            }
            let result = runner::run_permutation(&ctx, p, r);
            each(&report, Some(&result));
            report.results.push(result);
        }
    }
    report.seconds = t0.elapsed().as_secs_f64();
    report.conclude();
    if crate::util::interrupt::is_interrupted() {
        report.verdict = "interrupted".into();
        report.verdict_reason = format!("interrupted after {} permutation runs", report.results.len());
        report.exit_code = crate::error::exit_code::INTERRUPTED;
    }
    render::write_all(&report, &run_dir)?;
    Ok((report, run_dir))
}

/// DuckDB's and DuckLake's versions and the extension files with their hashes, read from
/// an instance with the extensions loaded; Postgres's version for a Postgres catalog.
fn versions(env: &EnvFile, source: &ExtensionSource, catalog: CatalogKind) -> Versions {
    let read = || -> anyhow::Result<(String, String, Vec<_>)> {
        let conn = crate::lake::instance::bare_instance(source, true)?;
        crate::lake::extensions::load_all(&conn, source, catalog)?;
        let duckdb: String = conn.query_row("SELECT library_version FROM pragma_version()", [], |r| r.get(0))?;
        let ducklake: String = conn.query_row(
            "SELECT coalesce(extension_version, '') FROM duckdb_extensions() WHERE extension_name = 'ducklake'",
            [],
            |r| r.get(0),
        )?;
        Ok((
            duckdb,
            ducklake,
            crate::lake::extensions::loaded(&conn, source, catalog),
        ))
    };
    let (duckdb, ducklake, extensions) = read()
        .inspect_err(|e| tracing::warn!("could not read the versions: {e:#}"))
        .unwrap_or_default();
    let postgres = match catalog {
        CatalogKind::Postgres => crate::runtime::block_on(async {
            let c = crate::environment::pg::connect(&env.postgres, None, "ducklake-stress/interleave").await?;
            let rows =
                crate::environment::pg::query_with_deadline(&c, "SHOW server_version", &[], Duration::from_secs(5))
                    .await?;
            anyhow::Ok(rows.first().map(|r| r.get::<_, String>(0)).unwrap_or_default())
        })
        .unwrap_or_default(),
        other => format!("none (catalog = {})", other.name()),
    };
    let s3_server = match (&env.s3, &env.s3_server) {
        (None, _) => "none (local data)".into(),
        (Some(_), Some(v)) => v.clone(),
        (Some(s3), None) => format!("external ({})", s3.endpoint),
    };
    Versions {
        duckdb,
        ducklake,
        postgres,
        s3_server,
        extensions,
    }
}

//! `run` and `validate` of an interleaving scenario (a file with [[sessions]]), and
//! `conflicts`.

use crate::cli::{CompareArgs, ConflictsArgs, EnvArgs, RunArgs, Tuning};
use crate::error::{bad_input, exit_code};
use crate::interleave::{self, conflicts, render};
use crate::lake::ExtensionSource;
use crate::runner::{self, EnvChoice};
use crate::scenario::{CatalogKind, DataStore, Override};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each directory among `files` as the .toml files in it (sorted), so that `validate
/// scenarios/*` also checks scenarios/conflicts/.
pub fn expand_dirs(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in files {
        match std::fs::read_dir(f) {
            Ok(entries) if f.is_dir() => {
                let mut inner: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect();
                inner.sort();
                out.extend(inner);
            }
            _ => out.push(f.clone()),
        }
    }
    out
}

pub fn validate(file: &Path, set: &[Override]) -> i32 {
    match interleave::load_with(file, set) {
        Ok(s) => {
            let processes = s.sessions.iter().filter(|x| x.process).count();
            println!(
                "ok: {} (interleaving scenario {}, {} sessions{}, {} steps, {} permutation(s){})",
                file.display(),
                s.name,
                s.sessions.len(),
                if processes > 0 {
                    format!(" ({processes} in a process of its own)")
                } else {
                    String::new()
                },
                s.steps.len(),
                s.permutations.len(),
                if s.all_permutations { ", every order" } else { "" }
            );
            exit_code::PASS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            crate::error::exit_code_of(&e)
        }
    }
}

/// `--extension NAME=PATH` as files to load, each checked to exist.
fn extension_files(tuning: &Tuning) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for e in &tuning.extension {
        let path = PathBuf::from(&e.value);
        if !path.is_file() {
            return Err(bad_input(format!(
                "--extension {}={}: there is no such file; give the path of a built .duckdb_extension.",
                e.key, e.value
            )));
        }
        out.insert(e.key.clone(), std::fs::canonicalize(&path).unwrap_or(path));
    }
    Ok(out)
}

pub(super) fn env_choice(env: &EnvArgs) -> EnvChoice {
    if env.docker {
        EnvChoice::Docker {
            build_images: env.build_images,
        }
    } else {
        super::env_choice(env.env_file.clone(), env.existing.clone())
    }
}

pub(super) fn extensions(env: &EnvArgs, tuning: &Tuning) -> ExtensionSource {
    let mut source = ExtensionSource::resolve(env.extension_dir.clone());
    source.allow_unsigned = tuning.allow_unsigned_extensions;
    source
}

pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    if args.coordinate.is_some() {
        return Err(bad_input(
            "--coordinate runs a stress scenario's writers on remote workers; an interleaving scenario's sessions \
            run here.",
        ));
    }
    if let Some(path) = &args.junit {
        crate::export::check_output_path("--junit", path)?;
    }
    let overrides: Vec<Override> = args.tuning.set.clone();
    let mut schedule = interleave::load_with(&args.scenario, &overrides)?;
    schedule.lake.extension_files = extension_files(&args.tuning)?;
    let choice = env_choice(&args.env);
    let env = runner::provision(&choice, schedule.lake.data == DataStore::S3)?;
    let scratch = env.native.as_ref().map(|n| n.scratch_path.clone());
    let prepared = interleave::prepare(
        env.endpoints.clone(),
        extensions(&args.env, &args.tuning),
        &[schedule.lake.catalog],
        &args.env.results_dir,
        scratch.as_deref(),
    )?;
    let quiet = args.env.quiet;
    let (report, dir) =
        interleave::run_schedule(&prepared, schedule, &args.scenario, args.repeat, &mut |r, p| match p {
            None => print!("{}", render::header(r)),
            Some(p) if !quiet || !p.matched => print!("{}", render::permutation(p, r.permutations, r.repeat)),
            Some(_) => {}
        })?;
    print!("{}", render::footer(&report));
    println!("report: {}", dir.join(interleave::report::JSON_FILE).display());
    if let Some(path) = &args.junit {
        crate::util::write_atomically(path, render::junit(&report)?.as_bytes())?;
        println!("junit: {}", path.display());
    }
    drop(env);
    Ok(report.exit_code)
}

pub fn conflicts(args: ConflictsArgs) -> anyhow::Result<i32> {
    let rules = conflicts::load_rules(&args.dir)?;
    let mut rules = rules;
    let data = if args.data == "s3" {
        DataStore::S3
    } else {
        DataStore::Local
    };
    let files = extension_files(&args.tuning)?;
    for (_, s) in &mut rules {
        s.lake.data = data;
        s.lake.extension_files = files.clone();
    }
    let catalogs: Vec<CatalogKind> = if args.catalogs.is_empty() {
        vec![CatalogKind::Postgres, CatalogKind::Sqlite, CatalogKind::Duckdb]
    } else {
        args.catalogs
            .iter()
            .map(|c| match c.as_str() {
                "sqlite" => CatalogKind::Sqlite,
                "duckdb" => CatalogKind::Duckdb,
                _ => CatalogKind::Postgres,
            })
            .collect()
    };
    let env = runner::provision(&env_choice(&args.env), data == DataStore::S3)?;
    let scratch = env.native.as_ref().map(|n| n.scratch_path.clone());
    let results_dir = args.env.results_dir.join(format!(
        "{}-conflicts",
        crate::util::ids::new_run_id(std::time::SystemTime::now())
    ));
    let prepared = interleave::prepare(
        env.endpoints.clone(),
        extensions(&args.env, &args.tuning),
        &catalogs,
        &results_dir,
        scratch.as_deref(),
    )?;
    println!(
        "{} rules x {} catalogs (data {}), from {}",
        rules.len(),
        catalogs.len(),
        args.data,
        args.dir.display()
    );
    let quiet = args.env.quiet;
    let matrix = conflicts::run(
        &prepared,
        &rules,
        &catalogs,
        args.repeat,
        args.tuning.strict,
        &mut |c| {
            if !quiet {
                println!("  {:<34} {:<8} {}", c.rule, c.catalog, c.verdict.word());
            }
        },
    )?;
    let table = conflicts::render(&matrix);
    print!("\n{table}");
    print!("{}", conflicts::reasons(&matrix));
    crate::util::write_atomically(
        &results_dir.join("conflicts.json"),
        &serde_json::to_vec_pretty(&matrix)?,
    )?;
    crate::util::write_atomically(&results_dir.join("conflicts.md"), table.as_bytes())?;
    println!("matrix: {}", results_dir.join("conflicts.json").display());
    drop(env);
    Ok(matrix.exit_code)
}

/// `compare` of two interleaving reports (or directories of them), not stress reports.
pub fn both_reports(args: &CompareArgs) -> bool {
    interleave::compare::is_reports(&args.baseline) && interleave::compare::is_reports(&args.candidate)
}

pub fn compare(args: CompareArgs) -> anyhow::Result<i32> {
    let baseline = interleave::compare::load(&args.baseline)?;
    let candidate = interleave::compare::load(&args.candidate)?;
    let rows = interleave::compare::compare(&baseline, &candidate);
    let table = interleave::compare::render(&rows);
    print!("{table}");
    let dir = args.out.clone().unwrap_or_else(|| {
        let id = crate::util::ids::new_run_id(std::time::SystemTime::now());
        args.env.results_dir.join(format!("{id}-interleave-comparison"))
    });
    crate::util::write_atomically(&dir.join("comparison.json"), &serde_json::to_vec_pretty(&rows)?)?;
    crate::util::write_atomically(&dir.join("comparison.md"), table.as_bytes())?;
    println!("comparison: {}", dir.join("comparison.json").display());
    let broken = rows.iter().filter(|r| r.change == "broken").count();
    let fixed = rows.iter().filter(|r| r.change == "fixed").count();
    println!("{fixed} fixed, {broken} broken, {} permutations compared", rows.len());
    Ok(if args.fail_if_worse && broken > 0 {
        exit_code::CHECK_FAILED
    } else {
        exit_code::PASS
    })
}

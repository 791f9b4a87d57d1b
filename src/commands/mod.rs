//! What each subcommand does; returns the process exit code. `campaign` holds the ones
//! made of many runs: sweep, compare, run --repeat.

mod campaign;
mod interleave;
mod k8s;
mod repro;

use crate::checker::{self, CheckStatus, RunFacts};
use crate::cli::{CheckArgs, Command, EnvAction, RunArgs};
use crate::environment::{self, existing::ExistingArgs, EnvFile};
use crate::error::{bad_input, exit_code};
use crate::export::console::status_word;
use crate::lake::{ExtensionSource, LakeTarget};
use crate::runner::{self, EnvChoice, RunOptions};
use crate::scenario::{self, CatalogKind, ChecksSpec};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn dispatch(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run(args),
        Command::Validate { files, set } => validate(&files, &set),
        Command::Env {
            action: EnvAction::Up { state, no_s3 },
        } => env_up(&state, !no_s3),
        Command::Env {
            action: EnvAction::Down { state },
        } => env_down(&state),
        Command::Env {
            action: EnvAction::Compose { out },
        } => {
            environment::compose::env_file()?.write(&out)?;
            println!(
                "wrote {} for docker-compose.yml's stack; use it with: ducklake-stress run SCENARIO --env-file {}",
                out.display(),
                out.display()
            );
            Ok(crate::error::exit_code::PASS)
        }
        Command::Check(args) => check(args),
        Command::Sweep(args) => campaign::sweep(args),
        Command::Compare(args) if interleave::both_reports(&args) => interleave::compare(args),
        Command::Compare(args) => campaign::compare(args),
        Command::K8s(args) => k8s::k8s(args),
        Command::Worker(args) => crate::fleet::worker::main(crate::fleet::worker::WorkerOptions {
            coordinator: args.coordinator,
            token: args.token,
            extension_dir: args.extension_dir,
            env_file: args.env_file,
            connect_within: args.connect_within,
        }),
        Command::Conflicts(args) => interleave::conflicts(args),
        Command::Repro(args) => repro::repro(args),
        Command::Writer => crate::fleet::child::main(crate::client::writer::run),
        Command::Session => crate::interleave::process::main(),
    }
}

pub(crate) fn env_choice(env_file: Option<PathBuf>, existing: ExistingArgs) -> EnvChoice {
    match env_file {
        // Directories given as flags beside the file override its entries (the error for a
        // missing local_data_dir recommends --local-data-dir).
        Some(path) if existing.local_data_dir.is_some() || existing.catalog_dir.is_some() => EnvChoice::FileWithDirs {
            path,
            local_data_dir: existing.local_data_dir,
            catalog_dir: existing.catalog_dir,
        },
        Some(f) => EnvChoice::File(f),
        None if existing.given() => EnvChoice::Flags(existing),
        None => EnvChoice::Native,
    }
}

fn run(args: RunArgs) -> anyhow::Result<i32> {
    if crate::interleave::is_interleaving(&args.scenario) {
        return interleave::run(args);
    }
    if let Some(path) = &args.junit {
        crate::export::check_output_path("--junit", path)?;
    }
    if args.repeat > 1 {
        if args.coordinate.is_some() {
            return Err(bad_input(
                "--coordinate runs one run with remote workers; --repeat starts runs one after \
                another, which the workers would have to join again each time. Repeat the command instead.",
            ));
        }
        if args.junit.is_some() {
            return Err(bad_input(
                "--junit writes the JUnit of one run; with --repeat each run directory has its own \
                junit.xml (under the campaign's runs/).",
            ));
        }
        return campaign::repeat(args);
    }
    let opts = RunOptions {
        scenario_path: args.scenario,
        overrides: args.tuning.overrides(),
        allow_unsigned_extensions: args.tuning.allow_unsigned_extensions,
        env: if args.env.docker {
            EnvChoice::Docker {
                build_images: args.env.build_images,
            }
        } else {
            env_choice(args.env.env_file, args.env.existing)
        },
        results_dir: args.env.results_dir,
        keep_env: args.keep_env,
        extension_dir: args.env.extension_dir,
        quiet: args.env.quiet,
        remote: remote_options(args.coordinate, args.workers, args.token),
    };
    let outcome = runner::run(&opts)?;
    print!("{}", crate::export::console::render(&outcome.report));
    println!("report: {}", outcome.run_dir.join("report.json").display());
    if let Some(path) = &args.junit {
        crate::export::write_to(&crate::export::junit::JunitExporter, &outcome.report, path)?;
        println!("junit: {}", path.display());
    }
    Ok(outcome.report.exit_code)
}

/// `--coordinate ADDR --workers N [--token T]`; without a token, a random one that the
/// user is shown (workers need it).
fn remote_options(
    coordinate: Option<String>,
    workers: Option<u32>,
    token: Option<String>,
) -> Option<crate::fleet::RemoteOptions> {
    let (listen, workers) = (coordinate?, workers?);
    let token = token.filter(|t| !t.is_empty()).unwrap_or_else(|| {
        let t = crate::util::ids::random_hex(16);
        eprintln!("run token (workers join with --token or DLS_RUN_TOKEN): {t}");
        t
    });
    Some(crate::fleet::RemoteOptions { listen, workers, token })
}

fn validate(files: &[PathBuf], set: &[scenario::Override]) -> anyhow::Result<i32> {
    let mut code = exit_code::PASS;
    for f in &interleave::expand_dirs(files) {
        if crate::interleave::is_interleaving(f) {
            code = code.max(interleave::validate(f, set));
            continue;
        }
        match scenario::load_with(f, set) {
            Ok(s) => println!(
                "ok: {} (scenario {}, {} writers, {})",
                f.display(),
                s.name,
                s.run.writers,
                s.run.stop
            ),
            Err(e) => {
                eprintln!("error: {e:#}");
                code = crate::error::exit_code_of(&e);
            }
        }
    }
    Ok(code)
}

fn env_up(state: &Path, with_s3: bool) -> anyhow::Result<i32> {
    let env_json = state.join("env.json");
    if env_json.exists() {
        return Err(bad_input(format!(
            "{} already exists: an environment may still be running there. Run \
            `ducklake-stress env down --state {}` first.",
            env_json.display(),
            state.display()
        )));
    }
    std::fs::create_dir_all(state)?;
    let mut env = environment::native::start(with_s3)?;
    let native = env.native.take().expect("a native environment has services");
    let mut file = env.endpoints.clone();
    file.native = Some(native.state());
    // Record first: if env.json cannot be written, `native` is dropped and stops everything.
    file.write(&env_json)?;
    native.detach();
    println!(
        "environment up in {:.1} s; details (with passwords) in {}",
        env.startup.as_secs_f64(),
        env_json.display()
    );
    println!(
        "use it with: ducklake-stress run SCENARIO --env-file {}",
        env_json.display()
    );
    Ok(exit_code::PASS)
}

fn env_down(state: &Path) -> anyhow::Result<i32> {
    let env_json = state.join("env.json");
    let file = EnvFile::read(&env_json)?;
    let Some(native) = &file.native else {
        return Err(bad_input(format!(
            "{} describes an environment the harness did not start (no `native` section); \
            stop it the way it was started.",
            env_json.display()
        )));
    };
    environment::native::stop_detached(native)?;
    std::fs::remove_file(&env_json)?;
    println!("environment stopped; removed {}", native.scratch_dir.display());
    Ok(exit_code::PASS)
}

fn check(args: CheckArgs) -> anyhow::Result<i32> {
    let choice = env_choice(args.env_file, args.existing);
    if matches!(choice, EnvChoice::Native) {
        return Err(bad_input(
            "check needs the lake's environment: --env-file FILE (e.g. from `env up`) or --pg-dsn \
            with the --s3-* settings.",
        ));
    }
    let env = runner::provision(&choice, false)?;
    let facts: Option<RunFacts> = args.run_dir.as_deref().map(RunFacts::load).transpose()?;
    let table = match (&args.table, &facts) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) => f.record.table.clone(),
        (None, None) => {
            return Err(bad_input(
                "check needs --table NAME, or --run-dir DIR of a run (whose table it then checks).",
            ))
        }
    };
    let app = format!("ducklake-stress/check-{}/checker", std::process::id());
    // Named under `app`, so the leftover check counts this session among the checker's own.
    let catalog = crate::runtime::block_on(crate::environment::pg::connect(
        &env.endpoints.postgres,
        None,
        &format!("{app}-pg"),
    ))?;
    let results = checker::bounded::run_within(
        checker::bounded::CheckRequest {
            target: Arc::new(LakeTarget {
                env: env.endpoints.clone(),
                catalog: match args.catalog.as_str() {
                    "sqlite" => CatalogKind::Sqlite,
                    "duckdb" => CatalogKind::Duckdb,
                    _ => CatalogKind::Postgres,
                },
                data_path: None,
                extensions: ExtensionSource::resolve(args.extension_dir),
                data_inlining_row_limit: None,
            }),
            catalog: Arc::new(catalog),
            endpoints: env.endpoints.clone(),
            table,
            run: facts,
            thresholds: ChecksSpec {
                max_orphan_files: args.max_orphan_files,
                ..ChecksSpec::default()
            },
            application_name: app,
            own_sessions: Vec::new(),
        },
        std::time::Duration::from_secs(180),
    );
    for r in results.iter().filter(|r| r.status != CheckStatus::Skipped) {
        println!("{:<5} {:<22} {}", status_word(r.status), r.name, r.summary);
    }
    if let Some(line) = checker::not_applicable_line(&results) {
        println!("SKIP  {line}");
    }
    if let Some(path) = &args.json {
        crate::util::write_atomically(path, &serde_json::to_vec_pretty(&results)?)?;
    }
    // A check that could not run means the lake was not judged: an environment problem.
    let (word, code) = if results.iter().any(|r| r.status == CheckStatus::Error) {
        ("ERROR", exit_code::ENVIRONMENT)
    } else if results.iter().any(|r| r.failed()) {
        ("FAIL", exit_code::CHECK_FAILED)
    } else {
        ("PASS", exit_code::PASS)
    };
    println!("verdict: {word}");
    Ok(code)
}

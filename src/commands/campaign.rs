//! The commands made of many runs: `sweep`, `compare` and `run --repeat`. Every point is
//! validated before the first run starts (a typo in the last value must not cost an hour),
//! the runs share one environment, and the results so far are rewritten after each run.

use crate::campaign::compare::{self, Comparison, Side};
use crate::campaign::plan::{self, Group, Order};
use crate::campaign::sweep::{self, Envelope, SweepResult};
use crate::campaign::{Aggregate, Job, Outcome, ProcessExecutor};
use crate::cli::{CompareArgs, EnvArgs, RunArgs, SweepArgs, Tuning};
use crate::environment::Environment;
use crate::error::{bad_input, exit_code};
use crate::export::{self, Exporter};
use crate::parameter::{self, Param, Point};
use crate::runner::{provision, EnvChoice};
use crate::scenario::{self, Override};
use crate::util::{ids, interrupt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a run may take beyond its scenario's deadline: set-up, checks, report.
const RUN_MARGIN: Duration = Duration::from_secs(60 + 180 + 60);

/// A group after its scenario (with overrides) validated.
fn group(label: String, scenario: &Path, overrides: Vec<Override>) -> anyhow::Result<(Group, scenario::Scenario)> {
    let s = scenario::load_with(scenario, &overrides)?;
    let (limit, fresh) = (s.run.deadline + RUN_MARGIN, fresh_place(&s));
    let g = Group {
        label,
        scenario: scenario.to_path_buf(),
        overrides,
        limit,
        fresh,
    };
    Ok((g, s))
}

/// What each run of a campaign renames to write somewhere fresh: `[lake] table`, or for
/// the sql workload (whose statements name their tables themselves) its schema.
fn fresh_place(s: &scenario::Scenario) -> (String, String) {
    match &s.workload.sql {
        Some(sql) => (
            format!("{}.schema", sql.origin.replace('[', ".").replace(']', "")),
            sql.schema.clone(),
        ),
        None => ("lake.table".into(), s.lake.table.clone()),
    }
}

/// The campaign's directory, and the random part of its id (which tags its tables).
fn campaign_dir(results_dir: &Path, kind: &str, name: &str) -> (PathBuf, String) {
    let id = ids::new_run_id(SystemTime::now());
    let tag = id.rsplit('-').next().unwrap_or("c").to_string();
    (results_dir.join(format!("{id}-{kind}-{name}")), tag)
}

/// One environment for all the runs of a campaign, so points differ only in what the
/// parameters change: started once (or reached through the user's env file), described
/// in an env.json (0600) the child runs read, and stopped when the campaign ends.
struct CampaignEnv {
    /// Held so its services live as long as the campaign (None: the user's environment).
    _env: Option<Environment>,
    env_file: PathBuf,
    kind: String,
}

impl CampaignEnv {
    fn start(choice: EnvChoice, needs_s3: bool, dir: &Path) -> anyhow::Result<CampaignEnv> {
        if let EnvChoice::File(path) = choice {
            return Ok(CampaignEnv {
                _env: None,
                env_file: path,
                kind: "existing (env file)".into(),
            });
        }
        let kind = match &choice {
            EnvChoice::Native => "native",
            EnvChoice::Docker { .. } => "docker",
            _ => "existing",
        };
        let env = provision(&choice, needs_s3)?;
        let env_file = dir.join("env.json");
        env.endpoints.write(&env_file)?;
        Ok(CampaignEnv {
            _env: Some(env),
            env_file,
            kind: kind.into(),
        })
    }
}

impl Drop for CampaignEnv {
    /// The env.json of services this campaign started holds passwords of servers that are
    /// gone once it ends: removed with them.
    fn drop(&mut self) {
        if self._env.is_some() {
            let _ = std::fs::remove_file(&self.env_file);
        }
    }
}

struct Campaign {
    env: CampaignEnv,
    executor: ProcessExecutor,
    quiet: bool,
}

impl Campaign {
    fn start(args: &EnvArgs, tuning: &Tuning, dir: &Path, needs_s3: bool) -> anyhow::Result<Campaign> {
        std::fs::create_dir_all(dir)?;
        let choice = if args.docker {
            EnvChoice::Docker {
                build_images: args.build_images,
            }
        } else {
            super::env_choice(args.env_file.clone(), args.existing.clone())
        };
        let env = CampaignEnv::start(choice, needs_s3, dir)?;
        let mut extra_args = Vec::new();
        if tuning.allow_unsigned_extensions {
            extra_args.push("--allow-unsigned-extensions".to_string());
        }
        let executor = ProcessExecutor {
            exe: std::env::current_exe()?,
            env_file: env.env_file.clone(),
            runs_dir: dir.join("runs"),
            extension_dir: args.extension_dir.clone(),
            extra_args,
        };
        Ok(Campaign {
            env,
            executor,
            quiet: args.quiet,
        })
    }

    fn execute(&mut self, groups: &[Group], jobs: &[Job], on_done: &mut plan::OnDone) -> Vec<(Job, Outcome)> {
        let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
        let quiet = self.quiet;
        plan::execute(&mut self.executor, jobs, &labels, on_done, &mut |p| {
            if !quiet {
                eprintln!("{}", p.line());
            }
        })
    }
}

/// Exit code of a campaign that is not a comparison: interrupted, a run without report
/// (the harness failed, not DuckLake), or else the worst of the runs' own exit codes.
fn campaign_exit(results: &[(Job, Outcome)]) -> i32 {
    if interrupt::is_interrupted() {
        return exit_code::INTERRUPTED;
    }
    if results.iter().any(|(_, o)| o.report().is_none()) {
        return exit_code::ENVIRONMENT;
    }
    let codes: Vec<i32> = results
        .iter()
        .filter_map(|(_, o)| o.report().map(|r| r.exit_code))
        .collect();
    [exit_code::HANG, exit_code::ENVIRONMENT, exit_code::CHECK_FAILED]
        .into_iter()
        .find(|c| codes.contains(c))
        .unwrap_or(exit_code::PASS)
}

pub fn sweep(args: SweepArgs) -> anyhow::Result<i32> {
    let matrix = parameter::matrix(&args.params)?;
    run_points(
        &args.scenario,
        &args.params,
        matrix,
        args.repeat,
        args.seed,
        &args.tuning,
        &args.env,
        "sweep",
    )
}

/// `run --repeat N`: a sweep of one point.
pub fn repeat(args: RunArgs) -> anyhow::Result<i32> {
    let matrix = vec![Point { values: Vec::new() }];
    run_points(
        &args.scenario,
        &[],
        matrix,
        args.repeat,
        None,
        &args.tuning,
        &args.env,
        "repeat",
    )
}

#[allow(clippy::too_many_arguments)]
fn run_points(
    scenario_path: &Path,
    params: &[Param],
    matrix: Vec<Point>,
    repeat: u32,
    seed: Option<u64>,
    tuning: &Tuning,
    env_args: &EnvArgs,
    kind: &str,
) -> anyhow::Result<i32> {
    let base = tuning.overrides();
    let mut groups = Vec::new();
    let mut needs_s3 = false;
    for p in &matrix {
        let (g, s) = group(
            p.label(),
            scenario_path,
            base.iter().cloned().chain(p.overrides()).collect(),
        )
        .map_err(|e| {
            bad_input(format!(
                "point `{}` of the {kind} is not a valid scenario: {e:#}",
                p.label()
            ))
        })?;
        needs_s3 |= s.lake.data == scenario::DataStore::S3;
        groups.push(g);
    }
    let name = scenario::load_with(scenario_path, &base)?.name;
    let (dir, tag) = campaign_dir(&env_args.results_dir, kind, &name);
    let seed = seed.unwrap_or_else(rand::random);
    let jobs = plan::plan(&groups, repeat, Order::Shuffled { seed }, &tag);
    let mut campaign = Campaign::start(env_args, tuning, &dir, needs_s3)?;
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let result_of = |results: &[(Job, Outcome)], env_kind: &str| SweepResult {
        schema_version: 1,
        tool: Default::default(),
        scenario_file: scenario_path.display().to_string(),
        params: params.to_vec(),
        overrides: base.iter().map(|o| o.to_string()).collect(),
        repeat,
        seed,
        started_at: started_at.clone(),
        finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        environment: env_kind.to_string(),
        order: results.iter().map(|(j, _)| j.group).collect(),
        points: sweep::points(results, &matrix),
        envelope: Envelope::default(),
        interrupted: interrupt::is_interrupted(),
    };
    let env_kind = campaign.env.kind.clone();
    let results = campaign.execute(&groups, &jobs, &mut |so_far| {
        // After every run, so a crash or Ctrl-C of the sweep loses nothing measured.
        if let Err(e) = export::write_each(&result_of(so_far, &env_kind), &dir, &export::sweep_formats()) {
            tracing::warn!("could not write the sweep's results so far: {e:#}");
        }
    });
    let mut result = result_of(&results, &env_kind);
    result.envelope = sweep::envelope(&result.points, params);
    export::write_each(&result, &dir, &export::sweep_formats())?;
    print!(
        "{}",
        String::from_utf8_lossy(&export::markdown::SweepMarkdown.render(&result)?)
    );
    println!("{kind}: {}", dir.join("sweep.json").display());
    Ok(campaign_exit(&results))
}

/// One side of a comparison as given on the command line.
enum SideInput {
    Scenario(PathBuf),
    Reports(Vec<(String, crate::report::Report)>),
}

fn side_input(path: &Path) -> anyhow::Result<SideInput> {
    if path.extension().is_some_and(|e| e == "toml") {
        return Ok(SideInput::Scenario(path.to_path_buf()));
    }
    let files = if path.is_dir() {
        report_files(path)
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(bad_input(format!(
            "{}: no report.json under this directory; give a report.json, a directory of runs, or a scenario (.toml).",
            path.display()
        )));
    }
    let reports = files
        .into_iter()
        .map(|f| crate::report::read(&f).map(|r| (f.display().to_string(), r)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(SideInput::Reports(reports))
}

/// Every report.json under `dir`, in name order (bounded depth: a results tree, not a disk).
fn report_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() && depth < 4 {
                walk(&p, depth + 1, out);
            } else if p.file_name().is_some_and(|n| n == "report.json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, 0, &mut out);
    out
}

pub fn compare(args: CompareArgs) -> anyhow::Result<i32> {
    let inputs = [side_input(&args.baseline)?, side_input(&args.candidate)?];
    let sets = [&args.baseline_set, &args.candidate_set];
    let base = args.tuning.overrides();
    let mut groups = Vec::new();
    let mut needs_s3 = false;
    for (i, (input, own)) in inputs.iter().zip(sets).enumerate() {
        if let SideInput::Scenario(path) = input {
            let label = if i == 0 { "baseline" } else { "candidate" };
            let (g, s) = group(label.into(), path, base.iter().chain(own.iter()).cloned().collect())?;
            needs_s3 |= s.lake.data == scenario::DataStore::S3;
            groups.push((i, g));
        } else if !own.is_empty() {
            return Err(bad_input(format!(
                "--{}-set applies to a scenario side, but that side is a report; give the \
                scenario (.toml) to run it with changes.",
                if i == 0 { "baseline" } else { "candidate" }
            )));
        }
    }
    let (default_dir, tag) = campaign_dir(&args.env.results_dir, "compare", "runs");
    let dir = args.out.clone().unwrap_or(default_dir);
    let run_results = if groups.is_empty() {
        Vec::new()
    } else {
        let plain: Vec<Group> = groups.iter().map(|(_, g)| g.clone()).collect();
        let order = if plain.len() == 2 {
            Order::Alternating
        } else {
            Order::Shuffled { seed: 0 }
        };
        let jobs = plan::plan(&plain, args.repeat, order, &tag);
        let mut campaign = Campaign::start(&args.env, &args.tuning, &dir, needs_s3)?;
        campaign.execute(&plain, &jobs, &mut |_| {})
    };
    let sides: Vec<Side> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let label = if i == 0 { "baseline" } else { "candidate" };
            let path = if i == 0 { &args.baseline } else { &args.candidate };
            side(
                label,
                path,
                input,
                groups.iter().position(|(side, _)| *side == i),
                &run_results,
            )
        })
        .collect();
    let [baseline, candidate]: [Side; 2] = sides.try_into().map_err(|_| anyhow::anyhow!("two sides"))?;
    let comparison: Comparison = compare::compare(baseline, candidate);
    export::write_each(&comparison, &dir, &export::comparison_formats())?;
    print!(
        "{}",
        String::from_utf8_lossy(&export::markdown::ComparisonMarkdown.render(&comparison)?)
    );
    println!("comparison: {}", dir.join("comparison.json").display());
    if interrupt::is_interrupted() {
        return Ok(exit_code::INTERRUPTED);
    }
    Ok(if args.fail_if_worse && comparison.fails_ci() {
        exit_code::CHECK_FAILED
    } else {
        exit_code::PASS
    })
}

fn side(label: &str, path: &Path, input: SideInput, group: Option<usize>, run_results: &[(Job, Outcome)]) -> Side {
    let aggregate = match (input, group) {
        (SideInput::Reports(reports), _) => Aggregate::of_reports(&reports),
        (SideInput::Scenario(_), Some(g)) => Aggregate::of(run_results.iter().filter(|(j, _)| j.group == g)),
        (SideInput::Scenario(_), None) => Aggregate::default(),
    };
    Side {
        label: label.into(),
        source: path.display().to_string(),
        extensions: aggregate.extensions.clone(),
        aggregate,
    }
}

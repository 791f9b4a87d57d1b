//! `repro RUN_DIR`: the failed check of a stress run as the smallest interleaving schedule
//! that still fails, written to RUN_DIR/repro/ (see `crate::repro`).

use crate::checker::RunFacts;
use crate::cli::ReproArgs;
use crate::error::exit_code;
use crate::interleave::InterleaveReport;
use crate::repro::{self, files::Written, finding, replay, ShrinkRule, Tally};
use crate::runner;
use crate::scenario::DataStore;

pub fn repro(args: ReproArgs) -> anyhow::Result<i32> {
    let report = finding::read_report(&args.run_dir)?;
    let failed = finding::failed(&report);
    if failed.is_empty() {
        println!(
            "nothing to reproduce: no check of run {} ({}) failed ({} checks); no files written.",
            report.run_id,
            report.scenario.name,
            report.checks.len()
        );
        return Ok(exit_code::PASS);
    }
    let facts = RunFacts::load(&args.run_dir)?;
    let found = finding::find(&failed, &facts)?;
    let run_id = facts.run_id().to_string();
    let rows = replay::Rows::new(facts.record.workload()?, &facts.record.table, &run_id);
    let plans = replay::plans(&found, &rows)?;
    let base = replay::base(&report, &found, &run_id);
    let original = replay::schedule(&base, &plans);
    announce(&found, plans.len(), &original, args.repeat);
    let dir = args.run_dir.join(repro::DIR);
    std::fs::create_dir_all(&dir)?;
    let env = runner::provision(
        &super::interleave::env_choice(&args.env),
        base.lake.data == DataStore::S3,
    )?;
    let scratch = env.native.as_ref().map(|n| n.scratch_path.clone());
    let no_tuning = crate::cli::Tuning::default();
    let mut prepared = crate::interleave::prepare(
        env.endpoints.clone(),
        super::interleave::extensions(&args.env, &no_tuning),
        &[base.lake.catalog],
        &dir.join("runs"),
        scratch.as_deref(),
    )?;
    let file = dir.join("repro.toml");
    let (before, before_report) = repro::tally(&prepared, original.clone(), &file, args.repeat)?;
    println!("replay of the history: {}", before.describe());
    let out = if before.failed == 0 {
        println!("the replay did not reproduce the failure: the race needs the timing of the original run.");
        Outcome::unshrunk(&original, before_report, None)
    } else if args.no_shrink {
        Outcome::unshrunk(&original, before_report, Some("Not shrunk (--no-shrink).".into()))
    } else if repro::tally(&prepared, replay::serial(&base, &plans), &file, 1)?
        .0
        .failed
        > 0
    {
        let why = "The failure shows when these transactions run one after another too: it needs no race. The \
            check may not hold for serial executions (a check query that a later transaction makes false), so \
            nothing was shrunk.";
        println!("{why}");
        Outcome::unshrunk(&original, before_report, Some(why.into()))
    } else {
        shrink_and_confirm(&mut prepared, &base, plans, &rows, &before, &args, &file)?
    };
    let written = Written {
        run_id: &run_id,
        scenario: &report.scenario.name,
        check: &found.check,
        summary: &found.summary,
        original: &original,
        before: &before,
        after: out.after.as_ref(),
        schedule: &out.schedule,
        rows: out.rows,
        versions: &out.report.versions,
        note: out.note,
    };
    let names = repro::files::write_all(&dir, &written)?;
    println!("wrote {} in {}", names.join(", "), dir.display());
    drop(env);
    Ok(if before.failed == 0 {
        exit_code::CHECK_FAILED
    } else {
        exit_code::PASS
    })
}

/// What is replayed: the failed check, and the schedule the history gives.
fn announce(found: &finding::Finding, txns: usize, original: &crate::interleave::Schedule, repeat: u32) {
    println!(
        "check {} failed: {}\nreplaying {} transaction(s) ({} named by the evidence, the rest overlapping them) as \
     {} session(s), {} steps, {} times",
        found.check,
        found.summary,
        txns,
        found.txns.iter().filter(|t| t.named).count(),
        original.sessions.len(),
        original.steps.len(),
        repeat
    );
}

/// The schedule the files hold, and how it was judged.
struct Outcome {
    schedule: crate::interleave::Schedule,
    /// The shrunk schedule's tally (None: not shrunk).
    after: Option<Tally>,
    /// The report of the last tally, for its versions.
    report: InterleaveReport,
    note: Option<String>,
    /// Rows the shrunk transactions write, where the workload counts them.
    rows: Option<usize>,
}

impl Outcome {
    fn unshrunk(original: &crate::interleave::Schedule, report: InterleaveReport, note: Option<String>) -> Self {
        Outcome {
            schedule: original.clone(),
            after: None,
            report,
            note,
            rows: None,
        }
    }
}

/// Shrinks (candidates' reports go to a temporary directory), then runs the result as often
/// as the replay was run.
fn shrink_and_confirm(
    prepared: &mut crate::interleave::Prepared,
    base: &replay::Base,
    plans: Vec<replay::TxnPlan>,
    rows: &replay::Rows,
    before: &Tally,
    args: &ReproArgs,
    file: &std::path::Path,
) -> anyhow::Result<Outcome> {
    let rule = ShrinkRule::from_rate(before, args.shrink_repeat);
    println!(
        "shrinking: a candidate must fail {} of {} runs and pass with its transactions one after another",
        rule.needed, rule.repeat
    );
    let kept_dir = prepared.results_dir.clone();
    let scratch = tempfile::Builder::new().prefix("repro-candidates-").tempdir()?;
    prepared.results_dir = scratch.path().to_path_buf();
    let quiet = args.env.quiet;
    let shrunk = repro::shrink_plans(prepared, base, plans, rows, &rule, &mut |c, kept| {
        if !quiet {
            println!(
                "  candidate: {}: {}",
                repro::size_of(c),
                if kept { "still fails, kept" } else { "does not, dropped" }
            );
        }
    });
    prepared.results_dir = kept_dir;
    let shrunk = shrunk?;
    let schedule = replay::schedule(base, &shrunk);
    let (after, report) = repro::tally(prepared, schedule.clone(), file, args.repeat)?;
    println!(
        "shrunk to {} session(s), {} step(s) ({}): {}",
        schedule.sessions.len(),
        schedule.steps.len(),
        repro::size_of(&shrunk),
        after.describe()
    );
    Ok(Outcome {
        schedule,
        after: Some(after),
        report,
        note: None,
        rows: repro::rows_of(&shrunk),
    })
}

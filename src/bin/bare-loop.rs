//! The benchmark's baseline: the same append transactions as ducklake-stress's writers
//! (same duckdb crate, same extensions, ATTACH and DuckLake retry settings, same INSERT),
//! in a bare loop with no history, monitor, tags, checks or report. What the harness adds
//! is the difference between the two (README, "Benchmarks"; scripts/bench.sh, scripts/bench-instructions.sh).
//!
//! `bare-loop SCENARIO ENV_FILE WRITERS COMMITS_PER_WRITER TABLE [--tag] [--set KEY=VALUE]...`
//! prints one JSON line. `--set` overrides scenario keys as `ducklake-stress run --set` does;
//! the scenario's `client.settings` are SET on every writer's connection, as the harness does.

use duckdb::Connection;
use ducklake_stress::environment::EnvFile;
use ducklake_stress::history::tag::{CommitTag, TagKey};
use ducklake_stress::lake::{self, ExtensionSource, LakeTarget};
use ducklake_stress::scenario::{ClientSpec, DuckLakeRetry, Scenario};
use ducklake_stress::workload::append::AppendWorkload;
use std::sync::{Arc, Barrier};
use std::time::Instant;

fn main() {
    match run() {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("bare-loop: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run() -> anyhow::Result<String> {
    let args = Args::parse()?;
    let lake = Arc::new(Lake::prepare(&args)?);
    // Attach first, then start together: the clock covers the writing only, as the
    // harness's measured window does.
    let barrier = Arc::new(Barrier::new(args.writers as usize + 1));
    let handles: Vec<_> = (0..args.writers)
        .map(|w| {
            let (lake, barrier) = (lake.clone(), barrier.clone());
            std::thread::spawn(move || lake.write(w, &barrier))
        })
        .collect();
    barrier.wait();
    ducklake_stress::util::callgrind::mark("zero");
    let start = Instant::now();
    let (mut ok, mut failed) = (0, 0);
    for h in handles {
        let (o, f) = h.join().map_err(|_| anyhow::anyhow!("a writer thread panicked"))??;
        ok += o;
        failed += f;
    }
    let seconds = start.elapsed().as_secs_f64();
    ducklake_stress::util::callgrind::mark("dump=writing");
    let usage = ducklake_stress::report::HarnessUsage::measure(0);
    Ok(serde_json::json!({
        "tool": "bare-loop", "writers": args.writers, "commits": ok, "failed": failed, "seconds": seconds,
        "commits_per_second": ok as f64 / seconds, "cpu_seconds": usage.cpu_seconds,
        "peak_rss_mb": usage.peak_rss_mb, "tag": args.tag,
    })
    .to_string())
}

/// The command line, with the scenario read and its overrides applied.
struct Args {
    scenario: Scenario,
    env: EnvFile,
    writers: u32,
    commits: u64,
    tag: bool,
}

impl Args {
    fn parse() -> anyhow::Result<Args> {
        let args: Vec<String> = std::env::args().collect();
        anyhow::ensure!(
            args.len() >= 6,
            "usage: bare-loop SCENARIO ENV_FILE WRITERS COMMITS_PER_WRITER TABLE [--tag] [--set KEY=VALUE]..."
        );
        let mut overrides = vec![ducklake_stress::scenario::Override {
            key: "lake.table".into(),
            value: args[5].clone(),
        }];
        for pair in args[6..].windows(2).filter(|p| p[0] == "--set") {
            overrides.push(pair[1].parse()?);
        }
        let scenario = ducklake_stress::scenario::load_with(std::path::Path::new(&args[1]), &overrides)?;
        let env = EnvFile::read(std::path::Path::new(&args[2]))?;
        Ok(Args {
            scenario,
            env,
            writers: args[3].parse()?,
            commits: args[4].parse()?,
            tag: args.iter().any(|a| a == "--tag"),
        })
    }
}

/// What every writer thread shares: the lake, its table's workload and the loop's settings.
struct Lake {
    target: LakeTarget,
    workload: AppendWorkload,
    run_id: String,
    retry: DuckLakeRetry,
    client: ClientSpec,
    commits: u64,
    tag: bool,
}

impl Lake {
    /// Creates the scenario's table.
    fn prepare(args: &Args) -> anyhow::Result<Lake> {
        let scenario = &args.scenario;
        let target = LakeTarget::for_run(&args.env, &scenario.lake, ExtensionSource::resolve(None))?;
        // The harness's shape of run id: its tags and payloads then have the same lengths.
        let run_id = ducklake_stress::util::ids::new_run_id(std::time::SystemTime::now());
        lake::open(&target, &format!("{run_id}/setup"), None)?
            .execute_batch(&lake::table::create_sql(&scenario.lake.table))?;
        Ok(Lake {
            target,
            workload: AppendWorkload::new(&scenario.workload, &scenario.lake.table),
            run_id,
            retry: scenario.retry.ducklake.clone(),
            client: scenario.client.clone(),
            commits: args.commits,
            tag: args.tag,
        })
    }

    /// Writer `w`: attaches, waits for the others, then commits its transactions;
    /// returns how many committed and how many failed.
    fn write(&self, w: u32, start: &Barrier) -> anyhow::Result<(u64, u64)> {
        let conn = lake::open(&self.target, &format!("{}/w{w}", self.run_id), Some(&self.retry))
            .and_then(|c| lake::apply_client(&c, &self.client).map(|()| c));
        start.wait();
        let conn = conn?;
        let (mut ok, mut failed) = (0, 0);
        for txn in 0..self.commits {
            if self.transaction(&conn, w, txn) {
                ok += 1;
            } else {
                let _ = conn.execute_batch("ROLLBACK");
                failed += 1;
            }
        }
        Ok((ok, failed))
    }

    /// One append transaction; whether it committed.
    fn transaction(&self, conn: &Connection, w: u32, txn: u64) -> bool {
        // One statement per call, as the harness's writer sends them.
        // `--tag`: the very statement the harness's writer sends (message and
        // extra_info JSON), so the two loops differ by the harness alone.
        let key = TagKey {
            writer: w,
            txn,
            attempt: 1,
        };
        let tagging = self.tag.then(|| {
            CommitTag {
                run_id: &self.run_id,
                key,
            }
            .sql()
        });
        let steps = [
            "BEGIN TRANSACTION".to_string(),
            self.workload.insert_sql(&self.run_id, w, txn),
        ]
        .into_iter()
        .chain(tagging)
        .chain(["COMMIT".to_string()]);
        steps
            .map(|sql| conn.execute_batch(&sql))
            .find(|r| r.is_err())
            .unwrap_or(Ok(()))
            .is_ok()
    }
}

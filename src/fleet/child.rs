//! A writer as a child process: `ducklake-stress writer` (hidden), started by the process
//! fleet. It runs exactly what a writer thread runs, with its own DuckDB instance, and talks
//! to its parent in lines: it reads its spec and then `go`, `stop`, `abort` on standard
//! input, and writes its history entries (as they happen) and `{"msg":..}` control lines
//! (ready, status, done) on standard output. It dies with its parent, and aborts when its
//! standard input closes. What the writer does is the caller's `write` (the client's
//! writer loop), so this end of the protocol knows nothing of workloads.

use super::protocol::{Control, WriterSpec};
use super::{Members, WriterShared};
use crate::history::Recorder;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn say(c: &Control) {
    let line = serde_json::to_string(c).expect("control lines serialize");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

pub fn main(write: fn(&WriterShared, u32)) -> anyhow::Result<i32> {
    // No orphans: if the harness dies, so does this writer.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let mut first = String::new();
    std::io::stdin().read_line(&mut first)?;
    let spec: WriterSpec = serde_json::from_str(&first).map_err(|e| {
        crate::error::bad_input(format!(
            "`ducklake-stress \
        writer` is started by the harness (mode = \"process\"), which sends its spec on standard input; this was not \
        one ({e})."
        ))
    })?;
    // Named apart from the writers' sessions (`.../w<N>`), which faults terminate.
    let resolver_app = format!(
        "{}resolver-w{}",
        crate::util::ids::session_prefix(&spec.run_id),
        spec.writer
    );
    let resolver = crate::runtime::block_on(crate::environment::pg::Session::open(
        spec.harness_postgres.as_ref().unwrap_or(&spec.target.env.postgres),
        &resolver_app,
    ))?;
    let shared = Arc::new(WriterShared::new(Members {
        run_id: spec.run_id.clone(),
        scenario: Arc::new(spec.scenario),
        target: Arc::new(spec.target),
        history: Arc::new(Recorder::to_stdout()),
        resolver: Arc::new(resolver),
        first: spec.writer,
        count: 1,
        first_txn: spec.first_txn,
    }));
    let control = shared.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line.as_deref().map(str::trim) {
                Ok(go) if go.starts_with("go") => {
                    // The parent's zero on the system-wide monotonic clock.
                    match go.strip_prefix("go ").and_then(|z| z.parse().ok()) {
                        Some(zero) => control.history.start_clock_at(zero),
                        None => control.history.start_clock(),
                    };
                    control.go.store(true, Ordering::Release);
                }
                Ok("stop") => control.stop.store(true, Ordering::Release),
                Ok("abort") | Err(_) => control.abort_all(),
                Ok(_) => {}
            }
        }
        // The parent closed our stdin: it is gone or gave up on us.
        control.abort_all();
    });
    let reporter = shared.clone();
    std::thread::spawn(move || report_status(&reporter));
    write(&shared, spec.writer);
    // A writer whose set-up failed, or that was told to stop as it finished set-up (one
    // restarted at the end of the run), can be done before the status thread's next look:
    // say how set-up went before exiting, or the parent only learns that the process ended.
    tell_ready_once(&shared);
    say(&Control::Done);
    Ok(crate::error::exit_code::PASS)
}

/// Whether the parent was told how set-up ended: it counts every `ready` it hears.
static TOLD_READY: AtomicBool = AtomicBool::new(false);

/// Tells the parent, once, that set-up ended and how.
fn tell_ready_once(shared: &WriterShared) {
    if TOLD_READY.swap(true, Ordering::AcqRel) {
        return;
    }
    let setup = shared.writers[0].setup().clone();
    say(&match setup.error {
        Some(error) => Control::SetupFailed { error },
        None => Control::Ready {
            setup_ms: setup.took.map(|d| d.as_millis() as u64).unwrap_or(0),
        },
    });
}

/// Tells the parent when set-up ended and, every 100 ms while anything changed, where the
/// writer is and what it counted (for the progress line and the hang diagnosis).
fn report_status(shared: &WriterShared) {
    let slot = &shared.writers[0];
    let mut last: Option<Control> = None;
    loop {
        if shared.ready.load(Ordering::Acquire) > 0 {
            tell_ready_once(shared);
        }
        let snap = slot.status.snapshot(shared.first_writer);
        let l = &shared.live;
        let now = Control::Status {
            step: snap.step,
            txn: snap.txn_seq,
            attempt: snap.attempt,
            commits: l.commits.load(Ordering::Relaxed),
            failed: l.failed.load(Ordering::Relaxed),
            indeterminate: l.indeterminate.load(Ordering::Relaxed),
            retries: l.retries.load(Ordering::Relaxed),
        };
        if last.as_ref() != Some(&now) {
            say(&now);
            last = Some(now);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

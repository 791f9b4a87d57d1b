//! The live progress line: commits/s, failed commits, retries, lock waiters. A spinner on
//! a terminal; a plain line every 5 s otherwise (CI logs).

use crate::fleet::LiveCounters;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct Progress {
    bar: Option<ProgressBar>,
    last_plain: Instant,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
            b
        });
        Progress {
            bar,
            last_plain: Instant::now(),
            quiet,
        }
    }

    pub fn update(&mut self, elapsed: Duration, live: &LiveCounters, finished: usize, writers: u32) {
        let commits = live.commits.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64().max(0.001);
        let msg = format!(
            "{:>6.1} s | {commits} commits ({:.1}/s) | {} failed | {} indeterminate | {} retries | lock waiters {} | \
                writers done {finished}/{writers}",
            secs,
            commits as f64 / secs,
            live.failed.load(Ordering::Relaxed),
            live.indeterminate.load(Ordering::Relaxed),
            live.retries.load(Ordering::Relaxed),
            live.lock_waiters.load(Ordering::Relaxed),
        );
        if let Some(b) = &self.bar {
            b.set_message(msg);
            b.tick();
        } else if !self.quiet && self.last_plain.elapsed() >= Duration::from_secs(5) {
            eprintln!("{msg}");
            self.last_plain = Instant::now();
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

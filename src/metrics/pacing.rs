//! How a paced run kept its pace. With a rate (open model) every transaction has a due
//! time; latency counts from it (no coordinated omission: a writer that falls behind does
//! not hide the wait from the figures, as pgbench --rate and wrk2 measure), the schedule
//! lag is how late it started, and the arrivals the schedule had in the window are drawn
//! again from the seed to say how many of them were served.

use super::latency::{new_histogram, record_seconds, LatencySummary};
use super::summary::Window;
use crate::history::Txn;
use crate::scenario::{Pacing, Scenario, StopCondition};
use serde::{Deserialize, Serialize};

/// Below this share of the scheduled arrivals started in the window, the rate was not kept.
pub const KEPT_SHARE: f64 = 0.9;
/// Schedule lag at the end of the run above this (and above 4x the lag at its start): the
/// writers were falling further behind.
const GROWING_LAG_MS: f64 = 1000.0;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PacingSummary {
    /// The pacing asked for: model (`rate` / `think_time`), rate per writer, seed, pause.
    pub pacing: Pacing,
    /// Writers paced (the writing actors).
    pub writers: u32,
    /// Open model: the arrivals the schedule had in the measured window (all writers), how
    /// many of them started in it, and both as rates over the window.
    pub scheduled: u64,
    pub started: u64,
    pub target_per_second: f64,
    pub achieved_per_second: f64,
    /// How late transactions started after they were due (ms), over the run and in its
    /// first and last tenth (by due time): a lag that keeps growing means the writers
    /// cannot keep the rate.
    pub lag_ms: LatencySummary,
    pub lag_first_tenth_p50_ms: f64,
    pub lag_last_tenth_p50_ms: f64,
    /// Committed transactions: from their due time to the end of the COMMIT that went
    /// through (what a user of the pipeline waits), and from the first attempt's start
    /// (service time, the back-to-back figure).
    pub latency_from_due_ms: LatencySummary,
    pub service_ms: LatencySummary,
    pub kept: bool,
    /// Why the rate was not kept, as the summary says it ("rate not kept: ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_kept: Option<String>,
}

/// The pacing figures of a run (None: the writers ran back to back).
pub fn summarize(txns: &[Txn], scenario: &Scenario, window: Window) -> Option<PacingSummary> {
    let pacing = scenario.run.pacing;
    if pacing.is_back_to_back() {
        return None;
    }
    let writers = scenario.workload_writers();
    let mut s = PacingSummary {
        pacing,
        writers,
        kept: true,
        ..Default::default()
    };
    let Pacing::Rate { per_writer, .. } = pacing else {
        return Some(s);
    };
    let cap = match scenario.run.stop {
        StopCondition::CommitsPerWriter(n) => n,
        StopCondition::Duration(_) => u64::MAX,
    };
    s.scheduled = (0..writers)
        .map(|w| {
            pacing
                .schedule(w)
                .map(|arrivals| arrivals.take_while(|t| *t < window.end).count() as u64)
                .unwrap_or(0)
                .min(cap)
        })
        .sum();
    let mut paced: Vec<(f64, &Txn)> = txns
        .iter()
        .filter_map(|t| t.scheduled_at().map(|due| (due, t)))
        .collect();
    paced.sort_by(|a, b| a.0.total_cmp(&b.0));
    s.started = paced.iter().filter(|(_, t)| t.first_invoke() <= window.end).count() as u64;
    if window.end > 0.0 {
        s.target_per_second = s.scheduled as f64 / window.end;
        s.achieved_per_second = s.started as f64 / window.end;
    }
    let (mut lag, mut from_due, mut service) = (new_histogram(), new_histogram(), new_histogram());
    for (due, t) in &paced {
        record_seconds(&mut lag, t.first_invoke() - due);
        if let Some(end) = t.committing().and_then(|a| a.complete_at) {
            record_seconds(&mut from_due, end - due);
            record_seconds(&mut service, end - t.first_invoke());
        }
    }
    (s.lag_ms, s.latency_from_due_ms, s.service_ms) = (
        LatencySummary::of(&lag),
        LatencySummary::of(&from_due),
        LatencySummary::of(&service),
    );
    let tenth = (paced.len() / 10).max(1).min(paced.len());
    let lags: Vec<f64> = paced
        .iter()
        .map(|(due, t)| (t.first_invoke() - due).max(0.0) * 1000.0)
        .collect();
    s.lag_first_tenth_p50_ms = median(&lags[..tenth]);
    s.lag_last_tenth_p50_ms = median(&lags[lags.len() - tenth..]);
    s.not_kept = judge(&s, per_writer);
    s.kept = s.not_kept.is_none();
    Some(s)
}

/// "rate not kept: ..." when fewer than 90 % of the scheduled arrivals started in the
/// window, or when the lag kept growing.
fn judge(s: &PacingSummary, per_writer: f64) -> Option<String> {
    let share = if s.scheduled > 0 {
        s.started as f64 / s.scheduled as f64
    } else {
        1.0
    };
    let mut why = Vec::new();
    if share < KEPT_SHARE {
        why.push(format!(
            "{} of {} scheduled transactions started in the window ({:.0} %; target {per_writer:.1}/s per writer, \
                {:.1}/s in all; achieved {:.1}/s)",
            s.started,
            s.scheduled,
            share * 100.0,
            s.target_per_second,
            s.achieved_per_second
        ));
    }
    let (first, last) = (s.lag_first_tenth_p50_ms, s.lag_last_tenth_p50_ms);
    if last > GROWING_LAG_MS && last > 4.0 * first {
        why.push(format!(
            "the schedule lag kept growing (median {first:.0} ms in the first tenth of the run, \
            {last:.0} ms in the last)"
        ));
    }
    (!why.is_empty()).then(|| format!("rate not kept: {}", why.join("; ")))
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl PacingSummary {
    /// The summaries' lines: what was asked, what was achieved, the lag, and the warning.
    pub fn lines(&self) -> Vec<String> {
        let l = |x: &LatencySummary| format!("p50 {:.1} / p99 {:.1} / max {:.1} ms", x.p50, x.p99, x.max);
        match self.pacing {
            Pacing::BackToBack => Vec::new(),
            Pacing::ThinkTime { think_ms } => vec![format!(
                "pacing: closed model, {think_ms} ms think time after each transaction of {} writers",
                self.writers
            )],
            Pacing::Rate {
                per_writer,
                total,
                seed,
            } => {
                let asked = total.map(|t| format!(", rate_total {t:.2}/s")).unwrap_or_default();
                let mut out = vec![
                    format!(
                        "pacing: Poisson arrivals at {per_writer:.2}/s per writer x {} writers{asked} (seed {seed}) | \
                         {} of {} scheduled started in the window | target {:.1}/s, achieved {:.1}/s",
                        self.writers, self.started, self.scheduled, self.target_per_second, self.achieved_per_second
                    ),
                    format!(
                        "schedule lag {} (first tenth p50 {:.1} ms, last tenth {:.1} ms) | \
                         committed, from due time {} | service time {}",
                        l(&self.lag_ms),
                        self.lag_first_tenth_p50_ms,
                        self.lag_last_tenth_p50_ms,
                        l(&self.latency_from_due_ms),
                        l(&self.service_ms)
                    ),
                ];
                out.extend(self.not_kept.clone());
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{transaction::fold, Event, OpOutcome, Step};

    fn scenario(rate: &str) -> Scenario {
        let text = format!("name = \"paced\"\n[run]\nwriters = 1\nduration = \"10s\"\nrate = \"{rate}\"\n");
        crate::scenario::parse_str(&text, "paced.toml").unwrap()
    }

    /// Writer 0 serves its schedule's arrivals, each taking `service` seconds, starting
    /// when due or when the previous one ended; arrivals due after the window are dropped.
    fn served(s: &Scenario, service: f64, end: f64) -> Vec<Event> {
        let mut free = 0.0;
        let mut events = Vec::new();
        for (txn, due) in s.run.pacing.schedule(0).unwrap().take_while(|t| *t < end).enumerate() {
            let start: f64 = due.max(free);
            if start > end {
                break;
            }
            free = start + service;
            events.push(Event::Invoke {
                writer: 0,
                txn: txn as u64,
                attempt: 1,
                at: start,
                rows: 1,
                scheduled_at: Some(due),
            });
            events.push(Event::Complete {
                writer: 0,
                txn: txn as u64,
                attempt: 1,
                at: free,
                outcome: OpOutcome::Ok,
                step: Step::Commit,
                commit_seconds: Some(0.001),
                snapshot_id: None,
                error_class: None,
                error: None,
            });
        }
        events
    }

    #[test]
    fn a_writer_that_keeps_up_keeps_the_rate() {
        let s = scenario("2/s");
        let p = summarize(
            &fold(&served(&s, 0.01, 10.0)),
            &s,
            Window {
                end: 10.0,
                writers_done: 10.0,
            },
        )
        .unwrap();
        assert!(p.kept, "{:?}", p.not_kept);
        assert_eq!(p.started, p.scheduled);
        assert!((10..=30).contains(&p.scheduled), "{}", p.scheduled);
        assert!(p.lag_ms.max < 20.0, "{:?}", p.lag_ms);
        assert_eq!(p.latency_from_due_ms.count, p.started);
    }

    #[test]
    fn a_writer_that_cannot_keep_up_is_reported_with_its_growing_lag() {
        // 50/s asked, 10/s possible (100 ms a transaction).
        let s = scenario("50/s");
        let p = summarize(
            &fold(&served(&s, 0.1, 10.0)),
            &s,
            Window {
                end: 10.0,
                writers_done: 10.1,
            },
        )
        .unwrap();
        assert!(!p.kept);
        let why = p.not_kept.unwrap();
        assert!(
            why.starts_with("rate not kept: ")
                && why.contains("scheduled transactions started")
                && why.contains("kept growing"),
            "{why}"
        );
        assert!(p.lag_last_tenth_p50_ms > 5000.0, "{}", p.lag_last_tenth_p50_ms);
        // From the due time the latency holds the wait; the service time does not.
        assert!(p.latency_from_due_ms.p99 > 10.0 * p.service_ms.p99);
    }

    #[test]
    fn back_to_back_has_no_pacing_figures() {
        let text = "name = \"b\"\n[run]\nwriters = 1\nduration = \"1s\"\n";
        let s = crate::scenario::parse_str(text, "b.toml").unwrap();
        assert!(summarize(&[], &s, Window::default()).is_none());
    }
}

//! How a writer paces its transactions: back to back (the default), an open model with
//! Poisson arrivals at a rate (`run.rate`, `run.rate_total`: pgbench `--rate`, k6's
//! arrival-rate executors), or a closed model with a pause between transactions
//! (`run.think_time`). The arrival schedule follows from a seed and the writer's id alone,
//! so a run's schedule can be drawn again after the run (the report does, to count the
//! arrivals a writer did not get to).

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Pacing {
    /// The next transaction starts as soon as the last one ended.
    #[default]
    BackToBack,
    /// Open model: transactions arrive at random (exponential gaps, a Poisson process) at
    /// `per_writer` a second per writer, whether or not the writer keeps up; latency counts
    /// from the arrival, so a writer that falls behind is measured as late.
    Rate {
        per_writer: f64,
        /// `rate_total` as written (spread evenly over the writing actors), if given so.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<f64>,
        seed: u64,
    },
    /// Closed model: a pause of `think_ms` after each transaction (its retries included).
    ThinkTime { think_ms: u64 },
}

impl Pacing {
    pub fn is_back_to_back(&self) -> bool {
        *self == Pacing::BackToBack
    }

    /// The pause after a transaction (closed model).
    pub fn think(&self) -> Option<Duration> {
        match self {
            Pacing::ThinkTime { think_ms } => Some(Duration::from_millis(*think_ms)),
            _ => None,
        }
    }

    /// How long a run paced this way may go without any transaction ending, by design: the
    /// think time, or ten mean gaps between the arrivals of all `writers` (a quiet stretch
    /// that long has probability e^-10).
    pub fn longest_quiet(&self, writers: u32) -> Duration {
        match *self {
            Pacing::BackToBack => Duration::ZERO,
            Pacing::Rate { per_writer, .. } => {
                Duration::from_secs_f64((10.0 / (per_writer * f64::from(writers.max(1)))).min(3600.0))
            }
            Pacing::ThinkTime { think_ms } => Duration::from_millis(think_ms),
        }
    }

    /// Writer `writer`'s arrival schedule (open model).
    pub fn schedule(&self, writer: u32) -> Option<Schedule> {
        match *self {
            Pacing::Rate { per_writer, seed, .. } => Some(Schedule::new(per_writer, seed, writer)),
            _ => None,
        }
    }
}

/// A Poisson process on the run clock: the gaps between arrivals are exponential with
/// mean 1/rate, drawn from a generator seeded with (seed, writer).
pub struct Schedule {
    rate: f64,
    rng: rand::rngs::StdRng,
    next: f64,
}

impl Schedule {
    pub fn new(rate: f64, seed: u64, writer: u32) -> Self {
        // Each writer its own stream: the seed mixed with the writer id (splitmix64's constant).
        let mixed = seed ^ (u64::from(writer) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Schedule {
            rate,
            rng: rand::rngs::StdRng::seed_from_u64(mixed),
            next: 0.0,
        }
    }
}

impl Iterator for Schedule {
    /// The next arrival, in seconds on the run clock (the first one a gap after zero).
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        // 1 - U is in (0, 1]: its logarithm is finite.
        let u: f64 = 1.0 - self.rng.random::<f64>();
        self.next += -u.ln() / self.rate;
        Some(self.next)
    }
}

/// `"2/s"`, `"0.5/s"`, `"30/min"`, `"3600/h"` (a bare number is per second) to transactions
/// per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, unit) = t.split_once('/').unwrap_or((t, "s"));
    let per = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        other => return Err(format!("`{other}` is not a unit of time; write /s, /min or /h")),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", number.trim()))?;
    let rate = n / per;
    if !(rate.is_finite() && rate > 0.0) {
        return Err("must be more than zero".into());
    }
    if rate > 100_000.0 {
        return Err("is more than 100000 transactions a second".into());
    }
    Ok(rate)
}

/// The default seed: from the scenario's name (FNV-1a), so every run of a scenario, and
/// both sides of a comparison, get the same arrivals.
pub fn default_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_in_their_units() {
        assert_eq!(parse_rate("2/s"), Ok(2.0));
        assert_eq!(parse_rate(" 0.5 / s "), Ok(0.5));
        assert_eq!(parse_rate("30/min"), Ok(0.5));
        assert_eq!(parse_rate("3600/h"), Ok(1.0));
        assert_eq!(parse_rate("4"), Ok(4.0));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("2/day").unwrap_err().contains("unit"));
        assert!(parse_rate("fast").unwrap_err().contains("not a number"));
    }

    #[test]
    fn the_schedule_is_poisson_and_reproducible() {
        let arrivals: Vec<f64> = Schedule::new(2.0, 42, 0).take_while(|t| *t < 10_000.0).collect();
        // 2/s over 10000 s: 20000 arrivals expected, standard deviation sqrt(20000) = 141.
        assert!((arrivals.len() as f64 - 20_000.0).abs() < 600.0, "{}", arrivals.len());
        let gaps: Vec<f64> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        // Exponential gaps: mean 1/rate and standard deviation equal to the mean.
        assert!(
            (mean - 0.5).abs() < 0.02 && (var.sqrt() - 0.5).abs() < 0.03,
            "mean {mean}, sd {}",
            var.sqrt()
        );
        assert!(gaps.iter().all(|g| *g > 0.0));
        // The same seed and writer: the same arrivals; another writer: others.
        let again: Vec<f64> = Schedule::new(2.0, 42, 0).take(100).collect();
        assert_eq!(again, arrivals[..100]);
        assert_ne!(Schedule::new(2.0, 42, 1).take(100).collect::<Vec<_>>(), again);
        assert_ne!(Schedule::new(2.0, 43, 0).take(100).collect::<Vec<_>>(), again);
    }

    #[test]
    fn the_default_seed_follows_the_name() {
        assert_eq!(default_seed("watermark"), default_seed("watermark"));
        assert_ne!(default_seed("watermark"), default_seed("watermarks"));
    }
}

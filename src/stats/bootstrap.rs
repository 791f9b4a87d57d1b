//! Percentile bootstrap intervals for "candidate minus baseline" of a statistic: of the
//! per-run figures of repeated runs (tests only: see `welch`), or of a latency distribution
//! held as a histogram (resampled bucket by bucket, so 100 000 commits cost no sorting).

use super::Interval;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Resamples per comparison: enough for a stable 95 % percentile interval.
pub const RESAMPLES: usize = 2000;
/// A fixed seed: the same reports always give the same interval.
const SEED: u64 = 0x5eed_d0c5;

/// Interval of stat(b) - stat(a) from per-run values (None with fewer than 2 runs a side:
/// one run says nothing of the spread). Test-only: `compare` used it for per-run figures
/// until the welch tests showed how often it calls an A/A difference significant.
#[cfg(test)]
pub fn of_values(a: &[f64], b: &[f64], stat: fn(&[f64]) -> f64) -> Option<Interval> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut buf_a = vec![0.0; a.len()];
    let mut buf_b = vec![0.0; b.len()];
    let mut diffs: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            resample(a, &mut buf_a, &mut rng);
            resample(b, &mut buf_b, &mut rng);
            stat(&buf_b) - stat(&buf_a)
        })
        .collect();
    Some(percentile_interval(stat(b) - stat(a), &mut diffs))
}

#[cfg(test)]
fn resample(from: &[f64], into: &mut [f64], rng: &mut StdRng) {
    for slot in into.iter_mut() {
        *slot = from[rng.random_range(0..from.len())];
    }
}

/// A distribution as sorted distinct values with their counts (e.g. an HDR histogram's).
#[derive(Debug, Clone, Default)]
pub struct Weighted {
    pub values: Vec<f64>,
    /// Running totals: cumulative[i] = counts of values[..=i].
    pub cumulative: Vec<u64>,
}

impl Weighted {
    pub fn new(pairs: impl IntoIterator<Item = (f64, u64)>) -> Weighted {
        let mut pairs: Vec<(f64, u64)> = pairs.into_iter().filter(|p| p.1 > 0).collect();
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
        // Equal values become one entry: ranks and ties are counted per distinct value.
        let (mut values, mut cumulative): (Vec<f64>, Vec<u64>) = (Vec::new(), Vec::new());
        let mut total = 0;
        for (v, c) in pairs {
            total += c;
            if values.last() == Some(&v) {
                *cumulative.last_mut().expect("values and cumulative grow together") = total;
            } else {
                values.push(v);
                cumulative.push(total);
            }
        }
        Weighted { values, cumulative }
    }

    pub fn count(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// The value at quantile q (nearest rank), as HDR histograms report it.
    pub fn quantile(&self, q: f64) -> f64 {
        quantile_of(&self.values, &self.cumulative, q)
    }
}

fn quantile_of(values: &[f64], cumulative: &[u64], q: f64) -> f64 {
    let n = cumulative.last().copied().unwrap_or(0);
    if n == 0 {
        return f64::NAN;
    }
    let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
    values[cumulative.partition_point(|&c| c < rank)]
}

/// Interval of quantile q of b minus quantile q of a (None when a side is empty).
pub fn of_quantile(a: &Weighted, b: &Weighted, q: f64) -> Option<Interval> {
    if a.count() == 0 || b.count() == 0 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    // Fewer resamples here: each one draws every sample of both sides.
    let reps = (RESAMPLES / 4).max(200);
    let mut diffs: Vec<f64> = (0..reps)
        .map(|_| resampled_quantile(b, q, &mut rng) - resampled_quantile(a, q, &mut rng))
        .collect();
    Some(percentile_interval(b.quantile(q) - a.quantile(q), &mut diffs))
}

fn resampled_quantile(w: &Weighted, q: f64, rng: &mut StdRng) -> f64 {
    let n = w.count();
    let mut counts = vec![0u64; w.values.len()];
    for _ in 0..n {
        let pick = rng.random_range(1..=n);
        counts[w.cumulative.partition_point(|&c| c < pick)] += 1;
    }
    let mut total = 0;
    let cumulative: Vec<u64> = counts
        .iter()
        .map(|c| {
            total += c;
            total
        })
        .collect();
    quantile_of(&w.values, &cumulative, q)
}

fn percentile_interval(estimate: f64, diffs: &mut [f64]) -> Interval {
    diffs.sort_by(f64::total_cmp);
    let at = |p: f64| diffs[((p * (diffs.len() - 1) as f64).round() as usize).min(diffs.len() - 1)];
    Interval {
        estimate,
        low: at(0.025),
        high: at(0.975),
    }
}

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearly_separated_runs_give_an_interval_away_from_zero() {
        let a = [10.0, 11.0, 10.5, 9.5, 10.2];
        let b = [20.0, 21.0, 19.5, 20.5, 20.2];
        let i = of_values(&a, &b, mean).unwrap();
        assert!(i.low > 8.0 && i.high < 12.0 && i.excludes_zero(), "{i:?}");
    }

    #[test]
    fn the_same_runs_give_zero_inside_and_one_run_gives_nothing() {
        let a = [10.0, 12.0, 11.0, 9.0];
        let i = of_values(&a, &a, mean).unwrap();
        assert!(!i.excludes_zero(), "{i:?}");
        assert!(of_values(&[1.0], &a, mean).is_none());
    }

    #[test]
    fn quantiles_of_weighted_values_follow_nearest_rank() {
        let w = Weighted::new([(5.0, 50), (1.0, 49), (100.0, 1)]);
        assert_eq!(w.count(), 100);
        assert_eq!(w.quantile(0.49), 1.0);
        assert_eq!(w.quantile(0.5), 5.0);
        assert_eq!(w.quantile(0.99), 5.0);
        assert_eq!(w.quantile(1.0), 100.0);
    }

    #[test]
    fn a_shifted_distribution_has_its_median_difference_found() {
        let a = Weighted::new((1..=200).map(|v| (v as f64, 5)));
        let b = Weighted::new((1..=200).map(|v| (v as f64 + 50.0, 5)));
        let i = of_quantile(&a, &b, 0.5).unwrap();
        assert!(i.excludes_zero() && i.low > 30.0 && i.high < 70.0, "{i:?}");
        let same = of_quantile(&a, &a, 0.5).unwrap();
        assert!(!same.excludes_zero(), "{same:?}");
    }
}

//! Welch's t interval for a difference of means of per-run figures (commits/s, a run's
//! median commit). Runs are few (2 to 5 a side is usual): a percentile bootstrap of so few
//! values cannot reach outside their range and calls an A/A difference significant far
//! more often than 5 % (simulated in the tests: about 36 % at 2 runs a side, 20 % at 3).
//! Student's t with the Welch-Satterthwaite degrees of freedom keeps its 5 % because it
//! knows how little 2 or 3 runs say about their spread.

use super::Interval;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Interval of mean(b) - mean(a) (None with fewer than 2 values a side).
pub fn of_means(a: &[f64], b: &[f64]) -> Option<Interval> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, va) = mean_and_variance(a);
    let (mb, vb) = mean_and_variance(b);
    let estimate = mb - ma;
    let (sa, sb) = (va / a.len() as f64, vb / b.len() as f64);
    let se2 = sa + sb;
    if se2 == 0.0 {
        // Every run gave the same figure on both sides: nothing to be unsure about.
        return Some(Interval {
            estimate,
            low: estimate,
            high: estimate,
        });
    }
    let df = se2 * se2 / (sa * sa / (a.len() - 1) as f64 + sb * sb / (b.len() - 1) as f64);
    let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.975);
    let half = t * se2.sqrt();
    Some(Interval {
        estimate,
        low: estimate - half,
        high: estimate + half,
    })
}

fn mean_and_variance(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::bootstrap;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn matches_a_hand_computed_welch_interval() {
        // a = 10, 12, 14 (mean 12, var 4); b = 20, 24 (mean 22, var 8):
        // se² = 4/3 + 8/2 = 5.333; df = 5.333² / ((4/3)²/2 + 4²/1) = 1.6842;
        // t(0.975, 1.6842) = 5.1762 (Student's t density integrated by Simpson's rule and
        // bisected, apart from statrs); half = 5.1762 × 2.3094 = 11.954.
        let i = of_means(&[10.0, 12.0, 14.0], &[20.0, 24.0]).unwrap();
        assert!((i.estimate - 10.0).abs() < 1e-12);
        assert!((i.high - i.estimate - 11.954).abs() < 0.01, "{i:?}");
        assert!(of_means(&[1.0], &[1.0, 2.0]).is_none());
        let same = of_means(&[5.0, 5.0], &[7.0, 7.0]).unwrap();
        assert_eq!((same.low, same.high), (2.0, 2.0));
    }

    /// A/A: both sides drawn from one distribution. Welch must call the difference
    /// significant in about 5 % of draws; the bootstrap of so few runs did far more often.
    #[test]
    fn same_distribution_is_significant_about_five_percent_of_the_time() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut draw = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| (0..12).map(|_| rng.random::<f64>()).sum::<f64>())
                .collect()
        };
        for n in [2, 3, 5] {
            let (mut welch, mut boot, trials) = (0, 0, 1500);
            for _ in 0..trials {
                let (a, b) = (draw(n), draw(n));
                welch += of_means(&a, &b).unwrap().excludes_zero() as usize;
                boot += bootstrap::of_values(&a, &b, bootstrap::mean).unwrap().excludes_zero() as usize;
            }
            let (welch, boot) = (welch as f64 / trials as f64, boot as f64 / trials as f64);
            eprintln!("{n} runs a side: false positives, Welch {welch:.3}, bootstrap {boot:.3}");
            assert!(
                (0.02..0.08).contains(&welch),
                "{n} runs a side: Welch false positives {welch}"
            );
            if n <= 3 {
                assert!(boot > 0.15, "{n} runs a side: bootstrap false positives {boot}");
            }
        }
    }
}

//! Mann-Whitney U on two latency distributions given as weighted values (histogram
//! buckets): are commits of one side generally faster? Ties (same bucket) get average
//! ranks and the variance its tie correction; p from the normal approximation, which is
//! sound at the sample sizes of a run (hundreds of commits and more).

use super::bootstrap::Weighted;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MannWhitney {
    /// U of the candidate (b): how many (a, b) pairs have b > a, ties counted half.
    pub u: f64,
    /// P(candidate > baseline) + P(equal)/2: 0.5 means no shift; below it, the candidate
    /// is generally lower (faster).
    pub probability_greater: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

pub fn test(a: &Weighted, b: &Weighted) -> Option<MannWhitney> {
    let (na, nb) = (a.count() as f64, b.count() as f64);
    if na == 0.0 || nb == 0.0 {
        return None;
    }
    let (rank_sum_b, tie_term) = rank_sum(a, b);
    let u = rank_sum_b - nb * (nb + 1.0) / 2.0;
    let n = na + nb;
    let variance = na * nb / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)).max(1.0));
    let p_value = if variance <= 0.0 {
        1.0 // every value tied: nothing tells the sides apart
    } else {
        let z = (u - na * nb / 2.0) / variance.sqrt();
        libm::erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
    };
    Some(MannWhitney {
        u,
        probability_greater: u / (na * nb),
        p_value,
    })
}

/// The sum of b's ranks in the pooled sample, and the tie correction Σ(t³ - t).
fn rank_sum(a: &Weighted, b: &Weighted) -> (f64, f64) {
    let counts = |w: &Weighted| -> Vec<(f64, u64)> {
        let mut prev = 0;
        w.values
            .iter()
            .zip(&w.cumulative)
            .map(|(&v, &c)| {
                let n = c - prev;
                prev = c;
                (v, n)
            })
            .collect()
    };
    let (ca, cb) = (counts(a), counts(b));
    let (mut i, mut j, mut below, mut sum_b, mut ties) = (0, 0, 0.0f64, 0.0, 0.0);
    while i < ca.len() || j < cb.len() {
        let v = match (ca.get(i), cb.get(j)) {
            (Some(x), Some(y)) => x.0.min(y.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (None, None) => unreachable!(),
        };
        let ta = if ca.get(i).is_some_and(|x| x.0 == v) {
            i += 1;
            ca[i - 1].1 as f64
        } else {
            0.0
        };
        let tb = if cb.get(j).is_some_and(|y| y.0 == v) {
            j += 1;
            cb[j - 1].1 as f64
        } else {
            0.0
        };
        let t = ta + tb;
        let average_rank = below + (t + 1.0) / 2.0;
        sum_b += tb * average_rank;
        ties += t * t * t - t;
        below += t;
    }
    (sum_b, ties)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(v: &[f64]) -> Weighted {
        Weighted::new(v.iter().map(|&x| (x, 1)))
    }

    #[test]
    fn u_counts_the_pairs_where_b_is_larger() {
        // a = 1,2,3 ; b = 2,4: pairs b>a: (2>1) (4>1,2,3) = 4, tie (2=2) = 0.5 -> U = 4.5
        let r = test(&plain(&[1.0, 2.0, 3.0]), &plain(&[2.0, 4.0])).unwrap();
        assert_eq!(r.u, 4.5);
        assert!((r.probability_greater - 0.75).abs() < 1e-12);
    }

    #[test]
    fn identical_samples_have_p_one_and_separated_ones_a_tiny_p() {
        let a = Weighted::new((1..=300).map(|v| (v as f64, 2)));
        let same = test(&a, &a).unwrap();
        assert!(
            same.p_value > 0.99 && (same.probability_greater - 0.5).abs() < 1e-9,
            "{same:?}"
        );
        let b = Weighted::new((1..=300).map(|v| (v as f64 + 100.0, 2)));
        let shifted = test(&a, &b).unwrap();
        assert!(
            shifted.p_value < 1e-6 && shifted.probability_greater > 0.7,
            "{shifted:?}"
        );
    }

    #[test]
    fn matches_scipy_on_a_small_tied_example() {
        // By hand: b's pairs above a: 2 (1, and two ties at 2 counted half), 4, 4, 5, 5 -> U = 20;
        // ties t = 3 (the 2s) and 2 (the 4s): var = 25/12 (11 - 30/90) = 22.22,
        // z = 7.5 / 4.714 = 1.591, p = 0.1116 (as scipy's mannwhitneyu without continuity
        // correction, method 'asymptotic').
        let r = test(&plain(&[1.0, 2.0, 2.0, 3.0, 5.0]), &plain(&[2.0, 4.0, 4.0, 6.0, 7.0])).unwrap();
        assert_eq!(r.u, 20.0);
        assert!((r.p_value - 0.1116).abs() < 0.001, "{r:?}");
    }
}

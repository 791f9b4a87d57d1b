//! Intervals for rates such as "failed commits per transaction": Wilson's score interval
//! for one rate and Newcombe's hybrid score interval (his method 10) for the difference of
//! two, which stays sensible at 0 failures, where the textbook Wald interval collapses.

use super::{Interval, Z95};

/// Wilson score interval of `x` successes in `n` trials, 95 %.
pub fn wilson(x: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p, z2) = (n as f64, x as f64 / n as f64, Z95 * Z95);
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The difference p_b - p_a (candidate minus baseline) of two rates, with Newcombe's interval.
pub fn newcombe(xa: u64, na: u64, xb: u64, nb: u64) -> Interval {
    let rate = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let (pa, pb) = (rate(xa, na), rate(xb, nb));
    let (la, ua) = wilson(xa, na);
    let (lb, ub) = wilson(xb, nb);
    let d = pb - pa;
    Interval {
        estimate: d,
        low: d - ((pb - lb).powi(2) + (ua - pa).powi(2)).sqrt(),
        high: d + ((ub - pb).powi(2) + (pa - la).powi(2)).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_matches_the_published_example() {
        // Newcombe (1998), table I: 81/263 -> 0.2553 .. 0.3662.
        let (l, u) = wilson(81, 263);
        assert!(close(l, 0.2553) && close(u, 0.3662), "{l} {u}");
    }

    #[test]
    fn newcombe_matches_the_published_example() {
        // Newcombe (1998), table II, example (a): 56/70 vs 48/80, difference 0.2000,
        // method 10 interval 0.0524 .. 0.3339 (here candidate minus baseline, so negated).
        let i = newcombe(56, 70, 48, 80);
        assert!(
            close(i.estimate, -0.2) && close(i.low, -0.3339) && close(i.high, -0.0524),
            "{i:?}"
        );
    }

    #[test]
    fn equal_rates_give_an_interval_around_zero_and_none_at_zero_failures() {
        let i = newcombe(0, 400, 0, 400);
        assert_eq!(i.estimate, 0.0);
        assert!(i.low < 0.0 && i.high > 0.0 && i.within(0.01), "{i:?}");
    }
}

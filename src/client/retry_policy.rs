//! The harness's retry loop around whole transactions: exponential backoff, optionally
//! with full jitter so that writers that collided do not collide again in lockstep.

use crate::scenario::HarnessRetry;
use rand::Rng;
use std::time::Duration;

const MAX_WAIT: Duration = Duration::from_secs(30);

/// How long to wait after failed attempt number `attempt` (1-based).
pub fn wait_after(policy: &HarnessRetry, attempt: u32) -> Duration {
    let exp = policy.backoff.powi(attempt.saturating_sub(1).min(60) as i32);
    let ms = (policy.base_wait_ms as f64 * exp).min(MAX_WAIT.as_millis() as f64);
    let ms = if policy.jitter {
        rand::rng().random_range(0.0..=ms)
    } else {
        ms
    };
    Duration::from_micros((ms * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: bool) -> HarnessRetry {
        HarnessRetry {
            max_attempts: 5,
            base_wait_ms: 50,
            backoff: 2.0,
            jitter,
        }
    }

    #[test]
    fn waits_grow_by_the_backoff_factor() {
        let p = policy(false);
        let waits: Vec<u128> = (1..=4).map(|a| wait_after(&p, a).as_millis()).collect();
        assert_eq!(waits, vec![50, 100, 200, 400]);
    }

    #[test]
    fn jitter_stays_within_the_exponential_bound_and_varies() {
        let p = policy(true);
        let waits: Vec<Duration> = (0..200).map(|_| wait_after(&p, 3)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(200)));
        assert!(waits.iter().any(|w| *w != waits[0]), "jitter produced 200 equal waits");
    }

    #[test]
    fn waits_are_capped() {
        let p = HarnessRetry {
            max_attempts: 100,
            base_wait_ms: 1000,
            backoff: 10.0,
            jitter: false,
        };
        assert_eq!(wait_after(&p, 60), MAX_WAIT);
    }
}

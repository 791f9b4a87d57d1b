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
    let ms = if policy.jitter { rand::rng().random_range(0.0..=ms) } else { ms };
    Duration::from_micros((ms * 1000.0) as u64)
}

//! The statistics `compare` and the aggregates of repeated runs rest on, kept apart from
//! any report type so each method is tested on numbers whose answer is known.
//!
//! - `spread`        median, min and max of repeated figures
//! - `bootstrap`     percentile bootstrap intervals for a difference of statistics
//! - `mann_whitney`  the rank test on two latency histograms (ties by bucket)
//! - `proportion`    Wilson and Newcombe intervals for failure rates
//! - `welch`         Welch's t interval for a difference of per-run means

pub mod bootstrap;
pub mod mann_whitney;
pub mod proportion;
pub mod spread;
pub mod welch;

/// Two-sided 95 %: the level every interval in this tool is given at.
pub const Z95: f64 = 1.959_963_984_540_054;

/// An estimate of a difference (candidate minus baseline) with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// The interval excludes zero: the difference is significant at 5 %.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    /// The whole interval lies within ±`margin`: any real difference is smaller than that.
    pub fn within(&self, margin: f64) -> bool {
        self.low >= -margin && self.high <= margin
    }
}

//! Latency histograms (HDR, microseconds from 1 µs to 1 hour, 3 significant digits) and
//! their summaries. The raw histogram travels in the report, serialized (HDR V2 + deflate,
//! base64), so later tools can merge runs and compare distributions, not just percentiles.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = (d.as_micros() as u64).clamp(1, h.high());
    let _ = h.record(us);
}

pub fn record_seconds(h: &mut Histogram<u64>, s: f64) {
    record(h, Duration::from_secs_f64(s.max(0.0)));
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// The raw histogram of microseconds: HDR V2 deflate serialization, base64.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hdr: String,
}

impl LatencySummary {
    /// Figures in milliseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        LatencySummary {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            hdr: encode(h),
        }
    }

    /// The histogram back from the report (empty if the report carried none).
    pub fn histogram(&self) -> anyhow::Result<Histogram<u64>> {
        if self.hdr.is_empty() {
            return Ok(new_histogram());
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(&self.hdr)?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| anyhow::anyhow!("not an HDR histogram: {e:?}"))?;
        Ok(h)
    }
}

fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// Latencies by outcome. Every outcome is measured, not only the commits that went through.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Latencies {
    /// COMMIT statements that went through.
    pub commit: LatencySummary,
    /// COMMIT statements that failed, until they failed (DuckLake's retries included).
    pub failed_commit: LatencySummary,
    /// COMMIT statements whose outcome was unknown when they returned.
    pub indeterminate_commit: LatencySummary,
    /// Whole committed transactions, first BEGIN to the COMMIT that went through,
    /// harness retries included.
    pub transaction: LatencySummary,
    /// Whole transactions that failed for good, first BEGIN to the last failure.
    pub failed_transaction: LatencySummary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_histogram_survives_the_round_trip() {
        let mut h = new_histogram();
        for ms in [1u64, 5, 5, 20, 700] {
            record(&mut h, Duration::from_millis(ms));
        }
        let s = LatencySummary::of(&h);
        let json = serde_json::to_string(&s).unwrap();
        let back: LatencySummary = serde_json::from_str(&json).unwrap();
        let h2 = back.histogram().unwrap();
        assert_eq!(h2.len(), 5);
        assert_eq!(h2.max(), h.max());
        assert_eq!(LatencySummary::of(&h2), s);
    }
}

//! A sweep's result: one row per point of the parameter matrix, and the envelope, the
//! largest writer count each other setting carried without a failure.

use super::executor::{Job, Outcome};
use super::figures::Aggregate;
use crate::parameter::{Param, Point};
use serde::{Deserialize, Serialize};

/// The key whose values make the envelope's axis.
pub const WRITERS_KEY: &str = "run.writers";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepResult {
    pub schema_version: u32,
    pub tool: crate::report::ToolInfo,
    pub scenario_file: String,
    pub params: Vec<Param>,
    /// `--set` applied to every point.
    pub overrides: Vec<String>,
    pub repeat: u32,
    pub seed: u64,
    pub started_at: String,
    pub finished_at: String,
    pub environment: String,
    /// The order the runs went in: each entry is the point index of that run.
    pub order: Vec<usize>,
    pub points: Vec<SweepPoint>,
    pub envelope: Envelope,
    /// Ctrl-C stopped the sweep early: the points say which runs are missing.
    pub interrupted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    pub point: Point,
    pub label: String,
    pub aggregate: Aggregate,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Envelope {
    /// Why there is none (the writer count was not swept).
    pub note: Option<String>,
    pub rows: Vec<EnvelopeRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeRow {
    /// The other parameters' values (e.g. the retry setting).
    pub setting: String,
    /// The largest writer count at which every repetition passed with zero failed commits.
    pub largest_clean_writers: Option<u32>,
    /// Writer counts that were not clean below that largest one (a non-monotonic envelope).
    pub unclean_below: Vec<u32>,
}

pub fn points(results: &[(Job, Outcome)], matrix: &[Point]) -> Vec<SweepPoint> {
    matrix
        .iter()
        .enumerate()
        .map(|(i, p)| SweepPoint {
            point: p.clone(),
            label: p.label(),
            aggregate: Aggregate::of(results.iter().filter(|(j, _)| j.group == i)),
        })
        .collect()
}

pub fn envelope(points: &[SweepPoint], params: &[Param]) -> Envelope {
    if !params.iter().any(|p| p.key == WRITERS_KEY) {
        return Envelope {
            note: Some(format!("no envelope: {WRITERS_KEY} was not among the --param keys")),
            rows: Vec::new(),
        };
    }
    let mut settings: Vec<String> = Vec::new();
    for p in points {
        let s = setting_of(&p.point);
        if !settings.contains(&s) {
            settings.push(s);
        }
    }
    let rows = settings
        .into_iter()
        .map(|setting| {
            let mut by_writers: Vec<(u32, bool)> = points
                .iter()
                .filter(|p| setting_of(&p.point) == setting)
                .filter_map(|p| {
                    Some((
                        p.point.get(WRITERS_KEY)?.parse().ok()?,
                        p.aggregate.all_passed && p.aggregate.zero_failed,
                    ))
                })
                .collect();
            by_writers.sort();
            let largest = by_writers.iter().filter(|(_, clean)| *clean).map(|(w, _)| *w).max();
            let unclean_below = by_writers
                .iter()
                .filter(|(w, clean)| !clean && largest.is_some_and(|l| *w < l))
                .map(|(w, _)| *w)
                .collect();
            EnvelopeRow {
                setting,
                largest_clean_writers: largest,
                unclean_below,
            }
        })
        .collect();
    Envelope { note: None, rows }
}

/// A point's setting apart from its writer count ("(as written)" when that is all it sets):
/// what the envelope and the heatmap group by.
pub fn setting_of(p: &Point) -> String {
    let others: Vec<String> = p
        .values
        .iter()
        .filter(|(k, _)| k != WRITERS_KEY)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if others.is_empty() {
        "(as written)".to_string()
    } else {
        others.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(writers: u32, retries: u32, clean: bool) -> SweepPoint {
        let p = Point {
            values: vec![
                (WRITERS_KEY.into(), writers.to_string()),
                ("retry.ducklake.max_retry_count".into(), retries.to_string()),
            ],
        };
        let aggregate = Aggregate {
            runs: 2,
            reports: 2,
            all_passed: clean,
            zero_failed: clean,
            ..Aggregate::default()
        };
        SweepPoint {
            label: p.label(),
            point: p,
            aggregate,
        }
    }

    #[test]
    fn the_envelope_is_the_largest_clean_writer_count_per_setting() {
        let params: Vec<Param> = ["run.writers=4,8,16", "retry.ducklake.max_retry_count=0,100"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let pts = vec![
            point(4, 0, true),
            point(8, 0, false),
            point(16, 0, false),
            point(4, 100, false),
            point(8, 100, true),
            point(16, 100, true),
        ];
        let e = envelope(&pts, &params);
        assert_eq!(e.rows.len(), 2);
        assert_eq!(e.rows[0].setting, "retry.ducklake.max_retry_count=0");
        assert_eq!(e.rows[0].largest_clean_writers, Some(4));
        assert_eq!(e.rows[1].largest_clean_writers, Some(16));
        assert_eq!(e.rows[1].unclean_below, vec![4]);
    }

    #[test]
    fn no_writer_axis_no_envelope_and_no_clean_point_says_none() {
        let params: Vec<Param> = vec!["retry.ducklake.max_retry_count=0,100".parse().unwrap()];
        assert!(envelope(&[], &params).note.is_some());
        let params: Vec<Param> = vec!["run.writers=4".parse().unwrap()];
        let pts = vec![SweepPoint {
            label: String::new(),
            point: Point {
                values: vec![(WRITERS_KEY.into(), "4".into())],
            },
            aggregate: Aggregate::default(),
        }];
        let e = envelope(&pts, &params);
        assert_eq!(e.rows[0].setting, "(as written)");
        assert_eq!(e.rows[0].largest_clean_writers, None);
    }
}

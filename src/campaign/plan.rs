//! Which jobs run in which order. A sweep runs its points in a shuffled order (a seed
//! makes it repeatable), so slow drift of the machine or the catalog (a growing catalog,
//! a warming cache) spreads over all points instead of favouring the first; a comparison
//! alternates its sides ABBA, so neither side always goes first.

use super::executor::{Executor, Job, Outcome};
use crate::scenario::Override;
use crate::util::interrupt;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What one group's jobs share: a point of a sweep or a side of a comparison.
#[derive(Debug, Clone)]
pub struct Group {
    pub label: String,
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    pub limit: Duration,
    /// What gives each job a fresh place to write: the key (`lake.table`; for the sql
    /// workload, whose statements name their own tables, `workload.schema`) and its value
    /// in the scenario; each job sets it to a name of its own made from that value.
    pub fresh: (String, String),
}

#[derive(Debug, Clone, Copy)]
pub enum Order {
    Shuffled {
        seed: u64,
    },
    /// Two groups: A B, B A, A B, ...
    Alternating,
}

/// `tag` makes the tables of this campaign differ from any earlier one's in the same
/// environment (a run id's random part does).
pub fn plan(groups: &[Group], repeat: u32, order: Order, tag: &str) -> Vec<Job> {
    let mut pairs: Vec<(usize, u32)> = Vec::new();
    for rep in 0..repeat {
        let mut round: Vec<usize> = (0..groups.len()).collect();
        if matches!(order, Order::Alternating) && rep % 2 == 1 {
            round.reverse();
        }
        pairs.extend(round.into_iter().map(|g| (g, rep)));
    }
    if let Order::Shuffled { seed } = order {
        pairs.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    }
    pairs
        .into_iter()
        .enumerate()
        .map(|(index, (g, rep))| {
            let group = &groups[g];
            let mut overrides = group.overrides.clone();
            let (key, base) = &group.fresh;
            overrides.push(Override {
                key: key.clone(),
                value: job_table(base, tag, index),
            });
            Job {
                index,
                group: g,
                rep,
                scenario: group.scenario.clone(),
                overrides,
                limit: group.limit,
            }
        })
        .collect()
}

/// A fresh table (or schema) per job, so no job reads another's rows (nor a seeded table of
/// an earlier campaign): `<table>_<tag>_j<index>`, within the 63 characters of an identifier.
fn job_table(table: &str, tag: &str, index: usize) -> String {
    let suffix = format!("_{tag}_j{index}");
    let keep = table.len().min(63 - suffix.len());
    format!("{}{suffix}", &table[..keep])
}

/// Where a campaign stands, for its progress line.
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub elapsed: Duration,
    pub next: Option<(&'a Job, &'a str)>,
}

impl Progress<'_> {
    /// `[3/8] 1m 12s elapsed, about 2m 24s left; next: run.writers=8 (repetition 2)`
    pub fn line(&self) -> String {
        let left = if self.done == 0 {
            "estimate after the first run".to_string()
        } else {
            let per = self.elapsed.as_secs_f64() / self.done as f64;
            format!(
                "about {} left",
                humantime::format_duration(Duration::from_secs((per * (self.total - self.done) as f64) as u64))
            )
        };
        let next = self
            .next
            .map(|(j, label)| format!("; next: {label} (repetition {})", j.rep + 1))
            .unwrap_or_default();
        format!(
            "[{}/{}] {} elapsed, {left}{next}",
            self.done,
            self.total,
            humantime::format_duration(Duration::from_secs(self.elapsed.as_secs()))
        )
    }
}

/// Sees every result so far after each job.
pub type OnDone<'a> = dyn FnMut(&[(Job, Outcome)]) + 'a;

/// Runs every job in order; after each, `on_done` sees all results so far (to write them,
/// so a crash of the harness loses nothing measured). After Ctrl-C no new job starts.
pub fn execute(
    executor: &mut dyn Executor,
    jobs: &[Job],
    labels: &[String],
    on_done: &mut OnDone,
    progress: &mut dyn FnMut(&Progress),
) -> Vec<(Job, Outcome)> {
    let start = Instant::now();
    let mut results: Vec<(Job, Outcome)> = Vec::with_capacity(jobs.len());
    for job in jobs {
        progress(&Progress {
            done: results.len(),
            total: jobs.len(),
            elapsed: start.elapsed(),
            next: Some((job, labels[job.group].as_str())),
        });
        let outcome = if interrupt::is_interrupted() {
            Outcome::NotRun {
                why: "interrupted before it started".into(),
            }
        } else {
            executor.execute(job)
        };
        results.push((job.clone(), outcome));
        on_done(&results);
    }
    progress(&Progress {
        done: results.len(),
        total: jobs.len(),
        elapsed: start.elapsed(),
        next: None,
    });
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn groups(n: usize) -> Vec<Group> {
        (0..n)
            .map(|i| Group {
                label: format!("g{i}"),
                scenario: "s.toml".into(),
                overrides: Vec::new(),
                limit: Duration::from_secs(1),
                fresh: ("lake.table".into(), "entries".into()),
            })
            .collect()
    }

    #[test]
    fn every_point_runs_repeat_times_in_a_seeded_shuffle() {
        let jobs = plan(&groups(4), 3, Order::Shuffled { seed: 7 }, "t");
        assert_eq!(jobs.len(), 12);
        let mut per_group: HashMap<usize, Vec<u32>> = HashMap::new();
        for j in &jobs {
            per_group.entry(j.group).or_default().push(j.rep);
        }
        assert!(per_group.values().all(|reps| {
            let mut r = reps.clone();
            r.sort();
            r == vec![0, 1, 2]
        }));
        let again = plan(&groups(4), 3, Order::Shuffled { seed: 7 }, "t");
        assert_eq!(
            jobs.iter().map(|j| j.group).collect::<Vec<_>>(),
            again.iter().map(|j| j.group).collect::<Vec<_>>()
        );
        let unshuffled: Vec<usize> = (0..12).map(|i| i % 4).collect();
        assert_ne!(
            jobs.iter().map(|j| j.group).collect::<Vec<_>>(),
            unshuffled,
            "seed 7 should move something"
        );
    }

    #[test]
    fn two_sides_alternate_abba_and_every_job_has_its_own_table() {
        let jobs = plan(&groups(2), 4, Order::Alternating, "t");
        assert_eq!(
            jobs.iter().map(|j| j.group).collect::<Vec<_>>(),
            vec![0, 1, 1, 0, 0, 1, 1, 0]
        );
        let tables: std::collections::HashSet<String> =
            jobs.iter().map(|j| j.overrides.last().unwrap().value.clone()).collect();
        assert_eq!(tables.len(), 8);
        assert_eq!(job_table(&"t".repeat(63), "a1b2c3", 123).len(), 63);
        assert_eq!(job_table("entries", "a1b2c3", 4), "entries_a1b2c3_j4");
    }

    struct Fake {
        ran: Vec<usize>,
    }

    impl Executor for Fake {
        fn execute(&mut self, job: &Job) -> Outcome {
            self.ran.push(job.index);
            Outcome::Broken {
                why: "fake".into(),
                exit: Some(3),
                log: None,
            }
        }
    }

    #[test]
    fn results_are_handed_over_after_every_job_and_progress_estimates() {
        let jobs = plan(&groups(3), 1, Order::Shuffled { seed: 1 }, "t");
        let labels: Vec<String> = (0..3).map(|i| format!("g{i}")).collect();
        let mut fake = Fake { ran: Vec::new() };
        let mut seen = Vec::new();
        let mut lines = Vec::new();
        let results = execute(&mut fake, &jobs, &labels, &mut |r| seen.push(r.len()), &mut |p| {
            lines.push(p.line())
        });
        assert_eq!(fake.ran, vec![0, 1, 2]);
        assert_eq!(seen, vec![1, 2, 3]);
        assert_eq!(results.len(), 3);
        assert!(
            lines[0].starts_with("[0/3]") && lines[0].contains("estimate after the first run"),
            "{lines:?}"
        );
        assert!(lines[3].starts_with("[3/3]"), "{lines:?}");
    }
}

//! What a comparison weighs first: whether the checks hold on each side, and which kinds of
//! failed commits moved. A candidate that breaks a check is never better, whatever its
//! latency; one that fixes a check is better even when slower; and a failed commit is not
//! always lost work: a conflict refused cleanly is the lake doing its job.

use super::figures::{Aggregate, CheckTally};
use crate::stats::{proportion, Interval};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use super::judgement::{Judgement, Verdict};

/// One check over the runs of both sides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckComparison {
    pub name: String,
    pub baseline: CheckTally,
    pub candidate: CheckTally,
    /// The candidate's share of failing runs minus the baseline's (Newcombe's interval).
    pub interval: Option<Interval>,
    pub judgement: Judgement,
}

impl CheckComparison {
    /// Fails on the candidate, never on the baseline (which judged it).
    pub fn newly_failing(&self) -> bool {
        self.candidate.failing() > 0 && self.baseline.failing() == 0 && self.baseline.judged() > 0
    }

    /// Failed on the baseline, never on the candidate (which judged it).
    pub fn fixed(&self) -> bool {
        self.baseline.failing() > 0 && self.candidate.failing() == 0 && self.candidate.judged() > 0
    }

    pub fn fails_anywhere(&self) -> bool {
        self.baseline.failing() > 0 || self.candidate.failing() > 0
    }

    /// Known findings that a comparison reports and does not weigh (bookkeeping, a client
    /// leak: `weigh = false` in the registry), on either side.
    pub fn unweighed_known(&self) -> bool {
        self.baseline.known > self.baseline.known_weighed || self.candidate.known > self.candidate.known_weighed
    }

    /// The known finding that explained the check on either side ("duckdb/ducklake#1393").
    pub fn known_reference(&self) -> Option<&str> {
        self.baseline.known_as.as_deref().or(self.candidate.known_as.as_deref())
    }

    /// "`upsert_keys` (3 of 3 runs failed -> 0 of 3; known duckdb/ducklake#1393)".
    pub fn change(&self) -> String {
        let (b, c) = (&self.baseline, &self.candidate);
        let known = self
            .known_reference()
            .map(|k| format!("; known {k}"))
            .unwrap_or_default();
        format!(
            "`{}` ({} of {} runs failed -> {} of {}{known})",
            self.name,
            b.failing(),
            b.judged(),
            c.failing(),
            c.judged()
        )
    }

    /// How a side's runs ended for this check, for tables: "3 fail (duplicate_key)".
    pub fn side_text(t: &CheckTally) -> String {
        let mut parts = Vec::new();
        for (n, word) in [
            (t.pass, "pass"),
            (t.warn, "warn"),
            (t.fail, "fail"),
            (t.known, "known"),
            (t.error, "error"),
            (t.skipped, "skipped"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {word}"));
            }
        }
        let problems: Vec<&str> = t.problems.keys().map(String::as_str).collect();
        let problems = if problems.is_empty() {
            String::new()
        } else {
            format!(" ({})", problems.join(", "))
        };
        format!("{}{problems}", parts.join(", "))
    }
}

/// Every check that judged on either side, with the difference in its failing runs.
pub fn checks(a: &Aggregate, b: &Aggregate) -> Vec<CheckComparison> {
    let names: BTreeSet<&String> = a.checks.keys().chain(b.checks.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (ta, tb) = (
            a.checks.get(name).cloned().unwrap_or_default(),
            b.checks.get(name).cloned().unwrap_or_default(),
        );
        if ta.judged() == 0 && tb.judged() == 0 {
            continue; // skipped everywhere: nothing to weigh
        }
        let both = ta.judged() > 0 && tb.judged() > 0;
        let (xa, xb) = (ta.failing(), tb.failing());
        let interval = both.then(|| proportion::newcombe(xa as u64, ta.judged() as u64, xb as u64, tb.judged() as u64));
        let judgement = match interval {
            None => Judgement::NotTested,
            Some(_) if xa == 0 && xb == 0 => Judgement::NoDifference,
            Some(_) if xa == ta.judged() && xb == tb.judged() => Judgement::NoDifference,
            Some(i) if i.excludes_zero() => {
                if i.high < 0.0 {
                    Judgement::Better
                } else {
                    Judgement::Worse
                }
            }
            Some(_) => Judgement::Inconclusive,
        };
        out.push(CheckComparison {
            name: name.clone(),
            baseline: ta,
            candidate: tb,
            interval,
            judgement,
        });
    }
    out
}

fn listed(checks: &[&CheckComparison]) -> String {
    checks.iter().map(|c| c.change()).collect::<Vec<_>>().join(", ")
}

/// The verdict when the checks decide it, with its reason; `None` when no check differs
/// (then lost work, then speed decide). Broken checks come before fixed ones: a candidate
/// that fixes one property and breaks another is not better.
pub fn decide(checks: &[CheckComparison]) -> Option<(Verdict, String)> {
    let worse: Vec<&CheckComparison> = checks.iter().filter(|c| c.judgement == Judgement::Worse).collect();
    if !worse.is_empty() {
        return Some((Verdict::Worse, format!("the candidate breaks {}", listed(&worse))));
    }
    let broken: Vec<&CheckComparison> = checks.iter().filter(|c| c.newly_failing()).collect();
    if !broken.is_empty() {
        return Some((
            Verdict::Inconclusive,
            format!(
                "the candidate failed {}, which the baseline never failed: one failing run shows the property can \
                    break with the candidate, but so few runs cannot show the difference is real; run more \
                    repetitions (--repeat), and read the failing runs' reports",
                listed(&broken)
            ),
        ));
    }
    let better: Vec<&CheckComparison> = checks.iter().filter(|c| c.judgement == Judgement::Better).collect();
    if !better.is_empty() {
        return Some((Verdict::Better, format!("the candidate fixes {}", listed(&better))));
    }
    let fixed: Vec<&CheckComparison> = checks.iter().filter(|c| c.fixed()).collect();
    if !fixed.is_empty() {
        return Some((
            Verdict::Inconclusive,
            format!(
                "the candidate passed {}, but so few runs cannot show the fix is real (2 of 2 failing runs \
                against 0 of 2 can); run more repetitions (--repeat)",
                listed(&fixed)
            ),
        ));
    }
    None
}

/// Checks that failed on both sides without being shown to differ: said in every reason,
/// and they keep a comparison from "no difference" when the share may differ.
pub fn unresolved(checks: &[CheckComparison]) -> (Vec<String>, bool) {
    let open: Vec<&CheckComparison> = checks.iter().filter(|c| c.fails_anywhere()).collect();
    let blocks_equivalence = open.iter().any(|c| c.judgement != Judgement::NoDifference);
    (open.iter().map(|c| c.change()).collect(), blocks_equivalence)
}

/// "; known upstream findings, reported and not weighed: ..." (or nothing): the findings
/// the registry marks as not changing the data (`weigh = false`), on either side.
pub fn unweighed_known(checks: &[CheckComparison]) -> String {
    let known: Vec<String> = checks
        .iter()
        .filter(|c| c.unweighed_known())
        .map(|c| {
            let reference = c.known_reference().unwrap_or("?");
            let (b, k) = (&c.baseline, &c.candidate);
            format!(
                "`{}` ({reference}: {} of {} runs -> {} of {})",
                c.name,
                b.known - b.known_weighed,
                b.judged(),
                k.known - k.known_weighed,
                k.judged()
            )
        })
        .collect();
    if known.is_empty() {
        String::new()
    } else {
        format!(
            "; known upstream findings reported, not weighed: {} (--strict weighs them)",
            known.join(", ")
        )
    }
}

/// One class of failed (or unknown-outcome) transactions on both sides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassComparison {
    /// "failed" or "indeterminate".
    pub outcome: String,
    pub class: String,
    pub baseline: u64,
    pub candidate: u64,
    /// Shares of all transactions, and candidate minus baseline with Newcombe's interval.
    pub baseline_rate: f64,
    pub candidate_rate: f64,
    pub interval: Option<Interval>,
    pub judgement: Judgement,
    /// What moves this class (retry settings, the workload, the environment).
    pub note: String,
}

/// What moves a class: the advice a comparison gives must fit it ("run more repetitions"
/// is no advice for a conflict that DuckLake never retries).
pub fn class_note(class: &str) -> &'static str {
    match class {
        "conflict" => {
            "logical conflicts DuckLake refuses without retrying: its retry settings cannot change them, \
            only what the transactions touch (or the harness's retries, which re-run the whole transaction)"
        }
        "retries_exhausted" => "DuckLake's own retries ran out: retry.ducklake settings move these",
        "catalog_primary_key" => "two commits raced for one snapshot id in the catalog; DuckLake retries these",
        "catalog_busy" => "SQLite's write lock refused the commit; DuckLake does not retry it",
        "connection_lost" | "s3_http" => "the services failed or were cut (faults, the environment)",
        "interrupted_by_deadline" => "cut off by the run's deadline or Ctrl-C",
        "unknown" => "no error class recorded (an outcome the COMMIT never answered)",
        _ => "statements failing for other reasons: read the errors in the runs' reports",
    }
}

pub fn classes(a: &Aggregate, b: &Aggregate) -> Vec<ClassComparison> {
    let mut out = Vec::new();
    let sides = [
        ("failed", &a.failed_by_class, &b.failed_by_class),
        ("indeterminate", &a.indeterminate_by_class, &b.indeterminate_by_class),
    ];
    for (outcome, ca, cb) in sides {
        let names: BTreeSet<&String> = ca.keys().chain(cb.keys()).collect();
        for class in names {
            let (xa, xb) = (ca.get(class).copied().unwrap_or(0), cb.get(class).copied().unwrap_or(0));
            let interval = (a.transactions > 0 && b.transactions > 0)
                .then(|| proportion::newcombe(xa, a.transactions, xb, b.transactions));
            let judgement = match interval {
                Some(i) if i.excludes_zero() => {
                    if i.high < 0.0 {
                        Judgement::Better
                    } else {
                        Judgement::Worse
                    }
                }
                Some(_) => Judgement::Inconclusive,
                None => Judgement::NotTested,
            };
            let rate = |x: u64, n: u64| if n == 0 { f64::NAN } else { x as f64 / n as f64 };
            out.push(ClassComparison {
                outcome: outcome.into(),
                class: class.clone(),
                baseline: xa,
                candidate: xb,
                baseline_rate: rate(xa, a.transactions),
                candidate_rate: rate(xb, b.transactions),
                interval,
                judgement,
                note: class_note(class).into(),
            });
        }
    }
    out
}

/// "failed `conflict` 0 -> 12 (logical conflicts ...)": the classes whose counts differ,
/// with what moves each when `notes`.
pub fn moved(classes: &[ClassComparison], notes: bool) -> Vec<String> {
    classes
        .iter()
        .filter(|c| c.baseline != c.candidate)
        .map(|c| {
            let note = if notes { format!(" ({})", c.note) } else { String::new() };
            format!("{} `{}` {} -> {}{note}", c.outcome, c.class, c.baseline, c.candidate)
        })
        .collect()
}

/// The classes that differ are all logical conflicts, which retries cannot change: more
/// repetitions only measure the same conflict rate more closely.
pub fn only_unretryable_moved(classes: &[ClassComparison]) -> bool {
    let differing: Vec<&ClassComparison> = classes.iter().filter(|c| c.baseline != c.candidate).collect();
    !differing.is_empty() && differing.iter().all(|c| c.class == "conflict")
}

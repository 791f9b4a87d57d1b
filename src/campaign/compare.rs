//! Baseline against candidate: each figure with its difference, a 95 % interval from the
//! method that fits it, and a judgement; then one verdict. "No difference" is said only
//! when the intervals show any difference is small, otherwise "inconclusive": a single
//! run that happens to look better is not a fix.

use super::correctness::{self, CheckComparison, ClassComparison};
use super::figures::Aggregate;
pub use super::judgement::{Better, Judgement, Verdict};
use crate::stats::bootstrap::{self, Weighted};
use crate::stats::{mann_whitney, proportion, welch, Interval};
use serde::{Deserialize, Serialize};

/// Equivalence margins: a difference inside them is "no difference" for a person.
const RATE_MARGIN: f64 = 0.01; // one percentage point of transactions
const RELATIVE_MARGIN: f64 = 0.10; // ten percent of the baseline's figure

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FigureComparison {
    pub name: String,
    pub unit: String,
    pub better: Better,
    pub baseline: f64,
    pub candidate: f64,
    /// Candidate minus baseline, with its 95 % interval.
    pub interval: Option<Interval>,
    pub method: String,
    pub p_value: Option<f64>,
    pub judgement: Judgement,
    /// Whether this figure can make the verdict "no difference" (it must be equivalent).
    pub decides_equivalence: bool,
    /// Failed or unknown commits (lost work) weigh before speed.
    pub correctness: bool,
    /// Shown, but left out of the verdict: a commit-level test when the runs' own figures
    /// decide (absent in comparisons written before it existed).
    #[serde(default)]
    pub informational: bool,
}

/// A figure as a table shows it: baseline, candidate, difference with its interval, and
/// the judgement in words (rates in percent).
pub struct FigureText {
    pub baseline: String,
    pub candidate: String,
    pub difference: String,
    pub judgement: &'static str,
}

impl FigureComparison {
    pub fn text(&self) -> FigureText {
        let num = |x: f64, d: usize| {
            if x.is_finite() {
                format!("{x:.d$}")
            } else {
                "n/a".into()
            }
        };
        let percent = self.unit == "of transactions";
        let show = |x: f64| {
            if percent {
                format!("{}%", num(x * 100.0, 2))
            } else {
                num(x, 3)
            }
        };
        let difference = match (&self.interval, self.p_value) {
            (Some(i), _) => format!("{} ({} to {})", show(i.estimate), show(i.low), show(i.high)),
            (None, Some(p)) if p < 1e-4 => "p < 0.0001".into(),
            (None, Some(p)) => format!("p = {}", num(p, 4)),
            (None, None) => format!("{} (no interval)", show(self.candidate - self.baseline)),
        };
        let judgement = if self.informational {
            "for information"
        } else {
            self.judgement.word()
        };
        FigureText {
            baseline: show(self.baseline),
            candidate: show(self.candidate),
            difference,
            judgement,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Side {
    pub label: String,
    /// A report, a directory of reports, or a scenario that was run.
    pub source: String,
    pub aggregate: Aggregate,
    /// Each extension file the side's runs loaded, with its hash, when they differ by run
    /// the first run's.
    pub extensions: Vec<crate::report::ExtensionInfo>,
}

impl Side {
    /// "ducklake d8a1881e sha256 e51bf9e8d933": which DuckLake this side ran.
    pub fn ducklake(&self) -> String {
        self.extensions
            .iter()
            .filter(|e| e.name == "ducklake")
            .map(|e| format!("ducklake {} sha256 {}", e.version, &e.sha256[..e.sha256.len().min(12)]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub schema_version: u32,
    pub tool: crate::report::ToolInfo,
    pub baseline: Side,
    pub candidate: Side,
    pub figures: Vec<FigureComparison>,
    /// Every check that judged on either side: weighed before anything else.
    #[serde(default)]
    pub checks: Vec<CheckComparison>,
    /// Failed and unknown-outcome transactions by error class.
    #[serde(default)]
    pub classes: Vec<ClassComparison>,
    /// Checks the candidate failed in some run and the baseline in none (`--fail-if-worse`
    /// exits 1 on them even when too few runs make the verdict inconclusive).
    #[serde(default)]
    pub newly_failing: Vec<String>,
    pub verdict: Verdict,
    pub verdict_reason: String,
}

pub fn compare(baseline: Side, candidate: Side) -> Comparison {
    let (a, b) = (&baseline.aggregate, &candidate.aggregate);
    let figures = figures(a, b);
    let checks = correctness::checks(a, b);
    let classes = correctness::classes(a, b);
    let (verdict, verdict_reason) = decide(
        &Weighed {
            figures: &figures,
            checks: &checks,
            classes: &classes,
        },
        a,
        b,
    );
    let newly_failing = checks
        .iter()
        .filter(|c| c.newly_failing())
        .map(|c| c.name.clone())
        .collect();
    Comparison {
        schema_version: 2,
        tool: Default::default(),
        baseline,
        candidate,
        figures,
        checks,
        classes,
        newly_failing,
        verdict,
        verdict_reason,
    }
}

impl Comparison {
    /// `--fail-if-worse`: worse, or a check the candidate broke in any run.
    pub fn fails_ci(&self) -> bool {
        self.verdict == Verdict::Worse || !self.newly_failing.is_empty()
    }
}

fn judge(interval: Option<Interval>, better: Better, margin: f64) -> Judgement {
    let Some(i) = interval else { return Judgement::NotTested };
    if i.excludes_zero() {
        let candidate_higher = i.low > 0.0;
        return if candidate_higher == (better == Better::Higher) {
            Judgement::Better
        } else {
            Judgement::Worse
        };
    }
    if i.within(margin) {
        Judgement::NoDifference
    } else {
        Judgement::Inconclusive
    }
}

fn rate(name: &str, xa: u64, a: &Aggregate, xb: u64, b: &Aggregate) -> FigureComparison {
    let interval = (a.transactions > 0 && b.transactions > 0)
        .then(|| proportion::newcombe(xa, a.transactions, xb, b.transactions));
    let r = |x: u64, n: u64| if n == 0 { f64::NAN } else { x as f64 / n as f64 };
    FigureComparison {
        name: name.into(),
        unit: "of transactions".into(),
        better: Better::Lower,
        baseline: r(xa, a.transactions),
        candidate: r(xb, b.transactions),
        interval,
        method: "Newcombe's hybrid score interval (pooled over runs)".into(),
        p_value: None,
        judgement: judge(interval, Better::Lower, RATE_MARGIN),
        decides_equivalence: true,
        correctness: true,
        informational: false,
    }
}

fn latency_quantile(name: &str, q: f64, a: &Weighted, b: &Weighted, decides: bool) -> FigureComparison {
    let interval = bootstrap::of_quantile(a, b, q);
    let base = a.quantile(q);
    FigureComparison {
        name: name.into(),
        unit: "ms".into(),
        better: Better::Lower,
        baseline: base,
        candidate: b.quantile(q),
        interval,
        method: "bootstrap of the merged commit latencies (percentile interval)".into(),
        p_value: None,
        judgement: judge(interval, Better::Lower, RELATIVE_MARGIN * base.abs()),
        decides_equivalence: decides,
        correctness: false,
        informational: false,
    }
}

/// The merged commit histogram as weighted milliseconds.
fn weighted(a: &Aggregate) -> Weighted {
    let h = a
        .commit_latency_ms
        .histogram()
        .unwrap_or_else(|_| crate::metrics::latency::new_histogram());
    Weighted::new(
        h.iter_recorded()
            .map(|v| (v.value_iterated_to() as f64 / 1000.0, v.count_at_value())),
    )
}

/// Both sides have 2 runs or more with commit latencies: the runs' own p50 and p99 are
/// compared, so a run's shared circumstances (the machine's load that hour) count once,
/// not once per commit.
fn latency_over_runs(a: &Aggregate, b: &Aggregate) -> bool {
    let runs = |agg: &Aggregate| {
        agg.per_run
            .iter()
            .filter(|f| f.commit_p50_ms.is_finite() && f.commits > 0)
            .count()
    };
    runs(a) >= 2 && runs(b) >= 2
}

fn figures(a: &Aggregate, b: &Aggregate) -> Vec<FigureComparison> {
    let (wa, wb) = (weighted(a), weighted(b));
    let mut out = vec![
        rate("failed commits", a.failed_total, a, b.failed_total, b),
        rate(
            "indeterminate commits",
            a.indeterminate_total,
            a,
            b.indeterminate_total,
            b,
        ),
    ];
    out.push(per_run_mean(
        "commits per second",
        "commits/s (mean of runs)",
        Better::Higher,
        |f| f.commits_per_second,
        a,
        b,
    ));
    out.extend(latency_percentiles(a, b, &wa, &wb));
    out.extend(latency_distribution(&wa, &wb, latency_over_runs(a, b)));
    out.push(per_run_mean(
        "catalog rollbacks per commit",
        "hidden DuckLake retries (mean of runs)",
        Better::Lower,
        |f| f.catalog_rollbacks_per_commit,
        a,
        b,
    ));
    out
}

/// Commit latency p50 and p99: over the runs' own figures when both sides have two runs
/// or more, else over the merged commits `wa` and `wb`.
fn latency_percentiles(a: &Aggregate, b: &Aggregate, wa: &Weighted, wb: &Weighted) -> [FigureComparison; 2] {
    // Latency intervals are wide with one or two runs (commits retried inside DuckLake make
    // the distribution bimodal: ±19 % on the median of 600 commits, measured); they decide
    // better or worse when significant, but "no difference" rests on the lost work.
    if latency_over_runs(a, b) {
        [
            per_run_mean(
                "commit latency p50",
                "ms (mean of the runs' p50)",
                Better::Lower,
                |f| f.commit_p50_ms,
                a,
                b,
            ),
            per_run_mean(
                "commit latency p99",
                "ms (mean of the runs' p99)",
                Better::Lower,
                |f| f.commit_p99_ms,
                a,
                b,
            ),
        ]
    } else {
        // One run a side: only its commits can be resampled (see decide's caveat).
        [
            latency_quantile("commit latency p50", 0.5, wa, wb, false),
            latency_quantile("commit latency p99", 0.99, wa, wb, false),
        ]
    }
}

/// Whether the candidate's commits are slower than the baseline's, over all commits; only
/// shown when the runs' own percentiles decide (`over_runs`).
fn latency_distribution(wa: &Weighted, wb: &Weighted, over_runs: bool) -> Option<FigureComparison> {
    let mw = mann_whitney::test(wa, wb)?;
    let significant = mw.p_value < 0.05;
    Some(FigureComparison {
        name: "commit latency distribution".into(),
        unit: "P(candidate slower)".into(),
        better: Better::Lower,
        baseline: 0.5,
        candidate: mw.probability_greater,
        interval: None,
        method: if over_runs {
            "Mann-Whitney U over all commits (commit-level: shown, not deciding; the runs' p50 and p99 decide)".into()
        } else {
            "Mann-Whitney U, normal approximation with tie correction".into()
        },
        p_value: Some(mw.p_value),
        judgement: match (significant, mw.probability_greater < 0.5) {
            (true, true) => Judgement::Better,
            (true, false) => Judgement::Worse,
            (false, _) if (mw.probability_greater - 0.5).abs() < 0.05 => Judgement::NoDifference,
            (false, _) => Judgement::Inconclusive,
        },
        decides_equivalence: false,
        correctness: false,
        informational: over_runs,
    })
}

/// A figure each run has once (commits/s, its p50): the mean of runs, with Welch's t
/// interval of the difference of means when both sides have 2 runs or more.
fn per_run_mean(
    name: &str,
    unit: &str,
    better: Better,
    get: fn(&super::figures::RunFigures) -> f64,
    a: &Aggregate,
    b: &Aggregate,
) -> FigureComparison {
    let values = |agg: &Aggregate| {
        agg.per_run
            .iter()
            .map(get)
            .filter(|x| x.is_finite())
            .collect::<Vec<f64>>()
    };
    let (va, vb) = (values(a), values(b));
    let interval = welch::of_means(&va, &vb);
    FigureComparison {
        name: name.into(),
        unit: unit.into(),
        better,
        baseline: mean_or_nan(&va),
        candidate: mean_or_nan(&vb),
        interval,
        method: "Welch's t interval of the difference of per-run means (needs 2 runs a side)".into(),
        p_value: None,
        judgement: judge(interval, better, RELATIVE_MARGIN * mean_or_nan(&va).abs()),
        decides_equivalence: false,
        correctness: false,
        informational: false,
    }
}

fn mean_or_nan(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        bootstrap::mean(v)
    }
}

/// What the verdict weighs, in its order: the checks, the lost work (by class), the speed.
struct Weighed<'a> {
    figures: &'a [FigureComparison],
    checks: &'a [CheckComparison],
    classes: &'a [ClassComparison],
}

/// Correctness first: a check that holds on one side and not the other decides (a
/// candidate that breaks a check is never better, one that fixes it is better even when
/// slower), and the reason then names what the lost work and the speed did beside it. Only
/// when no check differs do the failed and indeterminate commits decide, and only when
/// they do not differ the speed figures.
fn decide(w: &Weighed, a: &Aggregate, b: &Aggregate) -> (Verdict, String) {
    if a.reports == 0 || b.reports == 0 {
        return (Verdict::Inconclusive, "a side has no report to compare".into());
    }
    let known = correctness::unweighed_known(w.checks);
    if let Some((verdict, why)) = correctness::decide(w.checks) {
        return (verdict, format!("{why}{}{known}", beside_correctness(w)));
    }
    let (verdict, why) = decide_on_work_and_speed(w, a, b);
    let (failing_both, blocks) = correctness::unresolved(w.checks);
    let both = if failing_both.is_empty() {
        String::new()
    } else {
        format!(
            "; checks failing on both sides, not shown to differ: {}",
            failing_both.join(", ")
        )
    };
    let both = format!("{both}{known}");
    if verdict == Verdict::NoDifference && blocks {
        return (
            Verdict::Inconclusive,
            format!(
                "no difference in lost work or speed, but a check's failing runs may \
            differ{both}; run more repetitions (--repeat)"
            ),
        );
    }
    (verdict, format!("{why}{both}"))
}

/// What lost work and speed did, for a verdict the checks decided: the price or the bonus.
fn beside_correctness(w: &Weighed) -> String {
    let names = |correctness: bool, j: Judgement| names_of(w.figures, correctness, j);
    let mut parts = Vec::new();
    let moved = correctness::moved(w.classes, true);
    if !moved.is_empty() {
        parts.push(format!("commits by class: {}", moved.join("; ")));
    }
    for (label, j) in [("worse in", Judgement::Worse), ("better in", Judgement::Better)] {
        let (work, speed) = (names(true, j), names(false, j));
        let all: Vec<&str> = [work.as_str(), speed.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        if !all.is_empty() {
            parts.push(format!("{label} {}", all.join(", ")));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; beside it: {}", parts.join("; "))
    }
}

fn names_of(figures: &[FigureComparison], correctness: bool, j: Judgement) -> String {
    figures
        .iter()
        .filter(|f| f.correctness == correctness && f.judgement == j && !f.informational)
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lost work weighs first: the failed and indeterminate commits decide if either differs
/// significantly (a fix that removes failures at the price of a slower p99 is better, and
/// the reason names the price); only when they do not, the speed figures decide. "No
/// difference" needs no significant difference anywhere and the lost work shown
/// equivalent (its intervals within 1 percentage point).
fn decide_on_work_and_speed(w: &Weighed, a: &Aggregate, b: &Aggregate) -> (Verdict, String) {
    decide_on_lost_work(w)
        .or_else(|| decide_on_speed(w, a, b))
        .unwrap_or_else(|| undecided(w))
}

/// " (by class: ...)": the classes of failed commits that moved, if any did.
fn moved_by_class(w: &Weighed) -> String {
    let moved = correctness::moved(w.classes, true);
    if moved.is_empty() {
        String::new()
    } else {
        format!(" (by class: {})", moved.join("; "))
    }
}

/// Worse or better when a lost-work figure differs significantly; the reason names what
/// speed did the other way.
fn decide_on_lost_work(w: &Weighed) -> Option<(Verdict, String)> {
    let names = |correctness: bool, j: Judgement| names_of(w.figures, correctness, j);
    let price = |better: bool| {
        let other = names(false, if better { Judgement::Worse } else { Judgement::Better });
        match (other.is_empty(), better) {
            (true, _) => String::new(),
            (false, true) => format!("; at a price: worse in {other}"),
            (false, false) => format!("; though better in {other}"),
        }
    };
    let by_class = moved_by_class(w);
    let (worse, better) = (names(true, Judgement::Worse), names(true, Judgement::Better));
    if !worse.is_empty() {
        return Some((
            Verdict::Worse,
            format!(
                "the candidate loses more work: significantly worse in {worse}{by_class}{}",
                price(false)
            ),
        ));
    }
    if !better.is_empty() {
        return Some((
            Verdict::Better,
            format!(
                "the candidate loses less work: significantly better in {better}{by_class}{}",
                price(true)
            ),
        ));
    }
    None
}

/// Worse or better when a speed figure differs significantly and the lost work does not.
fn decide_on_speed(w: &Weighed, a: &Aggregate, b: &Aggregate) -> Option<(Verdict, String)> {
    let (worse, better) = (
        names_of(w.figures, false, Judgement::Worse),
        names_of(w.figures, false, Judgement::Better),
    );
    // Measured: an A/A comparison (the same scenario on both sides) on a machine whose load
    // changed between runs came out "significantly better" on latency, because commits of
    // one run share its circumstances and these intervals treat them as independent.
    // With 2 runs a side or more the runs' own figures decide and this caveat does not apply.
    let caveat = if latency_over_runs(a, b) {
        ""
    } else {
        "; with one run a side, latency intervals treat commits as independent and overstate significance when the \
            machine drifts between runs: confirm with more runs (--repeat) or an A/A comparison (the same side twice)"
    };
    if !worse.is_empty() {
        return Some((
            Verdict::Worse,
            format!("no difference in lost work shown; the candidate is significantly worse in: {worse}{caveat}"),
        ));
    }
    if !better.is_empty() {
        return Some((
            Verdict::Better,
            format!(
                "no difference in lost work shown; the candidate is significantly better in: \
            {better}, and worse in nothing{caveat}"
            ),
        ));
    }
    None
}

/// Nothing differs significantly: no difference if the lost work is shown equivalent,
/// otherwise inconclusive, with what would settle it.
fn undecided(w: &Weighed) -> (Verdict, String) {
    let open: Vec<&str> = w
        .figures
        .iter()
        .filter(|f| f.decides_equivalence && f.judgement != Judgement::NoDifference)
        .map(|f| f.name.as_str())
        .collect();
    if open.is_empty() {
        (
            Verdict::NoDifference,
            "no check differs, no significant difference in any figure, and the intervals of \
            failed and indeterminate commits lie within 1 percentage point"
                .into(),
        )
    } else if correctness::only_unretryable_moved(w.classes) {
        let short = correctness::moved(w.classes, false).join("; ");
        (
            Verdict::Inconclusive,
            format!(
                "no significant difference, and the failed commits that differ are all logical conflicts \
                ({short}), which DuckLake refuses without retrying: retry settings cannot change them, and more \
                repetitions only measure the same conflict rate more closely; what the transactions touch (or the \
                harness's retries, which re-run them) can"
            ),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "no significant difference, but the intervals are too wide to rule one out \
            for: {}{}; run more repetitions (--repeat)",
                open.join(", "),
                moved_by_class(w)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::figures::RunFigures;

    fn side(failed: u64, transactions: u64, latencies_ms: &[(u64, u64)], per_run_cps: &[f64]) -> Aggregate {
        let mut h = crate::metrics::latency::new_histogram();
        for &(ms, n) in latencies_ms {
            h.record_n(ms * 1000, n).unwrap();
        }
        Aggregate {
            runs: per_run_cps.len(),
            reports: per_run_cps.len(),
            transactions,
            failed_total: failed,
            commit_latency_ms: crate::metrics::LatencySummary::of(&h),
            per_run: per_run_cps
                .iter()
                .map(|&c| RunFigures {
                    commits_per_second: c,
                    catalog_rollbacks_per_commit: f64::NAN,
                    ..Default::default()
                })
                .collect(),
            ..Aggregate::default()
        }
    }

    fn run(a: Aggregate, b: Aggregate) -> Comparison {
        let s = |agg| Side {
            label: String::new(),
            source: String::new(),
            aggregate: agg,
            extensions: Vec::new(),
        };
        compare(s(a), s(b))
    }

    #[test]
    fn fewer_failures_make_the_candidate_better() {
        let lat = [(50, 300), (80, 100)];
        let c = run(side(120, 400, &lat, &[10.0]), side(2, 400, &lat, &[10.0]));
        assert_eq!(c.verdict, Verdict::Better, "{}", c.verdict_reason);
        let failed = &c.figures[0];
        assert_eq!(failed.judgement, Judgement::Better);
        assert!(failed.interval.unwrap().high < 0.0);
    }

    #[test]
    fn fewer_failures_at_the_price_of_slower_commits_is_better_and_says_the_price() {
        let c = run(
            side(120, 400, &[(50, 400)], &[10.0]),
            side(0, 400, &[(90, 400)], &[10.0]),
        );
        assert_eq!(c.verdict, Verdict::Better, "{}", c.verdict_reason);
        assert!(
            c.verdict_reason.contains("at a price") && c.verdict_reason.contains("commit latency p50"),
            "{}",
            c.verdict_reason
        );
        let back = run(
            side(0, 400, &[(90, 400)], &[10.0]),
            side(120, 400, &[(50, 400)], &[10.0]),
        );
        assert_eq!(back.verdict, Verdict::Worse, "{}", back.verdict_reason);
    }

    #[test]
    fn the_same_side_twice_is_no_difference() {
        // 3 failures in 2000: the interval of the difference is about ±0.3 points, inside
        // the margin; with 3 in 500 it would reach ±1.2 points and stay inconclusive.
        let a = side(3, 2000, &[(40, 800), (60, 1000), (90, 200)], &[11.0]);
        let c = run(a.clone(), a);
        assert_eq!(
            c.verdict,
            Verdict::NoDifference,
            "{}: {:#?}",
            c.verdict_reason,
            c.figures
        );
    }

    /// Runs whose own median commits are given, over one merged histogram.
    fn runs(p50s: &[f64], latencies_ms: &[(u64, u64)]) -> Aggregate {
        let mut agg = side(0, 3000, latencies_ms, &vec![20.0; p50s.len()]);
        for (f, &p50) in agg.per_run.iter_mut().zip(p50s) {
            (f.commit_p50_ms, f.commit_p99_ms, f.commits) = (p50, p50 * 10.0, 1000);
        }
        agg
    }

    #[test]
    fn drifting_runs_of_the_same_setting_are_not_called_different() {
        // An A/A comparison on a machine whose load changed: the candidate's 3000 commits sit
        // lower as a whole, so commit-level tests call it faster, but its runs' medians
        // overlap the baseline's.
        let a = runs(&[14.0, 20.0, 11.0], &[(12, 1000), (15, 1000), (20, 1000)]);
        let b = runs(&[10.0, 17.0, 13.0], &[(10, 1000), (12, 1000), (17, 1000)]);
        let c = run(a, b);
        let p50 = c.figures.iter().find(|f| f.name == "commit latency p50").unwrap();
        assert!(
            p50.method.contains("Welch") && p50.judgement == Judgement::Inconclusive,
            "{p50:#?}"
        );
        let mw = c
            .figures
            .iter()
            .find(|f| f.name == "commit latency distribution")
            .unwrap();
        assert!(mw.informational && mw.p_value.unwrap() < 0.05, "{mw:#?}");
        // Lost work equal and inside its margin, nothing significant among deciding figures.
        assert_eq!(c.verdict, Verdict::NoDifference, "{}", c.verdict_reason);
    }

    #[test]
    fn runs_that_are_all_slower_make_the_candidate_worse_without_the_one_run_caveat() {
        let a = runs(&[50.0, 52.0, 51.0], &[(51, 3000)]);
        let b = runs(&[90.0, 91.0, 89.0], &[(90, 3000)]);
        let c = run(a, b);
        assert_eq!(c.verdict, Verdict::Worse, "{}", c.verdict_reason);
        assert!(
            c.verdict_reason.contains("commit latency p50") && !c.verdict_reason.contains("one run a side"),
            "{}",
            c.verdict_reason
        );
    }

    #[test]
    fn few_transactions_are_inconclusive_and_slower_commits_worse() {
        let same = side(3, 500, &[(40, 200), (60, 250), (90, 50)], &[11.0]);
        assert_eq!(run(same.clone(), same).verdict, Verdict::Inconclusive);
        let c = run(side(0, 10, &[(50, 10)], &[1.0]), side(1, 10, &[(50, 10)], &[1.0]));
        assert_eq!(c.verdict, Verdict::Inconclusive, "{}", c.verdict_reason);
        let c = run(side(0, 400, &[(50, 400)], &[10.0]), side(0, 400, &[(90, 400)], &[10.0]));
        assert_eq!(c.verdict, Verdict::Worse, "{}", c.verdict_reason);
    }

    /// A side whose runs all ended `status` for check `name` (the other checks passing).
    fn with_check(mut agg: Aggregate, name: &str, failing: usize, runs: usize) -> Aggregate {
        use crate::campaign::figures::CheckTally;
        let tally = CheckTally {
            pass: runs - failing,
            fail: failing,
            problems: if failing > 0 {
                [("duplicate_key".to_string(), failing)].into()
            } else {
                Default::default()
            },
            ..Default::default()
        };
        agg.checks.insert(name.into(), tally);
        agg.checks.insert(
            "row_count".into(),
            CheckTally {
                pass: runs,
                ..Default::default()
            },
        );
        agg
    }

    #[test]
    fn a_fixed_check_makes_a_slower_candidate_better_and_a_broken_one_a_faster_candidate_worse() {
        let slow = runs(&[90.0, 91.0, 89.0], &[(90, 3000)]);
        let fast = runs(&[50.0, 52.0, 51.0], &[(51, 3000)]);
        let c = run(
            with_check(fast.clone(), "upsert_keys", 3, 3),
            with_check(slow.clone(), "upsert_keys", 0, 3),
        );
        assert_eq!(c.verdict, Verdict::Better, "{}", c.verdict_reason);
        assert!(
            c.verdict_reason
                .contains("fixes `upsert_keys` (3 of 3 runs failed -> 0 of 3"),
            "{}",
            c.verdict_reason
        );
        assert!(
            c.verdict_reason.contains("worse in") && c.verdict_reason.contains("commit latency p50"),
            "the price is named: {}",
            c.verdict_reason
        );
        assert!(!c.fails_ci());
        let back = run(
            with_check(fast, "upsert_keys", 0, 3),
            with_check(slow, "upsert_keys", 3, 3),
        );
        assert_eq!(back.verdict, Verdict::Worse, "{}", back.verdict_reason);
        assert!(
            back.verdict_reason.contains("breaks `upsert_keys`"),
            "{}",
            back.verdict_reason
        );
        assert!(back.fails_ci() && back.newly_failing == vec!["upsert_keys".to_string()]);
    }

    #[test]
    fn a_check_failing_in_one_candidate_run_is_never_better_and_fails_ci() {
        let slow = runs(&[90.0, 91.0, 89.0], &[(90, 3000)]);
        let fast = runs(&[50.0, 52.0, 51.0], &[(51, 3000)]);
        let c = run(with_check(slow, "snapshots", 0, 3), with_check(fast, "snapshots", 1, 3));
        assert_eq!(c.verdict, Verdict::Inconclusive, "{}", c.verdict_reason);
        assert!(
            c.verdict_reason.contains("`snapshots` (0 of 3 runs failed -> 1 of 3"),
            "{}",
            c.verdict_reason
        );
        assert!(c.fails_ci(), "--fail-if-worse exits 1 on a newly failing check");
    }

    #[test]
    fn the_same_check_failing_on_both_sides_is_no_difference_in_correctness() {
        let a = side(3, 2000, &[(40, 800), (60, 1000), (90, 200)], &[11.0]);
        let c = run(
            with_check(a.clone(), "upsert_keys", 2, 2),
            with_check(a, "upsert_keys", 2, 2),
        );
        let k = c.checks.iter().find(|k| k.name == "upsert_keys").unwrap();
        assert_eq!(k.judgement, Judgement::NoDifference);
        assert_eq!(c.verdict, Verdict::NoDifference, "{}", c.verdict_reason);
        assert!(
            c.verdict_reason.contains("failing on both sides"),
            "{}",
            c.verdict_reason
        );
        assert!(!c.fails_ci());
    }

    #[test]
    fn failed_commits_are_split_by_class_and_logical_conflicts_get_no_more_runs_advice() {
        let mut a = side(0, 144, &[(50, 144)], &[10.0]);
        let mut b = side(3, 144, &[(50, 141)], &[10.0]);
        a.transactions = 144;
        b.failed_by_class.insert("conflict".into(), 3);
        let c = run(a, b);
        let conflict = c.classes.iter().find(|k| k.class == "conflict").unwrap();
        assert_eq!((conflict.baseline, conflict.candidate), (0, 3));
        assert_eq!(c.verdict, Verdict::Inconclusive, "{}", c.verdict_reason);
        assert!(
            c.verdict_reason.contains("retry settings cannot change them")
                && !c.verdict_reason.contains("run more repetitions"),
            "{}",
            c.verdict_reason
        );
    }

    #[test]
    fn known_findings_weigh_as_the_registry_says() {
        use crate::campaign::figures::CheckTally;
        let known = |weighed: usize, reference: &str| CheckTally {
            known: 3,
            known_weighed: weighed,
            known_as: Some(reference.into()),
            ..Default::default()
        };
        let pass = CheckTally {
            pass: 3,
            ..Default::default()
        };
        let (mut a, mut b) = (
            runs(&[50.0, 52.0, 51.0], &[(51, 3000)]),
            runs(&[90.0, 91.0, 89.0], &[(90, 3000)]),
        );
        // The fix a user validates: duplicated keys (weighed) gone, while the candidate now
        // replaces rows and shows the record_count behaviour (reported, not weighed).
        a.checks.insert("upsert_keys".into(), known(3, "duckdb/ducklake#1393"));
        b.checks.insert("upsert_keys".into(), pass.clone());
        a.checks.insert("table_stats".into(), pass.clone());
        b.checks.insert("table_stats".into(), known(0, "duckdb/ducklake#1247"));
        let c = run(a.clone(), b.clone());
        assert_eq!(c.verdict, Verdict::Better, "{}", c.verdict_reason);
        assert!(
            c.verdict_reason
                .contains("reported, not weighed: `table_stats` (duckdb/ducklake#1247: 0 of 3 runs -> 3 of 3)"),
            "{}",
            c.verdict_reason
        );
        assert!(!c.fails_ci());
        let back = run(b, a);
        assert_eq!(back.verdict, Verdict::Worse, "{}", back.verdict_reason);
        assert!(
            back.verdict_reason.contains("breaks `upsert_keys`"),
            "{}",
            back.verdict_reason
        );
    }
}

//! summary.md: the same summary as Markdown tables, for CI job pages and pull requests.

use super::console::status_word;
use super::Exporter;
use crate::report::Report;
use std::fmt::Write;

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn render(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        let mut o = String::new();
        let t = &r.totals;
        writeln!(o, "# {} — verdict **{:?}** (exit {})\n", r.scenario.name, r.verdict, r.exit_code)?;
        writeln!(o, "{}\n", r.verdict_reason)?;
        writeln!(
            o,
            "Run `{}`: {} writers, set-up {:.1} s, measured window {:.1} s (+{:.1} s drain). DuckDB {}, ducklake {}, PostgreSQL {}, S3 {}.\n",
            r.run_id, r.scenario.run.writers, r.setup_seconds, r.run_seconds, r.drain_seconds, r.versions.duckdb, r.versions.ducklake, r.versions.postgres, r.versions.s3_server
        )?;
        writeln!(o, "| transactions | committed | failed | indeterminate | attempts | harness retries | catalog rollbacks | rows | commits/s |")?;
        writeln!(o, "|---|---|---|---|---|---|---|---|---|")?;
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
            t.counts.transactions, t.counts.commits, t.counts.failed, t.counts.indeterminate, t.counts.attempts, t.counts.harness_retries,
            t.catalog_rollbacks.map(|c| c.to_string()).unwrap_or("n/a".into()), t.counts.rows_committed, t.commits_per_second
        )?;
        writeln!(o, "| latency (ms) | count | p50 | p90 | p99 | p99.9 | max | mean |")?;
        writeln!(o, "|---|---|---|---|---|---|---|---|")?;
        let lat = &r.latency_ms;
        for (name, l) in [("commit", &lat.commit), ("transaction", &lat.transaction), ("failed commit", &lat.failed_commit), ("unknown commit", &lat.indeterminate_commit), ("failed transaction", &lat.failed_transaction)] {
            writeln!(o, "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |", l.count, l.p50, l.p90, l.p99, l.p999, l.max, l.mean)?;
        }
        let f = &r.fairness;
        writeln!(
            o,
            "\nFairness: commits per writer min {} / median {} / max {}; longest without a commit {:.1} s{}.",
            f.commits_min, f.commits_median, f.commits_max, f.longest_without_commit_seconds,
            f.longest_without_commit_writer.map(|w| format!(" (w{w})")).unwrap_or_default()
        )?;
        if t.uncertain_attempts > 0 {
            writeln!(o, "\nUnknown commit outcomes: {} (committed {}, absent {}, still unknown {}).", t.uncertain_attempts, t.resolved_committed, t.resolved_absent, t.unresolved)?;
        }
        writeln!(o, "\n| check | status | summary |")?;
        writeln!(o, "|---|---|---|")?;
        for c in &r.checks {
            writeln!(o, "| {} | {} | {} |", c.name, status_word(c.status), c.summary.replace('|', "\\|"))?;
        }
        if let Some(d) = &r.diagnosis {
            writeln!(o, "\n**Diagnosis:** {}", d.summary)?;
        }
        Ok(o.into_bytes())
    }
}

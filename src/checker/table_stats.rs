//! DuckLake's own bookkeeping (`ducklake_table_stats.record_count` in the catalog) agrees
//! with the rows a scan of the table returns. For an append-only table every commit adds
//! exactly its rows to record_count in the same catalog transaction, so the two must be
//! equal: a difference is a lost or doubled stats update under concurrency. Workloads
//! that delete may make the count legitimately approximate; `checks.table_stats =
//! "report"` then reports a difference (`warn`) instead of failing.

use super::context::metadata_rows;
use super::{About, Applies, Check, CheckContext, CheckResult, CheckStatus, Needs};
use crate::lake::sql_str;
use crate::scenario::TableStatsMode;
use serde_json::json;

pub struct TableStats;

/// DuckLake's default schema, where the harness creates its tables.
const SCHEMA: &str = "main";

const STATS_SQL: &str = "SELECT s.record_count FROM ducklake_table_stats s
     JOIN ducklake_table t ON t.table_id = s.table_id AND t.end_snapshot IS NULL
     JOIN ducklake_schema sc ON sc.schema_id = t.schema_id AND sc.end_snapshot IS NULL
     WHERE t.table_name = $1 AND sc.schema_name = $2";

const TABLES_SQL: &str = "SELECT t.table_name FROM ducklake_table t
     JOIN ducklake_schema sc ON sc.schema_id = t.schema_id AND sc.end_snapshot IS NULL
     WHERE t.end_snapshot IS NULL AND sc.schema_name = $1 ORDER BY t.table_name";

/// The problem kind, for the known-findings registry: DuckLake 1.5.5 keeps counting rows
/// that were deleted or replaced (above a scan); a count below a scan is something else.
fn problems(recorded: Option<i64>, actual: i64) -> serde_json::Value {
    match recorded {
        Some(r) if r > actual => json!({ "record_count_above_scan": 1 }),
        Some(r) if r < actual => json!({ "record_count_below_scan": 1 }),
        Some(_) => json!({}),
        None => json!({ "record_count_null": 1 }),
    }
}

/// One table's verdict: whether stats and scan agree, and what was seen.
struct Judged {
    agree: bool,
    summary: String,
    evidence: serde_json::Value,
}

impl Check for TableStats {
    fn about(&self) -> About {
        About::new("table_stats", Needs::Lake, Applies::Any)
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let sql = ctx
            .run
            .and_then(|r| r.record.workload.as_ref())
            .and_then(|w| w.sql.as_ref());
        let judged = match sql {
            None => vec![judge(ctx, SCHEMA, ctx.table)?],
            Some(sql) => {
                let tables = sql_tables(ctx, sql)?;
                if tables.is_empty() {
                    return Ok(CheckResult::skipped(
                        self.name(),
                        format!(
                            "no live table of schema {} is named by the sql workload's setup or statements",
                            sql.schema
                        ),
                    ));
                }
                tables
                    .iter()
                    .map(|t| judge(ctx, &sql.schema, t))
                    .collect::<anyhow::Result<Vec<_>>>()?
            }
        };
        let agree = judged.iter().all(|j| j.agree);
        let summary = judged.iter().map(|j| j.summary.as_str()).collect::<Vec<_>>().join("; ");
        let evidence = match judged.as_slice() {
            [one] => one.evidence.clone(),
            many => {
                let tables: Vec<_> = many.iter().map(|j| j.evidence.clone()).collect();
                json!({ "tables": tables, "problems": merged(many) })
            }
        };
        let mut result = CheckResult::new(self.name(), agree, summary, evidence);
        // A difference only warns in report mode; a missing or doubled stats row still fails.
        let only_counts_differ = judged
            .iter()
            .all(|j| j.agree || j.evidence.get("scanned_rows").is_some());
        if !agree && only_counts_differ && ctx.thresholds.table_stats == TableStatsMode::Report {
            result.status = CheckStatus::Warn;
        }
        Ok(result)
    }
}

/// The problem counts of several tables added up, as the registry reads one table's.
fn merged(judged: &[Judged]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (kind, n) in judged
        .iter()
        .filter_map(|j| j.evidence["problems"].as_object())
        .flatten()
    {
        let sum = out.get(kind).and_then(|v| v.as_u64()).unwrap_or(0) + n.as_u64().unwrap_or(0);
        out.insert(kind.clone(), json!(sum));
    }
    serde_json::Value::Object(out)
}

fn judge(ctx: &CheckContext, schema: &str, table: &str) -> anyhow::Result<Judged> {
    let rows: Vec<Option<i64>> = match ctx.metadata {
        Some(m) => metadata_rows(
            m,
            &STATS_SQL.replace("$1", &sql_str(table)).replace("$2", &sql_str(schema)),
            |r| r.get(0),
        )?,
        None => ctx
            .catalog_query(STATS_SQL, &[&table, &schema])?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    if rows.len() > 1 {
        let summary = format!(
            "{} ducklake_table_stats rows for the live table {schema}.{table}",
            rows.len()
        );
        return Ok(Judged {
            agree: false,
            summary,
            evidence: json!({ "table": format!("{schema}.{table}"), "rows": rows.len() }),
        });
    }
    let Some(&recorded) = rows.first() else {
        return Ok(Judged {
            agree: false,
            summary: format!("no ducklake_table_stats row for table {schema}.{table}"),
            evidence: json!({ "table": format!("{schema}.{table}") }),
        });
    };
    let scan = format!(
        "SELECT count(*) FROM {}.\"{schema}\".\"{table}\"",
        crate::lake::LAKE_ALIAS
    );
    let actual: i64 = ctx.lake.query_row(&scan, [], |r| r.get(0))?;
    Ok(Judged {
        agree: recorded == Some(actual),
        summary: format!(
            "{schema}.{table}: ducklake_table_stats.record_count = {}, a scan counts {actual}",
            recorded.map(|r| r.to_string()).unwrap_or("NULL".into())
        ),
        evidence: json!({
            "table": format!("{schema}.{table}"),
            "record_count": recorded,
            "scanned_rows": actual,
            "mode": ctx.thresholds.table_stats,
            "problems": problems(recorded, actual),
        }),
    })
}

/// The live tables of the sql run's schema that its setup or statements name (as a word,
/// any case, after `{table}` and `{schema}` are replaced): the tables the run wrote, not
/// `[lake] table` when the statements never used it.
fn sql_tables(ctx: &CheckContext, sql: &crate::scenario::SqlSpec) -> anyhow::Result<Vec<String>> {
    let listed: Vec<String> = match ctx.metadata {
        Some(m) => metadata_rows(m, &TABLES_SQL.replace("$1", &sql_str(&sql.schema)), |r| r.get(0))?,
        None => ctx
            .catalog_query(TABLES_SQL, &[&sql.schema])?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    let text = sql
        .statements
        .iter()
        .chain(sql.setup.iter())
        .map(|s| s.replace("{table}", ctx.table).replace("{schema}", &sql.schema))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(listed.into_iter().filter(|t| names_word(&text, t)).collect())
}

/// Whether `name` occurs in `text` as a whole identifier (case-insensitive).
fn names_word(text: &str, name: &str) -> bool {
    let (text, name) = (text.to_lowercase(), name.to_lowercase());
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(&name).any(|(i, _)| {
        let before = text[..i].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = text[i + name.len()..].chars().next().is_none_or(|c| !is_ident(c));
        before && after
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_table_is_named_only_as_a_whole_identifier() {
        let sql = "INSERT INTO lake.events SELECT 1; UPDATE \"Watermark\" SET x = 1";
        assert!(super::names_word(sql, "events") && super::names_word(sql, "watermark"));
        assert!(!super::names_word(sql, "event") && !super::names_word(sql, "mark"));
    }
}

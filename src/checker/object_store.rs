//! Every file the catalog references, in any snapshot not yet expired, exists in the
//! object store with the size the catalog recorded. The references are read from the
//! catalog tables over Postgres (`ducklake_data_file`, `ducklake_delete_file`), not through
//! DuckLake's functions, so the check does not rely on the code under test. Orphans (files
//! nobody references, e.g. Parquet written by transactions that then failed) count against
//! a run only if the run added them: objects present before the writers started are
//! listed first, so an earlier run's orphans never fail a later run.

use super::context::metadata_rows;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs};
use crate::environment::EnvFile;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub struct ObjectStore;

const MAX_EXAMPLES: usize = 10;

/// Full path and size of every data and delete file the catalog knows. A relative file
/// path hangs under its table's path, which hangs under its schema's, which hangs under
/// the lake's data_path (each level may instead be absolute).
const REFERENCED_SQL: &str = "
WITH paths AS (
  SELECT t.table_id,
         CASE WHEN t.path_is_relative
              THEN (CASE WHEN s.path_is_relative THEN $1 || coalesce(s.path, '') ELSE coalesce(s.path, '') END) ||
                  coalesce(t.path, '')
              ELSE coalesce(t.path, '') END AS table_path
  FROM (SELECT DISTINCT ON (table_id) * FROM ducklake_table ORDER BY table_id, begin_snapshot DESC) t
  JOIN (SELECT DISTINCT ON (schema_id) * FROM ducklake_schema ORDER BY schema_id, begin_snapshot DESC) s ON
      s.schema_id = t.schema_id)
SELECT CASE WHEN f.path_is_relative THEN p.table_path || f.path ELSE f.path END, f.file_size_bytes
FROM (SELECT table_id, path, path_is_relative, file_size_bytes FROM ducklake_data_file
      UNION ALL SELECT table_id, path, path_is_relative, file_size_bytes FROM ducklake_delete_file) f
LEFT JOIN paths p ON p.table_id = f.table_id";

impl Check for ObjectStore {
    fn about(&self) -> About {
        About::new("object_store", Needs::Lake, Applies::Any)
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let data_path = data_path(ctx)?;
        let (referenced, scheduled) = references(ctx, &data_path)?;
        let stored = list_stored(ctx.env, &data_path)?;

        let (missing, wrong_size) = compare(&referenced, &stored);
        let orphans: Vec<(&String, &u64)> = stored
            .iter()
            .filter(|(p, _)| !referenced.contains_key(*p) && !scheduled.iter().any(|s| p.ends_with(s.as_str())))
            .collect();
        let before: Option<BTreeSet<&str>> = ctx
            .run
            .and_then(|r| r.record.objects_before.as_ref())
            .map(|b| b.iter().map(String::as_str).collect());
        let added: Vec<&(&String, &u64)> = orphans
            .iter()
            .filter(|(p, _)| before.as_ref().is_none_or(|b| !b.contains(p.as_str())))
            .collect();
        let added_bytes: u64 = added.iter().map(|(_, s)| **s).sum();
        let limit = ctx.thresholds.max_orphan_files;
        let orphans_ok = limit.is_none_or(|l| added.len() as u64 <= l);
        let ok = missing.is_empty() && wrong_size.is_empty() && orphans_ok;
        let whose = if before.is_some() {
            "added by this run"
        } else {
            "(no listing from before a run: all counted)"
        };
        let what = if referenced.is_empty() {
            format!(
                "no data file referenced under {data_path}: the rows are inlined in the catalog (data inlining), \
                so there was no file to check"
            )
        } else {
            format!(
                "{} referenced files under {data_path}: {} missing, {} with the wrong size",
                referenced.len(),
                missing.len(),
                wrong_size.len()
            )
        };
        Ok(CheckResult::new(
            self.name(),
            ok,
            format!(
                "{what}; {} orphan file(s) {whose}, {added_bytes} bytes{}{}",
                added.len(),
                limit.map(|l| format!(" (limit {l})")).unwrap_or_default(),
                if orphans.len() > added.len() {
                    format!("; {} older orphan(s) not counted", orphans.len() - added.len())
                } else {
                    String::new()
                }
            ),
            json!({
                "data_path": data_path,
                "referenced_files": referenced.len(),
                "referenced_bytes": referenced.values().sum::<u64>(),
                "inlined_only": referenced.is_empty(),
                "missing": missing.iter().take(MAX_EXAMPLES).collect::<Vec<_>>(),
                "missing_count": missing.len(),
                "wrong_size": wrong_size.iter().take(MAX_EXAMPLES).collect::<Vec<_>>(),
                "wrong_size_count": wrong_size.len(),
                "orphan_files": added.len(),
                "orphan_bytes": added_bytes,
                "orphan_examples": added.iter().take(MAX_EXAMPLES).map(|(p, _)| p).collect::<Vec<_>>(),
                "orphan_files_before_the_run": orphans.len() - added.len(),
                "scheduled_for_deletion": scheduled.len(),
                "max_orphan_files": limit,
            }),
        ))
    }
}

/// The referenced files missing from the store, and those of another size there.
fn compare(referenced: &BTreeMap<String, u64>, stored: &BTreeMap<String, u64>) -> (Vec<String>, Vec<String>) {
    let mut missing = Vec::new();
    let mut wrong_size = Vec::new();
    for (path, &size) in referenced {
        match stored.get(path) {
            None => missing.push(path.clone()),
            Some(&actual) if actual != size => wrong_size.push(format!("{path}: catalog {size} bytes, store {actual}")),
            Some(_) => {}
        }
    }
    (missing, wrong_size)
}

/// The files the catalog references (full path, size) and those scheduled for deletion.
fn references(ctx: &CheckContext, data_path: &str) -> anyhow::Result<(BTreeMap<String, u64>, Vec<String>)> {
    const SCHEDULED_SQL: &str = "SELECT path FROM ducklake_files_scheduled_for_deletion";
    let size = |s: Option<i64>| s.unwrap_or(0).max(0) as u64;
    Ok(match ctx.metadata {
        Some(m) => {
            let sql = REFERENCED_SQL.replace("$1", &crate::lake::sql_str(data_path));
            let rows: Vec<(Option<String>, Option<i64>)> = metadata_rows(m, &sql, |r| Ok((r.get(0)?, r.get(1)?)))?;
            let scheduled = metadata_rows(m, SCHEDULED_SQL, |r| r.get(0)).unwrap_or_default();
            (
                rows.into_iter().filter_map(|(p, s)| Some((p?, size(s)))).collect(),
                scheduled,
            )
        }
        None => {
            let referenced = ctx
                .catalog_query(REFERENCED_SQL, &[&data_path])?
                .iter()
                .filter_map(|r| Some((r.get::<_, Option<String>>(0)?, size(r.get(1)))))
                .collect();
            let scheduled = ctx
                .catalog_query(SCHEDULED_SQL, &[])
                .map(|rows| rows.iter().map(|r| r.get(0)).collect())
                .unwrap_or_default();
            (referenced, scheduled)
        }
    })
}

fn data_path(ctx: &CheckContext) -> anyhow::Result<String> {
    const SQL: &str = "SELECT value FROM ducklake_metadata WHERE key = 'data_path'";
    let found: Vec<String> = match ctx.metadata {
        Some(m) => metadata_rows(m, SQL, |r| r.get(0))?,
        None => ctx.catalog_query(SQL, &[])?.iter().map(|r| r.get(0)).collect(),
    };
    found
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the catalog has no data_path in ducklake_metadata"))
}

/// Every object under the data path, keyed by the same full path the catalog uses.
pub fn list_stored(env: &EnvFile, data_path: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    if let Some(rest) = data_path.strip_prefix("s3://") {
        let s3 = env.s3.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the lake keeps data in S3 ({data_path}) but the environment has no S3 endpoint")
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let objects = crate::runtime::block_on(crate::environment::s3::list_objects(s3, prefix))?;
        return Ok(objects
            .into_iter()
            .map(|o| (format!("s3://{bucket}/{}", o.key), o.size))
            .collect());
    }
    let mut out = BTreeMap::new();
    walk(Path::new(data_path), &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, out: &mut BTreeMap<String, u64>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries {
        let e = e?;
        let meta = e.metadata()?;
        if meta.is_dir() {
            walk(&e.path(), out)?;
        } else {
            out.insert(e.path().display().to_string(), meta.len());
        }
    }
    Ok(())
}

//! Check 4: every data file the catalog references exists in the object store with the
//! size the catalog recorded; files nobody references (orphans, e.g. Parquet written by
//! transactions that then failed) are counted with their bytes.

use super::{Check, CheckContext, CheckResult};
use crate::lake::{sql_str, LAKE_ALIAS};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

pub struct ObjectStore;

const MAX_EXAMPLES: usize = 10;

impl Check for ObjectStore {
    fn name(&self) -> &'static str {
        "object_store"
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let data_path: String = ctx
            .catalog_query("SELECT value FROM ducklake_metadata WHERE key = 'data_path'", &[])?
            .first()
            .map(|r| r.get(0))
            .ok_or_else(|| anyhow::anyhow!("the catalog has no data_path in ducklake_metadata"))?;
        let referenced = referenced_files(ctx.lake)?;
        let scheduled: Vec<String> = ctx
            .catalog_query("SELECT path FROM ducklake_files_scheduled_for_deletion", &[])
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
            .unwrap_or_default();
        let stored = stored_objects(ctx, &data_path)?;

        let mut missing = Vec::new();
        let mut wrong_size = Vec::new();
        for (path, &size) in &referenced {
            match stored.get(path) {
                None => missing.push(path.clone()),
                Some(&actual) if actual != size => wrong_size.push(format!("{path}: catalog {size} bytes, store {actual}")),
                Some(_) => {}
            }
        }
        let orphans: Vec<(&String, &u64)> = stored
            .iter()
            .filter(|(p, _)| !referenced.contains_key(*p) && !scheduled.iter().any(|s| p.ends_with(s.as_str())))
            .collect();
        let orphan_bytes: u64 = orphans.iter().map(|(_, s)| **s).sum();
        let limit = ctx.thresholds.max_orphan_files;
        let orphans_ok = limit.is_none_or(|l| orphans.len() as u64 <= l);
        let ok = missing.is_empty() && wrong_size.is_empty() && orphans_ok;
        Ok(CheckResult::new(
            self.name(),
            ok,
            format!(
                "{} referenced files under {data_path}: {} missing, {} with the wrong size; {} orphan file(s), {orphan_bytes} bytes{}",
                referenced.len(),
                missing.len(),
                wrong_size.len(),
                orphans.len(),
                limit.map(|l| format!(" (limit {l})")).unwrap_or_default()
            ),
            json!({
                "data_path": data_path,
                "referenced_files": referenced.len(),
                "referenced_bytes": referenced.values().sum::<u64>(),
                "missing": missing.iter().take(MAX_EXAMPLES).collect::<Vec<_>>(),
                "missing_count": missing.len(),
                "wrong_size": wrong_size.iter().take(MAX_EXAMPLES).collect::<Vec<_>>(),
                "wrong_size_count": wrong_size.len(),
                "orphan_files": orphans.len(),
                "orphan_bytes": orphan_bytes,
                "orphan_examples": orphans.iter().take(MAX_EXAMPLES).map(|(p, _)| p).collect::<Vec<_>>(),
                "scheduled_for_deletion": scheduled.len(),
                "max_orphan_files": limit,
            }),
        ))
    }
}

/// Data and delete files of the current snapshot of every table in the lake, full paths.
fn referenced_files(lake: &duckdb::Connection) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut tables = lake.prepare("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?")?;
    let tables: Vec<(String, String)> = tables.query_map([LAKE_ALIAS], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut files = BTreeMap::new();
    for (schema, table) in tables {
        let sql = format!(
            "SELECT data_file, data_file_size_bytes, delete_file, delete_file_size_bytes FROM ducklake_list_files({}, {}, schema => {})",
            sql_str(LAKE_ALIAS),
            sql_str(&table),
            sql_str(&schema)
        );
        let mut stmt = lake.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, Option<i64>>(3)?))
        })?;
        for row in rows {
            let (data, data_size, delete, delete_size) = row?;
            files.insert(data, data_size.unwrap_or(0) as u64);
            if let Some(d) = delete {
                files.insert(d, delete_size.unwrap_or(0) as u64);
            }
        }
    }
    Ok(files)
}

/// Every object under the data path, keyed by the same full path the catalog uses.
fn stored_objects(ctx: &CheckContext, data_path: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    if let Some(rest) = data_path.strip_prefix("s3://") {
        let s3 = ctx.env.s3.as_ref().ok_or_else(|| anyhow::anyhow!("the lake keeps data in S3 ({data_path}) but the environment has no S3 endpoint"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let objects = crate::runtime::block_on(crate::environment::s3::list_objects(s3, prefix))?;
        return Ok(objects.into_iter().map(|o| (format!("s3://{bucket}/{}", o.key), o.size)).collect());
    }
    let mut out = BTreeMap::new();
    walk(Path::new(data_path), &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, out: &mut BTreeMap<String, u64>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
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

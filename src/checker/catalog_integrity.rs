//! The catalog's own invariants, read over Postgres (never through DuckLake, the code under
//! test): snapshot counters never go backwards; every data and delete file belongs to a
//! table (and every delete file to a data file) that exists; no two live tables share a
//! name in one schema; the id counters of the newest snapshot lie above every id in use;
//! no negative record counts; no file ends before it begins.

use super::context::metadata_rows;
use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs};
use serde_json::json;

pub struct CatalogIntegrity;

/// Each invariant: a name, and a query returning one row (a description) per violation.
const INVARIANTS: &[(&str, &str)] = &[
    (
        "snapshot_counters_decrease",
        "SELECT format('snapshot %s: schema_version %s, next_catalog_id %s, next_file_id %s after %s, %s, %s',
            snapshot_id, schema_version, next_catalog_id, next_file_id, pv, pc, pf)
         FROM (SELECT snapshot_id, schema_version, next_catalog_id, next_file_id,
                      lag(schema_version) OVER w AS pv, lag(next_catalog_id) OVER w AS pc, lag(next_file_id) OVER w AS
                          pf
               FROM ducklake_snapshot WINDOW w AS (ORDER BY snapshot_id)) s
         WHERE schema_version < pv OR next_catalog_id < pc OR next_file_id < pf",
    ),
    (
        "data_file_without_table",
        "SELECT format('data file %s (%s) belongs to table %s, which does not exist', f.data_file_id, f.path,
            f.table_id)
         FROM ducklake_data_file f WHERE NOT EXISTS (SELECT 1 FROM ducklake_table t WHERE t.table_id = f.table_id)",
    ),
    (
        "delete_file_without_table",
        "SELECT format('delete file %s (%s) belongs to table %s, which does not exist', f.delete_file_id, f.path,
            f.table_id)
         FROM ducklake_delete_file f WHERE NOT EXISTS (SELECT 1 FROM ducklake_table t WHERE t.table_id = f.table_id)",
    ),
    (
        "delete_file_without_data_file",
        "SELECT format('delete file %s (%s) deletes from data file %s, which does not exist', f.delete_file_id,
            f.path, f.data_file_id)
         FROM ducklake_delete_file f WHERE NOT EXISTS (SELECT 1 FROM ducklake_data_file d WHERE d.data_file_id =
             f.data_file_id)",
    ),
    (
        "duplicate_live_table",
        "SELECT format('schema %s has %s live tables named %s', schema_id, count(*), table_name)
         FROM ducklake_table WHERE end_snapshot IS NULL GROUP BY schema_id, table_name HAVING count(DISTINCT table_id)
             > 1",
    ),
    (
        "next_file_id_in_use",
        "SELECT format('the newest snapshot %s has next_file_id %s, but file id %s is in use', s.snapshot_id,
            s.next_file_id, m.id)
         FROM (SELECT snapshot_id, next_file_id FROM ducklake_snapshot ORDER BY snapshot_id DESC LIMIT 1) s,
              (SELECT max(id) AS id FROM (SELECT max(data_file_id) AS id FROM ducklake_data_file UNION ALL SELECT
                  max(delete_file_id) FROM ducklake_delete_file) u) m
         WHERE m.id >= s.next_file_id",
    ),
    (
        "next_catalog_id_in_use",
        "SELECT format('the newest snapshot %s has next_catalog_id %s, but catalog id %s is in use', s.snapshot_id,
            s.next_catalog_id, m.id)
         FROM (SELECT snapshot_id, next_catalog_id FROM ducklake_snapshot ORDER BY snapshot_id DESC LIMIT 1) s,
              (SELECT max(id) AS id FROM (SELECT max(table_id) AS id FROM ducklake_table UNION ALL SELECT
                  max(schema_id) FROM ducklake_schema) u) m
         WHERE m.id >= s.next_catalog_id",
    ),
    (
        "negative_record_count",
        "SELECT format('table %s has record_count %s', table_id, record_count) FROM ducklake_table_stats WHERE
            record_count < 0
         UNION ALL SELECT format('data file %s has record_count %s', data_file_id, record_count) FROM
             ducklake_data_file WHERE record_count < 0",
    ),
    (
        "file_ends_before_it_begins",
        "SELECT format('data file %s: begin_snapshot %s, end_snapshot %s', data_file_id, begin_snapshot, end_snapshot)
            FROM ducklake_data_file WHERE end_snapshot < begin_snapshot
         UNION ALL SELECT format('delete file %s: begin_snapshot %s, end_snapshot %s', delete_file_id, begin_snapshot,
             end_snapshot) FROM ducklake_delete_file WHERE end_snapshot < begin_snapshot",
    ),
    (
        "file_from_the_future",
        "SELECT format('data file %s begins at snapshot %s, after the newest snapshot %s', f.data_file_id,
            f.begin_snapshot, m.id)
         FROM ducklake_data_file f, (SELECT max(snapshot_id) AS id FROM ducklake_snapshot) m WHERE f.begin_snapshot >
             m.id",
    ),
];

impl Check for CatalogIntegrity {
    fn about(&self) -> About {
        About::new("catalog_integrity", Needs::Lake, Applies::Any)
    }

    fn run(&self, ctx: &CheckContext) -> anyhow::Result<CheckResult> {
        let mut p = Problems::default();
        for (kind, sql) in INVARIANTS {
            let violations: Vec<String> = match ctx.metadata {
                // DuckDB's printf takes Postgres's %s placeholders.
                Some(m) => metadata_rows(m, &sql.replace("format(", "printf("), |r| r.get(0))?,
                None => ctx.catalog_query(sql, &[])?.iter().map(|r| r.get(0)).collect(),
            };
            for what in violations {
                p.add(kind, || what);
            }
        }
        let summary = format!(
            "{} invariants of the catalog hold (snapshot counters, file ownership, live table \
            names, id counters, record counts)",
            INVARIANTS.len()
        );
        Ok(p.into_result(
            self.name(),
            summary,
            json!({ "invariants": INVARIANTS.iter().map(|(k, _)| k).collect::<Vec<_>>() }),
        ))
    }
}

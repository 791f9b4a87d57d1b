//! Conflicts by what conflicted: per error class, each distinct conflict (this
//! transaction's operation, the other's, the table) with its count, the table's name as
//! the catalog knows it (resolved after the run) and the statement of the transaction that
//! last wrote that table, so "which statement, which table" is answered in the report.

use crate::history::conflict::{self, Conflict};
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Distinct conflicts kept per class; a run with more lists the most frequent first ones.
const MAX_GROUPS: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConflictCount {
    #[serde(flatten)]
    pub conflict: Conflict,
    pub count: u64,
    /// `schema.table`, the conflict's table id looked up in the catalog after the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The statement of the transaction that last wrote that table (`workload.statements[1]:
    /// UPDATE ...`), or the built-in workload's step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The first message of this conflict (its whole first line).
    pub example: String,
    /// Why `table` is missing though the conflict gives an id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unnamed: Option<String>,
}

impl ConflictCount {
    /// One line for the summaries: `insert vs delete on main.watermark (table id 19): this
    /// transaction's "insert into table" against another's "deleted from it"; the table was
    /// last written by workload.statements[1]: UPDATE ...`.
    pub fn describe(&self) -> String {
        let c = &self.conflict;
        let id = c.id.map(|id| format!("{} id {id}", c.object));
        let on = match (&self.table, id, &c.name) {
            (Some(t), Some(id), _) => format!("{t} ({id})"),
            (Some(t), None, _) => t.clone(),
            (None, Some(id), _) => format!(
                "{id} ({})",
                self.unnamed.as_deref().unwrap_or("not found in the catalog")
            ),
            (None, None, Some(n)) => format!("{} \"{n}\"", c.object),
            (None, None, None) => c.object.clone(),
        };
        let by = self
            .statement
            .as_ref()
            .map(|s| format!("; the table was last written by {s}"))
            .unwrap_or_default();
        format!(
            "{} on {on}: this transaction's \"{}\" against another's \"{}\"{by}",
            c.kind, c.this_op, c.other_op
        )
    }
}

/// Catalog ids to `schema.table`, as `ducklake_table` (and `ducklake_data_file`, for a
/// conflict on a file) said after the run.
#[derive(Debug, Clone, Default)]
pub struct CatalogNames {
    pub tables: BTreeMap<i64, String>,
    /// Data file id to the `schema.table` the file belongs to.
    pub files: BTreeMap<i64, String>,
    /// Why the ids could not be looked up (a file catalog, a catalog that did not answer).
    pub not_looked_up: Option<String>,
}

impl CatalogNames {
    pub fn not_looked_up(why: String) -> Self {
        CatalogNames {
            not_looked_up: Some(why),
            ..Default::default()
        }
    }
}

/// Counts `message` under its conflict, if it is one.
pub fn note(groups: &mut Vec<ConflictCount>, message: &str) {
    let Some(c) = conflict::parse(message) else { return };
    if let Some(g) = groups.iter_mut().find(|g| g.conflict == c) {
        g.count += 1;
    } else if groups.len() < MAX_GROUPS {
        groups.push(ConflictCount {
            conflict: c,
            count: 1,
            table: None,
            statement: None,
            example: message.to_string(),
            unnamed: None,
        });
    }
}

/// The ids (tables, files) the conflicts name, for the catalog lookup.
pub fn ids<'a>(groups: impl Iterator<Item = &'a ConflictCount>) -> (Vec<i64>, Vec<i64>) {
    let (mut tables, mut files) = (Vec::new(), Vec::new());
    for g in groups {
        match (g.conflict.object.as_str(), g.conflict.id) {
            ("table", Some(id)) => tables.push(id),
            ("file", Some(id)) => files.push(id),
            _ => {}
        }
    }
    (tables, files)
}

/// Names each conflict's table and the statement that last wrote it; the most frequent
/// conflicts first.
pub fn attribute(groups: &mut [ConflictCount], names: &CatalogNames, scenario: &Scenario) {
    for g in groups.iter_mut() {
        let c = &g.conflict;
        g.table = match (c.object.as_str(), c.id) {
            ("table", Some(id)) => names.tables.get(&id).cloned(),
            ("file", Some(id)) => names.files.get(&id).cloned(),
            ("table" | "entry", None) => c.name.clone(),
            _ => None,
        };
        g.statement = g.table.as_deref().and_then(|t| statement_for(scenario, t));
        if g.table.is_none() && g.conflict.id.is_some() {
            g.unnamed = Some(
                names
                    .not_looked_up
                    .clone()
                    .unwrap_or_else(|| "not found in the catalog".into()),
            );
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
}

/// Which statement of a transaction last wrote `table` (`schema.table` or a bare name):
/// for the sql workload the last of the user's statements that writes it, for a built-in
/// workload the step that writes the scenario's table.
pub fn statement_for(scenario: &Scenario, table: &str) -> Option<String> {
    let w = &scenario.workload;
    if let Some(sql) = &w.sql {
        let lake_table = &scenario.lake.table;
        return sql.statements.iter().enumerate().rev().find_map(|(i, s)| {
            let sql = s.replace("{table}", lake_table);
            writes(&sql)
                .iter()
                .any(|t| same_table(t, table))
                .then(|| format!("workload.statements[{i}]: {}", short(s)))
        });
    }
    same_table(&scenario.lake.table, table).then(|| w.kind.step().to_string())
}

/// A statement on one line, cut for a report line.
fn short(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 100 {
        format!("{}...", one.chars().take(100).collect::<String>())
    } else {
        one
    }
}

/// The tables a statement writes: the name after INSERT INTO, UPDATE, DELETE FROM, MERGE
/// INTO, TRUNCATE, ALTER/DROP TABLE and CREATE [OR REPLACE] TABLE [IF NOT EXISTS].
pub fn writes(sql: &str) -> Vec<String> {
    let tokens: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    let lower: Vec<String> = tokens.iter().map(|t| t.to_ascii_lowercase()).collect();
    let word = |i: usize| lower.get(i).map(String::as_str).unwrap_or("");
    let mut out = Vec::new();
    for i in 0..lower.len() {
        let target = match word(i) {
            "insert" | "merge" if word(i + 1) == "into" => i + 2,
            "delete" if word(i + 1) == "from" => i + 2,
            "update" | "truncate" => i + 1,
            "alter" | "drop" if word(i + 1) == "table" => i + 2 + 2 * usize::from(word(i + 2) == "if"),
            "table" if i > 0 && matches!(word(i - 1), "create" | "replace" | "temp" | "temporary") => {
                i + 1 + 3 * usize::from(word(i + 1) == "if")
            }
            _ => continue,
        };
        // `UPDATE SET` inside MERGE or ON CONFLICT names no table.
        if let Some(t) = tokens.get(target).filter(|_| !matches!(word(target), "set" | "")) {
            out.push(t.clone());
        }
    }
    out
}

/// `[catalog.][schema.]name` as written (quotes allowed) against the catalog's
/// `schema.table` (or a bare name): the names must match, and the schemas when both are
/// known. DuckDB compares identifiers case-insensitively.
fn same_table(written: &str, table: &str) -> bool {
    let parts = |s: &str| -> Vec<String> { s.split('.').map(|p| p.trim_matches('"').to_ascii_lowercase()).collect() };
    let (w, t) = (parts(written), parts(table));
    let (Some(wn), Some(tn)) = (w.last(), t.last()) else {
        return false;
    };
    if wn != tn {
        return false;
    }
    let w_schema = w
        .iter()
        .rev()
        .nth(1)
        // `lake.t` names the catalog, not a schema; a `{schema}` placeholder could be any.
        .filter(|s| !(s.starts_with('{') || w.len() == 2 && s.as_str() == crate::lake::LAKE_ALIAS));
    match (w_schema, t.iter().rev().nth(1)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_a_statement_writes_are_found() {
        assert_eq!(writes("INSERT INTO lake.events SELECT 1"), vec!["lake.events"]);
        assert_eq!(
            writes("UPDATE watermark SET hw = {txn} WHERE w = {writer}"),
            vec!["watermark"]
        );
        assert_eq!(writes("delete from main.\"T\" where k = 1"), vec!["main.\"T\""]);
        assert_eq!(
            writes(
                "MERGE INTO t USING s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = 1 WHEN NOT MATCHED THEN \
            INSERT VALUES (1)"
            ),
            vec!["t"]
        );
        assert_eq!(writes("CREATE OR REPLACE TABLE t_w1 AS SELECT 1"), vec!["t_w1"]);
        assert_eq!(writes("CREATE TABLE IF NOT EXISTS x(a INT)"), vec!["x"]);
        assert_eq!(writes("ALTER TABLE y ADD COLUMN c INT; SELECT * FROM z"), vec!["y"]);
        assert!(writes("SELECT count(*) FROM events").is_empty());
    }

    #[test]
    fn names_match_with_or_without_schema_and_catalog() {
        assert!(same_table("watermark", "main.watermark"));
        assert!(same_table("lake.watermark", "main.watermark"));
        assert!(same_table("lake.main.\"Watermark\"", "main.watermark"));
        assert!(!same_table("other.watermark", "main.watermark"));
        assert!(!same_table("events", "main.watermark"));
        assert!(same_table("lake.{schema}.watermark", "main.watermark"));
    }

    #[test]
    fn the_last_statement_writing_the_table_is_named() {
        let text = r#"
name = "wm"
[run]
writers = 2
duration = "1s"
[workload]
kind = "sql"
statements = [
    "INSERT INTO events SELECT {writer}, {txn}",
    "UPDATE watermark SET hw = {txn} WHERE w = {writer}",
    "INSERT INTO events SELECT {writer}, -1",
]
"#;
        let s = crate::scenario::parse_str(text, "wm.toml").unwrap();
        assert_eq!(
            statement_for(&s, "main.watermark").as_deref(),
            Some("workload.statements[1]: UPDATE watermark SET hw = {txn} WHERE w = {writer}")
        );
        assert!(statement_for(&s, "main.events")
            .unwrap()
            .starts_with("workload.statements[2]:"));
        assert_eq!(statement_for(&s, "main.nope"), None);
        let mut groups = Vec::new();
        let m = "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction. Transaction \
            conflict - attempting to insert into table with index \"19\" - but another transaction has deleted from it";
        note(&mut groups, m);
        note(&mut groups, m);
        note(&mut groups, "Binder Error: nothing to do with conflicts");
        let names = CatalogNames {
            tables: [(19, "main.watermark".to_string())].into(),
            ..Default::default()
        };
        attribute(&mut groups, &names, &s);
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].count, groups[0].table.as_deref()),
            (2, Some("main.watermark"))
        );
        assert!(groups[0]
            .statement
            .as_deref()
            .unwrap()
            .starts_with("workload.statements[1]: UPDATE"));
        assert_eq!(ids(groups.iter()), (vec![19], vec![]));
        // A file catalog: the id stays, with why it has no name.
        let why = "not looked up: catalog = sqlite (ids are looked up in a Postgres catalog)";
        attribute(&mut groups, &CatalogNames::not_looked_up(why.into()), &s);
        assert_eq!(
            (groups[0].table.as_deref(), groups[0].unnamed.as_deref()),
            (None, Some(why))
        );
        assert!(
            groups[0]
                .describe()
                .contains("on table id 19 (not looked up: catalog = sqlite"),
            "{}",
            groups[0].describe()
        );
    }
}

//! The options of the `sql` workload and of upsert's statement (schema v1 keys of
//! `[workload]`), kept apart from model.rs so the workloads can grow without touching it.

use serde::{Deserialize, Serialize};

/// `kind = "sql"`: the user's statements, run in order in one transaction, each templated
/// (see [`PLACEHOLDERS`]); an optional set-up statement run once before the writers; an
/// optional check query run after the run for every committed transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlSpec {
    pub statements: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_rows: Option<u64>,
}

/// How an upsert transaction replaces its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UpsertStatement {
    /// `DELETE … WHERE row_seq IN (keys)` then `INSERT` of those keys.
    #[default]
    DeleteInsert,
    /// One `MERGE INTO … USING (VALUES …) ON key WHEN MATCHED UPDATE WHEN NOT MATCHED INSERT`.
    Merge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UpsertSpec {
    pub statement: UpsertStatement,
}

/// `statement = "…"` as written: one key shared by counter and upsert, each of which
/// accepts its own two values (checked in parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawStatement {
    Update,
    ReadThenWrite,
    DeleteInsert,
    Merge,
}

/// The placeholders a sql statement may hold, and what each becomes:
/// `{run}` the run id; `{writer}` the writer's number (0-based); `{txn}` the transaction's
/// number within its writer (0-based, the same for every attempt); `{rand}` a number in
/// 0..2^31 drawn from (run, writer, txn), the same for every attempt and for the check
/// query; `{keys}` a comma list of `batch_rows` distinct keys in 0..`keys`, drawn the same
/// way (upsert's key stream).
pub const PLACEHOLDERS: &[&str] = &["run", "writer", "txn", "rand", "keys"];

/// The `{name}` placeholders in `text`: a `{` followed by letters or `_` and a `}`. Other
/// braces (DuckDB's struct literals `{'a': 1}`) are left alone.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let name_len = rest.find(|c: char| !(c.is_ascii_alphabetic() || c == '_')).unwrap_or(rest.len());
        if name_len > 0 && rest[name_len..].starts_with('}') {
            out.push(&rest[..name_len]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_names_in_braces_and_struct_literals_are_not() {
        assert_eq!(super::placeholders("INSERT {writer},{txn} {'a': 1} {keys}{x_y}{ 1}"), vec!["writer", "txn", "keys", "x_y"]);
    }
}

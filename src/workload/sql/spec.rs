//! The options of the `sql` workload as validated (`scenario.workload.sql` in reports).

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
    /// How many rows `check` must return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_rows: Option<u64>,
    /// The single value `check` must return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expected>,
    /// Every connection of the run `USE`s `lake.<schema>`, so the statements' names resolve
    /// there; a campaign gives each of its runs a schema of its own.
    #[serde(default = "main_schema")]
    pub schema: String,
    /// Where the file has the statements (`workload`, `actors[1]`), for error messages.
    #[serde(default = "workload_origin")]
    pub origin: String,
}

fn main_schema() -> String {
    "main".into()
}

fn workload_origin() -> String {
    "workload".into()
}

impl SqlSpec {
    pub fn new(statements: Vec<String>) -> Self {
        SqlSpec {
            statements,
            setup: None,
            check: None,
            expect_rows: None,
            expect: None,
            schema: main_schema(),
            origin: workload_origin(),
        }
    }
}

/// `expect = …`: a number, a string or a boolean, compared with the check's single value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expected {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Expected {
    /// Whether the value a check returned (as text; None for NULL) is this one: numbers
    /// compare as numbers (5 = 5.0 = DECIMAL 5.00), the rest as text.
    pub fn matches(&self, got: Option<&str>) -> bool {
        let Some(got) = got else { return false };
        match self {
            Expected::Int(i) => got.trim().parse::<f64>().is_ok_and(|g| g == *i as f64) || got.trim() == i.to_string(),
            Expected::Float(f) => got.trim().parse::<f64>().is_ok_and(|g| g == *f),
            Expected::Bool(b) => got.eq_ignore_ascii_case(&b.to_string()),
            Expected::Text(t) => got == t,
        }
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Bool(b) => write!(f, "{b}"),
            Expected::Int(i) => write!(f, "{i}"),
            Expected::Float(x) => write!(f, "{x}"),
            Expected::Text(t) => write!(f, "'{t}'"),
        }
    }
}

/// The placeholders a sql statement may hold, and what each becomes:
/// `{run}` the run id; `{writer}` the writer's number (0-based); `{txn}` the transaction's
/// number within its writer (0-based, the same for every attempt); `{rand}` a number in
/// 0..2^31 drawn from (run, writer, txn), the same for every attempt and for the check
/// query; `{keys}` a comma list of `batch_rows` distinct keys in 0..`keys`, drawn the same
/// way (upsert's key stream); `{table}` the run's `[lake] table`; `{schema}` the run's
/// schema (`workload.schema`, per run in a campaign).
pub const PLACEHOLDERS: &[&str] = &["run", "writer", "txn", "rand", "keys", "table", "schema"];

/// What `setup` may hold: it runs once, before any writer or transaction exists.
pub const SETUP_PLACEHOLDERS: &[&str] = &["run", "table", "schema"];

/// The `{name}` placeholders in `text`: a `{` followed by letters or `_` and a `}`. Other
/// braces (DuckDB's struct literals `{'a': 1}`) are left alone.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .unwrap_or(rest.len());
        if name_len > 0 && rest[name_len..].starts_with('}') {
            out.push(&rest[..name_len]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Expected;

    #[test]
    fn an_expected_value_compares_numbers_as_numbers_and_the_rest_as_text() {
        assert!(Expected::Int(5).matches(Some("5")) && Expected::Int(5).matches(Some("5.00")));
        assert!(!Expected::Int(5).matches(Some("4")) && !Expected::Int(5).matches(None));
        assert!(Expected::Float(2.5).matches(Some("2.5")) && !Expected::Float(2.5).matches(Some("2.6")));
        assert!(Expected::Text("ok".into()).matches(Some("ok")) && !Expected::Text("ok".into()).matches(Some("OK")));
        assert!(Expected::Bool(true).matches(Some("true")) && !Expected::Bool(true).matches(Some("false")));
    }

    #[test]
    fn placeholders_are_names_in_braces_and_struct_literals_are_not() {
        assert_eq!(
            super::placeholders("INSERT {writer},{txn} {'a': 1} {keys}{x_y}{ 1}"),
            vec!["writer", "txn", "keys", "x_y"]
        );
    }
}

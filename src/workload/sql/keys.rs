//! The `sql` workload's keys: its statements, set-up, check and schema, as validated.

use super::spec::{placeholders, Expected, SqlSpec, PLACEHOLDERS, SETUP_PLACEHOLDERS};
use crate::workload::Keys;
use serde::Deserialize;
use toml::Spanned;

/// `kind = "sql"`'s keys, in `[workload]` or a writing `[[actors]]` group.
#[derive(Deserialize)]
pub(super) struct SqlKeys {
    pub batch_rows: Option<Spanned<u32>>,
    pub keys: Option<Spanned<u32>>,
    pub statements: Option<Spanned<Vec<Spanned<String>>>>,
    pub setup: Option<Spanned<String>>,
    pub check: Option<Spanned<String>>,
    pub expect_rows: Option<Spanned<u64>>,
    /// The single value `check` must return (see `Expected`).
    pub expect: Option<Spanned<toml::Value>>,
    /// The schema the statements' unqualified and `lake.`-qualified names resolve in.
    pub schema: Option<Spanned<String>>,
}

pub(super) fn validate_sql(w: &SqlKeys, here: &Keys) -> anyhow::Result<SqlSpec> {
    let Some(list) = &w.statements else {
        return Err(here.error(
            here.kind_span.clone(),
            "workload.statements",
            "is required for kind = \
            \"sql\": a list of the statements one transaction runs, e.g. statements = [\"INSERT INTO lake.t VALUES \
            ({writer}, {txn})\"].",
        ));
    };
    if list.get_ref().is_empty() {
        return Err(here.at(
            list,
            "workload.statements",
            "is empty: give at least one statement for a transaction to run.",
        ));
    }
    let mut statements = Vec::new();
    for (i, s) in list.get_ref().iter().enumerate() {
        let key = format!("workload.statements[{i}]");
        if s.get_ref().trim().trim_end_matches(';').trim().is_empty() {
            return Err(here.at(
                s,
                &key,
                "is an empty statement: remove it or write the SQL it should run.",
            ));
        }
        known_placeholders(s, &key, PLACEHOLDERS, here)?;
        statements.push(s.get_ref().clone());
    }
    // Set-up runs once, before any writer: only the run and where it writes are known then.
    if let Some(s) = &w.setup {
        if s.get_ref().trim().is_empty() {
            return Err(here.at(
                s,
                "workload.setup",
                "is empty: remove it or write the statement to run once before the writers.",
            ));
        }
        known_placeholders(s, "workload.setup", SETUP_PLACEHOLDERS, here)?;
    }
    let mut spec = SqlSpec::new(statements);
    spec.setup = w.setup.as_ref().map(|s| s.get_ref().clone());
    validate_check(w, &mut spec, here)?;
    if let Some(s) = &w.schema {
        let name = s.get_ref();
        let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok || name.len() > 40 {
            return Err(here.at(
                s,
                "workload.schema",
                "must be a plain name: a letter or _, then letters, digits or _, \
                at most 40 characters (a campaign appends its run's tag to it).",
            ));
        }
        spec.schema = name.clone();
    }
    Ok(spec)
}

/// `check` goes with exactly one of `expect_rows` (rows returned) and `expect` (the single
/// value returned).
fn validate_check(w: &SqlKeys, spec: &mut SqlSpec, here: &Keys) -> anyhow::Result<()> {
    if let Some(c) = &w.check {
        known_placeholders(c, "workload.check", PLACEHOLDERS, here)?;
    }
    const EXAMPLE: &str = "check = \"SELECT count(*) FROM lake.t WHERE w = {writer} AND t = {txn}\"";
    match (&w.check, &w.expect_rows, &w.expect) {
        (Some(c), None, None) => {
            return Err(here.at(
                c,
                "workload.check",
                "is set without workload.expect_rows or workload.expect: give \
                expect_rows = N (the rows the check query must return for every committed transaction) or expect = V \
                (the single value it must return).",
            ));
        }
        (None, Some(e), _) => {
            return Err(here.at(
                e,
                "workload.expect_rows",
                &format!(
                    "is set without workload.check: \
            give the query (templated like the statements) whose rows it counts, e.g. {EXAMPLE}."
                ),
            ))
        }
        (None, None, Some(e)) => {
            return Err(here.at(
                e,
                "workload.expect",
                &format!(
                    "is set without workload.check: \
            give the query (templated like the statements) whose single value must equal it, e.g. {EXAMPLE}."
                ),
            ))
        }
        (Some(_), Some(_), Some(e)) => {
            return Err(here.at(
                e,
                "workload.expect",
                "and workload.expect_rows are both \
            set: keep one (expect_rows counts the rows the check returns, expect compares its single value).",
            ))
        }
        _ => {}
    }
    spec.check = w.check.as_ref().map(|s| s.get_ref().clone());
    spec.expect_rows = w.expect_rows.as_ref().map(|e| *e.get_ref());
    if let Some(e) = &w.expect {
        spec.expect = Some(match e.get_ref() {
            toml::Value::Integer(i) => Expected::Int(*i),
            toml::Value::Float(f) => Expected::Float(*f),
            toml::Value::String(s) => Expected::Text(s.clone()),
            toml::Value::Boolean(b) => Expected::Bool(*b),
            other => {
                return Err(here.at(
                    e,
                    "workload.expect",
                    &format!(
                        "is a {}; allowed: a number, a string or a \
                boolean, compared with the single value the check returns.",
                        other.type_str()
                    ),
                ))
            }
        });
    }
    Ok(())
}

fn known_placeholders(s: &Spanned<String>, key: &str, allowed: &[&str], here: &Keys) -> anyhow::Result<()> {
    match placeholders(s.get_ref()).into_iter().find(|p| !allowed.contains(p)) {
        Some(p) => Err(here.at(
            s,
            key,
            &format!(
                "holds the unknown placeholder `{{{p}}}`; allowed here: {}.",
                allowed
                    .iter()
                    .map(|a| format!("{{{a}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None => Ok(()),
    }
}

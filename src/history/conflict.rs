//! DuckLake's (and DuckDB's) conflict messages taken apart, so a report can say *what*
//! conflicted: which operation of this transaction, against which of the other's, on which
//! table. The texts are DuckLake 1.5.5's (`DuckLakeTransactionState::CheckForConflicts`,
//! whose `ConflictCheck` formats "attempting to %s with index \"%d\" - but another
//! transaction has %s") and DuckDB's own catalog and local-storage conflicts.

use serde::{Deserialize, Serialize};

/// One conflict message, parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Conflict {
    /// `"<this> vs <other>"` in verbs: `insert vs delete`, `delete vs compact`, ...
    pub kind: String,
    /// This transaction's operation, as DuckLake words it: `insert into table`.
    pub this_op: String,
    /// What the other transaction did, as DuckLake words it: `deleted from it`.
    pub other_op: String,
    /// What the id or name refers to: table, file, view, schema, macro.
    pub object: String,
    /// DuckLake's catalog id (`ducklake_table.table_id` for a table; the data file id for
    /// a file; the schema id for a schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The name, when the message gives one instead of (or beside) an id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

const DUCKLAKE: &str = "Transaction conflict - attempting to ";
const DUCKDB_LOCAL: &str = "Transaction conflict: attempting to ";
const DUCKDB_CATALOG: &str = "Catalog write-write conflict on ";

/// The conflict in `message`, if it holds one of the known texts (anywhere: DuckDB wraps
/// it in "TransactionContext Error: Failed to commit: ...").
pub fn parse(message: &str) -> Option<Conflict> {
    if let Some(at) = message.find(DUCKLAKE) {
        return ducklake(&message[at + DUCKLAKE.len()..]);
    }
    if let Some(at) = message.find(DUCKDB_LOCAL) {
        return duckdb_local(&message[at + DUCKDB_LOCAL.len()..]);
    }
    let at = message.find(DUCKDB_CATALOG)?;
    // `create with "name"` / `alter with "name"`: another transaction of this instance
    // changed the same catalog entry.
    let rest = &message[at + DUCKDB_CATALOG.len()..];
    let (op, name) = rest.split_once(" with ")?;
    let op = op.trim().to_string();
    let done = if op.ends_with('e') {
        format!("{op}d it")
    } else {
        format!("{op}ed it")
    };
    Some(Conflict {
        kind: format!("{op} vs {op}"),
        other_op: done,
        this_op: op,
        object: "entry".into(),
        id: None,
        name: quoted(name),
    })
}

/// `<action> with index "<n>" - but another transaction has <other>` (also `with name`),
/// and `create <type> "<name>" in schema "<schema>" - but this <type> has been created by
/// another transaction already`.
fn ducklake(rest: &str) -> Option<Conflict> {
    let (head, other) = match rest.split_once("but another transaction has ") {
        Some((h, o)) => (h, o),
        None => {
            let (h, _) = rest.split_once("but this ")?;
            (h, "created it already")
        }
    };
    let head = head.trim().trim_end_matches('-').trim();
    let other = first_clause(other);
    let (action, id, name) = if let Some((action, n)) = head.split_once(" with index ") {
        (action, n.trim().trim_matches('"').parse::<i64>().ok(), None)
    } else if let Some((action, n)) = head.split_once(" with name ") {
        (action, None, quoted(n))
    } else {
        (head, None, None)
    };
    // "create table \"t\" in schema \"main\"": the id that follows is the schema's.
    let (action, name, object) = match action.strip_prefix("create ") {
        Some(what) => {
            let kind = what.split_whitespace().next().unwrap_or("table");
            let named = quoted(what).or(name);
            let object = if id.is_some() { "schema" } else { kind };
            (format!("create {kind}"), named, object.to_string())
        }
        None => (action.trim().to_string(), name, object_of(action).to_string()),
    };
    Some(Conflict {
        kind: format!("{} vs {}", verb(&action), verb(&other)),
        this_op: action,
        other_op: other,
        object,
        id,
        name,
    })
}

/// DuckDB's local storage: `insert into table "t" but it has been altered by a different
/// transaction` (and `update table`, `add an index to table`).
fn duckdb_local(rest: &str) -> Option<Conflict> {
    let (head, tail) = rest.split_once(" but it has been ")?;
    let other = first_clause(tail.split(" by a different transaction").next().unwrap_or(tail));
    let (action, name) = match head.find('"') {
        Some(q) => (head[..q].trim().to_string(), quoted(&head[q..])),
        None => (head.trim().to_string(), None),
    };
    Some(Conflict {
        kind: format!("{} vs {}", verb(&action), verb(&other)),
        this_op: action,
        other_op: other,
        object: "table".into(),
        id: None,
        name,
    })
}

/// The text up to the end of its sentence (the message may go on with DuckDB's hints).
fn first_clause(s: &str) -> String {
    let end = s.find(['\n', '.', '(', ';']).unwrap_or(s.len());
    s[..end].trim().trim_end_matches(',').to_string()
}

/// The first `"quoted"` text in `s`.
fn quoted(s: &str) -> Option<String> {
    let start = s.find('"')? + 1;
    let len = s[start..].find('"')?;
    Some(s[start..start + len].to_string())
}

/// What DuckLake's action acts on: its last word (`insert into table`, `delete from file`),
/// except that flushing inlined data acts on a table.
fn object_of(action: &str) -> &str {
    match action.split_whitespace().last() {
        Some("data") => "table",
        Some(w) => w,
        None => "table",
    }
}

/// One verb for an operation, either side's wording: `insert into table` and `inserted into
/// it` are both `insert`; an UPDATE is DuckLake's delete plus insert.
pub fn verb(op: &str) -> &'static str {
    let first = op.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
    const VERBS: [(&str, &str); 9] = [
        ("insert", "insert"),
        ("delet", "delete"),
        ("updat", "update"),
        ("alter", "alter"),
        ("drop", "drop"),
        ("compact", "compact"),
        ("flush", "flush"),
        ("creat", "create"),
        ("add", "add index"),
    ];
    VERBS
        .iter()
        .find(|(stem, _)| first.starts_with(stem))
        .map(|(_, v)| *v)
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(kind: &str, this_op: &str, other_op: &str, object: &str, id: Option<i64>, name: Option<&str>) -> Conflict {
        Conflict {
            kind: kind.into(),
            this_op: this_op.into(),
            other_op: other_op.into(),
            object: object.into(),
            id,
            name: name.map(String::from),
        }
    }

    /// Each message parses to its conflict.
    fn taken_apart(cases: &[(&str, Conflict)]) {
        for (message, want) in cases {
            assert_eq!(parse(message).as_ref(), Some(want), "{message}");
        }
    }

    // The format strings are DuckLake 1.5.5's (`strings ducklake.duckdb_extension | grep -i
    // conflict`), filled in as DuckLake fills them; the first is verbatim from a run of the
    // watermark pipeline (issue 21).
    #[test]
    fn ducklakes_row_conflicts_on_a_table_are_taken_apart() {
        taken_apart(&[
            (
                "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction. Transaction \
                    conflict - attempting to insert into table with index \"19\" - but another transaction has \
                    deleted from it",
                c(
                    "insert vs delete",
                    "insert into table",
                    "deleted from it",
                    "table",
                    Some(19),
                    None,
                ),
            ),
            (
                "Transaction conflict - attempting to delete from table with index \"3\" - but another transaction \
                    has compacted it",
                c(
                    "delete vs compact",
                    "delete from table",
                    "compacted it",
                    "table",
                    Some(3),
                    None,
                ),
            ),
        ]);
    }

    #[test]
    fn ducklakes_inlined_data_conflicts_are_taken_apart() {
        taken_apart(&[
            (
                "Transaction conflict - attempting to insert into table with index \"33\" - but another transaction \
                    has deleted inlined data from it",
                c(
                    "insert vs delete",
                    "insert into table",
                    "deleted inlined data from it",
                    "table",
                    Some(33),
                    None,
                ),
            ),
            (
                "Transaction conflict - attempting to flush inline data with index \"7\" - but another transaction \
                    has flushed it",
                c(
                    "flush vs flush",
                    "flush inline data",
                    "flushed it",
                    "table",
                    Some(7),
                    None,
                ),
            ),
        ]);
    }

    #[test]
    fn ducklakes_conflicts_on_a_data_file_are_taken_apart() {
        taken_apart(&[(
            "Transaction conflict - attempting to delete from file with index \"1204\" - but another transaction \
                    has deleted from it",
            c(
                "delete vs delete",
                "delete from file",
                "deleted from it",
                "file",
                Some(1204),
                None,
            ),
        )]);
    }

    #[test]
    fn ducklakes_schema_and_table_conflicts_are_taken_apart() {
        taken_apart(&[
            (
                "Transaction conflict - attempting to alter table with index \"5\" - but another transaction has \
                    dropped it",
                c("alter vs drop", "alter table", "dropped it", "table", Some(5), None),
            ),
            (
                "Transaction conflict - attempting to create schema with name \"s1\" - but another transaction has \
                    created a schema with this name already",
                c(
                    "create vs create",
                    "create schema",
                    "created a schema with this name already",
                    "schema",
                    None,
                    Some("s1"),
                ),
            ),
            (
                "Transaction conflict - attempting to create table \"t_w1\" in schema \"main\" - but this table has \
                    been created by another transaction already",
                c(
                    "create vs create",
                    "create table",
                    "created it already",
                    "table",
                    None,
                    Some("t_w1"),
                ),
            ),
            (
                "Transaction conflict - attempting to create table \"t\" in schema \"s\" with index \"2\" - but \
                    another transaction has dropped this schema",
                c(
                    "create vs drop",
                    "create table",
                    "dropped this schema",
                    "schema",
                    Some(2),
                    Some("t"),
                ),
            ),
        ]);
    }

    #[test]
    fn duckdbs_own_conflicts_are_taken_apart() {
        let m = "TransactionContext Error: Transaction conflict: attempting to insert into table \"entries\" but it \
            has been altered by a different transaction";
        assert_eq!(
            parse(m),
            Some(c(
                "insert vs alter",
                "insert into table",
                "altered",
                "table",
                None,
                Some("entries")
            ))
        );
        let m = "TransactionContext Error: Catalog write-write conflict on alter with \"entries\"";
        assert_eq!(
            parse(m),
            Some(c(
                "alter vs alter",
                "alter",
                "altered it",
                "entry",
                None,
                Some("entries")
            ))
        );
    }

    #[test]
    fn other_messages_are_no_conflict() {
        assert_eq!(
            parse(
                "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction. Exceeded \
            the maximum retry count of 0 set by the ducklake_max_retry_count setting."
            ),
            None
        );
        assert_eq!(parse("Binder Error: Table with name nope does not exist!"), None);
    }
}

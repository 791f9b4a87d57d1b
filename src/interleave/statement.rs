//! One statement on a connection and what it gave back: rows (a query's, their count and a
//! sample), rows changed (DML's), or an error. Shared by a session's thread and a session
//! process (`process`), which both run steps this way.

use serde::{Deserialize, Serialize};

/// What a statement gave back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Returned {
    /// Rows of a query (their count, the first few rendered), or rows changed by DML.
    Ok {
        rows: Option<u64>,
        changed: Option<u64>,
        sample: Vec<String>,
    },
    Error {
        class: String,
        message: String,
    },
}

const SAMPLE_ROWS: usize = 5;
const MAX_COLUMNS: usize = 32;

/// Transaction control and DDL run as a batch; anything else is prepared so its rows (a
/// query's) or its changed-row count (DML's) can be reported. Several statements in one
/// step run in order, and the step reports the last one's (`USE s; SELECT …`).
pub fn run_duckdb(conn: &duckdb::Connection, sql: &str) -> Result<Returned, String> {
    let statements = crate::util::split_statements(sql);
    if let Some((last, before)) = statements.split_last().filter(|(_, before)| !before.is_empty()) {
        conn.execute_batch(&before.join(";\n")).map_err(|e| e.to_string())?;
        return run_duckdb(conn, last);
    }
    let first = sql.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    let batch = [
        "BEGIN", "COMMIT", "ROLLBACK", "ABORT", "START", "END", "SET", "RESET", "USE", "CREATE", "DROP", "ALTER",
        "ATTACH", "DETACH", "LOAD",
    ];
    if batch.contains(&first.as_str()) {
        conn.execute_batch(sql).map_err(|e| e.to_string())?;
        return Ok(Returned::Ok {
            rows: None,
            changed: None,
            sample: Vec::new(),
        });
    }
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let dml = ["INSERT", "UPDATE", "DELETE", "MERGE"].contains(&first.as_str());
    let (mut count, mut sample, mut changed) = (0u64, Vec::new(), None);
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        // A row does not say how wide it is: read columns until the index runs out.
        let values: Vec<String> = (0..MAX_COLUMNS)
            .map_while(|i| row.get::<_, duckdb::types::Value>(i).ok())
            .map(|v| render_value(&v))
            .collect();
        if dml && values.len() == 1 {
            changed = values[0].parse().ok();
        }
        if sample.len() < SAMPLE_ROWS {
            sample.push(values.join(" | "));
        }
        count += 1;
    }
    Ok(if dml {
        Returned::Ok {
            rows: None,
            changed,
            sample: Vec::new(),
        }
    } else {
        Returned::Ok {
            rows: Some(count),
            changed: None,
            sample,
        }
    })
}

fn render_value(v: &duckdb::types::Value) -> String {
    use duckdb::types::Value;
    match v {
        Value::Null => "NULL".into(),
        Value::Boolean(b) => b.to_string(),
        Value::TinyInt(n) => n.to_string(),
        Value::SmallInt(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::BigInt(n) => n.to_string(),
        Value::HugeInt(n) => n.to_string(),
        Value::UTinyInt(n) => n.to_string(),
        Value::USmallInt(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::UBigInt(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Text(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// Postgres's simple protocol: several statements in one step work (`BEGIN; LOCK TABLE …`).
pub fn run_postgres(client: &tokio_postgres::Client, sql: &str) -> Result<Returned, String> {
    use tokio_postgres::SimpleQueryMessage;
    let messages = crate::runtime::block_on(client.simple_query(sql)).map_err(|e| match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    })?;
    let (mut rows, mut sample, mut changed) = (0u64, Vec::new(), None);
    for m in messages {
        match m {
            SimpleQueryMessage::Row(r) => {
                if sample.len() < SAMPLE_ROWS {
                    let values: Vec<&str> = (0..r.len()).map(|i| r.get(i).unwrap_or("NULL")).collect();
                    sample.push(values.join(" | "));
                }
                rows += 1;
            }
            SimpleQueryMessage::CommandComplete(n) => changed = Some(n),
            _ => {}
        }
    }
    Ok(Returned::Ok {
        rows: (rows > 0).then_some(rows),
        changed: if rows > 0 { None } else { changed.filter(|&n| n > 0) },
        sample,
    })
}

//! Small helpers every layer may use; they depend on nothing else of the harness but its
//! error kinds and runtime: bounded waits, Ctrl-C, atomic file writes, identifiers, locks
//! that outlive a panicked holder.

pub mod atomic_write;
pub mod callgrind;
pub mod deadline;
pub mod gate;
pub mod ids;
pub mod interrupt;
pub mod lake_table;
pub mod lock;
pub mod toml_place;

pub use atomic_write::{write_atomically, write_atomically_with_mode};
pub use lock::LockExt;

/// A SQL string literal (here, low, because scenario validation quotes values too).
pub fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The statements of a batch, split at semicolons outside quotes.
pub fn split_statements(sql: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote) = (Vec::new(), String::new(), None::<char>);
    for c in sql.chars() {
        match (quote, c) {
            (None, ';') => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_outside_quotes_only() {
        assert_eq!(
            split_statements("DELETE FROM t WHERE a = 'x;y'; INSERT INTO \"t;\" VALUES (1);  "),
            vec!["DELETE FROM t WHERE a = 'x;y'", "INSERT INTO \"t;\" VALUES (1)"]
        );
    }
}

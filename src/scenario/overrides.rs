//! `--set key=value`: a scenario key changed from the command line, as if written in the
//! file. The file's TOML is edited in place (toml_edit keeps every other line where it
//! was) and then parsed and validated like any file, so an override gets the same checks
//! and the same messages, and errors on other keys still name their own lines.

use crate::error::bad_input;
use std::fmt;
use toml_edit::{DocumentMut, Item, Value};

/// One `key=value` from the command line; `key` is dotted (`retry.ducklake.max_retry_count`),
/// a number segment picks an element of an array of tables (`nemesis.0.hold`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Override {
    pub key: String,
    pub value: String,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl std::str::FromStr for Override {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let Some((key, value)) = s.split_once('=') else {
            return Err(bad_input(format!(
                "--set {s}: expected KEY=VALUE, e.g. --set run.writers=16 or --set retry.ducklake.max_retry_count=100."
            )));
        };
        let key = key.trim();
        let valid = !key.is_empty()
            && key
                .split('.')
                .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid {
            return Err(bad_input(format!(
                "--set {s}: `{key}` is not a scenario key; write the dotted path of a key of \
                the scenario file, e.g. run.writers or lake.table."
            )));
        }
        Ok(Override {
            key: key.to_string(),
            value: value.trim().to_string(),
        })
    }
}

/// The value as TOML if it reads as TOML (`16`, `1.5`, `true`, `"x"`, `[1, 2]`), else as a
/// plain string, so `--set run.duration=30s` needs no quotes.
fn toml_value(text: &str) -> Value {
    text.parse::<Value>().unwrap_or_else(|_| Value::from(text))
}

/// `text` with every override applied.
pub fn apply(text: &str, origin: &str, overrides: &[Override]) -> anyhow::Result<String> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let mut doc: DocumentMut = text.parse().map_err(|e| {
        bad_input(format!(
            "{origin}: is not valid TOML ({e}); fix the file before overriding its keys."
        ))
    })?;
    for o in overrides {
        set(doc.as_table_mut(), o).map_err(|why| {
            bad_input(format!(
                "--set {o}: {why} (in {origin}). Use the dotted \
            path of a key of the scenario file; see the README's scenario reference."
            ))
        })?;
    }
    Ok(doc.to_string())
}

fn set(root: &mut toml_edit::Table, o: &Override) -> Result<(), String> {
    let segments: Vec<&str> = o.key.split('.').collect();
    let (last, parents) = segments.split_last().expect("a validated key has a segment");
    let mut table = root;
    let mut segs = parents.iter().peekable();
    let mut path = String::new();
    while let Some(seg) = segs.next() {
        path = if path.is_empty() {
            seg.to_string()
        } else {
            format!("{path}.{seg}")
        };
        let slot = table.entry(seg).or_insert(Item::None);
        if slot.is_none() {
            *slot = Item::Table(toml_edit::Table::new());
        }
        table = match slot {
            Item::Table(t) => t,
            Item::ArrayOfTables(array) => {
                let len = array.len();
                let Some(index) = segs.next() else {
                    return Err(format!(
                        "`{path}` is a list ([[{path}]] sections): pick one by number, e.g. `{path}.0.{last}`"
                    ));
                };
                let n: usize = index.parse().map_err(|_| {
                    format!("`{path}` is a list ([[{path}]] sections): pick one by number, e.g. `{path}.0`")
                })?;
                path = format!("{path}.{index}");
                array.get_mut(n).ok_or_else(|| {
                    format!(
                        "`{path}`: there are only {len} [[{}]] sections (counting from 0)",
                        path.rsplit_once('.').map(|p| p.0).unwrap_or(&path)
                    )
                })?
            }
            Item::Value(Value::InlineTable(inline)) if segs.peek().is_none() => {
                inline.insert(*last, toml_value(&o.value));
                return Ok(());
            }
            Item::Value(Value::InlineTable(_)) => {
                return Err(format!(
                "`{path}` is an inline table; write it as a [section] in the file to override keys deeper inside it"
            ))
            }
            _ => return Err(format!("`{path}` is a value, not a section, so it has no key `{last}`")),
        };
    }
    set_in_table(table.entry(last).or_insert(Item::None), toml_value(&o.value));
    Ok(())
}

/// Replaces a value keeping its decoration (spaces, a trailing comment), so the line
/// still reads as the user wrote it.
fn set_in_table(slot: &mut Item, mut new: Value) {
    if let Some(old) = slot.as_value() {
        *new.decor_mut() = old.decor().clone();
    }
    *slot = Item::Value(new);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Override {
        s.parse().unwrap()
    }

    const FILE: &str = "name = \"x\"  # the name\n\n[run]\nwriters = 4   # four\nduration = \
        \"10s\"\n\n[[nemesis]]\nkind = \"pause_s3\"\nhold = \"1s\"\n";

    #[test]
    fn a_value_is_replaced_on_its_own_line_keeping_its_comment() {
        let out = apply(FILE, "f.toml", &[o("run.writers=16")]).unwrap();
        assert_eq!(out.lines().nth(3), Some("writers = 16   # four"));
        assert_eq!(out.lines().count(), FILE.lines().count());
    }

    #[test]
    fn bare_words_become_strings_and_toml_stays_toml() {
        let out = apply(
            FILE,
            "f.toml",
            &[
                o("run.duration=30s"),
                o("lake.table=entries2"),
                o("retry.ducklake.retry_backoff=1.5"),
            ],
        )
        .unwrap();
        assert!(out.contains("duration = \"30s\""), "{out}");
        assert!(out.contains("table = \"entries2\""), "{out}");
        assert!(out.contains("retry_backoff = 1.5"), "{out}");
    }

    #[test]
    fn an_element_of_a_list_of_sections_is_picked_by_number() {
        let out = apply(FILE, "f.toml", &[o("nemesis.0.hold=5s")]).unwrap();
        assert!(out.contains("hold = \"5s\""), "{out}");
        let err = apply(FILE, "f.toml", &[o("nemesis.3.hold=5s")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("only 1"), "{err}");
    }

    #[test]
    fn nonsense_is_refused_with_what_to_write() {
        assert!("writers"
            .parse::<Override>()
            .unwrap_err()
            .to_string()
            .contains("KEY=VALUE"));
        assert!("run..x=1"
            .parse::<Override>()
            .unwrap_err()
            .to_string()
            .contains("not a scenario key"));
        let err = apply(FILE, "f.toml", &[o("run.writers.x=1")]).unwrap_err().to_string();
        assert!(err.contains("not a section") || err.contains("inside a value"), "{err}");
    }
}

//! Where things are in a scenario file: file:line:column errors naming the key, and one
//! table of the file read again as a type of its own (a workload's keys), with the spans
//! the whole file gives, so a workload declares its keys once and its errors point at them.

use crate::error::bad_input;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::Range;
use toml::Spanned;

pub struct Locator<'a> {
    pub text: &'a str,
    pub origin: &'a str,
}

impl Locator<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rfind('\n')
            .map(|nl| before.len() - nl)
            .unwrap_or(before.len() + 1);
        (line, col)
    }

    pub fn error(&self, span: Option<Range<usize>>, key: &str, what: &str) -> anyhow::Error {
        let place = match span {
            Some(s) => {
                let (line, col) = self.line_col(s.start);
                format!("{}:{line}:{col}", self.origin)
            }
            None => self.origin.to_string(),
        };
        let key = if key.is_empty() {
            String::new()
        } else {
            format!(" key `{key}`:")
        };
        bad_input(format!(
            "{place}:{key} {what} Fix the scenario file (check it with `ducklake-stress validate {}`).",
            validate_args(self.origin)
        ))
    }

    /// The span of `key = ...` inside `[section]`, for values serde does not keep spans of.
    pub fn find_key(&self, section: &str, key: &str) -> Option<Range<usize>> {
        let mut current = String::new();
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let t = line.trim();
            if t.starts_with('[') {
                current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            } else if current == section
                && t.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            {
                let start = offset + (line.len() - line.trim_start().len());
                return Some(start..start + t.len());
            }
            offset += line.len();
        }
        None
    }

    pub fn at<T>(&self, spanned: &Spanned<T>, key: &str, what: &str) -> anyhow::Error {
        self.error(Some(spanned.span()), key, what)
    }

    /// `T` read from one table of the file (`T` may hold `Spanned` values; their spans are
    /// the file's). Keys of the table that `T` does not name are left alone.
    pub fn read_table<T: DeserializeOwned>(&self, table: Table) -> Result<Option<T>, toml::de::Error> {
        Pick {
            table,
            found: None::<T>,
        }
        .deserialize(toml::Deserializer::new(self.text))
    }

    /// `read_table` of a table the file has, an error naming the key (`<prefix>.<key>`)
    /// whose value it is about; `given`: the table's keys and the spans of their values.
    pub fn read_keys<T: DeserializeOwned>(
        &self,
        table: Table,
        given: &BTreeMap<String, Range<usize>>,
        prefix: &str,
    ) -> anyhow::Result<T> {
        match self.read_table::<T>(table) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => anyhow::bail!("the scenario's {table:?} table is gone on a second reading"),
            Err(e) => {
                let span = e.span();
                let key = span.as_ref().and_then(|s| {
                    given
                        .iter()
                        .find(|(_, v)| v.start <= s.start && s.start < v.end.max(v.start + 1))
                        .map(|(k, _)| format!("{prefix}.{k}"))
                });
                Err(self.error(span, &key.unwrap_or_default(), e.message().trim()))
            }
        }
    }
}

/// What `validate` needs to check what was parsed: the file, and the `--set`s an origin
/// like `f.toml (with --set a=1 --set b=2)` carries (validate takes them too).
pub(crate) fn validate_args(origin: &str) -> String {
    match origin.split_once(" (with ") {
        Some((file, sets)) => format!("{file} {}", sets.strip_suffix(')').unwrap_or(sets)),
        None => origin.to_string(),
    }
}

/// One table of a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `[workload]`
    Workload,
    /// The `[[actors]]` table at this index.
    Actor(usize),
}

impl Table {
    fn top_key(self) -> &'static str {
        match self {
            Table::Workload => "workload",
            Table::Actor(_) => "actors",
        }
    }
}

/// Reads the whole document, deserializing only `table` as `T` (the rest is skipped).
struct Pick<T> {
    table: Table,
    found: Option<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Pick<T> {
    type Value = Option<T>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Pick<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a scenario file")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Option<T>, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match self.table {
                _ if key != self.table.top_key() => {
                    map.next_value::<IgnoredAny>()?;
                }
                Table::Workload => self.found = Some(map.next_value::<T>()?),
                Table::Actor(index) => {
                    self.found = map.next_value_seed(Element {
                        index,
                        _t: PhantomData::<T>,
                    })?
                }
            }
        }
        Ok(self.found)
    }
}

/// Element `index` of an array of tables.
struct Element<T> {
    index: usize,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Element<T> {
    type Value = Option<T>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Element<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of tables")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        let (mut found, mut i) = (None, 0);
        // Every element is read (the others skipped) so the document reads to its end.
        loop {
            if i == self.index {
                match seq.next_element::<T>()? {
                    Some(t) => found = Some(t),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
}

/// The keys a struct deserializes (its field names, as serde renames them): a type that
/// declares a workload's keys is also the list of them.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let seen = Cell::new(None);
    let _ = T::deserialize(Fields(&seen));
    seen.get().unwrap_or(&[])
}

struct Fields<'a>(&'a Cell<Option<&'static [&'static str]>>);

impl<'de> serde::Deserializer<'de> for Fields<'_> {
    type Error = serde::de::value::Error;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("only a struct's field names are read"))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.set(Some(fields));
        Err(serde::de::Error::custom("only a struct's field names are read"))
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_validate_command_carries_the_overrides_as_flags() {
        assert_eq!(
            validate_args("s.toml (with --set run.writers=3 --set a.b=c)"),
            "s.toml --set run.writers=3 --set a.b=c"
        );
        assert_eq!(validate_args("scenarios/s.toml"), "scenarios/s.toml");
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Keys {
        a: Option<Spanned<u32>>,
        b: Option<Vec<Spanned<String>>>,
    }

    #[test]
    fn a_table_is_read_with_the_files_spans_and_its_fields_are_its_keys() {
        let text = "name = \"x\"\n[[actors]]\nkind = \"r\"\n[[actors]]\nkind = \"w\"\na = 3\nb = [\"p\",\n \"q\"]\n\
            [[actors]]\na = 9\n[workload]\na = 1\n";
        let here = Locator { text, origin: "f" };
        let k: Keys = here.read_table(Table::Actor(1)).unwrap().unwrap();
        assert_eq!(*k.a.as_ref().unwrap().get_ref(), 3);
        assert_eq!(here.line_col(k.a.unwrap().span().start).0, 6);
        assert_eq!(here.line_col(k.b.unwrap()[1].span().start).0, 8);
        let w: Keys = here.read_table(Table::Workload).unwrap().unwrap();
        assert_eq!(*w.a.unwrap().get_ref(), 1);
        assert!(here.read_table::<Keys>(Table::Actor(5)).unwrap().is_none());
        assert_eq!(field_names::<Keys>(), &["a", "b"]);
    }
}

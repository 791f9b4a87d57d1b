//! `[workload]` and a writing `[[actors]]` group: which workload `kind` names, and its keys.
//! Each workload declares and validates its own keys (`workload::all()`); here is only
//! what they share: a key this kind does not take, and the size of one INSERT.

use crate::scenario::model::RawTable;
use crate::util::toml_place::{Locator, Table};
use crate::workload::{Keys, WorkloadKind, WorkloadSpec};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// One transaction's INSERT is a single SQL statement held in memory.
const MAX_BATCH_BYTES: u64 = 256 * 1024 * 1024;

/// The workload of `[workload]`: append, 25 rows of 64 bytes, when the file has none.
pub(super) fn of_section(raw: Option<&Spanned<RawTable>>, here: &Locator) -> anyhow::Result<WorkloadSpec> {
    let Some(raw) = raw else {
        return Ok(WorkloadSpec::default());
    };
    let kind = match raw.get_ref().get("kind") {
        Some(k) => kind_of(k, here)?,
        None => Default::default(),
    };
    let group = Group {
        table: Table::Workload,
        raw: raw.get_ref(),
        kind_span: here.find_key("workload", "kind"),
        own_keys: &[],
    };
    validate(kind, &group, here)
}

/// `kind = "<name>"` of `[workload]`: a workload's name.
fn kind_of(k: &Spanned<toml::Value>, here: &Locator) -> anyhow::Result<WorkloadKind> {
    let name = k.get_ref().as_str();
    name.and_then(crate::workload::kind).ok_or_else(|| {
        let given = name.map_or_else(|| k.get_ref().to_string(), |n| format!("`{n}`"));
        let what = format!("unknown variant {given}, expected one of {}.", crate::workload::names());
        here.error(Some(k.span()), "workload.kind", &what)
    })
}

/// A table holding a workload's keys.
pub(super) struct Group<'a> {
    pub table: Table,
    pub raw: &'a RawTable,
    /// Where `kind` is, for errors about a key that is missing.
    pub kind_span: Option<Range<usize>>,
    /// The keys of the table that are not the workload's (an actor group's own).
    pub own_keys: &'a [&'a str],
}

/// The workload `kind` with the keys `group` gives it.
pub(super) fn validate(kind: WorkloadKind, group: &Group, here: &Locator) -> anyhow::Result<WorkloadSpec> {
    let mut given: Vec<(&Spanned<String>, &Spanned<toml::Value>)> = group
        .raw
        .iter()
        .filter(|(k, _)| k.get_ref() != "kind" && !group.own_keys.contains(&k.get_ref().as_str()))
        .collect();
    // The first wrong key in the file is the one reported.
    given.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in &given {
        match taken(kind, key.get_ref(), value.span(), here) {
            Taken::Yes => {}
            Taken::Wrong(e) => return Err(e),
            Taken::Unknown => return Err(unknown_key(key, group.own_keys, here)),
        }
    }
    let keys = Keys {
        here,
        table: group.table,
        kind,
        given: given.iter().map(|(k, v)| (k.get_ref().clone(), v.span())).collect(),
        kind_span: group.kind_span.clone(),
    };
    let spec = kind.validate(&keys)?;
    if spec.batch_rows as u64 * (spec.payload_bytes as u64 + 120) > MAX_BATCH_BYTES {
        return Err(here.error(
            keys.given.get("batch_rows").cloned(),
            "workload.batch_rows",
            "times payload_bytes makes one INSERT larger than 256 MiB; use smaller batches or payloads.",
        ));
    }
    Ok(spec)
}

/// Whether `kind` takes a key: `Wrong` when another workload takes it or this one refuses
/// it (the error says which), `Unknown` when no workload takes it.
pub(super) enum Taken {
    Yes,
    Wrong(anyhow::Error),
    Unknown,
}

pub(super) fn taken(kind: WorkloadKind, key: &str, span: Range<usize>, here: &Locator) -> Taken {
    if kind.keys().contains(&key) {
        return Taken::Yes;
    }
    let name = format!("workload.{key}");
    if let Some(why) = kind.refuses(key) {
        let what = format!("does not apply to kind = \"{}\" ({why}); remove it.", kind.name());
        return Taken::Wrong(here.error(Some(span), &name, &what));
    }
    let takers: Vec<String> = crate::workload::all()
        .iter()
        .filter(|w| w.keys().contains(&key))
        .map(|w| match w.values_of(key) {
            Some(values) => format!("\"{}\" ({values})", w.name()),
            None => format!("\"{}\"", w.name()),
        })
        .collect();
    let list = match takers.split_last() {
        None => return Taken::Unknown,
        Some((last, [])) => last.clone(),
        Some((last, first)) => format!("{} and {last}", first.join(", ")),
    };
    Taken::Wrong(here.error(Some(span), &name, &format!("applies to kind = {list} only.")))
}

/// Every key a workload takes, `kind` and `others` first, as serde lists expected fields.
pub(super) fn every_key(others: &[&str]) -> String {
    let mut keys: Vec<&str> = vec!["kind"];
    keys.extend(others.iter().filter(|k| **k != "kind"));
    for w in crate::workload::all() {
        keys.extend(w.keys().iter().filter(|k| !keys.contains(k)).collect::<Vec<_>>());
    }
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// A key no workload takes (a typo): the keys there are.
pub(super) fn unknown_key(key: &Spanned<String>, others: &[&str], here: &Locator) -> anyhow::Error {
    here.error(
        Some(key.span()),
        "",
        &format!(
            "unknown field `{}`, expected one of {} (keys are case-sensitive; see the README's scenario reference).",
            key.get_ref(),
            every_key(others)
        ),
    )
}

/// The keys given in a table and the spans of their values.
pub(super) fn spans(raw: &RawTable) -> BTreeMap<String, Range<usize>> {
    raw.iter().map(|(k, v)| (k.get_ref().clone(), v.span())).collect()
}

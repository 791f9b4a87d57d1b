//! `[[actors]]` tables to [`ActorGroup`]s. Writer ids: the writing group (from `[[actors]]`
//! or `[workload]`) takes 0.., so the workloads' own use of writer ids (delete's first
//! `deleters`) is unchanged; the other groups follow in file order. `run.writers` counts
//! every actor. A writing group's keys besides the actors' own are its workload's.

use super::super::actors::*;
use super::super::model::*;
use super::workloads::{self, Group};
use super::{parse_duration, Locator};
use crate::util::toml_place::{field_names, Table};
use crate::workload::{WorkloadKind, WorkloadSpec};
use std::time::Duration;
use toml::Spanned;

/// The keys each kind of group takes besides `kind` and `count` (a writing group: and its
/// workload's).
const WRITING_KEYS: &[&str] = &["rate", "rate_total", "think_time"];
const MAINTENANCE_KEYS: &[&str] = &["every", "operations", "older_than", "long_transaction"];
const READER_KEYS: &[&str] = &["every", "fresh_every"];

/// Whether an `[[actors]]` group of this kind runs a workload.
pub(super) fn is_writing(kind: &str) -> bool {
    crate::workload::kind(kind).is_some()
}

/// The actors' own keys of every `[[actors]]` table; a value of the wrong type names its key.
pub(super) fn read(raw: &[Spanned<RawTable>], here: &Locator) -> anyhow::Result<Vec<RawActor>> {
    raw.iter()
        .enumerate()
        .map(|(i, t)| here.read_keys(Table::Actor(i), &workloads::spans(t.get_ref()), "actors"))
        .collect()
}

/// The groups, and the workload of a writing `[[actors]]` group if there is one.
pub(super) fn validate(
    raw: &[Spanned<RawTable>],
    actors: &[RawActor],
    workload: Option<&WorkloadSpec>,
    run: &RunSpec,
    writers_span: std::ops::Range<usize>,
    here: &Locator,
) -> anyhow::Result<(Vec<ActorGroup>, Option<WorkloadSpec>)> {
    if raw.is_empty() {
        return Ok((Vec::new(), None));
    }
    let mut writing: Option<(u32, WorkloadSpec)> = None;
    let mut others: Vec<ActorGroup> = Vec::new();
    let mut reader_at = None;
    for (index, (table, a)) in raw.iter().zip(actors).enumerate() {
        let count = match &a.count {
            Some(c) if *c.get_ref() == 0 => return Err(here.at(c, "actors.count", "must be at least 1.")),
            Some(c) => *c.get_ref(),
            None => 1,
        };
        if let Some(kind) = crate::workload::kind(a.kind.get_ref()) {
            let second = workload.is_some() || writing.is_some();
            writing = Some((count, writing_group(index, table.get_ref(), a, kind, second, here)?));
            continue;
        }
        let group = other_group(table.get_ref(), a, run, here)?;
        if group.kind == ActorKind::Reader {
            reader_at = Some(a.kind.span());
        }
        others.push(ActorGroup {
            count,
            first: 0,
            ..group
        });
    }
    let writers = writers_of(writing.as_ref().map(|w| w.0), &others, run, writers_span, here)?;
    // The readers check rows against the transactions that wrote them, which only a
    // workload that keeps its rows as written allows (append).
    let kind = writing
        .as_ref()
        .map(|w| w.1.kind)
        .or(workload.map(|w| w.kind))
        .unwrap_or_default();
    if reader_at.is_some() && kind.rows_replaced().is_some() {
        return Err(here.error(
            reader_at,
            "actors.kind",
            &format!(
                "\"reader\" checks every read against the \
            transactions that wrote the rows, which needs the append workload (this scenario's is {kind:?})."
            ),
        ));
    }
    let mut groups = vec![ActorGroup {
        kind: ActorKind::Writer,
        count: writers,
        first: 0,
        maintenance: None,
        reader: None,
    }];
    let mut next = writers;
    for g in others {
        groups.push(ActorGroup { first: next, ..g });
        next += g.count;
    }
    Ok((groups, writing.map(|(_, w)| w)))
}

/// A writing group: one per scenario; its keys besides the actors' own are its workload's.
fn writing_group(
    index: usize,
    table: &RawTable,
    a: &RawActor,
    kind: WorkloadKind,
    second: bool,
    here: &Locator,
) -> anyhow::Result<WorkloadSpec> {
    // One writing group: the per-workload checkers judge one table written by one
    // workload; two workloads on one table would make each other's rows look wrong.
    if second {
        return Err(here.at(
            &a.kind,
            "actors.kind",
            &format!(
                "\"{kind}\" is a second writing group (a \
            [workload] or another writing [[actors]] group exists): a scenario has one writing group, on one \
            table. Keep one."
            ),
        ));
    }
    let mut own = vec!["kind", "count"];
    own.extend(WRITING_KEYS);
    reject_keys(table, |k| is_actor_key(k) && !own.contains(&k), kind.name(), here)?;
    let group = Group {
        table: Table::Actor(index),
        raw: table,
        kind_span: Some(a.kind.span()),
        own_keys: &own,
    };
    workloads::validate(kind, &group, here)
}

/// A maintenance or reader group, which runs until the run ends.
fn other_group(table: &RawTable, a: &RawActor, run: &RunSpec, here: &Locator) -> anyhow::Result<ActorGroup> {
    let kind = a.kind.get_ref().as_str();
    let own = match kind {
        "maintenance" => MAINTENANCE_KEYS,
        "reader" => READER_KEYS,
        other => {
            let allowed: Vec<String> = crate::workload::all()
                .iter()
                .map(|w| format!("\"{}\"", w.name()))
                .collect();
            return Err(here.at(
                &a.kind,
                "actors.kind",
                &format!(
                    "is \"{other}\"; allowed: {}, \"maintenance\" or \"reader\".",
                    allowed.join(", ")
                ),
            ));
        }
    };
    let unknown = table
        .keys()
        .filter(|k| !is_known(k.get_ref()))
        .min_by_key(|k| k.span().start);
    if let Some(key) = unknown {
        return Err(workloads::unknown_key(key, field_names::<RawActor>(), here));
    }
    reject_keys(table, |k| k != "kind" && k != "count" && !own.contains(&k), kind, here)?;
    if let StopCondition::CommitsPerWriter(_) = run.stop {
        return Err(here.at(
            &a.kind,
            "actors.kind",
            &format!(
                "\"{kind}\" actors run until the run ends, but \
            run.commits_per_writer gives no end to them: use run.duration."
            ),
        ));
    }
    if kind == "maintenance" {
        maintenance(a, here)
    } else {
        reader(a, here)
    }
}

/// The writers of the workload: the writing group's count, else what the others leave.
fn writers_of(
    writing: Option<u32>,
    others: &[ActorGroup],
    run: &RunSpec,
    writers_span: std::ops::Range<usize>,
    here: &Locator,
) -> anyhow::Result<u32> {
    let others_count: u32 = others.iter().map(|g| g.count).sum();
    match writing {
        Some(n) if n + others_count != run.writers => Err(here.error(
            Some(writers_span),
            "run.writers",
            &format!(
                "is {}, but the [[actors]] groups count {} actors in all: run.writers must be their sum.",
                run.writers,
                n + others_count
            ),
        )),
        Some(n) => Ok(n),
        None if others_count >= run.writers => Err(here.error(
            Some(writers_span),
            "run.writers",
            &format!(
                "is {}, but the [[actors]] groups take \
                {others_count}: run.writers counts every actor, and the [workload] writers are the rest, at least 1.",
                run.writers
            ),
        )),
        None => Ok(run.writers - others_count),
    }
}

/// An actors' key or any workload's.
fn is_known(key: &str) -> bool {
    is_actor_key(key) || crate::workload::all().iter().any(|w| w.keys().contains(&key))
}

fn is_actor_key(key: &str) -> bool {
    field_names::<RawActor>().contains(&key)
}

/// The first key of `table` in the file that `refused` says this kind does not take.
fn reject_keys(table: &RawTable, refused: impl Fn(&str) -> bool, kind: &str, here: &Locator) -> anyhow::Result<()> {
    let mut keys: Vec<_> = table.iter().filter(|(k, _)| refused(k.get_ref())).collect();
    keys.sort_by_key(|(k, _)| k.span().start);
    match keys.first() {
        Some((key, value)) => Err(here.error(
            Some(value.span()),
            &format!("actors.{}", key.get_ref()),
            &format!("does not apply to kind = \"{kind}\"."),
        )),
        None => Ok(()),
    }
}

fn maintenance(a: &RawActor, here: &Locator) -> anyhow::Result<ActorGroup> {
    let duration = |s: &Option<Spanned<String>>, key: &str, default: Duration| {
        s.as_ref()
            .map(|s| parse_duration(s, key, here))
            .transpose()
            .map(|d| d.unwrap_or(default))
    };
    let operations = match &a.operations {
        None => vec![
            MaintenanceOp::MergeAdjacentFiles,
            MaintenanceOp::ExpireSnapshots,
            MaintenanceOp::CleanupOldFiles,
        ],
        Some(ops) if ops.get_ref().is_empty() => {
            return Err(here.at(ops, "actors.operations", "is empty: name at least one operation."))
        }
        Some(ops) => ops
            .get_ref()
            .iter()
            .map(|op| {
                MaintenanceOp::from_name(op.get_ref()).ok_or_else(|| {
                    let allowed: Vec<String> = MaintenanceOp::ALL.iter().map(|o| format!("\"{}\"", o.name())).collect();
                    here.at(
                        op,
                        "actors.operations",
                        &format!(
                            "\"{}\" is not a DuckLake maintenance operation; allowed: {}.",
                            op.get_ref(),
                            allowed.join(", ")
                        ),
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let spec = MaintenanceSpec {
        every: duration(&a.every, "actors.every", Duration::from_secs(2))?,
        operations,
        older_than: duration(&a.older_than, "actors.older_than", Duration::from_secs(1))?,
        long_transaction: a
            .long_transaction
            .as_ref()
            .map(|s| parse_duration(s, "actors.long_transaction", here))
            .transpose()?,
    };
    Ok(ActorGroup {
        kind: ActorKind::Maintenance,
        count: 0,
        first: 0,
        maintenance: Some(spec),
        reader: None,
    })
}

fn reader(a: &RawActor, here: &Locator) -> anyhow::Result<ActorGroup> {
    let every = a
        .every
        .as_ref()
        .map(|s| parse_duration(s, "actors.every", here))
        .transpose()?
        .unwrap_or(Duration::from_millis(100));
    let fresh_every = match &a.fresh_every {
        Some(f) if *f.get_ref() == 0 => {
            return Err(here.at(
                f,
                "actors.fresh_every",
                "must be at least 1 (1: every read from a fresh instance).",
            ))
        }
        Some(f) => *f.get_ref(),
        None => 5,
    };
    Ok(ActorGroup {
        kind: ActorKind::Reader,
        count: 0,
        first: 0,
        maintenance: None,
        reader: Some(ReaderSpec { every, fresh_every }),
    })
}

//! `[[actors]]` tables to [`ActorGroup`]s. Writer ids: the writing group (from `[[actors]]`
//! or `[workload]`) takes 0.., so the workloads' own use of writer ids (delete's first
//! `deleters`) is unchanged; the other groups follow in file order. `run.writers` counts
//! every actor.

use super::super::actors::*;
use super::super::model::*;
use super::{parse_duration, validate_workload, Locator};
use std::time::Duration;
use toml::Spanned;

const WRITING: [(&str, WorkloadKind); 7] = [
    ("append", WorkloadKind::Append),
    ("upsert", WorkloadKind::Upsert),
    ("counter", WorkloadKind::Counter),
    ("bank", WorkloadKind::Bank),
    ("delete", WorkloadKind::Delete),
    ("ddl", WorkloadKind::Ddl),
    ("sql", WorkloadKind::Sql),
];

/// Whether an `[[actors]]` group of this kind runs a workload.
pub(super) fn is_writing(kind: &str) -> bool {
    WRITING.iter().any(|(n, _)| *n == kind)
}

/// The groups, and the workload of a writing `[[actors]]` group if there is one.
pub(super) fn validate(
    raw: Vec<Spanned<RawActor>>,
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
    for (index, actor) in raw.into_iter().enumerate() {
        let span = actor.span();
        let a = actor.into_inner();
        let count = match &a.count {
            Some(c) if *c.get_ref() == 0 => return Err(here.at(c, "actors.count", "must be at least 1.")),
            Some(c) => *c.get_ref(),
            None => 1,
        };
        let kind = a.kind.get_ref().as_str();
        if let Some((_, wk)) = WRITING.iter().find(|(n, _)| *n == kind) {
            // One writing group: the per-workload checkers judge one table written by one
            // workload; two workloads on one table would make each other's rows look wrong.
            if workload.is_some() || writing.is_some() {
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
            reject_keys(
                &a,
                &["every", "operations", "older_than", "long_transaction", "fresh_every"],
                kind,
                here,
            )?;
            let mut spec = validate_workload(Some(&Spanned::new(span, workload_keys(a, *wk))), here)?;
            if let Some(sql) = spec.sql.as_mut() {
                // Errors of its statements name them where the file has them.
                sql.origin = format!("actors[{index}]");
            }
            writing = Some((count, spec));
            continue;
        }
        let group = match kind {
            "maintenance" => maintenance(&a, here)?,
            "reader" => {
                reader_at = Some(a.kind.span());
                reader(&a, here)?
            }
            other => {
                let allowed: Vec<String> = WRITING.iter().map(|(n, _)| format!("\"{n}\"")).collect();
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
        others.push(ActorGroup {
            count,
            first: 0,
            ..group
        });
    }
    let others_count: u32 = others.iter().map(|g| g.count).sum();
    let writers = match &writing {
        Some((n, _)) if n + others_count != run.writers => {
            return Err(here.error(
                Some(writers_span),
                "run.writers",
                &format!(
                    "is {}, but the [[actors]] groups count {} actors in all: run.writers must be their sum.",
                    run.writers,
                    n + others_count
                ),
            ));
        }
        Some((n, _)) => *n,
        None if others_count >= run.writers => {
            return Err(here.error(
                Some(writers_span),
                "run.writers",
                &format!(
                    "is {}, but the [[actors]] groups take \
                {others_count}: run.writers counts every actor, and the [workload] writers are the rest, at least 1.",
                    run.writers
                ),
            ));
        }
        None => run.writers - others_count,
    };
    // The readers check rows against the transactions that wrote them, which only `append`
    // keeps unchanged (the other workloads replace, update or delete rows by design).
    let kind = writing
        .as_ref()
        .map(|w| w.1.kind)
        .or(workload.map(|w| w.kind))
        .unwrap_or(WorkloadKind::Append);
    if reader_at.is_some() && kind != WorkloadKind::Append {
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

fn reject_keys(a: &RawActor, keys: &[&str], kind: &str, here: &Locator) -> anyhow::Result<()> {
    let spans: [(&str, Option<std::ops::Range<usize>>); 25] = [
        ("rate", a.rate.as_ref().map(|s| s.span())),
        ("rate_total", a.rate_total.as_ref().map(|s| s.span())),
        ("think_time", a.think_time.as_ref().map(|s| s.span())),
        ("every", a.every.as_ref().map(|s| s.span())),
        ("operations", a.operations.as_ref().map(|s| s.span())),
        ("older_than", a.older_than.as_ref().map(|s| s.span())),
        ("long_transaction", a.long_transaction.as_ref().map(|s| s.span())),
        ("fresh_every", a.fresh_every.as_ref().map(|s| s.span())),
        ("batch_rows", a.batch_rows.as_ref().map(|s| s.span())),
        ("payload_bytes", a.payload_bytes.as_ref().map(|s| s.span())),
        ("keys", a.keys.as_ref().map(|s| s.span())),
        ("seed", a.seed.as_ref().map(|s| s.span())),
        ("counters", a.counters.as_ref().map(|s| s.span())),
        ("statement", a.statement.as_ref().map(|s| s.span())),
        ("statements", a.statements.as_ref().map(|s| s.span())),
        ("setup", a.setup.as_ref().map(|s| s.span())),
        ("check", a.check.as_ref().map(|s| s.span())),
        ("expect_rows", a.expect_rows.as_ref().map(|s| s.span())),
        ("expect", a.expect.as_ref().map(|s| s.span())),
        ("schema", a.schema.as_ref().map(|s| s.span())),
        ("accounts", a.accounts.as_ref().map(|s| s.span())),
        ("initial_balance", a.initial_balance.as_ref().map(|s| s.span())),
        ("max_transfer", a.max_transfer.as_ref().map(|s| s.span())),
        ("allow_negative", a.allow_negative.as_ref().map(|s| s.span())),
        ("deleters", a.deleters.as_ref().map(|s| s.span())),
    ];
    for (key, span) in spans {
        if let (true, Some(span)) = (keys.contains(&key), span) {
            return Err(here.error(
                Some(span),
                &format!("actors.{key}"),
                &format!("does not apply to kind = \"{kind}\"."),
            ));
        }
    }
    Ok(())
}

const WORKLOAD_KEYS: [&str; 17] = [
    "batch_rows",
    "payload_bytes",
    "keys",
    "seed",
    "counters",
    "statement",
    "statements",
    "setup",
    "check",
    "expect_rows",
    "expect",
    "schema",
    "accounts",
    "initial_balance",
    "max_transfer",
    "allow_negative",
    "deleters",
];

fn workload_keys(a: RawActor, kind: WorkloadKind) -> RawWorkload {
    RawWorkload {
        kind: Some(kind),
        batch_rows: a.batch_rows,
        payload_bytes: a.payload_bytes,
        keys: a.keys,
        seed: a.seed,
        counters: a.counters,
        statement: a.statement,
        statements: a.statements,
        setup: a.setup,
        check: a.check,
        expect_rows: a.expect_rows,
        expect: a.expect,
        schema: a.schema,
        accounts: a.accounts,
        initial_balance: a.initial_balance,
        max_transfer: a.max_transfer,
        allow_negative: a.allow_negative,
        deleters: a.deleters,
    }
}

fn maintenance(a: &RawActor, here: &Locator) -> anyhow::Result<ActorGroup> {
    let mut keys = WORKLOAD_KEYS.to_vec();
    keys.extend(["fresh_every", "rate", "rate_total", "think_time"]);
    reject_keys(a, &keys, "maintenance", here)?;
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
    let mut keys = WORKLOAD_KEYS.to_vec();
    keys.extend([
        "operations",
        "older_than",
        "long_transaction",
        "rate",
        "rate_total",
        "think_time",
    ]);
    reject_keys(a, &keys, "reader", here)?;
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

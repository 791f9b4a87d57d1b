//! The bank workload's checker. Transfers move money between accounts and never create or
//! destroy it, so the sum of all balances equals the seeded total at every snapshot: read
//! back by time travel (`AT (VERSION => n)`) at each snapshot from the seeded table to the
//! latest, and once more as the table is now. Every account must be present once, and with
//! `allow_negative = false` no balance may be below zero at any snapshot. Which
//! transactions committed does not matter: any set of whole transfers keeps the total, so
//! unknown outcomes need no resolving here. A lost update (two transfers that read the
//! same balance, both committed) shows as a total that changed, at the snapshot that
//! changed it.

use super::keyed_values::{values, RunSnapshots};
use super::problems::Problems;
use super::{About, Applies, Check, CheckContext, CheckResult, Needs, RunFacts};
use anyhow::Context;
use serde_json::json;
use std::collections::BTreeMap;

pub struct BankTotal;

/// What one snapshot (or the table now) shows.
struct State {
    total: i64,
    missing: Vec<u32>,
    duplicated: Vec<u32>,
    negative: Vec<(u32, i64)>,
}

fn state(rows: &BTreeMap<u32, Vec<i64>>, accounts: u32) -> State {
    let all = rows.values().flatten();
    State {
        total: all.clone().sum(),
        missing: (0..accounts).filter(|k| !rows.contains_key(k)).collect(),
        duplicated: rows.iter().filter(|(_, v)| v.len() > 1).map(|(k, _)| *k).collect(),
        negative: rows
            .iter()
            .flat_map(|(k, vs)| vs.iter().filter(|v| **v < 0).map(|v| (*k, *v)))
            .collect(),
    }
}

impl Check for BankTotal {
    fn about(&self) -> About {
        About::new("bank_total", Needs::History, Applies::OwnRows)
    }

    fn judge_run(&self, ctx: &CheckContext, run: &RunFacts) -> anyhow::Result<CheckResult> {
        let bank = run
            .record
            .workload()?
            .bank
            .clone()
            .context("the bank workload's options are missing")?;
        let expected = bank.initial_balance * bank.accounts as i64;
        let snapshots = RunSnapshots::read(ctx, run.run_id())?;
        let (ids, every) = snapshots.walk();
        let mut p = Problems::default();
        let mut wrong_totals = Vec::new();
        let mut lowest: Option<(i64, u32, i64)> = None; // (balance, account, snapshot)
        let at = ids.iter().map(|s| Some(*s)).chain([None]);
        for s in at {
            let seen = state(&values(ctx, run.run_id(), s)?, bank.accounts);
            let place = match s {
                Some(s) => format!("at snapshot {s} ({})", snapshots.maker(s)),
                None => "now".to_string(),
            };
            if seen.total != expected {
                wrong_totals
                    .push(json!({ "snapshot": s, "made_by": s.map(|s| snapshots.maker(s)), "total": seen.total }));
                p.add("total_changed", || {
                    format!(
                        "{place} the total is {}, expected {expected} ({} more)",
                        seen.total,
                        seen.total - expected
                    )
                });
            }
            if !seen.missing.is_empty() {
                p.add("missing_account", || {
                    format!("{place} account(s) {:?} have no row", seen.missing)
                });
            }
            if !seen.duplicated.is_empty() {
                p.add("duplicate_account", || {
                    format!("{place} account(s) {:?} have more than one row", seen.duplicated)
                });
            }
            for &(k, v) in &seen.negative {
                lowest = lowest
                    .filter(|(low, _, _)| *low <= v)
                    .or(Some((v, k, s.unwrap_or(snapshots.current))));
                if !bank.allow_negative {
                    p.add("negative_balance", || {
                        format!("{place} account {k} has balance {v}, although transfers may not overdraw")
                    });
                }
            }
        }
        let summary = format!(
            "{} accounts total {expected} at each of {} snapshot(s){} and now{}",
            bank.accounts,
            ids.len(),
            if every { "" } else { " (an even spread of the run's)" },
            if bank.allow_negative {
                ""
            } else {
                "; no balance below zero"
            }
        );
        let evidence = json!({
            "accounts": bank.accounts,
            "expected_total": expected,
            "allow_negative": bank.allow_negative,
            "snapshots_checked": ids.len(),
            "every_snapshot": every,
            "wrong_totals": wrong_totals.iter().take(20).collect::<Vec<_>>(),
            "lowest_negative": lowest.map(|(v, k, s)| json!({ "balance": v, "account": k, "snapshot": s })),
        });
        Ok(p.into_result(self.name(), summary, evidence))
    }
}

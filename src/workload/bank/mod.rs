//! `kind = "bank"`: transfers between shared accounts; the total never changes (see
//! `generator`).

mod generator;

pub use generator::*;

use super::keys::{field_names, Keys};
use super::{About, Generator, Workload, WorkloadSpec};
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BankSpec {
    /// Accounts all writers share, each a row seeded with `initial_balance`.
    pub accounts: u32,
    pub initial_balance: i64,
    /// A transfer moves 1 to this much.
    pub max_transfer: i64,
    /// false: a transfer that would make the source account negative moves nothing.
    pub allow_negative: bool,
}

/// `kind = "bank"`'s keys.
#[derive(Deserialize)]
struct BankKeys {
    accounts: Option<Spanned<u32>>,
    initial_balance: Option<Spanned<i64>>,
    max_transfer: Option<Spanned<i64>>,
    allow_negative: Option<Spanned<bool>>,
}

pub struct Bank;

impl Workload for Bank {
    fn about(&self) -> About {
        About::new("bank", "bank: the UPDATE of the two accounts (step insert)")
            .keyed()
            .judged_by("updates rows in place by design", &["bank_total"])
    }

    fn keys(&self) -> &'static [&'static str] {
        field_names::<BankKeys>()
    }

    fn refuses(&self, key: &str) -> Option<&'static str> {
        match key {
            "batch_rows" => Some("a transfer always writes its two accounts"),
            "payload_bytes" => Some("an account row holds a number"),
            _ => None,
        }
    }

    fn validate(&self, keys: &Keys) -> anyhow::Result<WorkloadSpec> {
        let k: BankKeys = keys.read()?;
        let mut spec = keys.batch(None, None, 2)?;
        let accounts = k.accounts.as_ref().map(|a| *a.get_ref()).unwrap_or(10);
        if !(2..=100_000).contains(&accounts) {
            return Err(keys.error(
                k.accounts.as_ref().map(|a| a.span()),
                "workload.accounts",
                &format!("is {accounts}; allowed: 2 (a transfer needs two accounts) to 100000."),
            ));
        }
        let initial_balance = k.initial_balance.as_ref().map(|b| *b.get_ref()).unwrap_or(100);
        if !(0..=1_000_000_000).contains(&initial_balance) {
            return Err(keys.error(
                k.initial_balance.as_ref().map(|b| b.span()),
                "workload.initial_balance",
                &format!("is {initial_balance}; allowed: 0 to 1000000000."),
            ));
        }
        let max_transfer = k.max_transfer.as_ref().map(|m| *m.get_ref()).unwrap_or(10);
        if !(1..=1_000_000_000).contains(&max_transfer) {
            return Err(keys.error(
                k.max_transfer.as_ref().map(|m| m.span()),
                "workload.max_transfer",
                &format!("is {max_transfer}; allowed: 1 to 1000000000."),
            ));
        }
        spec.bank = Some(BankSpec {
            accounts,
            initial_balance,
            max_transfer,
            allow_negative: k.allow_negative.as_ref().map(|a| *a.get_ref()).unwrap_or(true),
        });
        Ok(spec)
    }

    /// Every account at its initial balance.
    fn seed_sql(&self, spec: &WorkloadSpec, table: &str, run_id: &str) -> Option<String> {
        Some(BankWorkload::new(spec, table).seed_sql(table, run_id))
    }

    fn generator(&self, spec: &WorkloadSpec, table: &str) -> Box<dyn Generator> {
        Box::new(BankWorkload::new(spec, table))
    }
}

impl Generator for BankWorkload {
    fn rows_for(&self, _writer: u32) -> u32 {
        self.rows()
    }

    fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        BankWorkload::run_txn(self, conn, run_id, writer, txn)
    }
}

//! The `bank` workload: transfers between accounts all writers share. The table holds one
//! row per account, seeded with `initial_balance` before the writers start; each
//! transaction reads the balances of two accounts, then writes both (the source less the
//! amount, the destination plus it). Whatever commits, the total never changes. With
//! `allow_negative = false` a transfer the source cannot cover moves nothing, so no
//! balance may ever go negative. Source, destination and amount follow from (run, writer,
//! transaction) alone.

use super::BankSpec;
use crate::util::lake_table::qualified;
use crate::workload::keyed;
use crate::workload::WorkloadSpec;
use md5::{Digest, Md5};

pub struct BankWorkload {
    table: String,
    spec: BankSpec,
}

/// One transfer: from, to (distinct, below `accounts`), and an amount in 1..=max_transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub from: u32,
    pub to: u32,
    pub amount: i64,
}

pub fn transfer_of(run_id: &str, writer: u32, txn: u64, accounts: u32, max_transfer: i64) -> Transfer {
    let d = Md5::digest(format!("{run_id}:{writer}:{txn}:transfer").as_bytes());
    let word = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]) as u64;
    let accounts = accounts.max(2) as u64;
    let from = word(0) % accounts;
    // The destination is any other account: an offset of 1..accounts from the source.
    let to = (from + 1 + word(4) % (accounts - 1)) % accounts;
    let amount = 1 + (word(8) % max_transfer.max(1) as u64) as i64;
    let (from, to) = (from as u32, to as u32);
    Transfer { from, to, amount }
}

impl BankWorkload {
    pub fn new(spec: &WorkloadSpec, table: &str) -> Self {
        let bank = spec.bank.clone().unwrap_or(BankSpec {
            accounts: 10,
            initial_balance: 100,
            max_transfer: 10,
            allow_negative: true,
        });
        BankWorkload {
            table: qualified(table),
            spec: bank,
        }
    }

    pub fn rows(&self) -> u32 {
        2
    }

    pub fn seed_sql(&self, table: &str, run_id: &str) -> String {
        keyed::seed_sql(table, run_id, self.spec.accounts, self.spec.initial_balance)
    }

    /// Read both balances, then write both. A transfer the source cannot cover (when
    /// negatives are not allowed) still writes both rows unchanged: every transaction then
    /// makes a snapshot carrying its tag, and conflicts like any transfer would.
    pub fn run_txn(&self, conn: &duckdb::Connection, run_id: &str, writer: u32, txn: u64) -> Result<(), String> {
        let t = transfer_of(run_id, writer, txn, self.spec.accounts, self.spec.max_transfer);
        let mut keys = [t.from, t.to];
        keys.sort_unstable();
        let read = keyed::read_values(conn, &self.table, run_id, &keys)?;
        let balance = |account: u32| if keys[0] == account { read[0] } else { read[1] };
        let amount = if !self.spec.allow_negative && balance(t.from) < t.amount {
            0
        } else {
            t.amount
        };
        let next: Vec<i64> = keys
            .iter()
            .map(|k| {
                if *k == t.from {
                    balance(*k) - amount
                } else {
                    balance(*k) + amount
                }
            })
            .collect();
        conn.execute_batch(&keyed::write_values_sql(&self.table, run_id, writer, txn, &keys, &next))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_are_between_two_accounts_and_follow_from_the_transaction() {
        for txn in 0..200 {
            let t = transfer_of("r", 1, txn, 3, 5);
            assert!(t.from < 3 && t.to < 3 && t.from != t.to, "{t:?}");
            assert!((1..=5).contains(&t.amount), "{t:?}");
            assert_eq!(t, transfer_of("r", 1, txn, 3, 5));
        }
        let t = transfer_of("r", 0, 0, 2, 1);
        assert_eq!((t.from + t.to, t.amount), (1, 1));
    }
}

//! A workload's keys as the scenario file gives them, in `[workload]` or a writing
//! `[[actors]]` group (both read the one struct a workload declares its keys with), and
//! the checks every workload shares (`batch_rows`, `payload_bytes`).

use super::{WorkloadKind, WorkloadSpec};
pub use crate::util::toml_place::field_names;
use crate::util::toml_place::{Locator, Table};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// Where a workload's keys are, for it to read them and point at them.
pub struct Keys<'a> {
    pub here: &'a Locator<'a>,
    pub table: Table,
    pub kind: WorkloadKind,
    /// The keys given (besides `kind`) and the spans of their values.
    pub given: BTreeMap<String, Range<usize>>,
    /// Where `kind` is, for errors about a key that is missing.
    pub kind_span: Option<Range<usize>>,
}

impl Keys<'_> {
    /// The workload's keys struct, read from its table. A value of the wrong type is an
    /// error naming its key.
    pub fn read<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        self.here.read_keys(self.table, &self.given, "workload")
    }

    /// Where the file has these keys (`workload`, `actors[1]`), for messages about them.
    pub fn origin(&self) -> String {
        match self.table {
            Table::Workload => "workload".into(),
            Table::Actor(i) => format!("actors[{i}]"),
        }
    }

    pub fn at<T>(&self, spanned: &Spanned<T>, key: &str, what: &str) -> anyhow::Error {
        self.here.at(spanned, key, what)
    }

    pub fn error(&self, span: Option<Range<usize>>, key: &str, what: &str) -> anyhow::Error {
        self.here.error(span, key, what)
    }

    /// A spec of this workload with `batch_rows` (1 to 1000000, `rows` when absent) and
    /// `payload_bytes` (0 to 1 MiB, 64 when absent).
    pub fn batch(
        &self,
        batch_rows: Option<&Spanned<u32>>,
        payload_bytes: Option<&Spanned<u32>>,
        rows: u32,
    ) -> anyhow::Result<WorkloadSpec> {
        let mut spec = WorkloadSpec::new(self.kind, rows, 64);
        if let Some(b) = batch_rows {
            if *b.get_ref() == 0 || *b.get_ref() > 1_000_000 {
                return Err(self.at(b, "workload.batch_rows", "allowed: 1 to 1000000."));
            }
            spec.batch_rows = *b.get_ref();
        }
        if let Some(p) = payload_bytes {
            if *p.get_ref() > 1_048_576 {
                return Err(self.at(p, "workload.payload_bytes", "allowed: 0 to 1048576."));
            }
            spec.payload_bytes = *p.get_ref();
        }
        Ok(spec)
    }

    /// `keys`, the key space of upsert and sql: `batch_rows` (the keys one transaction
    /// takes) to 100000, 20 when absent.
    pub fn key_space(&self, spec: &mut WorkloadSpec, keys: Option<&Spanned<u32>>) -> anyhow::Result<()> {
        spec.keys = keys.map(|k| *k.get_ref()).unwrap_or(20);
        if spec.keys < spec.batch_rows || spec.keys > 100_000 {
            return Err(self.error(
                keys.map(|k| k.span()),
                "workload.keys",
                &format!(
                    "is {}; allowed: batch_rows ({}, the keys one transaction replaces) to 100000.",
                    spec.keys, spec.batch_rows
                ),
            ));
        }
        Ok(())
    }
}

/// The keys of the workloads that write rows of a payload and take nothing else.
#[derive(serde::Deserialize)]
pub struct BatchKeys {
    pub batch_rows: Option<Spanned<u32>>,
    pub payload_bytes: Option<Spanned<u32>>,
}

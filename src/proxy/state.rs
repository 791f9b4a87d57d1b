//! What the faults ask of one proxy now, what the proxy did for each, and its live
//! connections. Conditions (latency, partition, bandwidth) act on every chunk while they
//! last; triggers (lost_ack, failed and slow uploads) act on single commits or uploads.

use crate::history::Recorder;
use crate::util::LockExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// Actions kept per fault for the report (the count goes on).
const KEEP_ACTIONS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    Latency { delay: Duration, jitter: Duration },
    Partition,
    Bandwidth { bytes_per_second: u64 },
}

/// One active condition: the fault's id and, optionally, the one writer it applies to.
#[derive(Debug, Clone, Copy)]
struct Active {
    id: u64,
    writer: Option<u32>,
    condition: Condition,
}

/// The conditions in force now; links read it on every chunk.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    active: Vec<Active>,
}

impl Conditions {
    fn applying(&self, writer: Option<u32>) -> impl Iterator<Item = &Active> + '_ {
        self.active
            .iter()
            .filter(move |a| a.writer.is_none() || a.writer == writer)
    }

    /// The delay and jitter one way (several latency faults add up).
    pub fn delay(&self, writer: Option<u32>) -> Option<(Duration, Duration)> {
        self.applying(writer)
            .filter_map(|a| match a.condition {
                Condition::Latency { delay, jitter } => Some((delay, jitter)),
                _ => None,
            })
            .reduce(|(d1, j1), (d2, j2)| (d1 + d2, j1 + j2))
    }

    pub fn stalled(&self, writer: Option<u32>) -> bool {
        self.applying(writer).any(|a| a.condition == Condition::Partition)
    }

    /// The smallest bandwidth in force.
    pub fn rate(&self, writer: Option<u32>) -> Option<u64> {
        self.applying(writer)
            .filter_map(|a| match a.condition {
                Condition::Bandwidth { bytes_per_second } => Some(bytes_per_second),
                _ => None,
            })
            .min()
    }

    /// The faults acting on a connection of `writer`, with what each does to a chunk.
    pub fn ids(&self, writer: Option<u32>) -> Vec<(u64, &'static str)> {
        self.applying(writer)
            .map(|a| {
                let what = match a.condition {
                    Condition::Latency { .. } => "delayed",
                    Condition::Partition => "held",
                    Condition::Bandwidth { .. } => "throttled",
                };
                (a.id, what)
            })
            .collect()
    }
}

/// What a trigger does to the commit or upload it picks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TriggerKind {
    LostAck,
    FailedUpload,
    SlowUpload(Duration),
}

struct Trigger {
    id: u64,
    kind: TriggerKind,
    /// Acts left; `None`: no limit.
    remaining: Option<u64>,
    fraction: f64,
    writer: Option<u32>,
}

/// One thing the proxy did for a fault, on the run clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub at_seconds: f64,
    /// The proxy's number for the connection (counted from 1 per service).
    pub connection: u64,
    /// Who was at the other end: the catalog session's application_name, or the S3 client.
    pub peer: String,
    pub what: String,
}

/// What the proxy did for one fault, for the report.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct FaultRecord {
    /// The service's proxy: where the writers connected, and where it forwarded to.
    pub proxy: String,
    /// Times it acted: chunks delayed or held (conditions), connections cut (reset),
    /// commits or uploads hit (triggers).
    pub acted: u64,
    /// Distinct connections it acted on.
    pub connections: u64,
    /// The first actions (a condition records the first chunk on each connection).
    pub actions: Vec<Action>,
}

/// A live connection, for `reset` and the records.
struct Entry {
    peer: String,
    writer: Option<u32>,
    cut: watch::Sender<bool>,
}

pub struct State {
    /// The fault kind's name per id, for the history's entries.
    names: Mutex<BTreeMap<u64, String>>,
    records: Mutex<BTreeMap<u64, (FaultRecord, HashSet<u64>)>>,
    conditions: watch::Sender<Conditions>,
    triggers: Mutex<Vec<Trigger>>,
    conns: Mutex<BTreeMap<u64, Entry>>,
    next_id: AtomicU64,
    next_conn: AtomicU64,
    history: Arc<Recorder>,
    describe: String,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.locked()
}

impl State {
    pub fn new(history: Arc<Recorder>, describe: String) -> Self {
        State {
            names: Mutex::default(),
            records: Mutex::default(),
            conditions: watch::channel(Conditions::default()).0,
            triggers: Mutex::default(),
            conns: Mutex::default(),
            next_id: 1.into(),
            next_conn: 1.into(),
            history,
            describe,
        }
    }

    pub fn watch(&self) -> watch::Receiver<Conditions> {
        self.conditions.subscribe()
    }

    /// A new fault on this proxy, named `kind` in the history; returns its id.
    pub fn register(&self, kind: &str) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        locked(&self.names).insert(id, kind.to_string());
        let record = FaultRecord {
            proxy: self.describe.clone(),
            ..Default::default()
        };
        locked(&self.records).insert(id, (record, HashSet::new()));
        id
    }

    pub fn add_condition(&self, id: u64, writer: Option<u32>, condition: Condition) {
        self.conditions
            .send_modify(|c| c.active.push(Active { id, writer, condition }));
    }

    pub fn remove_condition(&self, id: u64) {
        self.conditions.send_modify(|c| c.active.retain(|a| a.id != id));
    }

    pub fn add_trigger(&self, id: u64, kind: TriggerKind, count: Option<u64>, fraction: f64, writer: Option<u32>) {
        locked(&self.triggers).push(Trigger {
            id,
            kind,
            remaining: count,
            fraction,
            writer,
        });
    }

    pub fn remove_trigger(&self, id: u64) {
        locked(&self.triggers).retain(|t| t.id != id);
    }

    /// Whether the trigger has acts left (false once its `count` is used up).
    pub fn trigger_left(&self, id: u64) -> bool {
        locked(&self.triggers)
            .iter()
            .any(|t| t.id == id && t.remaining != Some(0))
    }

    /// Picks this commit or upload for a trigger of a kind `wanted` accepts, if one is
    /// active, has acts left and its `fraction` draws it.
    pub fn claim(&self, wanted: impl Fn(&TriggerKind) -> bool, writer: Option<u32>) -> Option<(u64, TriggerKind)> {
        let mut triggers = locked(&self.triggers);
        let t = triggers
            .iter_mut()
            .find(|t| wanted(&t.kind) && t.remaining != Some(0) && (t.writer.is_none() || t.writer == writer))?;
        if t.fraction < 1.0 && rand::random::<f64>() >= t.fraction {
            return None;
        }
        if let Some(r) = &mut t.remaining {
            *r -= 1;
        }
        Some((t.id, t.kind))
    }

    /// Gives a claimed act back (the commit failed at the server: nothing to lose).
    pub fn unclaim(&self, id: u64) {
        if let Some(t) = locked(&self.triggers).iter_mut().find(|t| t.id == id) {
            if let Some(r) = &mut t.remaining {
                *r += 1;
            }
        }
    }

    /// Records an act of fault `id` on a connection, in the report and the history
    /// (`history`: false for the chunks of a condition, which would flood it).
    pub fn acted(&self, id: u64, conn: u64, peer: &str, what: &str, history: bool) {
        let at = self.history.now();
        let mut records = locked(&self.records);
        let Some((record, seen)) = records.get_mut(&id) else {
            return;
        };
        record.acted += 1;
        let first_on_conn = seen.insert(conn);
        if first_on_conn {
            record.connections += 1;
        }
        if (history || first_on_conn) && record.actions.len() < KEEP_ACTIONS {
            record.actions.push(Action {
                at_seconds: at,
                connection: conn,
                peer: peer.to_string(),
                what: what.to_string(),
            });
        }
        drop(records);
        if history {
            let name = locked(&self.names).get(&id).cloned().unwrap_or_default();
            self.history
                .nemesis(&name, &format!("acted on connection {conn} ({peer}): {what}"));
        }
    }

    pub fn record(&self, id: u64) -> FaultRecord {
        locked(&self.records).get(&id).map(|r| r.0.clone()).unwrap_or_default()
    }

    /// Seconds on the run clock.
    pub fn now(&self) -> f64 {
        self.history.now()
    }

    /// Cuts one connection.
    pub fn cut(&self, conn: u64) {
        if let Some(e) = locked(&self.conns).get(&conn) {
            let _ = e.cut.send(true);
        }
    }

    /// A number for a new connection.
    pub fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Lists a connection, and returns what tells it to cut itself.
    pub fn open(&self, conn: u64, peer: &str, writer: Option<u32>) -> watch::Receiver<bool> {
        let (cut, cut_rx) = watch::channel(false);
        locked(&self.conns).insert(
            conn,
            Entry {
                peer: peer.to_string(),
                writer,
                cut,
            },
        );
        cut_rx
    }

    pub fn close(&self, conn: u64) {
        locked(&self.conns).remove(&conn);
    }

    /// Cuts every live connection (of `writer`, if given) for fault `id`; returns how many.
    pub fn cut_all(&self, id: u64, writer: Option<u32>) -> usize {
        let conns = locked(&self.conns);
        let hit: Vec<(u64, String)> = conns
            .iter()
            .filter(|(_, e)| writer.is_none() || e.writer == writer)
            .map(|(id, e)| {
                let _ = e.cut.send(true);
                (*id, e.peer.clone())
            })
            .collect();
        drop(conns);
        for (conn, peer) in &hit {
            self.acted(id, *conn, peer, "cut (RST to the client)", true);
        }
        hit.len()
    }
}

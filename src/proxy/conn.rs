//! One proxied connection: two directions, each a task that reads a chunk, lets the
//! service's reader look at it (a COMMIT, a PUT), schedules it (latency, bandwidth) and
//! delivers it when due (not while partitioned). A cut closes the client's socket with an
//! RST (SO_LINGER 0), as a failing network or middlebox does.

use super::state::{Conditions, State, TriggerKind};
use super::{http, pg, Service};
use crate::util::LockExt;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Bytes read ahead of delivery before reading stops (the kernel's buffers then fill and
/// the sender waits, as it would behind a slow link).
const OUTBOX_LIMIT: usize = 4 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// How long a client answered with an injected error gets to read it and go.
const INJECTED_GRACE: Duration = Duration::from_secs(5);

/// What both directions of a connection share.
pub struct Ctx {
    pub state: Arc<State>,
    pub service: Service,
    pub conn: u64,
    pub peer: String,
    pub writer: Option<u32>,
    /// The lost_ack trigger armed by a COMMIT on its way to the catalog.
    armed: Mutex<Option<u64>>,
    /// A response the proxy answers the client with instead of the server (failed_upload).
    inject: Mutex<Option<Vec<u8>>>,
    injected: Notify,
    pub trace: Option<Arc<Mutex<std::fs::File>>>,
}

impl Ctx {
    pub fn new(
        state: Arc<State>,
        service: Service,
        (conn, peer, writer): (u64, String, Option<u32>),
        trace: Option<Arc<Mutex<std::fs::File>>>,
    ) -> Self {
        Ctx {
            state,
            service,
            conn,
            peer,
            writer,
            armed: Mutex::new(None),
            inject: Mutex::new(None),
            injected: Notify::new(),
            trace,
        }
    }

    fn trace(&self, line: impl FnOnce() -> String) {
        if let Some(t) = &self.trace {
            let at = self.state.now();
            let _ = writeln!(t.locked(), "{at:.4} c{} {} {}", self.conn, self.peer, line());
        }
    }
}

/// What a reader decided about a chunk.
enum Out {
    /// Pass these bytes on, this much later than the conditions say.
    Send(Vec<u8>, Duration),
    /// Cut the connection.
    Cut,
    /// Drop everything the client sends from now on (it is being answered by the proxy).
    Discard,
}

/// Carries the connection until both sides have closed, or it is cut.
pub async fn carry(client: TcpStream, server: TcpStream, ctx: Arc<Ctx>, cut: watch::Receiver<bool>) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = Pump::new(cr, sw, false, ctx.clone(), cut.clone());
    let down = Pump::new(sr, cw, true, ctx.clone(), cut);
    let up = match ctx.service {
        Service::Catalog => tokio::spawn(up.run(commit_seer(ctx.clone()))),
        Service::S3 => tokio::spawn(up.run(put_seer(ctx.clone()))),
    };
    match ctx.service {
        Service::Catalog => down.run(ack_keeper(ctx.clone())).await,
        Service::S3 => {
            down.run(|chunk: &[u8]| vec![Out::Send(chunk.to_vec(), Duration::ZERO)])
                .await
        }
    }
    let _ = up.await;
}

/// Client to catalog: arms a lost_ack trigger when a writing transaction's COMMIT goes by.
fn commit_seer(ctx: Arc<Ctx>) -> impl FnMut(&[u8]) -> Vec<Out> {
    let mut framer = pg::Framer::default();
    let mut wrote = false;
    let mut msgs = Vec::new();
    move |chunk: &[u8]| {
        framer.feed(chunk, &mut msgs);
        for m in msgs.drain(..) {
            if matches!(m.typ, b'Q' | b'P') {
                ctx.trace(|| {
                    format!(
                        "-> {} {:?} … {:?}",
                        m.typ as char,
                        m.text(),
                        String::from_utf8_lossy(&m.tail)
                    )
                });
            }
            wrote |= m.writes();
            if m.typ == b'Q' && m.text().trim().eq_ignore_ascii_case("ROLLBACK") {
                // A lost race ends its catalog transaction: the next one starts clean.
                wrote = false;
            }
            if m.commits() {
                if wrote {
                    if let Some((id, _)) = ctx.state.claim(|k| *k == TriggerKind::LostAck, ctx.writer) {
                        *ctx.armed.locked() = Some(id);
                    }
                }
                wrote = false;
            }
        }
        vec![Out::Send(chunk.to_vec(), Duration::ZERO)]
    }
}

/// Catalog to client: while a lost_ack is armed, holds the reply to the COMMIT until its
/// ReadyForQuery; then, if the server committed, swallows it and cuts the connection.
fn ack_keeper(ctx: Arc<Ctx>) -> impl FnMut(&[u8]) -> Vec<Out> {
    let mut framer = pg::Framer::default();
    let mut held: Vec<u8> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut msgs = Vec::new();
    move |chunk: &[u8]| {
        framer.feed(chunk, &mut msgs);
        let armed = *ctx.armed.locked();
        let Some(id) = armed else {
            msgs.clear();
            return vec![Out::Send(chunk.to_vec(), Duration::ZERO)];
        };
        held.extend_from_slice(chunk);
        let mut ready = false;
        for m in msgs.drain(..) {
            match m.typ {
                b'C' => tags.push(m.text()),
                b'E' => tags.push("an error".into()),
                b'Z' => ready = true,
                _ => {}
            }
        }
        if !ready {
            return Vec::new();
        }
        *ctx.armed.locked() = None;
        let reply = std::mem::take(&mut tags);
        if reply.last().map(String::as_str) == Some("COMMIT") && !reply.iter().any(|t| t == "an error") {
            let what = format!(
                "swallowed the catalog's reply to a writing transaction's COMMIT ({}) and cut the connection",
                reply.join(", ")
            );
            ctx.state.acted(id, ctx.conn, &ctx.peer, &what, true);
            held.clear();
            vec![Out::Cut]
        } else {
            ctx.trace(|| format!("<- COMMIT not committed ({reply:?}): passed on"));
            ctx.state.unclaim(id);
            vec![Out::Send(std::mem::take(&mut held), Duration::ZERO)]
        }
    }
}

/// Client to S3: holds a PUT back (slow_upload) or answers it with a 503 (failed_upload).
fn put_seer(ctx: Arc<Ctx>) -> impl FnMut(&[u8]) -> Vec<Out> {
    let mut framer = http::Framer::default();
    let mut reqs = Vec::new();
    move |chunk: &[u8]| {
        framer.feed(chunk, &mut reqs);
        let mut out = Vec::new();
        let (mut sent, mut extra) = (0, Duration::ZERO);
        for r in reqs.drain(..) {
            ctx.trace(|| format!("-> {} {}", r.method, r.path));
            if r.method != "PUT" {
                continue;
            }
            let Some((id, kind)) = ctx.state.claim(|k| *k != TriggerKind::LostAck, None) else {
                continue;
            };
            let start = r.starts_at.unwrap_or(0).max(sent);
            out.push(Out::Send(chunk[sent..start].to_vec(), extra));
            sent = start;
            match kind {
                TriggerKind::SlowUpload(delay) => {
                    let what = format!("held PUT {} back for {}", r.path, humantime::format_duration(delay));
                    ctx.state.acted(id, ctx.conn, &ctx.peer, &what, true);
                    // The rest of the chunk (and, kept in order behind it, the rest of the body).
                    extra += delay;
                }
                _ => {
                    let what = format!("answered PUT {} with 503 Slow Down (not passed on) and closed", r.path);
                    ctx.state.acted(id, ctx.conn, &ctx.peer, &what, true);
                    *ctx.inject.locked() = Some(http::slow_down_response());
                    ctx.injected.notify_one();
                    out.push(Out::Discard);
                    return out;
                }
            }
        }
        out.push(Out::Send(chunk[sent..].to_vec(), extra));
        out
    }
}

/// Bytes waiting for their delivery time, in order.
struct Outbox {
    queue: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
    last: Instant,
    /// Not before this (bandwidth).
    next_free: Instant,
}

impl Outbox {
    fn push(&mut self, data: Vec<u8>, delay: Duration) {
        // Never before an earlier chunk: a byte stream keeps its order.
        let at = (Instant::now() + delay).max(self.last);
        self.last = at;
        if !data.is_empty() {
            self.bytes += data.len();
            self.queue.push_back((at, data));
        }
    }

    fn due(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| (*at).max(self.next_free))
    }
}

struct Pump {
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    to_client: bool,
    ctx: Arc<Ctx>,
    cut: watch::Receiver<bool>,
    cond: watch::Receiver<Conditions>,
}

impl Pump {
    fn new(
        from: OwnedReadHalf,
        to: OwnedWriteHalf,
        to_client: bool,
        ctx: Arc<Ctx>,
        cut: watch::Receiver<bool>,
    ) -> Self {
        let cond = ctx.state.watch();
        Pump {
            from,
            to,
            to_client,
            ctx,
            cut,
            cond,
        }
    }

    async fn run(mut self, mut look: impl FnMut(&[u8]) -> Vec<Out>) {
        let now = Instant::now();
        let mut outbox = Outbox {
            queue: VecDeque::new(),
            bytes: 0,
            last: now,
            next_free: now,
        };
        let mut buf = vec![0u8; CHUNK];
        let (mut eof, mut discard) = (false, false);
        let w = self.ctx.writer;
        loop {
            let (stalled, rate) = {
                let c = self.cond.borrow();
                (c.stalled(w), c.rate(w))
            };
            let due = if stalled { None } else { outbox.due() };
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                biased;
                _ = self.cut.changed() => return self.cut_now(),
                _ = self.cond.changed() => {}
                _ = self.ctx.injected.notified(), if self.to_client => return self.answer_instead().await,
                _ = tokio::time::sleep_until(due.unwrap_or(far)), if due.is_some() => {
                    if !self.deliver_front(&mut outbox, rate).await {
                        return self.cut_now();
                    }
                }
                r = self.from.read(&mut buf), if !eof && outbox.bytes < OUTBOX_LIMIT => match r {
                    Ok(0) | Err(_) => eof = true,
                    Ok(_) if discard => {}
                    Ok(n) => {
                        let delay = self.conditions_on(n);
                        for out in look(&buf[..n]) {
                            match out {
                                Out::Send(data, extra) => outbox.push(data, delay + extra),
                                Out::Cut => self.ctx.state.cut(self.ctx.conn),
                                Out::Discard => discard = true,
                            }
                        }
                        // Due already: delivered at once, since tokio's timer would round the
                        // wait up to its next millisecond tick, on every round trip.
                        while !stalled && outbox.due().is_some_and(|d| d <= Instant::now()) {
                            if !self.deliver_front(&mut outbox, rate).await {
                                return self.cut_now();
                            }
                        }
                    }
                },
            }
            if eof && outbox.queue.is_empty() {
                let _ = self.to.shutdown().await;
                return;
            }
        }
    }

    /// Writes the first chunk waiting; false (the connection is being cut) if that failed.
    async fn deliver_front(&mut self, outbox: &mut Outbox, rate: Option<u64>) -> bool {
        let Some((_, data)) = outbox.queue.pop_front() else {
            return true;
        };
        outbox.bytes -= data.len();
        if self.to.write_all(&data).await.is_err() {
            self.ctx.state.cut(self.ctx.conn);
            return false;
        }
        if let Some(r) = rate {
            outbox.next_free = Instant::now() + Duration::from_secs_f64(data.len() as f64 / r as f64);
        }
        true
    }

    /// The delay for a chunk just read, and a record for each condition acting on it.
    fn conditions_on(&self, n: usize) -> Duration {
        let c = self.cond.borrow();
        let w = self.ctx.writer;
        let delay = c.delay(w).map(|(d, j)| {
            let j = j.as_secs_f64() * (2.0 * rand::random::<f64>() - 1.0);
            Duration::from_secs_f64((d.as_secs_f64() + j).max(0.0))
        });
        for (id, what) in c.ids(w) {
            let dir = if self.to_client {
                "from the service"
            } else {
                "to the service"
            };
            let what = format!("{what} {n} bytes {dir}");
            self.ctx.state.acted(id, self.ctx.conn, &self.ctx.peer, &what, false);
        }
        delay.unwrap_or_default()
    }

    /// Ends this direction at once; the client's side resets rather than closes.
    fn cut_now(self) {
        let client = if self.to_client {
            self.to.as_ref()
        } else {
            self.from.as_ref()
        };
        let _ = client.set_zero_linger();
        if self.to_client {
            // Dropping the half would send a FIN first; the client is to see the reset only.
            self.to.forget();
        }
    }

    /// Answers the client with the injected response, closes, and cuts after a grace time.
    async fn answer_instead(mut self) {
        let reply = self.ctx.inject.locked().take();
        if let Some(reply) = reply {
            let _ = self.to.write_all(&reply).await;
        }
        let _ = self.to.shutdown().await;
        let _ = tokio::time::timeout(INJECTED_GRACE, self.cut.changed()).await;
        self.ctx.state.cut(self.ctx.conn);
    }
}

//! The fault proxy: a TCP proxy per service (the catalog's Postgres, the S3 server) that a
//! run starts only when a fault on it is scheduled. The writers (and readers, maintenance
//! actors) reach the service through it; the harness's own sessions (monitor, resolver,
//! checks) keep their direct connections, so a fault never blinds the observer. Faults act
//! on the wire, as Jepsen's and Toxiproxy's do: no root, any kernel, any environment whose
//! services this machine can reach.
//!
//! It runs on its own small tokio runtime, so that carrying every writer's traffic never
//! slows the monitor that has to diagnose them.
//!
//! `DUCKLAKE_STRESS_PROXY_TRACE=FILE` appends what the proxy sees (each query to the
//! catalog, each request to S3) to FILE: how the round trips per commit were counted.

mod conn;
mod http;
mod pg;
pub mod state;

pub use state::{Condition, FaultRecord, State, TriggerKind};

use crate::environment::EnvFile;
use crate::error::environment;
use crate::history::Recorder;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// A client that sends no startup message in this time is dropped.
const STARTUP_WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Catalog,
    S3,
}

/// One service's proxy.
pub struct Proxy {
    pub service: Service,
    /// Where the writers connect.
    pub listen: std::net::SocketAddr,
    /// `host:port` of the service.
    pub upstream: String,
    pub state: Arc<State>,
}

/// The proxies of one run; dropping it stops them (and cuts whatever they still carry).
pub struct Proxies {
    runtime: Option<tokio::runtime::Runtime>,
    pub catalog: Option<Arc<Proxy>>,
    pub s3: Option<Arc<Proxy>>,
}

impl Proxies {
    /// Starts a proxy for the catalog and/or the S3 server of `env`.
    pub fn start(env: &EnvFile, catalog: bool, s3: bool, history: &Arc<Recorder>) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .map_err(|e| environment(format!("the fault proxy's runtime could not start: {e}")))?;
        let trace = std::env::var_os("DUCKLAKE_STRESS_PROXY_TRACE")
            .map(|p| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&p)
                    .map(|f| Arc::new(Mutex::new(f)))
                    .map_err(|e| environment(format!("DUCKLAKE_STRESS_PROXY_TRACE={}: {e}", p.to_string_lossy())))
            })
            .transpose()?;
        let mut proxies = Proxies {
            runtime: None,
            catalog: None,
            s3: None,
        };
        if catalog {
            let upstream = format!("{}:{}", env.postgres.host, env.postgres.port);
            proxies.catalog = Some(serve(&runtime, Service::Catalog, upstream, history, trace.clone())?);
        }
        if let Some(endpoint) = env.s3.as_ref().map(|s| s.endpoint.clone()).filter(|_| s3) {
            let upstream = strip_scheme(&endpoint).0.trim_end_matches('/').to_string();
            proxies.s3 = Some(serve(&runtime, Service::S3, upstream, history, trace)?);
        }
        proxies.runtime = Some(runtime);
        Ok(proxies)
    }

    /// `env` with the proxied services' addresses replaced by their proxies'.
    pub fn route(&self, env: &EnvFile) -> EnvFile {
        let mut routed = env.clone();
        if let Some(p) = &self.catalog {
            routed.postgres.host = p.listen.ip().to_string();
            routed.postgres.port = p.listen.port();
        }
        if let (Some(p), Some(s3)) = (&self.s3, &mut routed.s3) {
            let scheme = strip_scheme(&s3.endpoint).1;
            s3.endpoint = format!("{scheme}{}", p.listen);
        }
        routed
    }

    pub fn get(&self, service: Service) -> Option<&Arc<Proxy>> {
        match service {
            Service::Catalog => self.catalog.as_ref(),
            Service::S3 => self.s3.as_ref(),
        }
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// `host:port` and the scheme prefix it had (`http://`, or nothing).
fn strip_scheme(endpoint: &str) -> (&str, &str) {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = endpoint.strip_prefix(scheme) {
            return (rest, scheme);
        }
    }
    (endpoint, "")
}

fn serve(
    rt: &tokio::runtime::Runtime,
    service: Service,
    upstream: String,
    history: &Arc<Recorder>,
    trace: Option<Arc<Mutex<std::fs::File>>>,
) -> anyhow::Result<Arc<Proxy>> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|e| environment(format!("the fault proxy could not listen on 127.0.0.1: {e}")))?;
    let listen = std_listener.local_addr()?;
    let describe = format!("{listen} -> {upstream}");
    let proxy = Arc::new(Proxy {
        service,
        listen,
        upstream,
        state: Arc::new(State::new(history.clone(), describe)),
    });
    let _entered = rt.enter();
    let listener = TcpListener::from_std(std_listener)?;
    let p = proxy.clone();
    rt.spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                // Out of descriptors, most likely: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            tokio::spawn(handle(p.clone(), client, trace.clone()));
        }
    });
    Ok(proxy)
}

/// One client: read its startup (catalog), wait out a partition, connect, carry.
async fn handle(proxy: Arc<Proxy>, mut client: TcpStream, trace: Option<Arc<Mutex<std::fs::File>>>) {
    let _ = client.set_nodelay(true);
    let state = &proxy.state;
    let conn = state.next_conn();
    let (startup, peer) = match proxy.service {
        Service::Catalog => match tokio::time::timeout(STARTUP_WITHIN, pg::startup(&mut client)).await {
            Ok(Ok(s)) => {
                let peer = s.application_name.clone().unwrap_or_else(|| "a catalog client".into());
                (s.bytes, peer)
            }
            _ => return,
        },
        Service::S3 => (Vec::new(), "an S3 client".to_string()),
    };
    let writer = writer_of(&peer);
    let cut = state.open(conn, &peer, writer);
    // A new connection during a partition is held, as a SYN that gets no answer.
    let mut cond = state.watch();
    let held = cond.borrow().stalled(writer);
    if held {
        for (id, what) in cond.borrow().ids(writer) {
            if what == "held" {
                state.acted(id, conn, &peer, "new connection held until the partition heals", false);
            }
        }
        let _ = cond.wait_for(|c| !c.stalled(writer)).await;
    }
    let server = match tokio::time::timeout(CONNECT_WITHIN, TcpStream::connect(&proxy.upstream)).await {
        Ok(Ok(s)) => s,
        _ => return state.close(conn),
    };
    let _ = server.set_nodelay(true);
    let mut server = server;
    if !startup.is_empty()
        && tokio::io::AsyncWriteExt::write_all(&mut server, &startup)
            .await
            .is_err()
    {
        return state.close(conn);
    }
    let ctx = Arc::new(conn::Ctx::new(
        state.clone(),
        proxy.service,
        (conn, peer, writer),
        trace,
    ));
    conn::carry(client, server, ctx, cut).await;
    state.close(conn);
}

/// The writer a catalog session belongs to, from its application_name
/// (`ducklake-stress/<run>/w<N>`).
fn writer_of(application_name: &str) -> Option<u32> {
    application_name.rsplit('/').next()?.strip_prefix('w')?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_writer_is_known_by_its_application_name() {
        assert_eq!(super::writer_of("ducklake-stress/20261205-r/w12"), Some(12));
        assert_eq!(super::writer_of("ducklake-stress/20261205-r/resolver-w1"), None);
        assert_eq!(super::writer_of("an S3 client"), None);
    }

    #[test]
    fn a_scheme_is_kept_apart_from_the_address() {
        assert_eq!(
            super::strip_scheme("http://127.0.0.1:3900"),
            ("127.0.0.1:3900", "http://")
        );
        assert_eq!(super::strip_scheme("127.0.0.1:3900"), ("127.0.0.1:3900", ""));
    }
}

//! Bounded waits for work that can block in places no timeout reaches (DuckDB scanning
//! through a locked catalog, libpq on a server that stopped answering): the work runs on a
//! thread of its own, and the harness moves on when the limit passes.

use std::time::Duration;

/// Runs `work` on its own thread; gives up (leaving the thread behind) after `limit`.
pub fn run_with_deadline<T: Send + 'static>(
    what: &str,
    limit: Duration,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name(what.chars().take(15).collect()).spawn(move || {
        let _ = tx.send(work());
    })?;
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(_) => Err(crate::error::environment(format!(
            "{what} did not finish within {} s: Postgres or the S3 server stopped answering, or a lock held on the catalog blocks it",
            limit.as_secs()
        ))),
    }
}

//! Bounded waits for work that can block in places no timeout reaches (DuckDB scanning
//! through a locked catalog, libpq on a server that stopped answering): the work runs on a
//! thread of its own, and the harness moves on when the limit passes.

use std::time::Duration;

/// Runs `work` on its own thread; gives up (leaving the thread behind) after `limit`, or
/// when Ctrl-C is pressed while it waits.
pub fn run_with_deadline<T: Send + 'static>(
    what: &str,
    limit: Duration,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(what.chars().take(15).collect())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    let until = std::time::Instant::now() + limit;
    let interrupts_before = crate::util::interrupt::count();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(result) => return result,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("{what} ended without a result"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        // Ctrl-C is honoured here too, not only while writers run.
        crate::util::interrupt::bail_if_interrupted_since(interrupts_before)?;
        if std::time::Instant::now() >= until {
            return Err(crate::error::environment(format!(
                "{what} did not finish within {} s: Postgres or the S3 server stopped answering, or a lock held on \
                    the catalog blocks it",
                limit.as_secs()
            )));
        }
    }
}

//! Ctrl-C and SIGTERM become a counter the harness polls instead of the process dying
//! mid-measurement. The first one stops the writers; the run is still checked and its
//! report written. A further one during a bounded wait (the checks) abandons that wait.

use std::sync::atomic::{AtomicU32, Ordering};
use tokio::signal::unix::{signal, SignalKind};

static INTERRUPTS: AtomicU32 = AtomicU32::new(0);

pub fn install() {
    let rt = crate::runtime::get();
    let streams = rt.block_on(async { (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) });
    let (Ok(mut int), Ok(mut term)) = streams else { return };
    rt.spawn(async move {
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let n = INTERRUPTS.fetch_add(1, Ordering::SeqCst) + 1;
            if n == 1 {
                eprintln!(
                    "\ninterrupted: stopping writers, checking what they wrote, writing the report (Ctrl-C \
                    again to skip the checks)..."
                );
            } else {
                eprintln!("\ninterrupted again: skipping what is left of the checks, writing the report...");
            }
        }
    });
}

/// How many times Ctrl-C or SIGTERM arrived so far.
pub fn count() -> u32 {
    INTERRUPTS.load(Ordering::SeqCst)
}

pub fn is_interrupted() -> bool {
    count() > 0
}

pub fn bail_if_interrupted() -> anyhow::Result<()> {
    bail_if_interrupted_since(0)
}

/// Err if an interrupt arrived after `seen` of them had been counted.
pub fn bail_if_interrupted_since(seen: u32) -> anyhow::Result<()> {
    if count() > seen {
        return Err(crate::error::HarnessError::Interrupted.into());
    }
    Ok(())
}

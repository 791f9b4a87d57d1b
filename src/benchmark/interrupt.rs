//! Ctrl-C and SIGTERM become a flag the runner polls: writers are interrupted, services
//! torn down and the report written, instead of the process dying mid-measurement.

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::signal::unix::{signal, SignalKind};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn install() {
    let rt = crate::runtime::get();
    let streams = rt.block_on(async { (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) });
    let (Ok(mut int), Ok(mut term)) = streams else { return };
    rt.spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("\ninterrupted: stopping writers, writing the report, tearing down services...");
    });
}

pub fn is_interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn bail_if_interrupted() -> anyhow::Result<()> {
    if is_interrupted() {
        return Err(crate::error::HarnessError::Interrupted.into());
    }
    Ok(())
}

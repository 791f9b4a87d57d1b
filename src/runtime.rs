//! One small tokio runtime for the harness's own I/O (Postgres monitoring, S3 checks).
//! Writers are plain threads running DuckDB; they never run on this runtime, so a
//! blocked writer can never stall the monitor that has to diagnose it.

use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

pub fn get() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("harness-io")
            .enable_all()
            .build()
            .expect("the tokio runtime could not be built (out of threads or memory)")
    })
}

/// Runs `fut` to completion from a non-runtime thread (main, a writer, a checker).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    get().block_on(fut)
}

//! The fleet as threads: one thread per writer (a pool sized to the writers, never to the
//! cores: writers block in DuckDB and libpq and must really run at the same time), each
//! with its own DuckDB instance, all in this process.

use super::{Ended, Fleet, Step, WriterShared};
use crate::util::LockExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct ThreadFleet {
    shared: Arc<WriterShared>,
    ended: Mutex<Ended>,
    // Kept so the pool lives as long as the fleet.
    _pool: rayon::ThreadPool,
}

impl ThreadFleet {
    /// Starts every writer with `write` (the writer's whole life: set-up, barrier, work).
    pub fn start(shared: Arc<WriterShared>, write: fn(&WriterShared, u32)) -> anyhow::Result<Self> {
        let writers = shared.writers.len();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(writers)
            .thread_name(|i| format!("w{i}"))
            .build()?;
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let for_writers = shared.clone();
        pool.spawn_broadcast(move |ctx| {
            let id = ctx.index() as u32;
            // A panic inside a pool job would abort the process and orphan the services.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(&for_writers, id)));
            if let Err(panic) = outcome {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let slot = for_writers.slot(id);
                slot.setup().error = Some(format!("writer panicked: {what}"));
                slot.status.enter(Step::Done);
                for_writers.ready.fetch_add(1, Ordering::AcqRel);
            }
            let _ = tx.send(());
        });
        Ok(ThreadFleet {
            shared,
            ended: Mutex::new(Ended::new(rx)),
            _pool: pool,
        })
    }
}

impl Fleet for ThreadFleet {
    fn size(&self) -> usize {
        self.shared.writers.len()
    }

    fn ready(&self) -> usize {
        self.shared.ready.load(Ordering::Acquire)
    }

    fn setup_failed(&self) -> bool {
        self.shared.writers.iter().any(|w| w.setup().error.is_some())
    }

    fn go(&self) {
        self.shared.go.store(true, Ordering::Release);
    }

    fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
    }

    fn abort(&self) {
        self.shared.abort_all();
    }

    fn wait_ended(&self, timeout: Duration) -> usize {
        self.ended.locked().wait(timeout, self.size())
    }
}

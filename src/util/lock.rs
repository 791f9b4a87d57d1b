//! Locking that survives a panicked holder. A writer thread that panics while holding a
//! lock must not take the run down with it: the data behind the harness's locks (counters,
//! logs, child handles, samples) stays meaningful after a holder's panic, and the run still
//! has to report what it saw, so a poisoned lock is taken over rather than unwrapped.

use std::sync::{Mutex, MutexGuard};

pub trait LockExt<T> {
    /// The guard, also when an earlier holder panicked.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> LockExt<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|p| p.into_inner())
    }
}

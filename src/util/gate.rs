//! A counting gate: at most N holders at once. Writers pass it to set up (load extensions,
//! ATTACH): 256 DuckDB instances attaching at the same moment on a small machine starve
//! each other past the catalog's connect timeout, and set-up is not what a run measures
//! (the start barrier still lets every writer go at the same moment).

use super::LockExt;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

pub struct Pass<'a>(&'a Gate);

impl Gate {
    pub fn new(holders: usize) -> Self {
        Gate {
            free: Mutex::new(holders.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a place; None if `give_up` says so first (checked every 50 ms).
    pub fn enter(&self, give_up: impl Fn() -> bool) -> Option<Pass<'_>> {
        let mut free = self.free.locked();
        while *free == 0 {
            if give_up() {
                return None;
            }
            // A poisoned wait is taken over for the same reason as in `LockExt`.
            free = self
                .freed
                .wait_timeout(free, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *free -= 1;
        Some(Pass(self))
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        *self.0.free.locked() += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_holders_than_places_and_everyone_gets_in() {
        let gate = Gate::new(2);
        let (inside, most, done) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let _pass = gate.enter(|| false).expect("no give-up");
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 8);
        assert!(most.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn a_full_gate_can_be_given_up_on() {
        let gate = Gate::new(1);
        let _held = gate.enter(|| false).unwrap();
        assert!(gate.enter(|| true).is_none());
    }
}

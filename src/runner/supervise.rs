//! The scheduling of the writing phase, against any [`Fleet`]: open the start barrier once
//! every writer is ready (and nobody failed), stop at the planned time, honour Ctrl-C,
//! end at the deadline, then drain. Written once for threads and, later, processes; its
//! unit tests drive a fake fleet, no services.

use crate::fleet::Fleet;
use crate::verdict::Ending;
use std::time::{Duration, Instant};

/// What the runner does at the supervisor's moments (baselines, faults, progress).
pub trait Hooks {
    /// Every writer is ready and none failed, just before the barrier opens: returns the
    /// zero of the run clock.
    fn on_go(&mut self) -> Instant;
    /// Called after every poll with how many writers have ended.
    fn on_tick(&mut self, ended: usize);
    fn interrupted(&self) -> bool;
}

pub struct Plan {
    /// The whole run, set-up included, ends by then.
    pub deadline_at: Instant,
    /// Timed runs: how long after the writers start to ask them to stop.
    pub duration: Option<Duration>,
    pub poll: Duration,
    /// After Ctrl-C, how long writers get to wind down before the supervisor stops waiting.
    pub wind_down: Duration,
}

pub struct Supervised {
    pub ending: Ending,
    pub ended: usize,
    pub stop_at: Option<Instant>,
    /// Whether the barrier opened for writing (false: nobody started).
    pub started: bool,
}

/// Waits until every writer has ended, the deadline passes or the user interrupts.
pub fn until_done(fleet: &dyn Fleet, plan: &Plan, hooks: &mut dyn Hooks) -> Supervised {
    let writers = fleet.size();
    let mut s = Supervised {
        ending: Ending::Completed,
        ended: 0,
        stop_at: None,
        started: false,
    };
    let mut opened = false;
    let mut interrupted_at: Option<Instant> = None;
    loop {
        if !opened && fleet.ready() >= writers {
            opened = true;
            if fleet.setup_failed() {
                // No point measuring with fewer writers than asked for: end now, report why.
                fleet.abort();
            } else {
                let origin = hooks.on_go();
                s.started = true;
                s.stop_at = plan.duration.map(|d| origin + d);
            }
            fleet.go();
        }
        s.ended = fleet.wait_ended(plan.poll);
        hooks.on_tick(s.ended);
        if s.ended >= writers {
            s.ending = if interrupted_at.is_some() {
                Ending::Interrupted
            } else {
                Ending::Completed
            };
            return s;
        }
        let now = Instant::now();
        if s.stop_at.is_some_and(|t| now >= t) {
            fleet.stop();
        }
        if hooks.interrupted() && interrupted_at.is_none() {
            interrupted_at = Some(now);
            fleet.abort();
        }
        if interrupted_at.is_some_and(|t| now >= t + plan.wind_down) {
            s.ending = Ending::Interrupted;
            return s;
        }
        if now >= plan.deadline_at {
            s.ending = if interrupted_at.is_some() {
                Ending::Interrupted
            } else {
                Ending::Deadline
            };
            return s;
        }
    }
}

/// Waits up to `limit` for the writers still running, calling `nudge` after every poll
/// without progress (to interrupt again whatever a writer started since). Returns how many
/// have ended in all.
pub fn drain(fleet: &dyn Fleet, mut ended: usize, limit: Duration, poll: Duration, nudge: impl Fn()) -> usize {
    let until = Instant::now() + limit;
    while ended < fleet.size() && Instant::now() < until {
        let now = fleet.wait_ended(poll.min(until.saturating_duration_since(Instant::now())));
        if now == ended {
            nudge();
        }
        ended = now;
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Writers that attach, then each run for `works` after the barrier (or forever), and
    /// end at once when stopped or aborted if `obedient`.
    struct FakeFleet {
        size: usize,
        ready: usize,
        failed: bool,
        works: Option<Duration>,
        obedient: bool,
        went: Mutex<Option<Instant>>,
        stopped: AtomicBool,
        aborted: AtomicUsize,
    }

    impl FakeFleet {
        fn new(size: usize, works: Option<Duration>) -> Self {
            FakeFleet {
                size,
                ready: size,
                failed: false,
                works,
                obedient: true,
                went: Mutex::new(None),
                stopped: false.into(),
                aborted: 0.into(),
            }
        }
    }

    impl Fleet for FakeFleet {
        fn size(&self) -> usize {
            self.size
        }
        fn ready(&self) -> usize {
            self.ready
        }
        fn setup_failed(&self) -> bool {
            self.failed
        }
        fn go(&self) {
            self.went.lock().unwrap().get_or_insert(Instant::now());
        }
        fn stop(&self) {
            self.stopped.store(true, Ordering::SeqCst);
        }
        fn abort(&self) {
            self.aborted.fetch_add(1, Ordering::SeqCst);
        }
        fn wait_ended(&self, timeout: Duration) -> usize {
            std::thread::sleep(timeout);
            let told =
                self.obedient && (self.stopped.load(Ordering::SeqCst) || self.aborted.load(Ordering::SeqCst) > 0);
            let done = match (*self.went.lock().unwrap(), self.works) {
                (Some(at), Some(w)) => at.elapsed() >= w,
                _ => false,
            };
            if told || done || self.failed {
                self.size
            } else {
                0
            }
        }
    }

    #[derive(Default)]
    struct Recorded {
        went: usize,
        interrupt: bool,
    }

    impl Hooks for Recorded {
        fn on_go(&mut self) -> Instant {
            self.went += 1;
            Instant::now()
        }
        fn on_tick(&mut self, _: usize) {}
        fn interrupted(&self) -> bool {
            self.interrupt
        }
    }

    fn plan(deadline: Duration, duration: Option<Duration>) -> Plan {
        Plan {
            deadline_at: Instant::now() + deadline,
            duration,
            poll: Duration::from_millis(5),
            wind_down: Duration::from_millis(50),
        }
    }

    #[test]
    fn writers_that_finish_complete_the_run_after_one_opening_of_the_barrier() {
        let fleet = FakeFleet::new(3, Some(Duration::from_millis(30)));
        let mut hooks = Recorded::default();
        let s = until_done(&fleet, &plan(Duration::from_secs(10), None), &mut hooks);
        assert_eq!(
            (s.ending, s.ended, s.started, hooks.went),
            (Ending::Completed, 3, true, 1)
        );
        assert!(!fleet.stopped.load(Ordering::SeqCst));
    }

    #[test]
    fn a_timed_run_is_stopped_at_its_planned_time() {
        let fleet = FakeFleet::new(2, None);
        let s = until_done(
            &fleet,
            &plan(Duration::from_secs(10), Some(Duration::from_millis(40))),
            &mut Recorded::default(),
        );
        assert_eq!(s.ending, Ending::Completed);
        assert!(fleet.stopped.load(Ordering::SeqCst));
        assert!(s.stop_at.is_some());
    }

    #[test]
    fn a_writer_that_cannot_attach_means_nobody_starts() {
        let mut fleet = FakeFleet::new(2, None);
        fleet.failed = true;
        let mut hooks = Recorded::default();
        let s = until_done(&fleet, &plan(Duration::from_secs(10), None), &mut hooks);
        assert_eq!((s.started, hooks.went), (false, 0));
        assert_eq!(fleet.aborted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn writers_that_never_end_meet_the_deadline_and_a_set_up_that_never_ends_too() {
        let mut fleet = FakeFleet::new(2, None);
        fleet.obedient = false;
        let s = until_done(
            &fleet,
            &plan(Duration::from_millis(60), Some(Duration::from_millis(10))),
            &mut Recorded::default(),
        );
        assert_eq!((s.ending, s.started), (Ending::Deadline, true));
        assert_eq!(
            drain(
                &fleet,
                s.ended,
                Duration::from_millis(30),
                Duration::from_millis(5),
                || fleet.abort()
            ),
            0
        );
        assert!(
            fleet.aborted.load(Ordering::SeqCst) >= 2,
            "the drain nudges stuck writers again"
        );
        // Nobody ever attaches (ATTACH behind a lock): still a deadline, never a wait forever.
        fleet.ready = 1;
        let s = until_done(&fleet, &plan(Duration::from_millis(40), None), &mut Recorded::default());
        assert_eq!((s.ending, s.started), (Ending::Deadline, false));
    }

    #[test]
    fn ctrl_c_aborts_the_writers_and_gives_up_after_the_wind_down() {
        let fleet = FakeFleet::new(2, None);
        let mut hooks = Recorded {
            interrupt: true,
            ..Default::default()
        };
        let s = until_done(&fleet, &plan(Duration::from_secs(10), None), &mut hooks);
        assert_eq!(s.ending, Ending::Interrupted);
        assert_eq!(fleet.aborted.load(Ordering::SeqCst), 1);
        let mut stubborn = FakeFleet::new(2, None);
        stubborn.obedient = false;
        let started = Instant::now();
        let s = until_done(&stubborn, &plan(Duration::from_secs(10), None), &mut hooks);
        assert_eq!(s.ending, Ending::Interrupted);
        assert!(started.elapsed() < Duration::from_secs(5), "waited past the wind-down");
    }
}

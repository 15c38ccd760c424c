//! Bounded exponential backoff for spin-then-park loops.
//!
//! A waiter spins (`spin_loop`: `pause` on x86, `isb` on aarch64) in doubling rounds,
//! optionally yields its time slice a few times, and then [`Backoff::should_park`] says
//! it is time to sleep on a futex.
//!
//! The spin bound is chosen by cost, not by tuning to one machine: parking and being
//! woken costs a futex syscall on each side plus a scheduler round trip, a few
//! microseconds on bare metal (~20 µs on a VM whose idle vCPUs halt). Spinning for about
//! that long before parking keeps the total within about twice the best choice made in
//! hindsight (the classic ski-rental argument). `SPIN_ROUNDS = 7` gives
//! 1 + 2 + … + 64 = 127 spin hints, about 1–2 µs on current x86 (`pause` is 40–140
//! cycles since Skylake/Zen 2) and on aarch64.
//!
//! Two policies:
//! - [`Backoff::new`]: spin, then park. For waiters that the thread which frees them
//!   wakes directly (the SPSC queue, the semaphore). A `sched_yield` there
//!   buys nothing: when nothing else is runnable it returns at once, and when other
//!   processes are runnable it can give the CPU away for a whole scheduler slice
//!   (milliseconds), a hundred times the sleep and wake it was meant to avoid (measured
//!   on the shared 2-core VM: a semaphore ping-pong cost ~1 ms per round trip with
//!   yield rounds, ~10 µs without).
//! - [`Backoff::with_yields`]: spin, yield `YIELD_ROUNDS` times, then park. For
//!   seqlock writers, where the thread that will free them may be preempted on the same
//!   CPU when threads oversubscribe the cores: yielding lets it finish its write without
//!   the waiter paying for a futex sleep.
//!
//! The mutex and the barrier spin by their own rules: a wall-clock budget (the mutex's
//! `# Spinning` docs), and a re-read of the word after every hint, only when the
//! parties fit on the CPUs (the barrier's `# Algorithm` docs).

use crate::sync;
use std::time::{Duration, Instant};

/// Doubling spin rounds: 2^0 + … + 2^(SPIN_ROUNDS-1) spin hints.
/// Under loom every spin is a scheduling point, so one round is enough to explore
/// "the other thread ran while we spun" without multiplying the state space.
const SPIN_ROUNDS: u32 = if cfg!(fencepost_loom) { 1 } else { 7 };
/// Yields after spinning, before parking, for [`Backoff::with_yields`] (none under
/// loom: a spin already yields there).
const YIELD_ROUNDS: u32 = if cfg!(fencepost_loom) { 0 } else { 3 };

/// Spin, then (optionally) yield, then tell the caller to park.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
    /// `SPIN_ROUNDS` plus the yield rounds of this policy.
    limit: u32,
}

impl Backoff {
    /// Spin, then park: for waiters woken directly by the thread that frees them.
    #[inline]
    pub(crate) const fn new() -> Self {
        Self {
            step: 0,
            limit: SPIN_ROUNDS,
        }
    }

    /// Spin, yield a few times, then park: for lock waiters.
    #[inline]
    pub(crate) const fn with_yields() -> Self {
        Self {
            step: 0,
            limit: SPIN_ROUNDS + YIELD_ROUNDS,
        }
    }

    /// Waits a little longer than the previous call did.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step < SPIN_ROUNDS {
            for _ in 0..1u32 << self.step {
                sync::spin_loop();
            }
        } else {
            sync::yield_now();
        }
        self.step = self.step.saturating_add(1);
    }

    /// True once spinning (and yielding) are used up: the caller should sleep.
    #[inline]
    pub(crate) fn should_park(&self) -> bool {
        self.step >= self.limit
    }

    /// Snoozes and returns `true`, or returns `false` at once when it is time to park.
    #[inline]
    pub(crate) fn spin(&mut self) -> bool {
        if self.should_park() {
            return false;
        }
        self.snooze();
        true
    }

    /// Back to the first spin round (after a wake-up).
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.step = 0;
    }
}

/// Time left until `deadline`, `None` once it has passed: how long a timed waiter may
/// still sleep. Under loom every deadline lies in the future: the loom futex decides
/// timeouts itself (a timed wait times out at once), and the model must not depend on
/// the real clock.
pub(crate) fn time_left(deadline: Instant) -> Option<Duration> {
    if cfg!(fencepost_loom) {
        return Some(Duration::from_secs(1));
    }
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;

    #[test]
    fn spinning_backoff_parks_after_its_spin_rounds() {
        let mut b = Backoff::new();
        for _ in 0..SPIN_ROUNDS {
            assert!(b.spin());
        }
        assert!(!b.spin());
        assert!(b.should_park());
        b.reset();
        assert!(!b.should_park());
    }

    #[test]
    fn yielding_backoff_parks_after_spin_and_yield_rounds() {
        let mut b = Backoff::with_yields();
        for _ in 0..SPIN_ROUNDS + YIELD_ROUNDS {
            assert!(!b.should_park());
            b.snooze();
        }
        assert!(b.should_park());
        b.reset();
        assert!(!b.should_park());
    }
}

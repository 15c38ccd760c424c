//! Bounded exponential backoff for spin-then-park loops.
//!
//! A waiter first spins (`spin_loop`, which is `pause` on x86 and `isb` on aarch64)
//! in doubling rounds, then yields its time slice a few times, and then
//! [`Backoff::should_park`] says it is time to sleep on a futex.
//!
//! The bound is chosen by cost, not by tuning to one machine: parking and being woken
//! costs a futex syscall on each side plus a scheduler round trip, a few microseconds
//! on bare metal (~20 µs on a VM whose idle vCPUs halt). Spinning for about that long
//! before parking keeps the total within about twice the best choice made in
//! hindsight (the classic ski-rental argument). `SPIN_ROUNDS = 7` gives
//! 1 + 2 + … + 64 = 127 `pause`es, about 1–2 µs on current x86 (`pause` is 40–140
//! cycles since Skylake/Zen 2) and on aarch64 (`isb` is tens of cycles); the
//! `YIELD_ROUNDS` that follow cost little when the machine is idle and let the other
//! thread run when it is oversubscribed, which pure spinning would starve.

use crate::sync;

/// Doubling spin rounds before yielding: 2^0 + … + 2^(SPIN_ROUNDS-1) spin hints.
/// Under loom every spin is a scheduling point, so one round is enough to explore
/// "the other thread ran while we spun" without multiplying the state space.
const SPIN_ROUNDS: u32 = if cfg!(fencepost_loom) { 1 } else { 7 };
/// Yields after spinning, before parking (none under loom: a spin already yields).
const YIELD_ROUNDS: u32 = if cfg!(fencepost_loom) { 0 } else { 3 };

/// Spin, then yield, then tell the caller to park.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    /// A fresh backoff, at the first spin round.
    #[inline]
    pub(crate) const fn new() -> Self {
        Self { step: 0 }
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

    /// True once spinning and yielding are used up: the caller should sleep.
    #[inline]
    pub(crate) fn should_park(&self) -> bool {
        self.step >= SPIN_ROUNDS + YIELD_ROUNDS
    }

    /// Back to the first spin round (after a wake-up).
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.step = 0;
    }
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;

    #[test]
    fn backoff_parks_after_spin_and_yield_rounds() {
        let mut b = Backoff::new();
        for _ in 0..SPIN_ROUNDS + YIELD_ROUNDS {
            assert!(!b.should_park());
            b.snooze();
        }
        assert!(b.should_park());
        b.reset();
        assert!(!b.should_park());
    }
}

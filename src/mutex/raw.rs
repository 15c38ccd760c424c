//! The state machine behind [`Mutex`](super::Mutex): the futex word, its five
//! states and every transition. The algorithm, the state table and the memory-ordering
//! argument are in the parent module's docs (`src/mutex/mod.rs`).

use crate::backoff::Backoff;
use crate::futex;
use crate::sync::atomic::AtomicU32;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::fmt;
use std::time::{Duration, Instant};

/// Nobody holds the lock.
const UNLOCKED: u32 = 0;
/// Held, and no thread sleeps on the word.
const LOCKED: u32 = 1;
/// Held, and a thread may be asleep on the word: the unlock must wake one.
const CONTENDED: u32 = 2;
/// Held, and a starving waiter sleeps: the unlock must hand the lock to a sleeper.
const STARVING: u32 = 3;
/// Not held, but reserved for a thread that has slept (the fast path cannot take it).
const HANDOFF: u32 = 4;

/// How long an untimed waiter may have slept before its next sleep asks for a hand-off.
///
/// Go uses the same 1 ms (`starvationThresholdNs`); parking_lot's random 0–1 ms
/// averages half that. Each hand-off keeps the lock idle for one wake-up latency
/// (a few µs), so at most a few per cent of throughput goes to fairness even if some
/// waiter starves all the time.
///
/// Measured with the "fairness" regime of `examples/compare/mutex.rs` (8 threads
/// re-locking for 200 ms on 2 vCPUs, medians of 12 rounds, rough: a shared, busy VM):
/// the slowest thread's share of all acquisitions (fair: 12.5%) was 1.0% without the
/// hand-off and 4.5% with it (std 2.9%, parking_lot 5%); the max/min spread of
/// per-thread counts fell from ~30 to ~4.7 (std ~10, parking_lot ~4.5), with no
/// throughput change outside the noise.
const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// The raw lock: a 32-bit futex word and no data.
///
/// Use [`Mutex<T>`](crate::Mutex) unless you need a lock that is not tied to a value
/// (for example to build your own guard). With the `lock_api` feature it implements
/// `lock_api::RawMutex` and `lock_api::RawMutexTimed`, so
/// `lock_api::Mutex<fencepost::RawMutex, T>` works too.
///
/// The state machine and its orderings are described in the
/// [`Mutex`](crate::Mutex#algorithm) docs.
///
/// # Examples
///
/// ```
/// let raw = fencepost::RawMutex::new();
/// raw.lock();
/// assert!(raw.is_locked());
/// assert!(!raw.try_lock());
/// // SAFETY: this thread locked it just above.
/// unsafe { raw.unlock() };
/// assert!(!raw.is_locked());
/// ```
pub struct RawMutex {
    /// `UNLOCKED`, `LOCKED`, `CONTENDED`, `STARVING` or `HANDOFF`; see the module docs.
    state: AtomicU32,
}

impl RawMutex {
    /// An unlocked mutex (`const` outside loom).
    ///
    /// # Examples
    ///
    /// ```
    /// static LOCK: fencepost::RawMutex = fencepost::RawMutex::new();
    /// assert!(LOCK.try_lock());
    /// // SAFETY: locked just above, by this thread.
    /// unsafe { LOCK.unlock() };
    /// ```
    #[cfg(not(fencepost_loom))]
    #[inline]
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// An unlocked mutex (not `const` under loom: loom atomics have no `const fn new`).
    #[cfg(fencepost_loom)]
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Acquires the lock, sleeping until it is available.
    ///
    /// Not reentrant: locking it again from the thread that holds it deadlocks.
    #[inline]
    pub fn lock(&self) {
        // Ordering: Acquire pairs with the Release of the unlock that left it UNLOCKED
        // (`unlock`/`unlock_contended`), so that critical section happens before ours.
        let word = &self.state;
        let fast = word.compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed);
        if fast.is_err() {
            self.lock_contended(None);
        }
    }

    /// Acquires the lock if it is free right now; never sleeps or spins.
    ///
    /// Returns `true` if the lock was acquired. A lock that is being handed to a
    /// sleeping waiter counts as taken.
    #[inline]
    #[must_use = "if it returns true, the lock must be unlocked"]
    pub fn try_lock(&self) -> bool {
        // Ordering: Acquire, as in `lock`.
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
    }

    /// Acquires the lock, waiting at most `timeout`.
    ///
    /// The timeout becomes an absolute monotonic deadline once, so spurious wake-ups
    /// and lost races never extend it. Returns `false` only after the deadline has
    /// passed; a waiter whose deadline passes just as the lock frees may still return
    /// `true`. A `timeout` too large to represent waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let raw = fencepost::RawMutex::new();
    /// assert!(raw.try_lock_for(Duration::from_millis(1)));
    /// assert!(!raw.try_lock_for(Duration::from_millis(1))); // held: times out
    /// // SAFETY: locked by the first call, on this thread.
    /// unsafe { raw.unlock() };
    /// ```
    #[must_use = "if it returns true, the lock must be unlocked"]
    pub fn try_lock_for(&self, timeout: Duration) -> bool {
        if self.try_lock() {
            return true;
        }
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.lock_contended(Some(deadline)),
            None => self.lock_contended(None),
        }
    }

    /// Acquires the lock, waiting until `deadline` at the latest.
    ///
    /// Returns `false` only once `deadline` has passed (see [`try_lock_for`](Self::try_lock_for)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let raw = fencepost::RawMutex::new();
    /// raw.lock();
    /// let deadline = Instant::now() + Duration::from_millis(2);
    /// assert!(!raw.try_lock_until(deadline));
    /// assert!(Instant::now() >= deadline);
    /// // SAFETY: locked above, on this thread.
    /// unsafe { raw.unlock() };
    /// ```
    #[must_use = "if it returns true, the lock must be unlocked"]
    pub fn try_lock_until(&self, deadline: Instant) -> bool {
        self.try_lock() || self.lock_contended(Some(deadline))
    }

    /// Releases the lock, waking a sleeping waiter if there may be one.
    ///
    /// # Safety
    ///
    /// The lock is held, and the caller owns that acquisition (it locked it, or the
    /// thread that locked it passed the responsibility on); it is released only once.
    #[inline]
    pub unsafe fn unlock(&self) {
        // Ordering: Release pairs with the Acquire CAS of the next owner, so our
        // critical section happens before its.
        let word = &self.state;
        let fast = word.compare_exchange(LOCKED, UNLOCKED, Release, Relaxed);
        if let Err(state) = fast {
            self.unlock_contended(state);
        }
    }

    /// Whether the lock is held (or being handed to a waiter) at this instant.
    ///
    /// Only a hint: another thread may lock or unlock it right after. It synchronizes
    /// with nothing.
    #[inline]
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.state.load(Relaxed) != UNLOCKED
    }

    /// The lock is (or was) taken: spin while nobody sleeps, then sleep, with
    /// `deadline` if timed. Returns whether the lock was acquired.
    #[cold]
    fn lock_contended(&self, deadline: Option<Instant>) -> bool {
        let mut waiter = Waiter::new(deadline);
        let mut state = self.spin();
        loop {
            // 1. Take the lock if it is ours to take. A thread that has slept may have
            //    consumed the wake-up meant to pass the lock down the queue of sleepers,
            //    so it marks the word CONTENDED: its own unlock then wakes the next one.
            if state == UNLOCKED || (state == HANDOFF && waiter.slept) {
                let new = if waiter.slept { CONTENDED } else { LOCKED };
                // Ordering: Acquire pairs with the Release that made the word UNLOCKED
                // or HANDOFF (`unlock`, `unlock_contended`).
                match self.state.compare_exchange(state, new, Acquire, Relaxed) {
                    Ok(_) => return true,
                    Err(now) => {
                        state = now;
                        continue;
                    }
                }
            }
            // 2. Say that someone sleeps (or starves), unless the word already says so.
            //    CONTENDED, STARVING and HANDOFF all promise a wake-up by whoever moves
            //    the word on; only LOCKED does not.
            let mark = match state {
                LOCKED if waiter.impatient() => STARVING,
                LOCKED => CONTENDED,
                CONTENDED if waiter.impatient() => STARVING,
                _ => state,
            };
            if mark != state {
                // Ordering: Relaxed: a mark publishes nothing; the unlock that reads it
                // is later in the word's modification order (both are RMWs), which is
                // all the wake-up needs.
                if let Err(now) = self.state.compare_exchange(state, mark, Relaxed, Relaxed) {
                    state = now;
                    continue;
                }
            }
            // 3. Sleep while the word still says `mark`.
            if !waiter.sleep(&self.state, mark) {
                return self.give_up(waiter.slept);
            }
            state = self.spin();
        }
    }

    /// Spins while the lock is held and nobody sleeps, at most the backoff's bound;
    /// returns the last state seen. Spinning once threads sleep would only delay them:
    /// the unlock hands the lock to a sleeper's wake-up, not to a spinner.
    #[inline]
    fn spin(&self) -> u32 {
        let mut backoff = Backoff::with_yields();
        loop {
            // Relaxed re-reads: a spin only decides when to try the Acquire CAS.
            let state = self.state.load(Relaxed);
            if state != LOCKED || backoff.should_park() {
                return state;
            }
            backoff.snooze();
        }
    }

    /// A timed waiter's deadline passed. It may have consumed the wake-up that was to
    /// pass the lock on, so before leaving it either takes the lock or makes sure the
    /// owner's unlock will wake a sleeper (the word says CONTENDED or STARVING).
    #[cold]
    fn give_up(&self, slept: bool) -> bool {
        let mut state = self.state.load(Relaxed);
        loop {
            if state == UNLOCKED || (state == HANDOFF && slept) {
                // Ordering: Acquire pairs with the Release that freed the word, as in
                // `lock_contended`.
                let word = &self.state;
                let taken = word.compare_exchange(state, CONTENDED, Acquire, Relaxed);
                match taken {
                    Ok(_) => return true,
                    Err(now) => state = now,
                }
            } else if state == LOCKED {
                // Ordering: Relaxed: a mark publishes nothing (see `lock_contended`).
                match self
                    .state
                    .compare_exchange(LOCKED, CONTENDED, Relaxed, Relaxed)
                {
                    Ok(_) => return false,
                    Err(now) => state = now,
                }
            } else {
                // CONTENDED and STARVING already promise a wake-up; a HANDOFF this
                // thread may not take has a slept, untimed waiter behind it.
                return false;
            }
        }
    }

    /// The unlock found `state` (CONTENDED or STARVING) instead of LOCKED.
    #[cold]
    fn unlock_contended(&self, mut state: u32) {
        loop {
            debug_assert!(
                state == CONTENDED || state == STARVING,
                "unlock of a mutex that is not locked (state {state})"
            );
            if state == STARVING {
                // Nobody but the owner changes a STARVING word, so a plain store
                // suffices.
                // Ordering: Release pairs with the starving waiter's Acquire CAS
                // `HANDOFF → CONTENDED`: our critical section happens before its.
                self.state.store(HANDOFF, Release);
                break;
            }
            // A waiter may turn CONTENDED into STARVING under us, hence a CAS.
            // Ordering: Release, as in `unlock`.
            match self
                .state
                .compare_exchange(CONTENDED, UNLOCKED, Release, Relaxed)
            {
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        // `&self` keeps the word alive for the wake: nobody can free the mutex while
        // this borrow lasts.
        futex::wake_one(&self.state);
    }
}

impl Default for RawMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Relaxed) {
            UNLOCKED => "unlocked",
            LOCKED => "locked",
            CONTENDED => "contended",
            STARVING => "starving",
            HANDOFF => "handoff",
            _ => "invalid",
        };
        f.debug_struct("RawMutex").field("state", &state).finish()
    }
}

/// One `lock_contended` call's view of itself: its deadline, whether it has slept, and
/// since when.
struct Waiter {
    /// `None` for `lock()`: such a waiter never leaves without the lock, so it may ask
    /// for a hand-off.
    deadline: Option<Instant>,
    /// Set once the first futex wait returned; such a thread may take a HANDOFF.
    slept: bool,
    /// When an untimed waiter first went to sleep.
    asleep_since: Option<Instant>,
}

impl Waiter {
    fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            slept: false,
            asleep_since: None,
        }
    }

    /// Whether this waiter has waited long enough to ask for a hand-off: untimed, has
    /// slept, and first fell asleep at least [`STARVATION_THRESHOLD`] ago (under loom,
    /// which has no clock: as soon as it has slept once, so every model that makes a
    /// waiter sleep twice explores the hand-off).
    fn impatient(&self) -> bool {
        match self.asleep_since {
            Some(since) if self.slept => {
                cfg!(fencepost_loom) || since.elapsed() >= STARVATION_THRESHOLD
            }
            _ => false,
        }
    }

    /// Sleeps on `word` while it equals `expected`. Returns `false` once the deadline
    /// has passed.
    fn sleep(&mut self, word: &AtomicU32, expected: u32) -> bool {
        let timeout = match self.deadline {
            None => {
                self.asleep_since.get_or_insert_with(Instant::now);
                None
            }
            Some(deadline) => match time_left(deadline) {
                Some(left) => Some(left),
                None => return false,
            },
        };
        let woken = futex::wait(word, expected, timeout);
        self.slept = true;
        woken && self.deadline.is_none_or(|d| time_left(d).is_some())
    }
}

/// Time left until `deadline`, `None` once it has passed. Under loom every deadline
/// lies in the future: the loom futex decides timeouts itself (a timed wait times out
/// at once), and the model must not depend on the real clock.
fn time_left(deadline: Instant) -> Option<Duration> {
    if cfg!(fencepost_loom) {
        return Some(Duration::from_secs(1));
    }
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
}

#[cfg(all(feature = "lock_api", not(fencepost_loom)))]
// SAFETY: `lock`/`try_lock`/`try_lock_*` return (or report `true`) only after an
// Acquire CAS moved the word from UNLOCKED or HANDOFF to a held state, and only the
// owner's `unlock` moves it back, so at most one context holds it; `unlock` may run on
// any thread (the futex word has no owner identity), hence `GuardSend`.
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's required initializer; each use is a fresh lock"
    )]
    const INIT: Self = Self::new();
    type GuardMarker = lock_api::GuardSend;

    #[inline]
    fn lock(&self) {
        Self::lock(self)
    }

    #[inline]
    fn try_lock(&self) -> bool {
        Self::try_lock(self)
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: lock_api's contract for `unlock` is ours: the lock is held by the
        // caller's context.
        unsafe { Self::unlock(self) }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        Self::is_locked(self)
    }
}

#[cfg(all(feature = "lock_api", not(fencepost_loom)))]
// SAFETY: the timed calls acquire exactly as `lock` does (see the `RawMutex` impl).
unsafe impl lock_api::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        Self::try_lock_for(self, timeout)
    }

    #[inline]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        Self::try_lock_until(self, deadline)
    }
}

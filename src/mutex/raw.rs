//! The state machine behind [`Mutex`](super::Mutex): the futex word, its five
//! states and every transition. The algorithm, the state table and the memory-ordering
//! argument are in the parent module's docs (`src/mutex/mod.rs`).

use crate::backoff::time_left;
use crate::futex;
use crate::sync;
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
/// [`mutex` module documentation](crate::mutex#algorithm).
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
        // Ordering: Acquire pairs with the Release swap of the `unlock` that left it
        // UNLOCKED, so that critical section happens before ours.
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
        // Relaxed: only picks the path. While the lock is held nothing but its owner
        // moves the word off STARVING (waiters' marks CAS from LOCKED or CONTENDED), so
        // STARVING read here is still the word's value; any other value read here at
        // worst misses a mark made just now, which the swap below then returns.
        if self.state.load(Relaxed) == STARVING {
            self.hand_off();
            return;
        }
        // Ordering: Release pairs with the Acquire CAS of the next owner, so our
        // critical section happens before its.
        let prev = self.state.swap(UNLOCKED, Release);
        if prev != LOCKED {
            self.unlock_contended(prev);
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
        let mut state = self.spin(deadline);
        loop {
            // 1. Take the lock if it is ours to take. A thread that has slept may have
            //    consumed the wake-up meant to pass the lock down the queue of sleepers,
            //    so it marks the word CONTENDED: its own unlock then wakes the next one.
            if state == UNLOCKED || (state == HANDOFF && waiter.slept) {
                let new = if waiter.slept { CONTENDED } else { LOCKED };
                // Ordering: Acquire pairs with the Release that made the word UNLOCKED
                // (`unlock`'s swap) or HANDOFF (`hand_off`'s store).
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
            state = self.spin(deadline);
        }
    }

    /// Spins while the lock is held and nobody sleeps, within [`Spin`]'s budget;
    /// returns the last state seen. Spinning once threads sleep would only delay them:
    /// the unlock hands the lock to a sleeper's wake-up, not to a spinner.
    #[inline]
    fn spin(&self, deadline: Option<Instant>) -> u32 {
        let mut spin = Spin::new(deadline);
        loop {
            // Relaxed re-reads: a spin only decides when to try the Acquire CAS.
            let state = self.state.load(Relaxed);
            if state != LOCKED || !spin.snooze() {
                return state;
            }
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

    /// The unlock's swap replaced `prev` (CONTENDED, or a STARVING mark that landed
    /// after `unlock` looked): someone may sleep, so wake one. A late STARVING gets no
    /// hand-off this time; the woken waiter marks the next owner's word again.
    #[cold]
    fn unlock_contended(&self, prev: u32) {
        debug_assert!(
            prev == CONTENDED || prev == STARVING,
            "unlock of a mutex that is not locked (state {prev})"
        );
        // `&self` keeps the word alive for the wake: nobody can free the mutex while
        // this borrow lasts.
        futex::wake_one(&self.state);
    }

    /// Unlock of a STARVING word: release it straight to HANDOFF, never through
    /// UNLOCKED, and wake one sleeper to take it.
    ///
    /// The word must not pass through UNLOCKED on the way. An earlier version swapped
    /// to UNLOCKED and then CASed `UNLOCKED → HANDOFF`; the starving waiter, awake
    /// between its mark and its futex wait, could take the free word, finish and leave
    /// before that CAS, which then closed the word to everyone who had not slept: the
    /// next `lock` slept on a HANDOFF nobody would take (seen under qemu-aarch64, and
    /// in the loom model `an_owner_that_comes_straight_back_after_a_starving_unlock_is_not_stranded`).
    #[cold]
    fn hand_off(&self) {
        // A plain store: no other thread writes a STARVING word (see `unlock`). It is
        // the word's only plain store, and loom checks it as written: loom 0.7.2 may
        // place a plain store before another thread's RMW that read an earlier write of
        // the storing thread (see `set_own_word` in `spsc/blocking.rs`), but `unlock`
        // has just loaded STARVING, the word's latest write, which loom then orders
        // before this store.
        // Ordering: Release pairs with the Acquire CAS `HANDOFF → CONTENDED` of the
        // waiter that takes the hand-off, so our critical section happens before its.
        self.state.store(HANDOFF, Release);
        // A STARVING mark has an untimed waiter that has slept behind it, and it is
        // still waiting: it can acquire only from UNLOCKED or HANDOFF, and the word has
        // been neither since it marked. Asleep, this wake-up (or the one of whoever takes
        // the hand-off first) reaches it; between its mark and its futex wait, the wait
        // finds the word changed and it takes the hand-off itself.
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

/// How long a waiter spins before it yields and then sleeps: about one futex sleep and
/// wake-up, so that spinning first costs at most about twice the best choice made in
/// hindsight (the ski-rental argument of `backoff.rs`).
///
/// The price of a sleep is not only the two system calls (about a microsecond each on
/// bare metal): the sleeper's CPU goes idle and needs a wake-up latency to run it again
/// (on bare metal the exit from an idle C-state, tens of µs for the deeper ones; on a VM
/// a halt exit to the host, ~20 µs on the 2-vCPU KVM guest of `examples/compare`), and
/// every unlock while it sleeps pays a `futex_wake`. A budget in *time* rather than in
/// `spin_loop` hints carries over between CPUs: `pause` takes ~10 cycles before
/// Skylake, ~140 on Skylake, ~40 on the Sapphire Rapids guest (16.5 ns measured), and
/// `isb` on aarch64 differs again (parking_lot#201 is this pitfall).
///
/// Why 10 µs: it covers the sleep-and-wake cost on bare metal (system calls plus a
/// shallow C-state exit) and half of the VM's halt exit, so it stays within the
/// ski-rental factor on both without being tuned to either; a longer budget buys no
/// throughput and costs fairness and burnt CPU.
///
/// Measured on the 2-vCPU guest (medians of interleaved rounds, ratio to the better of
/// std and parking_lot): the old ~2 µs spin (127 hints) + 3 yields gave 1.1–1.2x at
/// 2 threads cs≈0, 0.75–1.0x at 2 threads cs≈100 ns, 0.76–0.94x at 8 threads cs≈0 and
/// 0.56–0.84x at 8 threads cs≈100 ns. A wall-clock budget of 10–40 µs raised these to
/// about 0.9–1.8x: waiters that stay awake and read the word rarely (the rounds
/// double) let the owner re-lock a line it already holds instead of paying a
/// `futex_wake` per unlock, cutting `futex` calls about 20-fold. 10 µs and 20 µs were
/// within noise of each other on throughput in `examples/compare` run alternately
/// (2 runs of 10 µs, 3 of 20 µs), while the slowest thread's share in the fairness
/// regime was 1.04–1.54x std's at 10 µs and 0.81–1.21x at 20 µs.
const SPIN_BUDGET: Duration = Duration::from_micros(10);
/// Rounds spun before the clock is first read: waits shorter than the first
/// 2^0 + … + 2^5 = 63 hints (the common, short hand-over) never pay for `Instant::now`.
const UNTIMED_ROUNDS: u32 = 6;
/// The longest round, 2^9 hints (~8 µs at 16.5 ns a `pause`): the word is re-read at
/// least this often.
const MAX_ROUND_LOG2: u32 = 9;
/// Yields after the spin budget, before sleeping: when threads outnumber cores the
/// owner may be preempted on this very CPU, and a yield lets it finish its critical
/// section without anyone paying for a futex sleep (parking_lot yields 7 times). With
/// and without them measured within noise of each other.
const YIELDS: u32 = 3;

/// One spin phase of a waiter: doubling rounds of `spin_loop` up to [`SPIN_BUDGET`],
/// then [`YIELDS`] yields. Under loom (no clock; every spin is a scheduling point)
/// one round, so models explore "the owner ran while we spun" without blowing up.
struct Spin {
    /// The waiter's deadline, if it has one.
    deadline: Option<Instant>,
    round: u32,
    yields: u32,
    /// When round [`UNTIMED_ROUNDS`] began.
    timed_since: Option<Instant>,
}

impl Spin {
    fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            round: 0,
            yields: 0,
            timed_since: None,
        }
    }

    /// Waits a little longer than the previous call did, or returns `false` once the
    /// budget is spent and the caller should sleep.
    #[inline]
    fn snooze(&mut self) -> bool {
        if cfg!(fencepost_loom) {
            if self.round > 0 {
                return false;
            }
        } else if self.round >= UNTIMED_ROUNDS {
            let now = Instant::now();
            // A timed waiter stops spinning at its deadline, not after the budget: its
            // sleep then sees the deadline passed and it gives up.
            if self.deadline.is_some_and(|deadline| now >= deadline) {
                return false;
            }
            let since = *self.timed_since.get_or_insert(now);
            if now - since >= SPIN_BUDGET {
                if self.yields == YIELDS {
                    return false;
                }
                self.yields += 1;
                sync::yield_now();
                return true;
            }
        }
        for _ in 0..1u32 << self.round.min(MAX_ROUND_LOG2) {
            sync::spin_loop();
        }
        self.round += 1;
        true
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
            None => None,
            Some(deadline) => match time_left(deadline) {
                Some(left) => Some(left),
                None => return false,
            },
        };
        // The word moved on since this thread read it: it does not sleep, so it
        // consumes no wake-up and stays `!slept`, which lets it lock `LOCKED` rather
        // than `CONTENDED`. Without this check every such near-miss made the next unlock
        // issue a `futex_wake` that found nobody: measured with an `LD_PRELOAD` counter,
        // 2 threads cs≈0 issued ~10 wakes per futex wait.
        if word.load(Relaxed) != expected {
            return true;
        }
        if self.deadline.is_none() {
            self.asleep_since.get_or_insert_with(Instant::now);
        }
        let woken = futex::wait(word, expected, timeout);
        self.slept = true;
        woken && self.deadline.is_none_or(|d| time_left(d).is_some())
    }
}

#[cfg(all(feature = "lock_api", not(fencepost_loom)))]
#[cfg_attr(docsrs, doc(cfg(feature = "lock_api")))]
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
#[cfg_attr(docsrs, doc(cfg(feature = "lock_api")))]
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

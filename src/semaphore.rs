//! A counting semaphore on one 32-bit futex word.
//!
//! [`Semaphore`] hands out up to `permits` [`SemaphorePermit`]s at a time; a permit goes
//! back when it is dropped. Acquiring when no permit is left spins briefly and then
//! sleeps in the kernel on the semaphore's futex word.
//!
//! # Algorithm
//!
//! The design is glibc's 32-bit `sem_t` (`nptl/sem_waitcommon.c`, the `nwaiters` bit
//! variant) adapted to Rust's memory model: the permit count and a *sleepers* bit live in
//! one `AtomicU32`, so that returning permits and learning whether anyone sleeps is one
//! `fetch_add`, and nobody touches the semaphore after that step unless a sleeper exists
//! (the destroy-while-posting race of glibc BZ 12674 cannot arise).
//!
//! | `state` bits | meaning |
//! |---|---|
//! | bit 0 (`SLEEPERS`) | some thread is, or may be, registered to sleep on `state` |
//! | bits 1..=31 | available permits; at most [`Semaphore::MAX_PERMITS`] (`2^30 - 1`), a limit checked on the permits held *plus* available (`total`, below) before the word changes, so returning permits can never wrap it |
//!
//! Beside the word, off the fast path:
//!
//! | field | meaning |
//! |---|---|
//! | `sleepers` | exact number of threads registered to sleep (a timed-out one withdraws) |
//! | `greedy` | how many of them want more than one permit |
//! | `total` | permits in existence, held plus available: the [`Semaphore::MAX_PERMITS`] limit is checked on it |
//!
//! - **acquire**: `load`, then `compare_exchange(s, s - n)` while enough permits remain.
//!   Otherwise spin (about 1–2 µs, `Backoff::new`, only while the `SLEEPERS` bit is clear: a
//!   newcomer does not spin while others are known to sleep), then *register*:
//!   `sleepers += 1`, set `SLEEPERS` with a `compare_exchange` on the exact value it
//!   then passes to `futex_wait`, and sleep. Every sleep decision is a read-modify-write
//!   of `state`, so it reads the latest value: a release ordered before it is seen (the
//!   CAS fails), a release ordered after it sees `SLEEPERS` and wakes.
//! - **release** (`drop`, [`Semaphore::add_permits`]): `fetch_add(n << 1)`. If the old
//!   word had `SLEEPERS`, wake `min(n, sleepers)` threads (all of them in one call when
//!   that is everyone), or every sleeper when one of them wants several permits (a woken
//!   thread that cannot use the permits it was woken for would otherwise strand them).
//! - **leave** (after acquiring or timing out, a registered thread withdraws): glibc's
//!   speculative clear. If `sleepers` reads 1 (probably us), clear `SLEEPERS`; then
//!   `sleepers -= 1`. If the decrement shows that another thread registered meanwhile, it
//!   may sleep on a word whose bit we just cleared: set the bit again and wake as many
//!   sleepers as there are permits. A stale `SLEEPERS` bit with no sleeper costs a
//!   release one extra load (of `sleepers`), never a syscall.
//!
//! Unfair by design (barging, like glibc, musl, std and `async-lock`): a spinning thread
//! can take a permit a sleeper was woken for; the woken thread then sleeps again. Nothing
//! is poisoned: a panic while holding a permit returns it on unwind.
//!
//! # Memory ordering
//!
//! - Permits are the happens-before channel: the `fetch_add` that returns a permit is
//!   `Release` and the `compare_exchange` that takes one is `Acquire`, so what a holder
//!   did before releasing happens before what the next holder does. Every write to
//!   `state` is a read-modify-write, so a release sequence never breaks.
//! - Registration: a sleeper's `sleepers += 1` is published by its `Release` CAS that
//!   sets `SLEEPERS`. A releaser that sees the bit in its `fetch_add` result runs
//!   `fence(Acquire)` on the cold path, which makes its `Release` `fetch_add` also an
//!   acquire of that CAS, so it reads an up-to-date `sleepers`: the fast path pays
//!   nothing for it.
//! - Speculative clear: the `fetch_and` that clears the bit is `Acquire`, pairing with the
//!   `Release` CAS of any sleeper that set the bit before it, so that sleeper's
//!   `sleepers += 1` is visible to our decrement and the mis-speculation is detected.
//!   (Without it the decrement could be ordered before that increment: load buffering,
//!   which aarch64 allows and which neither loom nor Miri can produce, so this is the one
//!   ordering here that no test can kill; the comment at the `fetch_and` says why.)
//! - The futex orders nothing (`futex/mod.rs`); a woken thread re-reads `state`.
//!
//! No `SeqCst` and no store→load fence is needed: the two parties of every handshake
//! meet in a read-modify-write of the same word.
//!
//! # Hot path
//!
//! | | x86_64 | aarch64 with LSE |
//! |---|---|---|
//! | `try_acquire`/`acquire` | `mov` + `lock cmpxchg` | `ldr` + `casa` |
//! | permit drop | `lock xadd`, then `test` (sleepers bit) | `ldaddl`, then `tbnz` |
//!
//! Generic aarch64 Linux builds reach `casa`/`ldaddl` through the `outline-atomics`
//! helpers (`__aarch64_cas4_acq`, `__aarch64_ldadd4_rel`), which fall back to
//! `ldaxr`/`stxr` and `ldxr`/`stlxr` loops on cores without LSE. No syscall and no fence
//! unless a thread sleeps.

use crate::backoff::Backoff;
use crate::futex;
use crate::sync::atomic::AtomicU32;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::fence;
use core::fmt;
use std::time::{Duration, Instant};

/// `state` bit 0: a thread is, or may be, registered to sleep.
const SLEEPERS: u32 = 1;
/// `state` units per permit: permits live above the `SLEEPERS` bit.
const PERMIT_SHIFT: u32 = 1;

/// Permits encoded in a `state` word.
#[inline(always)]
const fn permits(state: u32) -> u32 {
    state >> PERMIT_SHIFT
}

/// A counting semaphore: at most `permits` holders at a time.
///
/// Permits are returned when the [`SemaphorePermit`] is dropped. See the
/// [module docs](self#memory-ordering) for the protocol. No poisoning: a panicking holder
/// returns its permits while unwinding.
///
/// # Examples
///
/// ```
/// use fencepost::Semaphore;
/// use std::{
///     sync::atomic::{AtomicUsize, Ordering},
///     thread,
/// };
///
/// let sem = Semaphore::new(2);
/// let inside = AtomicUsize::new(0);
/// thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let _permit = sem.acquire();
///             assert!(inside.fetch_add(1, Ordering::SeqCst) < 2);
///             inside.fetch_sub(1, Ordering::SeqCst);
///         });
///     }
/// });
/// assert_eq!(sem.available_permits(), 2);
/// ```
pub struct Semaphore {
    /// The futex word: `permits << 1 | SLEEPERS` (see the module's bit table).
    state: AtomicU32,
    /// Threads registered to sleep on `state` (registered before they set `SLEEPERS`,
    /// withdrawn when they leave, timed out or not).
    sleepers: AtomicU32,
    /// Registered threads that want more than one permit.
    greedy: AtomicU32,
    /// Permits in existence: held plus available. Raised by `add_permits` (checked
    /// against `MAX_PERMITS` *before* `state` changes), lowered by
    /// [`SemaphorePermit::forget`]. Every permit in `state` is counted here, so
    /// `permits(state) <= total <= MAX_PERMITS` and returning permits can never push
    /// `state` past the limit. Off the fast paths; Relaxed throughout: it orders
    /// nothing, it only bounds a count.
    total: AtomicU32,
}

impl Semaphore {
    /// The most permits a semaphore can hold: `2^30 - 1`.
    pub const MAX_PERMITS: usize = (u32::MAX >> 2) as usize;

    /// A semaphore with `permits` available permits; `const` (outside loom), so it can
    /// initialise a `static`.
    ///
    /// # Panics
    ///
    /// If `permits` is greater than [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    ///
    /// static POOL: fencepost::Semaphore = fencepost::Semaphore::new(4);
    /// assert_eq!(POOL.available_permits(), 4);
    /// ```
    #[cfg(not(fencepost_loom))]
    pub const fn new(permits: usize) -> Self {
        let permits = new_permits(permits);
        Self {
            state: AtomicU32::new(permits << PERMIT_SHIFT),
            sleepers: AtomicU32::new(0),
            greedy: AtomicU32::new(0),
            total: AtomicU32::new(permits),
        }
    }

    /// A semaphore with `permits` available permits (not `const` under loom, whose
    /// atomics have no `const fn new`).
    #[cfg(fencepost_loom)]
    pub fn new(permits: usize) -> Self {
        let permits = new_permits(permits);
        Self {
            state: AtomicU32::new(permits << PERMIT_SHIFT),
            sleepers: AtomicU32::new(0),
            greedy: AtomicU32::new(0),
            total: AtomicU32::new(permits),
        }
    }

    /// Takes one permit, sleeping until one is available.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(1);
    /// let permit = sem.acquire();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(permit);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[inline]
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        if !self.try_take(1) {
            self.acquire_slow(1, None);
        }
        SemaphorePermit::new(self, 1)
    }

    /// Takes one permit if one is available now; never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(1);
    /// let held = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(held);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_take(1).then(|| SemaphorePermit::new(self, 1))
    }

    /// Takes one permit, waiting at most `timeout`; `None` if none came in time.
    ///
    /// A thread that times out withdraws its registration, so it costs later releases
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = fencepost::Semaphore::new(0);
    /// assert!(sem.acquire_timeout(Duration::from_millis(1)).is_none());
    /// sem.add_permits(1);
    /// assert!(sem.acquire_timeout(Duration::from_millis(1)).is_some());
    /// ```
    #[inline]
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        (self.try_take(1) || self.acquire_slow(1, Some(timeout)))
            .then(|| SemaphorePermit::new(self, 1))
    }

    /// Takes `n` permits at once, sleeping until `n` are available together.
    ///
    /// `n == 0` returns an empty permit at once.
    ///
    /// # Panics
    ///
    /// If `n` is greater than [`Semaphore::MAX_PERMITS`] (it could never be satisfied).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(5);
    /// let three = sem.acquire_many(3);
    /// assert_eq!(three.num_permits(), 3);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    #[inline]
    pub fn acquire_many(&self, n: usize) -> SemaphorePermit<'_> {
        let n = checked_count(n, "Semaphore::acquire_many: n");
        if !self.try_take(n) {
            self.acquire_slow(n, None);
        }
        SemaphorePermit::new(self, n)
    }

    /// Takes `n` permits if `n` are available now; never blocks.
    ///
    /// # Panics
    ///
    /// If `n` is greater than [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_none());
    /// assert!(sem.try_acquire_many(2).is_some());
    /// ```
    #[inline]
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        let n = checked_count(n, "Semaphore::try_acquire_many: n");
        self.try_take(n).then(|| SemaphorePermit::new(self, n))
    }

    /// Adds `n` permits, waking at most as many sleepers as `n` can satisfy.
    ///
    /// # Panics
    ///
    /// If the permits in existence (held plus available) would exceed
    /// [`Semaphore::MAX_PERMITS`]; the semaphore is then left unchanged. Permits given
    /// up with [`SemaphorePermit::forget`] no longer count.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    ///
    /// // The limit counts held permits too.
    /// let full = fencepost::Semaphore::new(fencepost::Semaphore::MAX_PERMITS);
    /// let _all = full.acquire_many(fencepost::Semaphore::MAX_PERMITS);
    /// assert!(std::panic::catch_unwind(|| full.add_permits(1)).is_err());
    /// ```
    pub fn add_permits(&self, n: usize) {
        let n = checked_count(n, "Semaphore::add_permits: n");
        // Reserve the permits in `total` first: once this succeeds, `state` has room.
        let mut total = self.total.load(Relaxed);
        loop {
            if total + n > Self::MAX_PERMITS as u32 {
                add_too_many(total, n);
            }
            match self
                .total
                .compare_exchange_weak(total, total + n, Relaxed, Relaxed)
            {
                Ok(_) => break,
                Err(actual) => total = actual,
            }
        }
        // Ordering: Release, as in `release`: the added permits publish what this
        // thread did before, to whoever takes them (the Acquire CAS in `try_take`).
        let old = self.state.fetch_add(n << PERMIT_SHIFT, Release);
        if old & SLEEPERS != 0 {
            self.wake_for_release(n);
        }
    }

    /// Permits available now (a snapshot; other threads may change it at once).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(4);
    /// let _p = sem.acquire_many(3);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[inline]
    pub fn available_permits(&self) -> usize {
        permits(self.state.load(Relaxed)) as usize
    }

    /// One attempt to take `n` permits without blocking.
    #[inline]
    fn try_take(&self, n: u32) -> bool {
        let mut s = self.state.load(Relaxed);
        while permits(s) >= n {
            let new = s - (n << PERMIT_SHIFT);
            // Ordering: Acquire pairs with the Release `fetch_add` in `release` (and the
            // CAS in `add_permits`) that returned these permits: the previous holder's
            // critical section happens before ours.
            match self.state.compare_exchange_weak(s, new, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
        false
    }

    /// Spins, then registers and sleeps until `n` permits are taken or `timeout` passes.
    /// Returns whether the permits were taken.
    #[cold]
    fn acquire_slow(&self, n: u32, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now().checked_add(t));
        // Spin only while nobody sleeps: a sleeper means permits are scarce for longer
        // than a spin, and a spinning newcomer would only steal its wake-ups.
        let mut spin = Backoff::new();
        loop {
            if self.try_take(n) {
                return true;
            }
            if self.state.load(Relaxed) & SLEEPERS != 0 || !spin.spin() {
                break;
            }
        }
        // A zero or already expired timeout still had its tries above.
        if remaining(deadline) == Some(Duration::ZERO) {
            return false;
        }
        self.register(n);
        let mut timed_out = false;
        let taken = loop {
            let s = self.state.load(Relaxed);
            if permits(s) >= n {
                let new = s - (n << PERMIT_SHIFT);
                // Ordering: Acquire, as in `try_take`.
                if self
                    .state
                    .compare_exchange(s, new, Acquire, Relaxed)
                    .is_ok()
                {
                    break true;
                }
                continue;
            }
            if timed_out {
                break false;
            }
            let sleeping = s | SLEEPERS;
            // A CAS (not a load) because it must read the latest `state`: a release
            // ordered before it makes it fail and we see the permits; a release ordered
            // after it sees `SLEEPERS` and wakes us.
            // Ordering: Release publishes our `register` (`sleepers += 1`, `greedy`) to
            // a releaser's `fence(Acquire)` in `wake_for_release` (its `fetch_add` reads
            // this value) and to a leaving thread's `fetch_and(Acquire)` in `leave`.
            let announced = self.state.compare_exchange(s, sleeping, Release, Relaxed);
            if announced.is_err() {
                continue;
            }
            match remaining(deadline) {
                Some(Duration::ZERO) => timed_out = true,
                timeout => {
                    // Returns at once if `state` is no longer `sleeping`; otherwise any
                    // change to it comes from a release (or a `leave` fix-up) that saw
                    // `SLEEPERS` and will wake us.
                    if !futex::wait(&self.state, sleeping, timeout) {
                        // One last look (above) before withdrawing.
                        timed_out = true;
                    }
                }
            }
        };
        self.leave(n);
        taken
    }

    /// Counts this thread among the sleepers (before it sets `SLEEPERS`).
    fn register(&self, n: u32) {
        // Published by the Release CAS that sets `SLEEPERS` (see `acquire_slow`).
        self.sleepers.fetch_add(1, Relaxed);
        if n > 1 {
            self.greedy.fetch_add(1, Relaxed);
        }
    }

    /// Withdraws this thread's registration (after taking its permits or timing out),
    /// clearing `SLEEPERS` when it was probably the last sleeper.
    fn leave(&self, n: u32) {
        if n > 1 {
            self.greedy.fetch_sub(1, Relaxed);
        }
        let guess_last = self.sleepers.load(Relaxed) == 1;
        if guess_last {
            // Without it, our `fetch_sub` below may take its place in `sleepers`' order
            // *before* that `sleepers += 1` although we read the CAS that followed it
            // (load buffering: aarch64 may perform the `ldadd` before this `ldclr`), so
            // the mis-speculation goes unseen and that sleeper is stranded. loom and
            // Miri execute in program order and cannot produce load buffering.
            // Ordering: Acquire pairs with the Release CAS by which a sleeper set the bit
            // before this clear: its `sleepers += 1` then happens before our decrement.
            // mutants: skip (load buffering: no checker here can produce it, see above)
            self.state.fetch_and(!SLEEPERS, Acquire);
        }
        let before = self.sleepers.fetch_sub(1, Relaxed);
        if guess_last && before > 1 {
            // Mis-speculation: another thread registered, and it may already sleep on a
            // word whose bit we cleared, so that releases since the clear did not wake
            // it. Restore the bit; wake for the permits those releases left.
            let s = self.state.fetch_or(SLEEPERS, Relaxed);
            if permits(s) > 0 {
                self.wake(permits(s));
            }
        }
    }

    /// Returns `n` permits (a permit's drop).
    #[inline]
    fn release(&self, n: u32) {
        // Ordering: Release pairs with the Acquire CAS in `try_take`/`acquire_slow` of the
        // thread that takes these permits: our critical section happens before its.
        let old = self.state.fetch_add(n << PERMIT_SHIFT, Release);
        // Cannot pass the limit: these permits were counted in `total`, which
        // `add_permits` keeps at or below MAX_PERMITS.
        debug_assert!(permits(old) + n <= Self::MAX_PERMITS as u32);
        if old & SLEEPERS != 0 {
            self.wake_for_release(n);
        }
    }

    /// After a `fetch_add`/CAS of `n` permits that saw `SLEEPERS`: wake the sleepers they
    /// can satisfy.
    #[cold]
    fn wake_for_release(&self, n: u32) {
        // Our permit-returning RMW read a value at or after the Release CAS by which a
        // sleeper set `SLEEPERS` (all writes to `state` are RMWs, so the release sequence
        // is unbroken). A fence here keeps the fast-path `fetch_add` a plain Release.
        // Ordering: makes that RMW an acquire of the sleeper's CAS in `acquire_slow`, so
        // its `sleepers += 1` is visible to `wake`.
        fence(Acquire);
        self.wake(n);
    }

    /// Wakes as many sleepers as `available` permits can satisfy.
    fn wake(&self, available: u32) {
        let sleepers = self.sleepers.load(Relaxed);
        if sleepers == 0 {
            // A stale `SLEEPERS` bit: nobody to wake, no syscall.
            return;
        }
        if available >= sleepers || self.greedy.load(Relaxed) > 0 {
            // Everyone can be satisfied, or someone wants several permits and only it
            // knows whether `available` is enough: every sleeper re-checks.
            futex::wake_all(&self.state);
            return;
        }
        // Fewer permits than sleepers: wake that many, in one system call. Registered
        // threads not yet asleep see the new permits when `futex_wait` compares the word.
        futex::wake_n(&self.state, available);
    }
}

/// `permits` for `Semaphore::new`, checked in a `const fn` (whose panic message cannot
/// format the argument).
const fn new_permits(permits: usize) -> u32 {
    assert!(
        permits <= Semaphore::MAX_PERMITS,
        "Semaphore::new: permits exceeds Semaphore::MAX_PERMITS (1073741823)"
    );
    permits as u32
}

// The limit spelled out in `new_permits`' message.
const _: () = assert!(Semaphore::MAX_PERMITS == 1_073_741_823);

/// `n` as a permit count, or a panic naming `what` and the limit.
#[inline]
fn checked_count(n: usize, what: &str) -> u32 {
    if n > Semaphore::MAX_PERMITS {
        count_too_large(n, what);
    }
    n as u32
}

#[cold]
#[inline(never)]
fn add_too_many(total: u32, n: u32) -> ! {
    panic!(
        "Semaphore::add_permits: {total} permits held or available + n = {n} would exceed \
         Semaphore::MAX_PERMITS ({})",
        Semaphore::MAX_PERMITS
    )
}

#[cold]
#[inline(never)]
fn count_too_large(n: usize, what: &str) -> ! {
    panic!(
        "{what} = {n} exceeds Semaphore::MAX_PERMITS ({})",
        Semaphore::MAX_PERMITS
    )
}

/// Time left until `deadline`: `None` for no deadline (or one past `Instant`'s range),
/// `Some(ZERO)` once it has passed.
fn remaining(deadline: Option<Option<Instant>>) -> Option<Duration> {
    match deadline {
        Some(Some(d)) => Some(d.saturating_duration_since(Instant::now())),
        _ => None,
    }
}

impl Default for Semaphore {
    /// A semaphore with no permits.
    fn default() -> Self {
        Self::new(0)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .field("sleepers", &self.sleepers.load(Relaxed))
            .finish()
    }
}

/// Permits taken from a [`Semaphore`]; they go back when this is dropped.
///
/// Dropping never panics: the permits were counted against
/// [`Semaphore::MAX_PERMITS`] when they were created.
#[must_use = "the permit is returned as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

impl<'a> SemaphorePermit<'a> {
    #[inline(always)]
    fn new(sem: &'a Semaphore, permits: u32) -> Self {
        Self { sem, permits }
    }

    /// Keeps the permits taken: the semaphore loses them for good (and they no longer
    /// count toward [`Semaphore::MAX_PERMITS`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(2);
    /// sem.acquire().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[inline]
    pub fn forget(mut self) {
        self.sem.total.fetch_sub(self.permits, Relaxed);
        self.permits = 0;
    }

    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = fencepost::Semaphore::new(2);
    /// assert_eq!(sem.acquire_many(2).num_permits(), 2);
    /// ```
    #[inline]
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.permits > 0 {
            self.sem.release(self.permits);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

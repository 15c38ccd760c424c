//! A futex mutex: one 32-bit word, one CAS to lock, a load and a swap to unlock, a bounded spin
//! while nobody sleeps, then `futex_wait`; eventual fairness by a hand-off to a waiter
//! that has slept too long.
//!
//! [`RawMutex`] is the state machine (public, so `lock_api` users can build on it);
//! [`Mutex<T>`] is the safe shell with an RAII [`MutexGuard`], as in std
//! (`sys/sync/mutex/futex.rs` under `sync/mutex.rs`) and parking_lot (`RawMutex` under
//! `lock_api::Mutex`).
//!
//! # Algorithm
//!
//! The core is Drepper's "take 3" three-state futex lock ("Futexes Are Tricky"), as std
//! ships it: `UNLOCKED`, `LOCKED` and `CONTENDED` ("locked, and a thread may be asleep on
//! the word"). A locker CASes `UNLOCKED → LOCKED`; on failure it spins (loads only)
//! while the word says `LOCKED`, that is while nobody sleeps, then marks the word
//! `CONTENDED` and sleeps on it. An unlocker that finds `CONTENDED` wakes one sleeper.
//! A thread that has slept (entered `futex_wait` with the word still at its mark)
//! marks the word `CONTENDED` again when it acquires the lock,
//! so the remaining sleepers are woken one by one, each by the previous owner.
//!
//! Such a lock lets a running thread *barge* in ahead of a woken one, which is what
//! makes it fast (the owner re-locks without a context switch) and what lets a sleeper
//! lose every race. Two more states bound that, in the spirit of Go's starvation mode
//! (`sync/mutex.go`, 1 ms threshold) and parking_lot's eventual fairness (a fair unlock
//! every 0.5 ms on average):
//!
//! - a `lock()` waiter that first fell asleep at least `raw::STARVATION_THRESHOLD`
//!   (1 ms) ago and is about to sleep again marks the locked word `STARVING`;
//! - the owner's unlock then does not leave the lock free but stores `HANDOFF`: not
//!   owned, yet closed to every thread that has not slept (the fast path's CAS expects
//!   `UNLOCKED`), and wakes one sleeper, which takes it (`HANDOFF → CONTENDED`).
//!
//! The kernel wakes futex sleepers oldest first, so the hand-off usually reaches the
//! starving thread itself; if it reaches another sleeper, the starving one marks the
//! next owner's word again. A sleeper is thus overtaken by running threads for about
//! a threshold at a time, not forever. A timed waiter (`try_lock_for`) never asks for
//! a hand-off, because it may leave: the state machine relies on a `STARVING` mark
//! always having an untimed waiter behind it.
//!
//! | value | name | lock | meaning | who moves it on |
//! |---|---|---|---|---|
//! | 0 | `UNLOCKED` | free | nobody holds it; sleepers may exist after a wake | lock: `→ LOCKED` (never slept) or `→ CONTENDED` (has slept) |
//! | 1 | `LOCKED` | held | nobody sleeps | unlock: `→ UNLOCKED`; a waiter: `→ CONTENDED` / `STARVING` |
//! | 2 | `CONTENDED` | held | a thread may sleep on the word | unlock: `→ UNLOCKED` + wake one; a starving waiter: `→ STARVING` |
//! | 3 | `STARVING` | held | a starving untimed waiter sleeps; no other waiter changes it | unlock: `→ HANDOFF` + wake one |
//! | 4 | `HANDOFF` | reserved | released by its owner, open only to a thread that has slept | a woken waiter: `→ CONTENDED` |
//!
//! The unlock is std's `swap(UNLOCKED)`: on x86 an `xchg` measured ~0.4 ns cheaper
//! per lock+unlock than a `lock cmpxchg` (4.45 vs 4.9 ns for std's and `parking_lot`'s
//! otherwise identical loops). A swap writes `UNLOCKED` whatever it finds, so the unlock
//! first loads the word (a hit in the line its lock just wrote) and, if it reads
//! `STARVING`, stores `HANDOFF` instead. That load is exact for `STARVING`: no thread
//! but the owner moves a `STARVING` word on. A mark that lands between the load and the
//! swap comes back from the swap and gets a plain wake-up; that waiter marks the next
//! owner's word again.
//!
//! The word must never pass through `UNLOCKED` on its way to `HANDOFF`. An earlier
//! version swapped to `UNLOCKED` and then CASed `UNLOCKED → HANDOFF`: the starving
//! waiter, awake between its mark and its futex wait, could take the momentarily free
//! word, finish and leave before the CAS, which then reserved the lock for a waiter
//! that no longer existed, and the next `lock()` slept forever. qemu-aarch64 hit it in
//! about 1 run in 10 of `tests/mutex.rs`'s barging test; the loom model
//! `an_owner_that_comes_straight_back_after_a_starving_unlock_is_not_stranded` now
//! shows it.

//! # Spinning
//!
//! A waiter spins for about 10 µs of wall-clock time (`raw::SPIN_BUDGET`: doubling
//! rounds of `spin_loop`, the word re-read after each, at most 2^9 hints apart), then
//! yields 3 times, then sleeps; it spins only while the word says `LOCKED`, and a timed
//! waiter stops spinning at its deadline. The budget is about one sleep plus wake-up
//! (system calls, and the idle CPU's wake-up latency), the ski-rental choice, and is in
//! time because a `spin_loop` hint's cost varies 10-fold between CPUs. A waiter that
//! reads the word rarely leaves the owner a line it can re-lock without a transfer, and
//! one that stays awake spares every unlock a `futex_wake`: against the former ~2 µs
//! spin this cut `futex` calls about 20-fold and raised contended throughput by about
//! 1.2–2x (`examples/compare`, "mutex"; figures at `raw::SPIN_BUDGET`).
//!
//! # Memory ordering
//!
//! Every happens-before edge comes from the word itself; `futex::wait`/`wake` order
//! nothing. The lock's data is published by the owner's release of the word and
//! acquired by the next owner's successful CAS:
//!
//! - *Release*: the unlock's `swap(UNLOCKED)`, or its `store(HANDOFF)` for a starving
//!   waiter, both `Release`: the critical section happens before them. The load that
//!   chooses between them is `Relaxed`: it only picks a path.
//! - *Acquire*: every CAS that takes the lock (`UNLOCKED → LOCKED`,
//!   `UNLOCKED → CONTENDED`, `HANDOFF → CONTENDED`) is `Acquire` on success and reads the
//!   value some release wrote, or a later value in its release sequence (only
//!   read-modify-writes touch the word between a release and the next acquisition:
//!   waiters' `LOCKED → CONTENDED`/`STARVING` marks are CASes), so the previous critical
//!   section happens before the next.
//! - Everything else is `Relaxed`: marks (`→ CONTENDED`, `→ STARVING`), spin reads and
//!   failed CASes publish nothing and acquire nothing. That no wake-up is lost needs no
//!   ordering either: all writes to the word are read-modify-writes, so they form
//!   one modification order, and the kernel compares the word and
//!   queues the sleeper atomically with respect to `futex_wake`. A mark a waiter made
//!   before sleeping is thus seen by the unlock that follows it in that order, and an
//!   unlock that precedes the sleep makes the kernel's compare fail.
//!
//! No `SeqCst` and no fence: there is no store→load (Dekker) pattern, because the
//! waiter's "I sleep" and the owner's "I released" are both written to the same word.
//!
//! # Hot path instructions
//!
//! | | x86_64 | aarch64 (`+outline-atomics`, the Linux default) |
//! |---|---|---|
//! | lock | `lock cmpxchg` (0 → 1) + `jne` to the cold path | `bl __aarch64_cas4_acq`: `casa` with LSE (ARMv8.1+), else an `ldaxr`/`stxr` loop |
//! | unlock | `cmp` of the word with 3 + `je` to the hand-off, then `xchg` (→ 0) + `cmp`/`jne` to the cold path | `ldr` + `cmp`/`b.eq` to the hand-off, then `bl __aarch64_swp4_rel`: `swpl` with LSE, else an `ldxr`/`stlxr` loop |
//!
//! On x86 every locked instruction is a full barrier, so the `Acquire`/`Release`
//! orderings cost nothing extra and a missing one goes unnoticed there; on aarch64 they
//! select the acquiring/releasing variant of the instruction, and a `Relaxed` unlock
//! lets the critical section's stores become visible after the lock looks free (see the
//! broken twin in `loom-tests/mutex.rs`). With `-C target-cpu` of an LSE core, the calls
//! become the inline `casa`/`swpl`.
//!
//! # Poisoning
//!
//! None: a panic while the lock is held unlocks it (the guard's `Drop` runs during
//! unwinding) and the next `lock` succeeds normally. Data the panicking critical
//! section left half-updated stays half-updated; callers that need to know can keep a
//! flag in `T`.

mod raw;

pub use raw::RawMutex;

use crate::sync::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use std::time::Duration;

/// A mutual-exclusion lock protecting a `T`, on a 32-bit futex word.
///
/// `lock` blocks (spinning briefly while nobody sleeps, then sleeping in the kernel);
/// the returned [`MutexGuard`] gives `&mut T` and unlocks when dropped. Uncontended,
/// lock is one compare-and-swap and unlock one load and one swap.
///
/// # Algorithm
///
/// Drepper's three-state futex lock (unlocked / locked / locked with sleepers), as in
/// std, plus two states for eventual fairness: an untimed waiter that has slept for
/// 1 ms marks the word so the next unlock hands the lock to a
/// sleeper instead of leaving it to whichever running thread grabs it first.
///
/// | value | state | meaning |
/// |---|---|---|
/// | 0 | unlocked | free |
/// | 1 | locked | held, nobody sleeps |
/// | 2 | contended | held, a thread may sleep: unlock wakes one |
/// | 3 | starving | held, a starving waiter sleeps: unlock hands the lock over |
/// | 4 | handoff | released, reserved for a thread that has slept |
///
/// # Memory ordering
///
/// Unlocking is a `Release` on the word and locking an `Acquire` CAS on it, so
/// everything done under the lock happens before the next owner's critical section.
/// No `SeqCst`, no fence: sleepers announce themselves in the same word the owner
/// releases, so lost wake-ups are prevented by that word's modification order and the
/// kernel's atomic compare-and-sleep. The full argument is in the
/// [module's documentation](crate::mutex#memory-ordering).
///
/// # Poisoning
///
/// There is none. A panic while the lock is held unlocks it during unwinding, and the
/// next `lock` succeeds; whatever invariant the critical section broke stays broken.
///
/// # Examples
///
/// ```
/// use fencepost::Mutex;
/// use std::{sync::Arc, thread};
///
/// let counter = Arc::new(Mutex::new(0u64));
/// let handles: Vec<_> = (0..4)
///     .map(|_| {
///         let counter = Arc::clone(&counter);
///         thread::spawn(move || {
///             for _ in 0..1000 {
///                 *counter.lock() += 1;
///             }
///         })
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(*counter.lock(), 4000);
/// ```
///
/// A `static` needs no lazy initialisation:
///
/// ```
/// static NAMES: fencepost::Mutex<Vec<&str>> = fencepost::Mutex::new(Vec::new());
/// NAMES.lock().push("ada");
/// assert_eq!(NAMES.lock().len(), 1);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: moving the mutex moves the `T` with it, which needs `T: Send`; the word is an
// atomic.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: `&Mutex<T>` lets any thread obtain `&mut T`, one at a time (the lock excludes
// the others and its Acquire/Release orders their accesses), so the `T` moves between
// threads: `T: Send` is required and suffices, as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value` (`const` outside loom).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = fencepost::Mutex::new(5);
    /// assert_eq!(*m.lock(), 5);
    /// ```
    #[cfg(not(fencepost_loom))]
    #[inline]
    pub const fn new(value: T) -> Self {
        Self {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// A new, unlocked mutex holding `value` (not `const` under loom).
    #[cfg(fencepost_loom)]
    pub fn new(value: T) -> Self {
        Self {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the value; no locking needed, since nobody else
    /// can hold it.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = fencepost::Mutex::new(String::from("x"));
    /// m.lock().push('y');
    /// assert_eq!(m.into_inner(), "xy");
    /// ```
    #[inline]
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the lock, sleeping until it is available, and returns a guard that
    /// unlocks it when dropped.
    ///
    /// # Panics
    ///
    /// Never panics itself. Locking a mutex that the current thread already holds
    /// deadlocks (it is not reentrant).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = fencepost::Mutex::new(vec![1, 2]);
    /// m.lock().push(3);
    /// assert_eq!(*m.lock(), [1, 2, 3]);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        // SAFETY: we just acquired the lock.
        unsafe { MutexGuard::new(self) }
    }

    /// Acquires the lock if it is free right now, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = fencepost::Mutex::new(0);
    /// let g = m.lock();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            // SAFETY: we just acquired the lock.
            Some(unsafe { MutexGuard::new(self) })
        } else {
            None
        }
    }

    /// Acquires the lock, waiting at most `timeout` (an absolute monotonic deadline is
    /// taken once at the call). Returns `None` only after the whole `timeout` has
    /// passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let m = fencepost::Mutex::new(0);
    /// let g = m.lock();
    /// let start = Instant::now();
    /// assert!(m.try_lock_for(Duration::from_millis(10)).is_none());
    /// assert!(start.elapsed() >= Duration::from_millis(10));
    /// drop(g);
    /// assert!(m.try_lock_for(Duration::from_millis(10)).is_some());
    /// ```
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        if self.raw.try_lock_for(timeout) {
            // SAFETY: we just acquired the lock.
            Some(unsafe { MutexGuard::new(self) })
        } else {
            None
        }
    }

    /// Whether the lock is held at this instant (a hint: it may change right after).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = fencepost::Mutex::new(());
    /// let g = m.lock();
    /// assert!(m.is_locked());
    /// drop(g);
    /// assert!(!m.is_locked());
    /// ```
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// A mutable reference to the value, without locking: `&mut self` proves that no
    /// guard exists.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = fencepost::Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` is exclusive, so no guard and no other reference to the
        // data exist for the returned borrow's lifetime.
        self.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Exclusive access to a [`Mutex`]'s value; unlocks when dropped.
///
/// Created by [`Mutex::lock`], [`Mutex::try_lock`] and [`Mutex::try_lock_for`]. It is
/// `Send` when `T: Send` (a futex lock may be released by any thread) and `Sync` when
/// `T: Send + Sync`.
///
/// ```compile_fail
/// fn assert_sync<S: Sync>(_: &S) {}
/// let m = fencepost::Mutex::new(std::cell::Cell::new(0));
/// let g = m.lock();
/// assert_sync(&g); // a shared guard would share the `Cell`
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Makes the guard `Send`/`Sync` exactly when `&mut T` is (given `T: Send`).
    _data: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// # Safety
    /// The caller has just acquired `mutex.raw` and hands that acquisition to the guard.
    #[inline]
    unsafe fn new(mutex: &'a Mutex<T>) -> Self {
        Self {
            mutex,
            _data: PhantomData,
        }
    }

    /// The lock this guard holds, for [`Condvar`](crate::Condvar) to release and retake
    /// while the guard waits.
    #[inline]
    pub(crate) fn raw(&self) -> &'a RawMutex {
        &self.mutex.raw
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard owns the lock, so no other thread accesses the data, and
        // the previous owner's writes happen before this (Acquire on lock); the borrow
        // is tied to `&self`, so it ends before the guard unlocks.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference derived
        // from the guard.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard owns the acquisition made when it was created and releases
        // it exactly once, here.
        unsafe { self.mutex.raw.unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

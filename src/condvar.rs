//! A condition variable for [`fencepost::Mutex`](crate::Mutex): a futex sequence word,
//! a waiter count so that a notify with nobody waiting costs one load, and a
//! `notify_all` that requeues the sleepers onto the mutex instead of waking them all to
//! fight for it.
//!
//! # Algorithm
//!
//! The core is std's futex condvar (`sys/sync/condvar/futex.rs`): a waiter reads the
//! sequence word while it still holds the mutex, unlocks, and sleeps while the word
//! still holds what it read; a notify bumps the word and wakes. Two additions:
//!
//! - **A waiter count** (as in *Rust Atomics and Locks*, ch. 9): a waiter counts itself
//!   before unlocking and uncounts itself when its futex wait returns, and a notify
//!   that reads 0 returns without a system call (std always makes one).
//! - **Requeue** (glibc's old `pthread_cond_broadcast`, parking_lot's `notify_all`):
//!   `notify_all` wakes one sleeper and moves the others, with one
//!   `FUTEX_CMP_REQUEUE`, from the condvar's word onto the mutex's word. They then
//!   leave one at a time, each woken by the previous owner's unlock, instead of all
//!   waking at once to find the mutex taken and go back to sleep on it (the thundering
//!   herd). A thread that has slept on the condvar word may thus have slept on the
//!   mutex word too, and may have consumed a wake-up that was to pass the mutex down
//!   the queue of its sleepers, so it re-locks as a mutex waiter that has slept does:
//!   `UNLOCKED → CONTENDED`, and its unlock wakes the next sleeper (glibc's
//!   `lll_cond_lock` did the same). The price is one `futex_wake` that may find nobody
//!   on the unlock after a wait that slept.
//!
//! The condvar remembers the mutex of its first wait (`mutex`, set once). Waiting with
//! another mutex later is allowed (one after another, as with std's): that waiter sets
//! the sticky `MIXED` bit in the sequence word, and from then on `notify_all` wakes
//! every sleeper instead of requeueing, since a sleeper moved onto the wrong mutex's
//! word would be woken by nobody. The bit is in the futex word itself so that the
//! kernel's compare in `FUTEX_CMP_REQUEUE` sees it: a sleeper that set it sleeps on a
//! value the notifier's expected value lacks, so the requeue fails and the notifier
//! wakes everyone instead.
//!
//! | field | meaning |
//! |---|---|
//! | `seq` bit 0 (`MIXED`) | a second mutex has been used: requeue is off for good |
//! | `seq` bits 1..=31 | notifications so far (wrapping) |
//! | `waiters` | threads between counting themselves (mutex held) and the return of their futex wait |
//! | `mutex` | the futex word of the first mutex waited with (null before the first wait) |
//!
//! Where the platform cannot requeue (everywhere but Linux, and under Miri), or
//! after `MIXED`, `notify_all` wakes all sleepers, which then take the mutex in turn.
//!
//! # Memory ordering
//!
//! Every access is `Relaxed`, as in std's futex condvar: the mutex orders everything.
//!
//! - *No lost wake-up.* The caller changes the condition under the mutex and the
//!   waiter checks it under the mutex, then counts itself and reads `seq` before its
//!   unlock. If the notifier's critical section came first, the waiter saw the changed
//!   condition and does not wait. Otherwise the waiter's unlock happens before the
//!   notifier's lock, so the notifier's later load of `waiters` sees the count (or a
//!   later value), and its bump of `seq` comes after the waiter's read in the word's
//!   order: the waiter's `futex_wait` either sees the new value or is asleep when the
//!   wake (or requeue) comes. A notify made without ever taking the mutex after
//!   changing the condition can be lost, with this condvar as with any.
//! - *The waiter count* only gates the system call: a stale non-zero value costs one
//!   wake that finds nobody. It can read zero only if no waiter counted itself before
//!   the notifier's critical section (previous point).
//! - *Requeue to the right mutex* needs no ordering either: `mutex` is written once,
//!   and a waiter of another mutex sets `MIXED` with a read-modify-write of `seq` before
//!   it reads the value it sleeps on, so by coherence of that one word it sleeps on a
//!   value with `MIXED`, and `FUTEX_CMP_REQUEUE` (which compares the word and moves
//!   sleepers atomically) fails while it sleeps there. A notifier that reads a stale
//!   null `mutex` wakes everyone, which is always correct.
//! - The futex orders nothing (`futex/mod.rs`): a woken waiter retakes the mutex, whose
//!   Acquire is what publishes the notifier's changes to it.
//!
//! # Spurious wake-ups
//!
//! `wait` and `wait_timeout` may return without a notify: when `futex_wait` returns
//! spuriously, when the word changed for a notify meant for another waiter, or when
//! a requeued waiter is woken by an unlock of the mutex. Always wait in a loop on the
//! condition, or use [`Condvar::wait_while`] / [`Condvar::wait_timeout_while`].
//! A notification wakes only waiters that had begun waiting before it, and the
//! sequence word wraps after 2^31 notifies: a waiter that reads it and is then
//! preempted for exactly that many notifies before it sleeps misses the last one (as
//! in std's).
//!
//! # Hot path instructions
//!
//! | | x86_64 | aarch64 |
//! |---|---|---|
//! | `notify_one` / `notify_all`, nobody waiting | `mov` + `test` + `jne` | `ldr` + `cbnz` |
//! | `wait` (besides the unlock, the sleep and the re-lock) | `lock xadd` (count), `mov` (read `seq`), `lock xadd` (uncount) | `ldadd` ×2 (LSE; outline-atomics helpers otherwise), `ldr` |

use crate::futex;
use crate::mutex::{MutexGuard, RawMutex};
use crate::sync::atomic::Ordering::Relaxed;
use crate::sync::atomic::{AtomicPtr, AtomicU32};
use core::fmt;
use core::ptr;
use std::time::{Duration, Instant};

/// `seq` bit 0: waits have used more than one mutex; `notify_all` wakes everyone.
const MIXED: u32 = 1;
/// One notification, in `seq` units.
const NOTIFIED: u32 = 2;

/// A condition variable: lets threads sleep until another thread changes the state a
/// [`Mutex`](crate::Mutex) protects and notifies them.
///
/// Works with [`fencepost::Mutex`](crate::Mutex) and its [`MutexGuard`]: the wait calls
/// take the guard and give it back (no `LockResult`: nothing is poisoned). One condvar
/// may serve different mutexes one after another. Waits may wake spuriously: see the
/// [module docs](self#spurious-wake-ups), which also give the algorithm and the
/// [memory ordering](self#memory-ordering).
///
/// # Examples
///
/// ```
/// use fencepost::{Condvar, Mutex};
/// use std::{sync::Arc, thread};
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let setter = {
///     let pair = Arc::clone(&pair);
///     thread::spawn(move || {
///         let (ready, cv) = &*pair;
///         *ready.lock() = true;
///         cv.notify_one();
///     })
/// };
/// let (ready, cv) = &*pair;
/// let guard = cv.wait_while(ready.lock(), |ready| !*ready);
/// assert!(*guard);
/// drop(guard);
/// setter.join().unwrap();
/// ```
pub struct Condvar {
    /// The futex word: notifications in bits 1..=31, `MIXED` in bit 0.
    seq: AtomicU32,
    /// Threads that counted themselves (mutex held) and whose futex wait has not yet
    /// returned.
    waiters: AtomicU32,
    /// The futex word of the first mutex waited with; null before the first wait.
    /// Written once; only an address for `FUTEX_CMP_REQUEUE`, never dereferenced here.
    mutex: AtomicPtr<AtomicU32>,
}

/// Whether a timed wait returned because its time ran out.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let m = fencepost::Mutex::new(());
/// let cv = fencepost::Condvar::new();
/// let (_guard, result) = cv.wait_timeout(m.lock(), Duration::from_millis(1));
/// assert!(result.timed_out());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// `true` if the wait ended because the timeout passed (the time has really
    /// elapsed), `false` if it was woken (or woke spuriously) before.
    #[must_use]
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condvar with nobody waiting (`const` outside loom).
    ///
    /// # Examples
    ///
    /// ```
    /// static READY: fencepost::Condvar = fencepost::Condvar::new();
    /// READY.notify_all(); // nobody waits: costs one load
    /// ```
    #[cfg(not(fencepost_loom))]
    #[must_use]
    pub const fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            mutex: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// A condvar with nobody waiting (not `const` under loom).
    #[cfg(fencepost_loom)]
    #[must_use]
    pub fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            mutex: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Unlocks the guard's mutex, sleeps until notified (or spuriously), then locks it
    /// again and returns the guard.
    ///
    /// Wake-ups may be spurious: check the condition in a loop, or use
    /// [`wait_while`](Self::wait_while).
    ///
    /// # Examples
    ///
    /// ```
    /// use fencepost::{Condvar, Mutex};
    /// use std::thread;
    ///
    /// let (queue, cv) = (Mutex::new(Vec::new()), Condvar::new());
    /// thread::scope(|s| {
    ///     s.spawn(|| {
    ///         queue.lock().push(7);
    ///         cv.notify_one();
    ///     });
    ///     let mut q = queue.lock();
    ///     while q.is_empty() {
    ///         q = cv.wait(q);
    ///     }
    ///     assert_eq!(q.pop(), Some(7));
    /// });
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_raw(guard.raw(), None);
        guard
    }

    /// Waits while `condition` returns `true`, then returns the guard (with the mutex
    /// locked and the condition `false`). The condition is checked first, under the
    /// lock, so a condition that is already false returns at once.
    ///
    /// # Panics
    ///
    /// If `condition` panics, the guard is dropped during unwinding: the mutex is left
    /// unlocked and both it and the condvar stay usable.
    ///
    /// # Examples
    ///
    /// ```
    /// use fencepost::{Condvar, Mutex};
    /// use std::thread;
    ///
    /// let (count, cv) = (Mutex::new(0), Condvar::new());
    /// thread::scope(|s| {
    ///     for _ in 0..3 {
    ///         s.spawn(|| {
    ///             *count.lock() += 1;
    ///             cv.notify_all();
    ///         });
    ///     }
    ///     let done = cv.wait_while(count.lock(), |n| *n < 3);
    ///     assert_eq!(*done, 3);
    /// });
    /// ```
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> MutexGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Like [`wait`](Self::wait), but gives up once `timeout` has passed.
    ///
    /// The timeout becomes a deadline once, at the call; a `timeout` too large to
    /// represent (`Duration::MAX`) waits forever. The result says whether the time ran
    /// out; as with `wait`, a return before that may be spurious.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (m, cv) = (fencepost::Mutex::new(()), fencepost::Condvar::new());
    /// let start = Instant::now();
    /// let (_guard, result) = cv.wait_timeout(m.lock(), Duration::from_millis(5));
    /// assert!(result.timed_out());
    /// assert!(start.elapsed() >= Duration::from_millis(5));
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let deadline = Instant::now().checked_add(timeout);
        let timed_out = match deadline {
            Some(deadline) => self.wait_raw(guard.raw(), Some(deadline)),
            None => self.wait_raw(guard.raw(), None),
        };
        (guard, WaitTimeoutResult(timed_out))
    }

    /// Waits while `condition` returns `true`, for at most `timeout` in all (one
    /// deadline for every wake-up). Returns the guard and whether the time ran out with
    /// the condition still `true`. A condition that is already `false` returns at once,
    /// not timed out, even with a zero timeout; `Duration::MAX` waits forever.
    ///
    /// # Panics
    ///
    /// As [`wait_while`](Self::wait_while): a panicking `condition` leaves the mutex
    /// unlocked and both usable.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (flag, cv) = (fencepost::Mutex::new(false), fencepost::Condvar::new());
    /// let (guard, result) =
    ///     cv.wait_timeout_while(flag.lock(), Duration::from_millis(2), |set| !*set);
    /// assert!(result.timed_out());
    /// assert!(!*guard);
    /// ```
    pub fn wait_timeout_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult)
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if !condition(&mut *guard) {
                return (guard, WaitTimeoutResult(false));
            }
            let timed_out = match deadline {
                None => self.wait_raw(guard.raw(), None),
                Some(deadline) => {
                    Instant::now() >= deadline || self.wait_raw(guard.raw(), Some(deadline))
                }
            };
            if timed_out {
                // The deadline has passed: one last look at the condition decides.
                let still = condition(&mut *guard);
                return (guard, WaitTimeoutResult(still));
            }
        }
    }

    /// Wakes one thread waiting on this condvar, if any.
    ///
    /// With nobody waiting this is one load. The woken thread must still take the
    /// mutex, so notifying while holding it or just after unlocking it both work.
    ///
    /// # Examples
    ///
    /// ```
    /// let cv = fencepost::Condvar::new();
    /// cv.notify_one(); // nobody waits: nothing happens
    /// ```
    #[inline]
    pub fn notify_one(&self) {
        if self.waiters.load(Relaxed) != 0 {
            self.notify_one_slow();
        }
    }

    /// Wakes every thread waiting on this condvar.
    ///
    /// On Linux one of them is woken and the others are moved onto the mutex's futex
    /// word, to be woken one by one as the mutex is unlocked (see the
    /// [module docs](self#algorithm)).
    ///
    /// # Examples
    ///
    /// ```
    /// use fencepost::{Condvar, Mutex};
    /// use std::thread;
    ///
    /// let (go, cv) = (Mutex::new(false), Condvar::new());
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| drop(cv.wait_while(go.lock(), |go| !*go)));
    ///     }
    ///     *go.lock() = true;
    ///     cv.notify_all();
    /// });
    /// ```
    #[inline]
    pub fn notify_all(&self) {
        if self.waiters.load(Relaxed) != 0 {
            self.notify_all_slow();
        }
    }

    #[cold]
    fn notify_one_slow(&self) {
        self.seq.fetch_add(NOTIFIED, Relaxed);
        futex::wake_one(&self.seq);
    }

    #[cold]
    fn notify_all_slow(&self) {
        let seq = self.seq.fetch_add(NOTIFIED, Relaxed).wrapping_add(NOTIFIED);
        let mutex = self.mutex.load(Relaxed);
        // The requeue fails (and we wake everyone) if `seq` has moved on since our bump:
        // a later notify, or a waiter of another mutex setting MIXED.
        if seq & MIXED != 0 || mutex.is_null() || !futex::requeue(&self.seq, seq, mutex) {
            futex::wake_all(&self.seq);
        }
    }

    /// The wait itself, on the locked `raw`: returns with `raw` locked again, and
    /// `true` if `deadline` passed.
    fn wait_raw(&self, raw: &RawMutex, deadline: Option<Instant>) -> bool {
        self.bind(raw.word());
        // Counted and read while the mutex is held: see "No lost wake-up".
        self.waiters.fetch_add(1, Relaxed);
        let seq = self.seq.load(Relaxed);
        // SAFETY: the caller's guard owns the lock on `raw`, and we lock it again below
        // before the guard is used or dropped; nothing in between can panic.
        unsafe { raw.unlock() };
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let (slept, timed_out) = if timeout == Some(Duration::ZERO) {
            (false, true)
        } else if self.seq.load(Relaxed) != seq {
            // Notified already: no futex call, so no requeue and no consumed wake-up.
            (false, false)
        } else {
            (true, !futex::wait(&self.seq, seq, timeout))
        };
        self.waiters.fetch_sub(1, Relaxed);
        if slept && futex::can_requeue() {
            raw.lock_after_sleep();
        } else {
            raw.lock();
        }
        timed_out
    }

    /// Records the mutex of this wait; a second one turns requeueing off for good.
    fn bind(&self, word: &AtomicU32) {
        let word = ptr::from_ref(word).cast_mut();
        let bound = self.mutex.load(Relaxed);
        if bound == word {
            return;
        }
        if bound.is_null() {
            match self
                .mutex
                .compare_exchange(ptr::null_mut(), word, Relaxed, Relaxed)
            {
                Ok(_) => return,
                Err(now) if now == word => return,
                Err(_) => {}
            }
        }
        // Before this thread reads the value it sleeps on: see "Requeue to the right
        // mutex" in the module docs.
        if self.seq.load(Relaxed) & MIXED == 0 {
            self.seq.fetch_or(MIXED, Relaxed);
        }
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar")
            .field("waiters", &self.waiters.load(Relaxed))
            .finish_non_exhaustive()
    }
}

//! A condition variable for [`fencepost::Mutex`](crate::Mutex): a futex sequence word,
//! and a waiter count so that a notify with nobody waiting costs one load.
//!
//! # Algorithm
//!
//! std's futex condvar (`sys/sync/condvar/futex.rs`): a waiter reads the sequence word
//! while it still holds the mutex, unlocks, and sleeps while the word still holds what
//! it read; a notify bumps the word and wakes one sleeper, or all of them. Plus a
//! **waiter count** (as in *Rust Atomics and Locks*, ch. 9): a waiter counts itself
//! before unlocking and uncounts itself when its futex wait returns, and a notify that
//! reads 0 returns without a system call (std always makes one).
//!
//! | field | meaning |
//! |---|---|
//! | `seq` | the futex word: notifications so far (wrapping) |
//! | `waiters` | threads between counting themselves (mutex held) and the return of their futex wait |
//!
//! ## Why `notify_all` wakes everyone rather than requeueing
//!
//! A requeue (`FUTEX_CMP_REQUEUE`: wake one, move the rest onto the mutex's futex word,
//! as glibc's old `pthread_cond_broadcast` and parking_lot do) avoids waking threads
//! only to find the mutex taken. It was built and loom-checked here (commit 2211b7c,
//! "Condvar: … notify_all requeues onto the mutex word") and measured against waking
//! all, with two variants: wake as many as there are CPUs and requeue the rest; and
//! requeue only while the mutex is held, else wake all (which needs the notifier to
//! keep the waiters' mutex alive while it looks at it). A barrier built on a mutex and
//! a condvar (`benches/workloads/condvar.rs`), 2-vCPU KVM guest under load 3–4, medians
//! of 5 interleaved runs, ns per generation:
//!
//! | regime | wake all | requeue | wake CPUs, requeue rest | std | parking_lot |
//! |---|---:|---:|---:|---:|---:|
//! | 4 threads, notify after unlock | **22 700** | 43 400 | 37 800 | 22 700 | 28 300 |
//! | 8 threads, notify after unlock | **41 700** | 87 100 | 55 400 | 41 400 | 56 400 |
//! | 4 threads, notify under the lock | 30 300 | 59 400 | 37 300 | 36 900 | **28 600** |
//! | 8 threads, notify under the lock | 78 500 | 84 300 | 62 800 | 87 700 | **56 800** |
//! | 4 threads, under the lock, then ~20 µs held | 57 400 | 60 600 | 55 000 | 64 000 | **50 500** |
//! | 8 threads, under the lock, then ~20 µs held | 99 200 | 98 000 | 82 900 | 134 500 | **81 200** |
//!
//! "Requeue only while held" (another run, load ~5) was 2.0x and 2.8x slower than
//! waking all with the notify after the unlock (the mutex is often held by a thread of
//! the next generation by then) and within noise of it under the lock. A requeue
//! chains the wake-ups: each requeued waiter is woken only by the unlock of the one
//! before, so N waiters pay N wake-up latencies one after another (tens of µs each on
//! this VM, the halt exit of an idle vCPU), where waking all overlaps them. Woken
//! threads that find the mutex held do not all spin: the mutex spins only while nobody
//! is marked asleep, so the others mark it contended and sleep, and its unlocks then
//! wake them one at a time, as a requeue would. So the code stays std's: best or tied
//! with the notify after the unlock (std's `Barrier` does that), and 1.0–1.4x behind
//! parking_lot under the lock with more waiters than cores, where the herd shows.
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
//!   wake comes. A notify made without ever taking the mutex after changing the
//!   condition can be lost, with this condvar as with any.
//! - *The waiter count* only gates the system call: a stale non-zero value costs one
//!   wake that finds nobody. It can read zero only if no waiter counted itself before
//!   the notifier's critical section (previous point).
//! - The futex orders nothing (`futex/mod.rs`): a woken waiter retakes the mutex, whose
//!   Acquire is what publishes the notifier's changes to it.
//!
//! Nothing in the condvar refers to the mutex, so one condvar may serve different
//! mutexes one after another, or even at once.
//!
//! # Spurious wake-ups
//!
//! `wait` and `wait_timeout` may return without a notify: when `futex_wait` returns
//! spuriously, or when the word changed for a notify meant for another waiter. Always wait in a loop on the
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

use crate::backoff::time_left;
use crate::futex;
use crate::mutex::{MutexGuard, RawMutex};
use crate::sync::atomic::AtomicU32;
use crate::sync::atomic::Ordering::Relaxed;
use core::fmt;
use std::time::{Duration, Instant};

/// A condition variable: lets threads sleep until another thread changes the state a
/// [`Mutex`](crate::Mutex) protects and notifies them.
///
/// Works with [`fencepost::Mutex`](crate::Mutex) and its [`MutexGuard`]: the wait calls
/// take the guard and give it back (no `LockResult`: nothing is poisoned). One condvar
/// may serve different mutexes. Waits may wake spuriously: see the
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
    /// The futex word: notifications so far (wrapping).
    seq: AtomicU32,
    /// Threads that counted themselves (mutex held) and whose futex wait has not yet
    /// returned.
    waiters: AtomicU32,
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
        }
    }

    /// A condvar with nobody waiting (not `const` under loom).
    #[cfg(fencepost_loom)]
    #[must_use]
    pub fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
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

    /// Wakes every thread waiting on this condvar (with one system call; see the
    /// [module docs](self#why-notify_all-wakes-everyone-rather-than-requeueing) for why
    /// they are not requeued onto the mutex).
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
        self.seq.fetch_add(1, Relaxed);
        futex::wake_one(&self.seq);
    }

    #[cold]
    fn notify_all_slow(&self) {
        self.seq.fetch_add(1, Relaxed);
        futex::wake_all(&self.seq);
    }

    /// The wait itself, on the locked `raw`: returns with `raw` locked again, and
    /// `true` if `deadline` passed.
    fn wait_raw(&self, raw: &RawMutex, deadline: Option<Instant>) -> bool {
        // Counted and read while the mutex is held: see "No lost wake-up".
        self.waiters.fetch_add(1, Relaxed);
        let seq = self.seq.load(Relaxed);
        // SAFETY: the caller's guard owns the lock on `raw`, and we lock it again below
        // before the guard is used or dropped; nothing in between can panic.
        unsafe { raw.unlock() };
        let timed_out = match deadline {
            None => {
                futex::wait(&self.seq, seq, None);
                false
            }
            Some(deadline) => match time_left(deadline) {
                Some(left) => !futex::wait(&self.seq, seq, Some(left)),
                None => true,
            },
        };
        self.waiters.fetch_sub(1, Relaxed);
        raw.lock();
        timed_out
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

//! A reader-writer lock on a futex state word: readers take it with one `fetch_add`,
//! a writer that waits shuts out new readers, and a writer's release admits every
//! reader that waited for it (phase-fair), so neither side starves the other.
//!
//! [`RawRwLock`] is the state machine (public, for `lock_api` users); [`RwLock<T>`] is
//! the safe shell with RAII guards, as in std (`sys/sync/rwlock/futex.rs` under
//! `sync/rwlock.rs`) and parking_lot (`RawRwLock` under `lock_api::RwLock`).
//!
//! # Algorithm
//!
//! The reader side is the one of Go's `sync.RWMutex` and the Linux `rwsem`: a reader
//! adds itself to the reader count `R` with one `fetch_add` and looks at the writer
//! bits in the value it got back; only if a writer is there does it do more. std's
//! and parking_lot's readers use a compare-and-swap loop instead, which under
//! contention between readers fails and retries, moving the line once more per retry.
//! Unlocking is one `fetch_sub`. Two readers on two cores thus move the state's line
//! twice per read lock and unlock, the least a shared reader count can.
//!
//! A writer takes a free lock with one CAS (`0 → LOCKED`). With readers inside it
//! first spins briefly (about 127 `spin_loop` hints, as std's writer does) for a
//! moment when none is inside, since read sections are usually nanoseconds long; then
//! it *claims* the lock: it sets `PENDING` and waits for `R` to drain. Readers arriving
//! meanwhile see `PENDING` in their `fetch_add` result, move themselves from `R` to the
//! waiting count `W` (one CAS), wake the writer if they emptied `R`, spin briefly and
//! sleep. The last reader out wakes the writer, which turns `PENDING` into `LOCKED`.
//! So a writer waits for readers arriving after it for at most its short spin, and
//! after that only for the readers inside when it claimed the lock: a stream of
//! newcomers cannot starve it.
//!
//! When a writer releases (or gives up a timed claim), the same CAS that clears its
//! bits moves `W` into `R` and flips `PHASE`: every reader that waited is admitted at
//! once, before any other writer can claim the lock, and a writer that claims it next
//! must drain them. A waiting reader sleeps until `PHASE` differs from the value it saw
//! when it moved to `W`; `PHASE` cannot flip twice meanwhile, because the next writer
//! cannot release before this reader has been through. Readers and writers thus
//! alternate in phases (Brandenburg and Anderson's phase-fair reader-writer locks):
//! readers wait for at most one writer, a writer for at most one reader phase and the
//! writers queued before it. That is the policy because both alternatives starve a
//! side in the benchmarks users run: preferring readers (the state of the art before
//! writer bits) starves writers under a stream of overlapping readers, and preferring
//! writers outright (std's futex lock) starves readers against a writer that re-locks
//! in a loop, since the writer, running, beats the woken readers every time.
//!
//! A reader that finds the lock held by a writer (not pending) spins briefly first,
//! still counted in `R`: the writer's release then admits it without a wake-up. Writers
//! queue behind each other on their own futex word, one woken per release; a writer
//! that has slept re-marks `WRITERS_QUEUED` when it gets in, so its release wakes the
//! next (Drepper's rule, as in the mutex). Writers among themselves are not fair:
//! a running writer may overtake a queued one.
//!
//! | `state` bits | name | meaning |
//! |---|---|---|
//! | 0..=31 | `R` | readers that hold the lock, were admitted by a release, or are passing through on their way to `W`; at 2^30 a reader panics instead (leaked guards) |
//! | 32..=57 | `W` | readers waiting for the current writer's release |
//! | 58 | `READERS_ASLEEP` | a reader in `W` sleeps on `readers_seq`: the release that admits them wakes them (else no system call) |
//! | 59 | `DRAIN_SLEEPS` | the pending writer sleeps on `drain_seq`: the reader that empties `R` wakes it |
//! | 60 | `WRITERS_QUEUED` | writers may sleep on `writers_seq`: the release wakes one |
//! | 61 | `PENDING` | a writer has claimed the lock and waits for `R` to drain |
//! | 62 | `LOCKED` | a writer holds the lock |
//! | 63 | `PHASE` | flips whenever a release admits waiting readers; 0 whenever the lock is idle |
//!
//! Beside it, three 32-bit futex words (a futex word must be 32 bits, and the state
//! needs 64): `readers_seq` for waiting readers, `drain_seq` for the pending writer,
//! `writers_seq` for queued writers, each bumped by whoever must wake its sleepers.
//! A sleeper sets its bit (or its `W` count) first, then reads its futex word, then
//! re-checks the state; the waker changes the state first, then bumps the word and
//! wakes. So either the sleeper's re-check sees the change or its futex wait sees the
//! bump.
//!
//! # Memory ordering
//!
//! - *Writer → readers.* Every release of a writer is a `Release` CAS on `state`. A
//!   reader's `fetch_add` is `Acquire`; all writes to `state` are read-modify-writes,
//!   so a reader that finds no writer bit reads a value in the release sequence of the
//!   last writer release and synchronizes with it. An admitted reader acquires the same
//!   release through its `Acquire` load that sees `PHASE` flipped (or the writer bit it
//!   waited for cleared; a `fence(Acquire)` after a `Relaxed` CAS covers the last case).
//! - *Readers → writer.* A read unlock is a `Release` `fetch_sub`; the writer takes
//!   `LOCKED` with an `Acquire` CAS that reads `R == 0`, the end of a release sequence
//!   containing every reader's decrement, so every reader's critical section happens
//!   before the writer's.
//! - *Writer → writer*: `Release` release CAS, `Acquire` taking CAS, as above.
//! - *Sleeping.* Each futex word is bumped with `Release` after the state change and
//!   read with `Acquire` before the sleeper's re-check of the state, so a sleeper that
//!   reads the bump also sees the change (message passing; a `Relaxed` pair lets the
//!   re-check read a stale state and sleep on a word nobody bumps again).
//! - Claims and marks (`PENDING`, `READERS_ASLEEP`, `DRAIN_SLEEPS`, `WRITERS_QUEUED`, moving a reader to
//!   `W`, withdrawing) are `Relaxed`: they publish nothing, and whoever acts on them
//!   reads them with a later read-modify-write of the same word.
//!
//! No `SeqCst` and no store→load fence: every handshake meets in a read-modify-write of
//! `state`.
//!
//! # Hot path instructions
//!
//! | | x86_64 | aarch64 (LSE) |
//! |---|---|---|
//! | read lock | `lock xadd` + `test` (3 writer/guard bits) + `jne` | `ldadda` + `tst` + `b.ne` |
//! | read unlock | `lock xadd` + `bt` (`DRAIN_SLEEPS`) + `jc` | `ldaddl` + `tbnz` |
//! | write lock | `lock cmpxchg` (0 → `LOCKED`) + `jne` | `casa` |
//! | write unlock | `lock cmpxchg` (`LOCKED` → 0) + `jne` | `casl` |
//!
//! # Poisoning
//!
//! None: a panic while a guard is held releases the lock during unwinding.

mod raw;

pub use raw::RawRwLock;

use crate::sync::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// A reader-writer lock protecting a `T`: any number of readers, or one writer.
///
/// Phase-fair: a writer waits only for the readers already inside when it asked, and
/// a writer's release lets in every reader that waited for it (see the
/// [module docs](self#algorithm) and its [memory ordering](self#memory-ordering)).
/// Uncontended, a read lock and unlock are one `fetch_add` and one `fetch_sub`; a write
/// lock and unlock one CAS each. No poisoning.
///
/// # Examples
///
/// ```
/// use fencepost::RwLock;
/// use std::thread;
///
/// let config = RwLock::new(vec!["a".to_string()]);
/// thread::scope(|s| {
///     for _ in 0..2 {
///         s.spawn(|| assert!(!config.read().is_empty()));
///     }
///     s.spawn(|| config.write().push("b".to_string()));
/// });
/// assert_eq!(config.read().len(), 2);
/// ```
///
/// Unsized values work as with std's, and a `static` needs no lazy initialisation:
///
/// ```
/// static TABLE: fencepost::RwLock<[u8; 3]> = fencepost::RwLock::new([1, 2, 3]);
/// let table: &fencepost::RwLock<[u8]> = &TABLE;
/// assert_eq!(table.read().len(), 3);
/// ```
///
/// As with std's, sharing the lock between threads needs `T: Send + Sync` (readers
/// share the `T`):
///
/// ```compile_fail
/// fn assert_sync<S: Sync>(_: &S) {}
/// assert_sync(&fencepost::RwLock::new(std::cell::Cell::new(0)));
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: moving the lock moves the `T` with it.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: `&RwLock<T>` hands out `&mut T` to one thread at a time (so `T` moves between
// threads: `T: Send`) and `&T` to several at once (`T: Sync`), as std's `RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `value` (`const` outside loom).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = fencepost::RwLock::new(5);
    /// assert_eq!(*lock.read(), 5);
    /// ```
    #[cfg(not(fencepost_loom))]
    pub const fn new(value: T) -> Self {
        Self {
            raw: RawRwLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// A new, unlocked lock holding `value` (not `const` under loom).
    #[cfg(fencepost_loom)]
    pub fn new(value: T) -> Self {
        Self {
            raw: RawRwLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value; no locking needed.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = fencepost::RwLock::new(String::from("x"));
    /// lock.write().push('y');
    /// assert_eq!(lock.into_inner(), "xy");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Takes a read lock, waiting while a writer holds the lock or waits for it.
    ///
    /// # Panics
    ///
    /// If 2^30 read locks are held at once (only leaked guards get there). Taking a read
    /// lock while this thread holds the write lock deadlocks; taking a second read lock
    /// while a writer waits deadlocks too (the writer waits for the first, the second
    /// waits for the writer), as with std's.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = fencepost::RwLock::new(1);
    /// let (a, b) = (lock.read(), lock.read());
    /// assert_eq!(*a + *b, 2);
    /// ```
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.raw.lock_shared();
        // SAFETY: we just took a read lock.
        unsafe { RwLockReadGuard::new(self) }
    }

    /// Takes a read lock if no writer holds the lock or waits for it; never blocks.
    ///
    /// # Panics
    ///
    /// As [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = fencepost::RwLock::new(1);
    /// let r = lock.read();
    /// assert!(lock.try_read().is_some()); // only readers inside
    /// drop(r);
    /// let w = lock.write();
    /// assert!(lock.try_read().is_none());
    /// # drop(w);
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        if self.raw.try_lock_shared() {
            // SAFETY: we just took a read lock.
            Some(unsafe { RwLockReadGuard::new(self) })
        } else {
            None
        }
    }

    /// Takes a read lock, waiting at most `timeout` (a deadline taken once at the
    /// call; a timeout too large to represent waits forever). Returns `None` only after
    /// the whole timeout has passed.
    ///
    /// # Panics
    ///
    /// As [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lock = fencepost::RwLock::new(0);
    /// let w = lock.write();
    /// assert!(lock.try_read_for(Duration::from_millis(1)).is_none());
    /// drop(w);
    /// assert!(lock.try_read_for(Duration::from_millis(1)).is_some());
    /// ```
    pub fn try_read_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        if self.raw.try_lock_shared_for(timeout) {
            // SAFETY: we just took a read lock.
            Some(unsafe { RwLockReadGuard::new(self) })
        } else {
            None
        }
    }

    /// Takes a read lock, waiting until `deadline` at the latest.
    ///
    /// # Panics
    ///
    /// As [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lock = fencepost::RwLock::new(0);
    /// let r = lock.try_read_until(Instant::now() + Duration::from_millis(1));
    /// assert!(r.is_some());
    /// ```
    pub fn try_read_until(&self, deadline: Instant) -> Option<RwLockReadGuard<'_, T>> {
        if self.raw.try_lock_shared_until(deadline) {
            // SAFETY: we just took a read lock.
            Some(unsafe { RwLockReadGuard::new(self) })
        } else {
            None
        }
    }

    /// Takes the write lock, waiting for the readers inside and for other writers.
    /// Readers that arrive while it waits wait behind it.
    ///
    /// # Panics
    ///
    /// Never panics itself; taking it while this thread holds any lock of the same
    /// `RwLock` deadlocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = fencepost::RwLock::new(vec![1]);
    /// lock.write().push(2);
    /// assert_eq!(*lock.read(), [1, 2]);
    /// ```
    #[inline]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.raw.lock_exclusive();
        // SAFETY: we just took the write lock.
        unsafe { RwLockWriteGuard::new(self) }
    }

    /// Takes the write lock if nobody holds the lock and no writer claims it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = fencepost::RwLock::new(0);
    /// let r = lock.read();
    /// assert!(lock.try_write().is_none());
    /// drop(r);
    /// assert!(lock.try_write().is_some());
    /// ```
    #[inline]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        if self.raw.try_lock_exclusive() {
            // SAFETY: we just took the write lock.
            Some(unsafe { RwLockWriteGuard::new(self) })
        } else {
            None
        }
    }

    /// Takes the write lock, waiting at most `timeout` (a deadline taken once; a
    /// timeout too large to represent waits forever). Returns `None` only after the
    /// whole timeout has passed; readers that queued behind this writer are then let in.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lock = fencepost::RwLock::new(0);
    /// let r = lock.read();
    /// assert!(lock.try_write_for(Duration::from_millis(1)).is_none());
    /// drop(r);
    /// assert!(lock.try_write_for(Duration::from_millis(1)).is_some());
    /// ```
    pub fn try_write_for(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T>> {
        if self.raw.try_lock_exclusive_for(timeout) {
            // SAFETY: we just took the write lock.
            Some(unsafe { RwLockWriteGuard::new(self) })
        } else {
            None
        }
    }

    /// Takes the write lock, waiting until `deadline` at the latest.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lock = fencepost::RwLock::new(0);
    /// *lock.try_write_until(Instant::now() + Duration::from_millis(1)).unwrap() = 1;
    /// assert_eq!(*lock.read(), 1);
    /// ```
    pub fn try_write_until(&self, deadline: Instant) -> Option<RwLockWriteGuard<'_, T>> {
        if self.raw.try_lock_exclusive_until(deadline) {
            // SAFETY: we just took the write lock.
            Some(unsafe { RwLockWriteGuard::new(self) })
        } else {
            None
        }
    }

    /// Whether any lock is held (or a writer claims it) at this instant: a hint.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = fencepost::RwLock::new(());
    /// let r = lock.read();
    /// assert!(lock.is_locked());
    /// drop(r);
    /// assert!(!lock.is_locked());
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
    /// let mut lock = fencepost::RwLock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(*lock.read(), 2);
    /// ```
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` is exclusive, so no guard and no other reference to the
        // data exist for the returned borrow's lifetime.
        self.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    /// Never blocks: shows `<locked>` while a writer holds or claims the lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]'s value; releases the read lock when dropped.
///
/// `Send` and `Sync` when `T: Send + Sync` (when the lock itself is `Sync`): a futex
/// read lock may be released by any thread.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _data: PhantomData<&'a T>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// # Safety
    /// The caller has just taken a read lock of `lock.raw` and hands it to the guard.
    #[inline]
    unsafe fn new(lock: &'a RwLock<T>) -> Self {
        Self {
            lock,
            _data: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a read lock, so no writer accesses the data, and the
        // last writer's writes happen before this (Acquire on lock); the borrow is tied
        // to `&self`, so it ends before the guard releases.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard owns one read lock and releases it exactly once, here.
        unsafe { self.lock.raw.unlock_shared() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; releases the write lock when dropped.
///
/// `Send` and `Sync` when `T: Send + Sync` (when the lock itself is `Sync`).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _data: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// # Safety
    /// The caller has just taken the write lock of `lock.raw` and hands it to the guard.
    #[inline]
    unsafe fn new(lock: &'a RwLock<T>) -> Self {
        Self {
            lock,
            _data: PhantomData,
        }
    }

    /// Turns this write lock into a read lock without letting another writer in
    /// between; readers that waited for the writer get in too.
    ///
    /// # Examples
    ///
    /// ```
    /// use fencepost::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let mut w = lock.write();
    /// *w = 2;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 2);
    /// assert!(lock.try_read().is_some());
    /// assert!(lock.try_write().is_none());
    /// ```
    pub fn downgrade(this: Self) -> RwLockReadGuard<'a, T> {
        let lock = this.lock;
        core::mem::forget(this);
        // SAFETY: the write guard owned the write lock; forgetting it hands that lock
        // to `downgrade`, which turns it into the read lock the new guard owns.
        unsafe {
            lock.raw.downgrade();
            RwLockReadGuard::new(lock)
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the write lock, so no other thread accesses the data,
        // and earlier critical sections happen before this (Acquire on lock).
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference derived
        // from the guard.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard owns the write lock and releases it exactly once, here.
        unsafe { self.lock.raw.unlock_exclusive() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

//! The state machine behind [`RwLock`](super::RwLock): one 64-bit state word, three
//! 32-bit futex words to sleep on, and every transition. The algorithm, the bit table
//! and the memory-ordering argument are in the parent module's docs
//! (`src/rwlock/mod.rs`).

use crate::backoff::{Backoff, time_left};
use crate::futex;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicU32, AtomicU64, fence};
use core::fmt;
use std::time::{Duration, Instant};

/// One reader in `R`, the low 32 bits: readers that hold the lock, were admitted by a
/// writer's release, or are passing through (counted by their `fetch_add`, about to
/// find a writer and move to `W`).
const READER: u64 = 1;
/// The reader count's bits.
const READERS_MASK: u64 = 0xFFFF_FFFF;
/// Set once `R` reaches 2^30: the fast path then takes the slow one, which undoes its
/// `fetch_add` and panics (2^30 read locks at once are leaked guards).
const READERS_GUARD: u64 = 1 << 30;
/// One reader in `W`, bits 32..=57: readers waiting for the current writer to release.
const WAITING_READER: u64 = 1 << 32;
/// The waiting-reader count's bits.
const WAITING_MASK: u64 = ((1 << 26) - 1) << 32;
/// Readers in `W` may sleep on `readers_seq`: the release that admits them wakes them.
const READERS_ASLEEP: u64 = 1 << 58;
/// The pending writer sleeps on `drain_seq`: the reader that empties `R` must wake it.
const DRAIN_SLEEPS: u64 = 1 << 59;
/// Writers may sleep on `writers_seq`: the next writer release wakes one.
const WRITERS_QUEUED: u64 = 1 << 60;
/// A writer has claimed the lock and waits for `R` to drain; new readers wait.
const PENDING: u64 = 1 << 61;
/// A writer holds the lock.
const LOCKED: u64 = 1 << 62;
/// Flips whenever a writer's release admits the waiting readers (`W` → `R`): a
/// waiting reader is admitted once the phase differs from the one it began waiting in.
const PHASE: u64 = 1 << 63;

/// What sends a reader's `fetch_add` to the slow path.
const READ_BLOCKED: u64 = PENDING | LOCKED | READERS_GUARD;
/// The most read locks held at once.
pub(super) const MAX_READERS: u64 = READERS_GUARD - 1;

#[inline(always)]
const fn readers(s: u64) -> u64 {
    s & READERS_MASK
}

#[inline(always)]
const fn waiting(s: u64) -> u64 {
    (s & WAITING_MASK) >> 32
}

#[inline(always)]
const fn writer(s: u64) -> bool {
    s & (PENDING | LOCKED) != 0
}

/// The raw reader-writer lock: a futex state machine and no data.
///
/// Use [`RwLock<T>`](crate::RwLock) unless you need a lock that is not tied to a value.
/// With the `lock_api` feature it implements `lock_api::RawRwLock`,
/// `RawRwLockTimed` and `RawRwLockDowngrade`, so
/// `lock_api::RwLock<fencepost::RawRwLock, T>` works too.
///
/// # Examples
///
/// ```
/// let raw = fencepost::RawRwLock::new();
/// raw.lock_shared();
/// assert!(raw.try_lock_shared());
/// assert!(!raw.try_lock_exclusive());
/// // SAFETY: this thread took both read locks just above.
/// unsafe {
///     raw.unlock_shared();
///     raw.unlock_shared();
/// }
/// assert!(raw.try_lock_exclusive());
/// // SAFETY: locked just above, by this thread.
/// unsafe { raw.unlock_exclusive() };
/// ```
// Aligned to 16 so that `RwLock<T>` places `T` at offset 32 rather than 24: a 64-byte
// value at 24 made one of every four 16-byte loads of a read copy split across the
// cache line that the lock word's `lock xadd` owns (uncontended 64-byte read, compare
// runner: 8.3 ns against std's 4.9, whose value sits at 16; at 32: 4.2-4.4 ns, the
// fastest of the three locks in the same rounds).
#[repr(align(16))]
pub struct RawRwLock {
    /// `R`, `W`, `DRAIN_SLEEPS`, `WRITERS_QUEUED`, `PENDING`, `LOCKED`, `PHASE`: see the
    /// module docs' bit table.
    state: AtomicU64,
    /// Waiting readers sleep here; bumped by the release that admits them.
    readers_seq: AtomicU32,
    /// The pending writer sleeps here; bumped by the reader that empties `R`.
    drain_seq: AtomicU32,
    /// Queued writers sleep here; bumped by the release that finds `WRITERS_QUEUED`.
    writers_seq: AtomicU32,
}

impl RawRwLock {
    /// An unlocked lock (`const` outside loom).
    ///
    /// # Examples
    ///
    /// ```
    /// static LOCK: fencepost::RawRwLock = fencepost::RawRwLock::new();
    /// assert!(LOCK.try_lock_shared());
    /// // SAFETY: read-locked just above, by this thread.
    /// unsafe { LOCK.unlock_shared() };
    /// ```
    #[cfg(not(fencepost_loom))]
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
            readers_seq: AtomicU32::new(0),
            drain_seq: AtomicU32::new(0),
            writers_seq: AtomicU32::new(0),
        }
    }

    /// An unlocked lock (not `const` under loom: loom atomics have no `const fn new`).
    #[cfg(fencepost_loom)]
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
            readers_seq: AtomicU32::new(0),
            drain_seq: AtomicU32::new(0),
            writers_seq: AtomicU32::new(0),
        }
    }

    /// Takes a read lock, waiting while a writer holds the lock or waits for it.
    ///
    /// # Panics
    ///
    /// If more than 2^30 - 1 read locks would be held at once (only leaked guards get
    /// there).
    #[inline]
    pub fn lock_shared(&self) {
        // Ordering: Acquire pairs with the Release of the last writer release (we read
        // a value in its release sequence: every write to `state` is an RMW), so that
        // writer's critical section happens before our reads.
        let s = self.state.fetch_add(READER, Acquire);
        if s & READ_BLOCKED != 0 {
            self.lock_shared_slow(s, None);
        }
    }

    /// Takes a read lock if no writer holds the lock or waits for it; never blocks.
    ///
    /// # Panics
    ///
    /// As [`lock_shared`](Self::lock_shared).
    #[inline]
    #[must_use = "if it returns true, the read lock must be released"]
    pub fn try_lock_shared(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        while s & READ_BLOCKED == 0 {
            // Ordering: Acquire, as in `lock_shared`.
            match self
                .state
                .compare_exchange_weak(s, s + READER, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        if s & READERS_GUARD != 0 {
            too_many_readers();
        }
        false
    }

    /// Takes a read lock, waiting at most until `deadline`. Returns `false` only once
    /// the deadline has passed.
    ///
    /// # Panics
    ///
    /// As [`lock_shared`](Self::lock_shared).
    #[must_use = "if it returns true, the read lock must be released"]
    pub fn try_lock_shared_until(&self, deadline: Instant) -> bool {
        // Ordering: Acquire, as in `lock_shared`.
        let s = self.state.fetch_add(READER, Acquire);
        s & READ_BLOCKED == 0 || self.lock_shared_slow(s, Some(deadline))
    }

    /// Takes a read lock, waiting at most `timeout` (a deadline taken once; a timeout
    /// too large to represent waits forever).
    ///
    /// # Panics
    ///
    /// As [`lock_shared`](Self::lock_shared).
    #[must_use = "if it returns true, the read lock must be released"]
    pub fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.try_lock_shared_until(deadline),
            None => {
                self.lock_shared();
                true
            }
        }
    }

    /// Releases a read lock.
    ///
    /// # Safety
    ///
    /// The caller holds a read lock of this lock (taken by it, or handed to it) and
    /// releases it once.
    #[inline]
    pub unsafe fn unlock_shared(&self) {
        // Ordering: Release pairs with the Acquire CAS by which the next writer takes
        // LOCKED (it reads the end of the release sequence our RMW is in): our reads
        // happen before its writes.
        let s = self.state.fetch_sub(READER, Release);
        debug_assert!(readers(s) > 0, "unlock_shared of a lock not read-locked");
        if s & DRAIN_SLEEPS != 0 {
            self.left_readers(s);
        }
    }

    /// Takes the write lock, waiting for readers and other writers. Readers that
    /// arrive while it waits wait behind it.
    #[inline]
    pub fn lock_exclusive(&self) {
        // Ordering: Acquire pairs with the Release of every reader's unlock and of the
        // previous writer's release (the CAS reads 0, the end of their release
        // sequence).
        let fast = self.state.compare_exchange(0, LOCKED, Acquire, Relaxed);
        if fast.is_err() {
            self.lock_exclusive_slow(None);
        }
    }

    /// Takes the write lock if nobody holds the lock and no writer claims it; never
    /// blocks.
    #[inline]
    #[must_use = "if it returns true, the write lock must be released"]
    pub fn try_lock_exclusive(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        while !writer(s) && readers(s) == 0 {
            // Ordering: Acquire, as in `lock_exclusive`.
            match self
                .state
                .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    /// Takes the write lock, waiting at most until `deadline`. Returns `false` only
    /// once the deadline has passed; a writer that gives up lets the readers that
    /// waited behind it in.
    #[must_use = "if it returns true, the write lock must be released"]
    pub fn try_lock_exclusive_until(&self, deadline: Instant) -> bool {
        self.try_lock_exclusive() || self.lock_exclusive_slow(Some(deadline))
    }

    /// Takes the write lock, waiting at most `timeout` (a deadline taken once; a
    /// timeout too large to represent waits forever).
    #[must_use = "if it returns true, the write lock must be released"]
    pub fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.try_lock_exclusive_until(deadline),
            None => {
                self.lock_exclusive();
                true
            }
        }
    }

    /// Releases the write lock, letting in the readers that waited for it and waking a
    /// queued writer.
    ///
    /// # Safety
    ///
    /// The caller holds the write lock (taken by it, or handed to it) and releases it
    /// once.
    #[inline]
    pub unsafe fn unlock_exclusive(&self) {
        // Ordering: Release pairs with the Acquire of the next owners: a writer's CAS,
        // a reader's `fetch_add` or its load of the flipped PHASE.
        let fast = self.state.compare_exchange(LOCKED, 0, Release, Relaxed);
        if fast.is_err() {
            self.release_writer(0);
        }
    }

    /// Turns the write lock into a read lock, letting in the readers that waited
    /// (other writers still wait).
    ///
    /// # Safety
    ///
    /// As [`unlock_exclusive`](Self::unlock_exclusive); the caller then holds a read
    /// lock instead.
    pub unsafe fn downgrade(&self) {
        debug_assert!(self.state.load(Relaxed) & LOCKED != 0);
        self.release_writer(READER);
    }

    /// Whether any lock (read or write) is held, or a writer is claiming it, at this
    /// instant (a hint: it may change at once).
    #[inline]
    #[must_use]
    pub fn is_locked(&self) -> bool {
        let s = self.state.load(Relaxed);
        writer(s) || readers(s) != 0
    }

    /// Whether the write lock is held at this instant (a hint).
    #[inline]
    #[must_use]
    pub fn is_locked_exclusive(&self) -> bool {
        self.state.load(Relaxed) & LOCKED != 0
    }

    /// A reader's `fetch_add` returned `s0` with a writer pending or holding the lock
    /// (or too many readers). Spins while the writer holds it, then moves to `W` and
    /// sleeps until a writer's release admits it, or until `deadline`. Returns whether
    /// the read lock was taken.
    #[cold]
    fn lock_shared_slow(&self, s0: u64, deadline: Option<Instant>) -> bool {
        if s0 & READERS_GUARD != 0 {
            // SAFETY: our `fetch_add` counted us in R; this takes it back.
            unsafe { self.unlock_shared() };
            too_many_readers();
        }
        // Our count is in R, where the writer bit that blocked us cannot outlive it: a
        // writer that holds the lock (LOCKED) leaves our count in R when it releases,
        // and the next writer must then drain it (it can take LOCKED only with R
        // empty); a pending writer (PENDING) cannot take LOCKED while we are in R, so
        // its bit clears only if it gives up. Either way, once that bit is clear we
        // hold the read lock, whatever bit a newer writer has set since.
        let blocker = s0 & (PENDING | LOCKED);
        // Spin while the writer holds the lock, not while it drains R (it would be
        // waiting for us).
        let mut spin = Backoff::new();
        loop {
            // Ordering: Acquire pairs with the Release of the writer release that
            // cleared `blocker`, which admits us, as in `lock_shared`.
            let s = self.state.load(Acquire);
            if s & blocker == 0 {
                return true;
            }
            if s & PENDING != 0 || !spin.spin() {
                break;
            }
        }
        // Move from R to W, in the phase we then wait for the end of.
        let mut s = self.state.load(Relaxed);
        let phase = loop {
            if s & blocker == 0 {
                // Ordering: the load or failed CAS read a value in the release sequence
                // of the writer release that cleared `blocker`; this acquires it.
                fence(Acquire);
                return true;
            }
            let moved = s - READER + WAITING_READER;
            match self.state.compare_exchange(s, moved, Relaxed, Relaxed) {
                Ok(_) => break s & PHASE,
                Err(now) => s = now,
            }
        };
        if s & DRAIN_SLEEPS != 0 {
            self.left_readers(s);
        }
        // Spin (and yield: the writer may be waiting for a CPU we hold) before sleeping.
        let mut spin = Backoff::new();
        loop {
            // Ordering: Acquire pairs with the Release CAS of the writer release that
            // flipped PHASE and moved us into R: its critical section happens before ours.
            let s = self.state.load(Acquire);
            if s & PHASE != phase {
                return true;
            }
            if spin.spin() {
                continue;
            }
            if deadline.is_some_and(|d| time_left(d).is_none()) {
                return !self.withdraw_reader(phase);
            }
            if s & READERS_ASLEEP == 0 {
                // Relaxed: the mark publishes nothing; the release that reads it is
                // later in `state`'s modification order (both are RMWs).
                let marked = s | READERS_ASLEEP;
                if self
                    .state
                    .compare_exchange(s, marked, Relaxed, Relaxed)
                    .is_err()
                {
                    continue;
                }
            }
            // Read the sequence *after* the mark and *before* re-checking the phase: a
            // release that flips it bumps the sequence afterwards, so either we see the
            // flip or the futex sees the bump.
            // Ordering: Acquire pairs with the Release bump in `wake_readers`: reading the
            // bump makes the flip visible to the re-check below.
            let seq = self.readers_seq.load(Acquire);
            if self.state.load(Relaxed) & PHASE != phase {
                continue;
            }
            if !sleep_until(&self.readers_seq, seq, deadline) {
                return !self.withdraw_reader(phase);
            }
        }
    }

    /// A waiting reader's deadline passed: leave W, unless a release has admitted it
    /// already. Returns whether it withdrew (`false`: it holds the read lock).
    fn withdraw_reader(&self, phase: u64) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & PHASE != phase {
                // Ordering: as in `lock_shared_slow`'s phase check, through this fence.
                fence(Acquire);
                return false;
            }
            match self
                .state
                .compare_exchange(s, s - WAITING_READER, Relaxed, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// A reader left R with the RMW that returned `s` (DRAIN_SLEEPS set): if it was the
    /// last, wake the pending writer.
    #[cold]
    fn left_readers(&self, s: u64) {
        if readers(s) == 1 {
            // Ordering: Release pairs with the Acquire load of `drain_seq` in `drain`:
            // a writer that reads this bump then sees R empty when it re-checks.
            self.drain_seq.fetch_add(1, Release);
            futex::wake_one(&self.drain_seq);
        }
    }

    /// The write lock's slow path: claim the lock (LOCKED if no reader holds it,
    /// else PENDING and drain), queueing behind other writers. Returns whether the lock
    /// was taken before `deadline`.
    #[cold]
    fn lock_exclusive_slow(&self, deadline: Option<Instant>) -> bool {
        let mut spin = Backoff::new();
        // Set once this thread has slept in the writers' queue: it may have consumed the
        // wake-up meant for another queued writer, so it re-marks WRITERS_QUEUED when
        // it claims the lock and its release wakes the next one.
        let mut slept = false;
        // Readers come and go in nanoseconds: before shutting newcomers out with PENDING
        // (which makes them wait, and us wait for the ones inside), spin a little for a
        // moment when none is inside, as std's writer does. Then claim: the spin bounds
        // how long a stream of readers can keep us out.
        let mut patience = Backoff::new();
        loop {
            let s = self.state.load(Relaxed);
            if !writer(s) && readers(s) != 0 && patience.spin() {
                continue;
            }
            if !writer(s) {
                debug_assert_eq!(waiting(s), 0, "readers wait while no writer claims");
                let mark = if slept { WRITERS_QUEUED } else { 0 };
                if readers(s) == 0 {
                    // Ordering: Acquire, as in `lock_exclusive`.
                    let taken = self
                        .state
                        .compare_exchange(s, s | LOCKED | mark, Acquire, Relaxed);
                    if taken.is_ok() {
                        return true;
                    }
                } else {
                    // Relaxed: PENDING publishes nothing; the Acquire comes with LOCKED.
                    let claimed =
                        self.state
                            .compare_exchange(s, s | PENDING | mark, Relaxed, Relaxed);
                    if claimed.is_ok() {
                        return self.drain(deadline);
                    }
                }
                continue;
            }
            // Another writer holds or claims the lock: spin while none sleeps, then queue.
            if s & WRITERS_QUEUED == 0 && spin.spin() {
                continue;
            }
            if deadline.is_some_and(|d| time_left(d).is_none()) {
                self.give_up_queue(slept);
                return false;
            }
            if s & WRITERS_QUEUED == 0 {
                let queued = s | WRITERS_QUEUED;
                // Relaxed: the mark publishes nothing; the release that reads it is
                // later in `state`'s modification order (both are RMWs).
                if self
                    .state
                    .compare_exchange(s, queued, Relaxed, Relaxed)
                    .is_err()
                {
                    continue;
                }
            }
            // Ordering: Acquire pairs with the Release bump in `release_writer`: reading
            // the bump makes the cleared writer bits visible to the re-check below.
            let seq = self.writers_seq.load(Acquire);
            let s = self.state.load(Relaxed);
            if !writer(s) || s & WRITERS_QUEUED == 0 {
                continue;
            }
            let woken = sleep_until(&self.writers_seq, seq, deadline);
            slept = true;
            if !woken {
                self.give_up_queue(slept);
                return false;
            }
        }
    }

    /// A queued writer's deadline passed. If it has slept it may have consumed the
    /// wake-up meant for another queued writer: pass it on.
    fn give_up_queue(&self, slept: bool) {
        if !slept {
            return;
        }
        let mut s = self.state.load(Relaxed);
        loop {
            if !writer(s) {
                // Nobody will release: wake the next queued writer ourselves.
                self.wake_writer();
                return;
            }
            if s & WRITERS_QUEUED != 0 {
                return;
            }
            // The holder's release will wake the next one.
            match self
                .state
                .compare_exchange(s, s | WRITERS_QUEUED, Relaxed, Relaxed)
            {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
    }

    /// With PENDING claimed: wait until R is empty, then take LOCKED. A writer whose
    /// deadline passes first withdraws its claim (a release without the lock).
    fn drain(&self, deadline: Option<Instant>) -> bool {
        let mut spin = Backoff::new();
        loop {
            let s = self.state.load(Relaxed);
            debug_assert!(s & PENDING != 0);
            if readers(s) == 0 {
                let locked = (s & !(PENDING | DRAIN_SLEEPS)) | LOCKED;
                // Ordering: Acquire pairs with the Release `fetch_sub` of every reader
                // that left (the CAS reads the end of their release sequence): their
                // reads happen before our writes.
                match self.state.compare_exchange(s, locked, Acquire, Relaxed) {
                    Ok(_) => return true,
                    Err(_) => continue,
                }
            }
            if spin.spin() {
                continue;
            }
            if deadline.is_some_and(|d| time_left(d).is_none()) {
                self.release_writer(0);
                return false;
            }
            if s & DRAIN_SLEEPS == 0 {
                let sleeps = s | DRAIN_SLEEPS;
                // Relaxed: the mark publishes nothing; the reader's RMW that reads it is
                // later in `state`'s modification order.
                if self
                    .state
                    .compare_exchange(s, sleeps, Relaxed, Relaxed)
                    .is_err()
                {
                    continue;
                }
            }
            // Ordering: Acquire pairs with the Release bump in `left_readers`: reading it
            // makes the emptied R visible to the re-check below.
            let seq = self.drain_seq.load(Acquire);
            if readers(self.state.load(Relaxed)) == 0 {
                continue;
            }
            if !sleep_until(&self.drain_seq, seq, deadline) {
                self.release_writer(0);
                return false;
            }
        }
    }

    /// Ends a writer's hold (LOCKED) or claim (PENDING): clears them, moves the waiting
    /// readers into R (plus `also_readers` for a downgrade) and flips PHASE if there
    /// were any, then wakes those readers and a queued writer.
    #[cold]
    fn release_writer(&self, also_readers: u64) {
        let mut s = self.state.load(Relaxed);
        loop {
            debug_assert!(writer(s), "unlock_exclusive of a lock not write-locked");
            let admitted = waiting(s);
            let mut new = s & !(LOCKED
                | PENDING
                | DRAIN_SLEEPS
                | WRITERS_QUEUED
                | READERS_ASLEEP
                | WAITING_MASK);
            new += admitted * READER + also_readers;
            if admitted > 0 {
                new ^= PHASE;
            } else if readers(new) == 0 {
                // Nobody looks at the phase now: back to 0, the value the fast paths
                // expect of a free lock.
                new &= !PHASE;
            }
            // Ordering: Release pairs with the Acquire of the next owners: a writer's CAS,
            // a reader's `fetch_add`, or an admitted reader's load of the flipped PHASE.
            match self.state.compare_exchange(s, new, Release, Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        if s & READERS_ASLEEP != 0 {
            self.wake_readers();
        }
        if s & WRITERS_QUEUED != 0 {
            self.wake_writer();
        }
    }

    /// Wakes every waiting reader after a release admitted them.
    fn wake_readers(&self) {
        // Ordering: Release pairs with the Acquire load of `readers_seq` in
        // `lock_shared_slow`: a reader that reads this bump sees the flipped PHASE.
        self.readers_seq.fetch_add(1, Release);
        futex::wake_all(&self.readers_seq);
    }

    /// Wakes one queued writer.
    fn wake_writer(&self) {
        // Ordering: Release pairs with the Acquire load of `writers_seq` in
        // `lock_exclusive_slow`: a writer that reads this bump sees the cleared bits.
        self.writers_seq.fetch_add(1, Release);
        futex::wake_one(&self.writers_seq);
    }
}

/// Sleeps on `word` while it holds `expected`, until `deadline` at the latest.
/// Returns `false` once the deadline has passed (before or during the sleep).
fn sleep_until(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    match deadline {
        None => futex::wait(word, expected, None),
        Some(deadline) => match time_left(deadline) {
            Some(left) => futex::wait(word, expected, Some(left)),
            None => false,
        },
    }
}

#[cold]
#[inline(never)]
fn too_many_readers() -> ! {
    panic!("RwLock: more than {MAX_READERS} read locks held at once (leaked read guards?)")
}

impl Default for RawRwLock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RawRwLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Relaxed);
        f.debug_struct("RawRwLock")
            .field("readers", &readers(s))
            .field("waiting_readers", &waiting(s))
            .field("write_locked", &(s & LOCKED != 0))
            .field("writer_pending", &(s & PENDING != 0))
            .finish_non_exhaustive()
    }
}

#[cfg(all(feature = "lock_api", not(fencepost_loom)))]
// SAFETY: a write lock is taken only by an Acquire CAS that sets LOCKED while R is 0
// and no other writer holds or claims the lock, and R cannot grow past a pending or
// held writer (readers that find one move to W, or are admitted by its release); a
// read lock only while no writer holds it. `unlock_*` may run on any thread (no owner
// identity in the word), hence `GuardSend`.
unsafe impl lock_api::RawRwLock for RawRwLock {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's required initializer; each use is a fresh lock"
    )]
    const INIT: Self = Self::new();
    type GuardMarker = lock_api::GuardSend;

    #[inline]
    fn lock_shared(&self) {
        Self::lock_shared(self)
    }

    #[inline]
    fn try_lock_shared(&self) -> bool {
        Self::try_lock_shared(self)
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        // SAFETY: lock_api's contract is ours: the caller holds a read lock.
        unsafe { Self::unlock_shared(self) }
    }

    #[inline]
    fn lock_exclusive(&self) {
        Self::lock_exclusive(self)
    }

    #[inline]
    fn try_lock_exclusive(&self) -> bool {
        Self::try_lock_exclusive(self)
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        // SAFETY: lock_api's contract is ours: the caller holds the write lock.
        unsafe { Self::unlock_exclusive(self) }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        Self::is_locked(self)
    }

    #[inline]
    fn is_locked_exclusive(&self) -> bool {
        Self::is_locked_exclusive(self)
    }
}

#[cfg(all(feature = "lock_api", not(fencepost_loom)))]
// SAFETY: the timed calls acquire exactly as the untimed ones (see `RawRwLock`).
unsafe impl lock_api::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        Self::try_lock_shared_for(self, timeout)
    }

    fn try_lock_shared_until(&self, deadline: Instant) -> bool {
        Self::try_lock_shared_until(self, deadline)
    }

    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        Self::try_lock_exclusive_for(self, timeout)
    }

    fn try_lock_exclusive_until(&self, deadline: Instant) -> bool {
        Self::try_lock_exclusive_until(self, deadline)
    }
}

#[cfg(all(feature = "lock_api", not(fencepost_loom)))]
// SAFETY: `downgrade` turns the held write lock into one read lock atomically (one CAS
// clears LOCKED and counts the reader), so no writer can get in between.
unsafe impl lock_api::RawRwLockDowngrade for RawRwLock {
    unsafe fn downgrade(&self) {
        // SAFETY: lock_api's contract is ours: the caller holds the write lock.
        unsafe { Self::downgrade(self) }
    }
}

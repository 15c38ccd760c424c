//! A sequence lock: readers that never write shared memory, and no data race anywhere.
//!
//! [`SeqLock<T>`] holds a small `Copy` value that one writer at a time replaces while
//! any number of readers take copies. A reader does not lock, does not store and does
//! not even own the cache line for a moment: it copies the value and then checks that
//! no write overlapped the copy, retrying if one did. Readers therefore never slow the
//! writer down, and a read costs little more than a plain copy.
//!
//! ```
//! use fencepost::SeqLock;
//!
//! #[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
//! #[repr(C)]
//! struct Quote {
//!     bid: f64,
//!     ask: f64,
//!     stamp: u64,
//! }
//!
//! let quote = SeqLock::new(Quote { bid: 99.5, ask: 100.5, stamp: 1 });
//! # use std::{thread};
//! thread::scope(|s| {
//!     s.spawn(|| {
//!         for stamp in 2..1000 {
//!             quote.update(|q| {
//!                 q.bid += 0.25;
//!                 q.ask += 0.25;
//!                 q.stamp = stamp;
//!             });
//!         }
//!     });
//!     s.spawn(|| {
//!         let mut last = 0;
//!         for _ in 0..1000 {
//!             let q = quote.read();
//!             assert_eq!(q.ask - q.bid, 1.0); // never a half-written quote
//!             assert!(q.stamp >= last); // never back in time
//!             last = q.stamp;
//!         }
//!     });
//! });
//! assert_eq!(quote.read().stamp, 999);
//! ```
//!
//! `T` must be [`bytemuck::NoUninit`]: the value is stored and copied as integers, and
//! padding bytes have no integer value. Primitive types and arrays of them already
//! are; for a struct, derive it (`#[repr(C)]` or `#[repr(transparent)]`, no padding)
//! with bytemuck's `derive` feature in your `Cargo.toml`
//! (`bytemuck = { version = "1", features = ["derive"] }`; this crate re-exports
//! [`bytemuck`] but does not turn the feature on for you).
//!
//! # Values with padding
//!
//! A struct whose fields leave gaps cannot be `NoUninit`:
//!
//! ```compile_fail
//! #[derive(Clone, Copy, bytemuck::NoUninit)]
//! #[repr(C)]
//! struct Config {
//!     id: u32,      // then 4 bytes of padding, to align `ratio`
//!     ratio: f64,
//!     enabled: bool, // then 7 bytes of padding, to round the size up to 8
//! }
//! // error: derive(NoUninit) was applied to a type with padding
//! ```
//!
//! Order the fields from the largest alignment down, which removes the gaps between
//! them, and turn what is left at the end into a field of its own, always zero:
//!
//! ```
//! #[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
//! #[repr(C)]
//! struct Config {
//!     ratio: f64,
//!     id: u32,
//!     enabled: bool,
//!     _pad: [u8; 3], // 8 + 4 + 1 + 3 = 16: no byte left uninitialised
//! }
//!
//! let config = fencepost::SeqLock::new(Config { ratio: 0.5, id: 7, enabled: true, _pad: [0; 3] });
//! config.update(|c| c.enabled = false);
//! assert_eq!(config.read().ratio, 0.5);
//! assert!(!config.read().enabled);
//! ```
//!
//! The explicit padding costs nothing: those bytes were copied anyway. If the derive
//! still reports padding, `size_of` of the fields does not add up to the struct's
//! size; a `#[repr(C, packed)]` struct has no padding either, but every field of it is
//! unaligned and cannot be borrowed, so the explicit field is the easier choice.
//! Without the derive, `unsafe impl fencepost::bytemuck::NoUninit for Config {}` makes
//! the same promise by hand.
//!
//! # The protocol
//!
//! The lock is one sequence word, `seq`, and the value is stored in place as a
//! sequence of *atomic* chunks (whole words, then a smaller tail; see `payload.rs`).
//!
//! | bits of `seq` | meaning |
//! |---|---|
//! | bit 0, [`WRITING`](self) | a write is in progress ("odd"); readers must retry |
//! | bit 1, [`PARKED`](self) | set only with `WRITING`: a writer may be asleep on `wake` |
//! | bits 2.. | number of completed writes (wraps after 2<sup>62</sup> on 64-bit targets) |
//!
//! A reader compares whole `seq` values, so it can only be fooled by a wrap: on 64-bit
//! targets never in practice; on 32-bit targets (2<sup>30</sup> writes) only by a
//! reader suspended in the middle of one copy for exactly a multiple of that many writes,
//! the same trade-off as Linux's 32-bit `seqcount_t`.
//!
//! **Read** (Boehm, "Can Seqlocks Get Along With Programming Language Memory Models?",
//! MSPC 2012, fig. 6): load `seq` (Acquire); if `WRITING` is set, retry; copy every
//! chunk with a `Relaxed` load into a local `MaybeUninit<T>`; `fence(Acquire)`; load
//! `seq` again (Relaxed); if it changed, retry. Only a copy that passed this check is
//! turned into a `T`, so even a `T` with invalid bit patterns (a `bool`, an enum) is
//! never materialised from a torn copy.
//!
//! **Write**: writers serialise on `seq` itself: a compare-exchange from an even value
//! `s` to `s | WRITING` (Acquire) is the lock. Then `fence(Release)`, the chunk stores
//! (`Relaxed`), and a swap of `seq` to `s + 4` (Release), which clears `WRITING` and
//! `PARKED`, counts the write, and tells the writer whether someone must be woken.
//!
//! **Contended writers** spin, then yield (`Backoff`), then sleep on a separate 32-bit
//! futex word, `wake` (`seq` is a `usize` and a futex is 32 bits), which counts
//! wake-ups, as std's futex `RwLock` counts writer notifications in `writer_notify`. A
//! writer that wants to sleep while the lock is held first makes sure `PARKED` is set in
//! `seq` (a `Relaxed` compare-exchange from the odd value it saw), then reads `wake`,
//! then re-reads `seq`, and sleeps on `wake` only if the lock is still held with
//! `PARKED`. An unlock swap that sees `PARKED` bumps `wake` and wakes one writer. The
//! bump comes *after* the swap, so it is never counted in what a sleeper read while the
//! hold that this swap ends was still visible to it: the futex either sees the bump or
//! the sleeper is queued before the wake-up comes. A writer that has slept takes the lock
//! with `PARKED` already set, so its own unlock wakes the next sleeper (as std's futex
//! mutex does with its "contended" state). The only case this misses needs a writer to
//! stall between reading `wake` and sleeping for exactly a multiple of 2<sup>32</sup>
//! wake-ups.
//!
//! Nothing on this path spins on another writer's progress: while the lock is held a
//! waiter can always sleep, and `wake` changes only after `seq` did. (An earlier
//! version stored the write count in `wake` *before* the unlock swap; two waiters that
//! found it already changed then had to spin until that swap landed, which loom reports
//! as exceeding its branch limit once two preemptions let it starve the unlocking
//! writer.)
//!
//! Readers never block writers and writers never wait for readers: a reader that keeps
//! losing to writes spins, then yields; it never sleeps (it would need a writer to
//! wake it, and a writer must never have to look for readers).
//!
//! No poisoning: if the closure given to [`SeqLock::update`] panics, nothing was
//! stored, the lock is released and the old value stays.
//!
//! # Memory ordering
//!
//! A reader's copy passes the check only if every chunk it read was stored by the
//! write that completed at `s1` (the value of the first load) or before, and none by a
//! later write:
//!
//! - **Nothing too old.** The writer's swap to `s1` is `Release` and the reader's first
//!   load of `seq` is `Acquire`: reading `s1` means every chunk store of that write
//!   (and of the writes before it) happens before the reader's chunk loads, so by
//!   coherence they cannot return anything older.
//! - **Nothing too new.** If a chunk load returned a value stored by a later write,
//!   the reader's `fence(Acquire)` (after the chunk loads) synchronises with that
//!   writer's `fence(Release)` (before its chunk stores, after its lock
//!   compare-exchange). So the lock compare-exchange, which moved `seq` past `s1`,
//!   happens before the reader's second load of `seq`, which therefore cannot return
//!   `s1` any more: the check fails. Fences are needed on both sides because the
//!   events to be ordered are the *later* chunk stores after the lock (a `Release`
//!   compare-exchange only orders what comes *before* it) and the *earlier* chunk
//!   loads before the second load (an `Acquire` load only orders what comes *after*
//!   it). Making every chunk load `Acquire` instead of one fence would also work, at the
//!   price of an `ldar`/`ldapr` per word on aarch64.
//! - **Writers** are ordered by `seq` alone: the lock compare-exchange (`Acquire`) reads
//!   the previous writer's unlock swap (`Release`), so [`SeqLock::update`] sees the last
//!   value and its stores are coherence-ordered after the previous writer's.
//! - **Sleeping writers**: the `PARKED` compare-exchange needs only atomicity (the
//!   unlock swap that ends the hold comes later in `seq`'s modification order, so it
//!   sees `PARKED`). The bump of `wake` is `Release` and the sleeper's load of `wake`
//!   is `Acquire`: if that load returned the bump (or a later one), the unlock swap
//!   before the bump happens before the sleeper's re-read of `seq`, which then cannot
//!   return the hold that swap ended, so the sleeper does not sleep on it. With
//!   `Relaxed`, it could count the bump, still see the old hold, and sleep through its
//!   only wake-up. The futex itself orders nothing.
//!
//! These are the weakest orderings that work; `loom-tests/seqlock.rs` fails when any of
//! them is weakened (`scripts/ordering-mutants` checks this; results in `MUTANTS.md`).
//!
//! # Why `read_volatile` is not enough
//!
//! The classic seqlock (and the `seqlock` crate, and crossbeam's `AtomicCell`
//! fallback) copies the value with a non-atomic `ptr::read_volatile` while the writer
//! may be storing to it. In the Rust (C++) memory model a non-atomic read that races
//! with a write is a *data race*, which is undefined behaviour whatever the copy is
//! used for afterwards: volatile only stops the compiler from eliding or merging the
//! access, it does not make it atomic, and fences only order *atomic* accesses, so the
//! validation argument above does not even apply to it. Miri reports the race and
//! loom's `UnsafeCell` reports a causality violation (see the broken twin in
//! `loom-tests/seqlock.rs`). With `Relaxed` atomic chunks the same race is defined
//! (each load returns some stored value) and the fences do apply.
//!
//! # What a read executes
//!
//! For a `[u64; 8]` payload, `read` inlines to (rustc 1.95, `-C opt-level=3`, checked
//! with `--emit asm`; the retry loop is an out-of-line `#[cold]` call):
//!
//! - **x86_64**: `mov` (seq), `test` bit 0, 8 × `mov` (chunks), `mov` (seq), `cmp`.
//!   `Acquire` loads and fences are plain `mov`s under x86's TSO, so this is
//!   instruction for instruction what the `seqlock` crate's racy `read_volatile`
//!   version compiles to, without the UB.
//! - **aarch64**: `ldar` (seq; `ldapr` with `+rcpc`), `tbnz`, 8 × `ldr`, `dmb ishld`,
//!   `ldr` (seq), `cmp`: again the same sequence as the `seqlock` crate's (volatile
//!   accesses are not merged into `ldp` either).
//! - Tails use narrower loads: a 7-byte payload is one `ldr w`, `ldrh` and `ldrb`
//!   (`mov`, `movzwl`, `movzbl` on x86_64).
//!
//! A write (uncontended) is `lock cmpxchg`, 8 × `mov`, `xchg`, `test` (`PARKED`) on
//! x86_64: the same two locked instructions as a mutex lock and unlock, and no store
//! beyond `seq` and the payload (`wake` is touched only when a writer sleeps). On
//! aarch64 (default `outline-atomics`) it is `__aarch64_cas8_acq`, `dmb ish`, 8 ×
//! `str`, `__aarch64_swp8_rel` (LSE `casa`/`swpl` where the CPU has them).

mod payload;

use crate::backoff::Backoff;
use crate::futex;
use crate::sync;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicU32, AtomicUsize, fence};
use bytemuck::NoUninit;
use core::fmt;
use core::mem::MaybeUninit;
use payload::Payload;

/// `seq` bit 0: a write is in progress ("odd").
const WRITING: usize = 1;
/// `seq` bit 1, only ever set together with `WRITING`: a writer may sleep on `wake`.
const PARKED: usize = 2;
/// `seq` increment per completed write (bits 2.. count writes).
const ONE_WRITE: usize = 4;

/// A sequence lock: wait-free-in-the-common-case reads of a `Copy` value, one writer at
/// a time. See the [module docs](self) for the protocol.
///
/// ```
/// let s = fencepost::SeqLock::new([1u64, 1]);
/// s.write([2, 2]);
/// s.update(|[a, b]| {
///     *a += 1;
///     *b += 1;
/// });
/// assert_eq!(s.read(), [3, 3]);
/// ```
#[repr(C)]
pub struct SeqLock<T> {
    /// Bit 0 `WRITING`, bit 1 `PARKED`, bits 2.. completed writes. Next to the payload,
    /// so a small value shares the reader's cache line with it.
    seq: AtomicUsize,
    /// The value, accessed only through `Relaxed` atomic chunks while shared.
    payload: Payload<T>,
    /// Futex word for writers that sleep: how many times an unlock woke a writer
    /// (wrapping), bumped after the unlock swap that saw `PARKED`.
    wake: AtomicU32,
}

// SAFETY: a `SeqLock<T>` owns a `T` and moves it with itself: it is `Send` exactly when
// `T` is (`T: NoUninit` means `T: Copy + 'static`, so there is no drop to worry about).
unsafe impl<T: Send> Send for SeqLock<T> {}

// SAFETY: through `&SeqLock<T>` other threads get copies of the `T` (`read`) and can
// replace it (`write`, `update`), which is moving `T`s between threads, so `T: Send` is
// required and enough, as for `Mutex<T>`. All shared accesses to the value are atomic
// (see `payload.rs`) and a copy becomes a `T` only after validation, so no `&T` is ever
// shared and `T: Sync` is not needed.
unsafe impl<T: Send> Sync for SeqLock<T> {}

impl<T: NoUninit> SeqLock<T> {
    /// A seqlock holding `value`. `const` outside loom, so it can initialise a
    /// `static`.
    ///
    /// ```
    /// static CONFIG: fencepost::SeqLock<[u32; 4]> = fencepost::SeqLock::new([0; 4]);
    /// CONFIG.write([1, 2, 3, 4]);
    /// assert_eq!(CONFIG.read(), [1, 2, 3, 4]);
    /// ```
    #[cfg(not(fencepost_loom))]
    #[inline]
    pub const fn new(value: T) -> Self {
        Self {
            seq: AtomicUsize::new(0),
            payload: Payload::new(value),
            wake: AtomicU32::new(0),
        }
    }

    /// A seqlock holding `value` (not `const` under loom, whose atomics are not).
    #[cfg(fencepost_loom)]
    pub fn new(value: T) -> Self {
        Self {
            seq: AtomicUsize::new(0),
            payload: Payload::new(value),
            wake: AtomicU32::new(0),
        }
    }

    /// A copy of the value, retrying while a write overlaps the copy.
    ///
    /// Never blocks a writer and never writes shared memory. While writes keep
    /// overlapping, it spins and then yields its time slice between attempts; it never
    /// sleeps.
    ///
    /// Do not call it on the same lock from inside [`update`](Self::update)'s closure:
    /// the write in progress never ends, so the read never succeeds.
    ///
    /// ```
    /// let s = fencepost::SeqLock::new(7u8);
    /// assert_eq!(s.read(), 7);
    /// ```
    #[inline]
    pub fn read(&self) -> T {
        // The first attempt stands alone, so that a read that succeeds at once runs
        // straight through: with the retry loop's counter set up in front of it, the
        // compiler laid the retry path out before the copy and every read paid a
        // second taken jump (0.82 vs 0.55 ns per 8-byte read, against the `seqlock`
        // crate's loop that has none). The retry loop stays inline and only the
        // waiting is out of line, so the copy lives in registers (a cold retry
        // function returning a `T` would force the copy through memory twice: ~1.7x
        // slower for 64 bytes in the `uncontended read, 64 B` comparison).
        if let Some(value) = self.try_read() {
            return value;
        }
        let mut attempts = 0;
        loop {
            Self::wait_before_retry(&mut attempts);
            if let Some(value) = self.try_read() {
                return value;
            }
        }
    }

    /// Waits before a reader's next attempt. A write keeps `seq` odd only while it
    /// stores the chunks (tens of nanoseconds for small payloads), so a reader retries
    /// after one spin hint instead of backing off exponentially (which overslept
    /// writes several-fold in the `reads/s, writer in a tight loop` comparison); after
    /// `READ_SPINS` failed attempts the writer is most likely descheduled in the middle
    /// of a write (oversubscription), so the reader yields to let it finish.
    #[cold]
    fn wait_before_retry(attempts: &mut u32) {
        if *attempts < READ_SPINS {
            *attempts += 1;
            sync::spin_loop();
        } else {
            sync::yield_now();
        }
    }

    /// One attempt at a copy: `None` if a write was in progress when it started or
    /// completed during the copy.
    ///
    /// ```
    /// let s = fencepost::SeqLock::new(1.5f64);
    /// // No writer: the attempt succeeds.
    /// assert_eq!(s.try_read(), Some(1.5));
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<T> {
        let mut out = MaybeUninit::uninit();
        if self.try_read_into(&mut out) {
            // SAFETY: the copy in `out` validated, so it is a valid `T` (see
            // `try_read_into`).
            Some(unsafe { out.assume_init() })
        } else {
            None
        }
    }

    /// One attempt at copying the value into `out`; true if the copy validated, which
    /// makes `out` a valid `T`. On false, `out` may hold a torn copy.
    #[inline(always)]
    fn try_read_into(&self, out: &mut MaybeUninit<T>) -> bool {
        // Every chunk stored by the write that stored `s1` (and by earlier ones) then
        // happens before the chunk loads below, so none of them returns an older value;
        // Relaxed would let a load return a value from before that write.
        // Ordering: Acquire, pairs with the Release swap in `unlock`.
        let s1 = self.seq.load(Acquire);
        if s1 & WRITING != 0 {
            return false;
        }
        self.payload.load_into(out);
        // If any chunk load above returned a value stored after a writer's
        // `fence(Release)`, this fence makes that writer's lock compare-exchange (which
        // moved `seq` past `s1`) happen before the load below, so it cannot return `s1`.
        // Without it the load below may still return `s1` although a chunk is newer (a
        // torn copy accepted). An Acquire *load* below would not do: it orders what
        // comes after it, not the chunk loads before it.
        // Ordering: fence(Acquire), pairs with the writer's `fence(Release)` in `lock`.
        fence(Acquire);
        // `seq` did not change across the copy, so (see `# Memory ordering`) every
        // chunk was stored by the write that completed at `s1` or earlier and none by a
        // later one: `out` holds the bytes of one whole value a writer stored.
        self.seq.load(Relaxed) == s1
    }

    /// Replaces the value. Writers are serialised: a second writer spins, then sleeps
    /// until the first is done.
    ///
    /// ```
    /// let s = fencepost::SeqLock::new([0u16; 3]);
    /// s.write([1, 2, 3]);
    /// assert_eq!(s.read(), [1, 2, 3]);
    /// ```
    #[inline]
    pub fn write(&self, value: T) {
        let guard = self.lock();
        self.payload.store(&value);
        drop(guard);
    }

    /// Changes the value in place with `f` and returns what `f` returns. The whole
    /// update is one write: readers see the value before or after it, and no other
    /// writer runs in between, so concurrent updates never lose one another.
    ///
    /// `f` must not read or write this same lock (that would wait for itself forever).
    ///
    /// ```
    /// # use std::{thread};
    /// let counter = fencepost::SeqLock::new(0u64);
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| {
    ///             for _ in 0..1000 {
    ///                 counter.update(|n| *n += 1);
    ///             }
    ///         });
    ///     }
    /// });
    /// assert_eq!(counter.read(), 4000);
    /// let old = counter.update(|n| std::mem::replace(n, 0));
    /// assert_eq!((old, counter.read()), (4000, 0));
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if `f` panics. The value is then left as it was and the lock released
    /// (there is no poisoning).
    #[inline]
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let guard = self.lock();
        // SAFETY: we hold the write lock, so nothing stores to the payload during this
        // load, and the Acquire compare-exchange in `lock` read the previous writer's
        // Release swap, so the load returns exactly the last value stored, whole: a
        // valid `T`.
        let mut value = unsafe { self.payload.load().assume_init() };
        let result = f(&mut value);
        self.payload.store(&value);
        drop(guard);
        result
    }

    /// The value, through exclusive access (no atomics, no check). Not available
    /// under loom, whose atomics cannot be viewed as a `T`.
    ///
    /// ```
    /// let mut s = fencepost::SeqLock::new(1u32);
    /// *s.get_mut() += 1;
    /// assert_eq!(s.read(), 2);
    /// ```
    #[cfg(not(fencepost_loom))]
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.payload.get_mut()
    }

    /// The value, consuming the lock.
    ///
    /// ```
    /// let s = fencepost::SeqLock::new('x');
    /// s.write('y');
    /// assert_eq!(s.into_inner(), 'y');
    /// ```
    #[inline]
    pub fn into_inner(self) -> T {
        self.payload.into_inner()
    }

    /// Takes the write lock and returns the guard that releases it.
    #[inline]
    fn lock(&self) -> WriteGuard<'_, T> {
        let seq = self.seq.load(Relaxed);
        // Acquire makes `update` load the previous writer's value and orders our chunk
        // stores after that writer's; Relaxed would let `update` start from an older
        // value (a lost update) and let two writers' chunk stores interleave.
        let locked = seq & WRITING == 0 && {
            // Ordering: Acquire, pairs with the previous writer's Release swap in `unlock`.
            let cas = self
                .seq
                .compare_exchange(seq, seq | WRITING, Acquire, Relaxed);
            cas.is_ok()
        };
        let seq = if locked { seq } else { self.lock_contended() };
        // This orders the compare-exchange that made `seq` odd before every chunk store
        // that follows. The compare-exchange's own ordering cannot do this (Release
        // orders what comes *before* an operation), and without it a reader could see a
        // new chunk and still the old, even `seq`.
        // Ordering: fence(Release), pairs with the reader's `fence(Acquire)` in `try_read`.
        fence(Release);
        WriteGuard { lock: self, seq }
    }

    /// Spins, then sleeps, until the write lock is ours; returns the even `seq` value
    /// it was taken from.
    #[cold]
    fn lock_contended(&self) -> usize {
        let mut backoff = Backoff::with_yields();
        // A writer that has slept locks with `PARKED` set, so that its unlock wakes
        // the next sleeper (it cannot know whether others still sleep).
        let mut slept = false;
        // Relaxed re-reads of `seq` throughout: they only decide when to try the
        // Acquire compare-exchange, or whether to sleep (see the `wake` load below).
        let mut seq = self.seq.load(Relaxed);
        loop {
            if seq & WRITING == 0 {
                let locked = if slept {
                    seq | WRITING | PARKED
                } else {
                    seq | WRITING
                };
                // Ordering: Acquire, as in `lock`. On failure, retry at once with the
                // value that beat us (re-loading could return an older one).
                match self.seq.compare_exchange(seq, locked, Acquire, Relaxed) {
                    Ok(_) => return seq,
                    Err(actual) => seq = actual,
                }
                continue;
            }
            if !backoff.should_park() {
                backoff.snooze();
                seq = self.seq.load(Relaxed);
                continue;
            }
            // Only atomicity matters here: the holder's unlock swap comes after this in
            // `seq`'s modification order, so it sees `PARKED` and wakes a sleeper.
            if seq & PARKED == 0 {
                if let Err(actual) = self
                    .seq
                    .compare_exchange(seq, seq | PARKED, Relaxed, Relaxed)
                {
                    seq = actual;
                    continue;
                }
            }
            // Read the wake-up count *before* checking that the lock is still held
            // with `PARKED`: the unlock that ends that hold bumps `wake` after its
            // swap, so it cannot be counted in `epoch` (see `wake_writer`), and the
            // futex either sees the bump or is asleep before the wake-up comes. With
            // Relaxed, `epoch` could already count that bump while the load below
            // still returns the hold it ended: a sleep that no wake-up ends.
            // Ordering: Acquire, pairs with the Release `fetch_add` in `wake_writer`.
            let epoch = self.wake.load(Acquire);
            seq = self.seq.load(Relaxed);
            if seq & (WRITING | PARKED) != WRITING | PARKED {
                continue;
            }
            futex::wait(&self.wake, epoch, None);
            slept = true;
            backoff.reset();
            seq = self.seq.load(Relaxed);
        }
    }

    /// Releases the write lock taken at the even value `seq`.
    #[inline]
    fn unlock(&self, seq: usize) {
        // Readers that see the new value see every chunk stored before it, and the
        // next writer starts from this value. A swap rather than a store, to learn
        // atomically whether a writer registered as `PARKED`.
        // Ordering: Release, pairs with the Acquire load in `try_read` and the Acquire
        // compare-exchange in `lock`.
        let prev = self.seq.swap(seq.wrapping_add(ONE_WRITE), Release);
        if prev & PARKED != 0 {
            self.wake_writer();
        }
    }

    /// Wakes one writer sleeping in `lock_contended`, after the unlock swap that saw
    /// `PARKED`.
    #[cold]
    fn wake_writer(&self) {
        // The bump comes after the swap, so a sleeper that read `wake` before it sees
        // `wake` changed (or is asleep when the wake-up comes), and one that read it
        // after it also sees the swap (this Release, its Acquire), so it does not sleep
        // on the hold this swap ended. Relaxed would let a sleeper count the bump and
        // still see that hold: it would sleep through its only wake-up.
        // Ordering: Release, pairs with the Acquire load of `wake` in `lock_contended`.
        self.wake.fetch_add(1, Release);
        futex::wake_one(&self.wake);
    }
}

/// Holds the write lock; releases it on drop, also when `update`'s closure panics.
struct WriteGuard<'a, T: NoUninit> {
    lock: &'a SeqLock<T>,
    /// The even `seq` value the lock was taken from.
    seq: usize,
}

impl<T: NoUninit> Drop for WriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.unlock(self.seq);
    }
}

impl<T: NoUninit + Default> Default for SeqLock<T> {
    /// A seqlock holding `T::default()`.
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: NoUninit> From<T> for SeqLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: NoUninit + fmt::Debug> fmt::Debug for SeqLock<T> {
    /// Shows a snapshot of the value, or `<write in progress>` if writes kept
    /// overlapping a few attempts (formatting never waits for a writer, so it cannot
    /// hang inside [`SeqLock::update`]'s closure).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SeqLock");
        match (0..DEBUG_ATTEMPTS).find_map(|_| self.try_read()) {
            Some(value) => d.field("value", &value),
            None => d.field("value", &format_args!("<write in progress>")),
        };
        d.finish()
    }
}

/// Failed read attempts (each after one spin hint) before a reader starts yielding.
const READ_SPINS: u32 = 16;

/// How many times `Debug` tries to take a snapshot.
const DEBUG_ATTEMPTS: usize = 4;

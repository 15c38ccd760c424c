//! A bounded single-producer single-consumer queue with Yodaiken's **wrap bit**.
//!
//! [`channel`]`(n)` gives a [`Producer`] and a [`Consumer`] sharing a ring of exactly
//! `n` slots, for any `n >= 1`: no slot is sacrificed to tell "full" from "empty" and `n`
//! need not be a power of two. [`Producer::push`] and [`Consumer::pop`] never block and
//! execute no locked instruction on x86_64 or aarch64, and no fence either in
//! [`FenceMode::Membarrier`](crate::FenceMode) (in the default
//! [`FenceMode::Fences`](crate::FenceMode), one `fence(SeqCst)` each: see
//! [Blocking](self#blocking));
//! [`Producer::push_blocking`] and [`Consumer::pop_blocking`] spin briefly and then
//! sleep on a futex until the other side makes progress or goes away.
//!
//! ```
//! # use std::{thread};
//! let (mut tx, mut rx) = fencepost::spsc::channel::<u64>(3);
//! thread::scope(|s| {
//!     s.spawn(move || {
//!         for i in 0..1000 {
//!             tx.push_blocking(i).unwrap();
//!         }
//!     });
//!     for i in 0..1000 {
//!         assert_eq!(rx.pop_blocking(), Some(i));
//!     }
//!     // The producer is gone and the ring is empty.
//!     assert_eq!(rx.pop_blocking(), None);
//! });
//! ```
//!
//! # The algorithm
//!
//! The queue is a ring of `n` slots with two words: `head` (written only by the
//! consumer) and `tail` (written only by the producer). Each word holds a slot index in
//! its low bits and one more bit, the **wrap bit**, in its top bit:
//!
//! | bits of `head` / `tail` | meaning |
//! |---|---|
//! | `63` (`usize::BITS - 1`) | wrap bit ([`WRAP`](self)); never part of the index |
//! | `0..63` | slot index in `0..n`: the next slot to pop (`head`) or to fill (`tail`) |
//!
//! - **empty**: `head == tail` (same index, same bit);
//! - **full**: same index, different wrap bit (`head ^ tail == WRAP`);
//! - otherwise the ring holds `(tail.index - head.index) mod n` items.
//!
//! The bits are set by the seed's rule (Yodaiken, "A wrap-bit queue"): they change only
//! at the two transitions where the indices meet. **The producer whose push fills the
//! ring sets tail's bit to the complement of head's; the consumer whose pop empties the
//! ring copies tail into head.** Every other move keeps the mover's own bit.
//!
//! Each side also keeps a *cached* copy of the other side's word in its handle and
//! re-reads the shared word only when the cache says full (producer) or empty
//! (consumer). The cache may be stale, yet the rule stays exact: a side can make the
//! indices meet only when it is about to fill (or empty) the ring *according to its
//! cache*, and because the ring never holds more than `n` items, the other side cannot
//! have moved since that copy was taken without the indices not meeting after all. So
//! whenever the indices meet, the mover copied the bit from the other side's *current*
//! word. The loom models in `loom-tests/spsc.rs` check this exhaustively for n = 1, 2, 3
//! with stale caches, slices and wrap-arounds.
//!
//! # The fast path
//!
//! Between the points where the rule applies, a move is a plain increment of the word.
//! After every slow move each handle computes `slow_at`: the value of its own word at
//! which its next move is *not* `word + 1` because it would wrap the index to 0, make
//! the indices meet (fill or empty, per its cache), or find the cache saying full or
//! empty. Until then `push` is: compare the word with `slow_at`, write the slot, add one,
//! publish; `pop` mirrors it. The wrap-bit rule, the cache refresh and the wrap run only
//! in the slow path, about once per lap or per refresh. A stale cache only makes
//! `slow_at` come earlier, never later.
//!
//! Compared with the `0..2n` positions of rtrb and ringbuf (the same information), the
//! slot index is one AND (`word & INDEX`, folded into the address computation where
//! the item size is even) rather than a compare-and-subtract on every access, one store
//! publishes index and bit together, and the fast path has no wrap test at all. The
//! slow path's increment compares with `n` and resets to 0; there is no `%` on any path.
//! Single-thread instruction counts (`examples/icount.rs` under callgrind, `u64`, runs
//! of 16 pushes then 16 pops) depend on how the caller's loop is compiled: written
//! against the handles directly, 39.4 instructions per push+pop pair against rtrb's 44.8
//! (70 before the fast path existed); through the generic benchmark adapters, where
//! LLVM unrolls the runs with the slow paths inlined into every copy, 43.4 against
//! rtrb's 35.5. The fast path is shorter; what a given loop executes is the compiler's.
//!
//! # Memory ordering
//!
//! - A push writes the slot, then stores `tail` with **Release**. The consumer loads
//!   `tail` with **Acquire** when its cache says empty, so the slot write happens before
//!   its read. Without it, a weakly ordered CPU (aarch64) may make the new `tail` visible
//!   before the slot's contents, and the consumer reads garbage.
//! - A pop reads the slot, then stores `head` with **Release**. The producer loads `head`
//!   with **Acquire** when its cache says full, so the consumer's read of the slot
//!   happens before the producer overwrites it (aarch64 may otherwise let the load of
//!   the slot complete after the store of `head`).
//! - Each handle's own word is cached exactly in the handle, so a side never reads the
//!   word it owns; the cached copy of the other word is only ever a stale *lower bound*
//!   of its progress, which is safe for both checks.
//! - Dropping a handle sets its bit in `closed` with **Release**; [`Producer::is_abandoned`]
//!   and [`Consumer::is_abandoned`] load it with **Acquire**, so everything the other
//!   thread did before dropping its handle (its last push included) is visible to a
//!   thread that sees it abandoned. The queue never uses `Arc::strong_count` for this.
//! - The blocking layer is described under [Blocking](self#blocking): it costs `push`
//!   and `pop` one relaxed load of a read-mostly line and the light fence of the
//!   [`FenceMode`](crate::FenceMode).
//!
//! # Blocking
//!
//! A side that must wait spins (bounded, see the crate's backoff), then announces that it
//! sleeps in its own futex word, runs the *heavy* half of an asymmetric fence, re-checks
//! the ring and sleeps. After publishing, `push` and `pop` run the *light* half and load
//! the other side's sleep word;
//! only if it is set do they take the cold path that clears it and calls `futex_wake`.
//! The fence pair guarantees that either the sleeper's re-check sees the publication or
//! the publisher sees the sleeper, so no wake-up is lost (under loom both halves are
//! `fence(SeqCst)` and a lost wake-up is a deadlock the model checker reports). Dropping
//! a handle wakes the other side too.
//!
//! What the halves execute is the process-wide [`FenceMode`](crate::FenceMode), fixed
//! before the first queue exists ([`set_fence_mode`](crate::set_fence_mode)):
//!
//! | | `Fences` (default) | `Membarrier` (Linux 4.14+) |
//! |---|---|---|
//! | `push`/`pop` (light half) | `fence(SeqCst)`, every call takes the slow path | a compiler fence: no instruction, fast path |
//! | a side that goes to sleep (heavy half) | `fence(SeqCst)` | `membarrier(PRIVATE_EXPEDITED)`: interrupts every CPU running a thread of this process for 5-8 us (measured), whether it uses the queue or not |
//!
//! The crate docs' [fence modes](crate#fence-modes) give the measured costs of both.
//!
//! # What `push` and `pop` execute
//!
//! Release-built `push::<u64>` on the fast path (taken in `FenceMode::Membarrier`), as
//! `scripts/check` verifies in the disassembly of both targets
//! (`examples/disasm_probe.rs`):
//!
//! | step | x86_64 | aarch64 |
//! |---|---|---|
//! | leave the fast path? | `cmp` + `je` against `slow_at` | `cmp` + `b.eq` |
//! | slot write | `mov [buf + idx*8], v` | `str` |
//! | publish `tail` | plain `mov` (x86 stores already have release semantics) | `stlr` (store-release) |
//! | light fence | nothing (a compiler fence) | nothing |
//! | sleeper check | `mov` + `cmp` + `je` on the parking line | `ldr` + `cmp` + `b.eq` |
//!
//! The slow path adds the refresh of `head`, a plain `mov` on x86 and `ldar`
//! (load-acquire) on aarch64, and the run-time choice of light fence. `pop` mirrors
//! `push`. Neither has a `lock`-prefixed instruction, an `xchg`, an `mfence` or a `dmb`;
//! waking a sleeper (`swap` + `futex`) and the `fence(SeqCst)` of `FenceMode::Fences`
//! (and wherever `membarrier` is missing) are out-of-line calls, and in that mode every
//! operation takes the slow path.
//!
//! # Panics and drops
//!
//! [`channel`] panics for capacity 0 and for capacities whose index does not fit below
//! the wrap bit or whose buffer does not fit in memory (zero-sized `T` included). Items
//! still in the ring when both handles are gone are dropped exactly once; if one of
//! their destructors panics, the rest are still dropped (a second panic aborts, as for
//! `Vec`), and none is dropped twice.

mod blocking;

use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicU32, AtomicUsize};
use crate::sync::{Arc, UnsafeCell};
use crate::{futex, sync};
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use crossbeam_utils::CachePadded;

/// The wrap bit: the top bit of `head` and `tail`.
const WRAP: usize = 1 << (usize::BITS - 1);
/// The slot index: every bit below the wrap bit.
const INDEX: usize = WRAP - 1;

/// The largest capacity [`channel`] accepts: every index must fit below the wrap bit
/// (`2^63` on 64-bit targets). Non-zero-sized items are further limited by memory.
pub const MAX_CAPACITY: usize = WRAP;

/// `closed` bit set when the producer is dropped.
const PRODUCER_GONE: u32 = 1;
/// `closed` bit set when the consumer is dropped.
const CONSUMER_GONE: u32 = 2;

/// One slot of the ring; initialised exactly when it lies in `head..tail`.
type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// What both handles share.
struct Shared<T> {
    /// Consumer-owned: index of the next slot to pop | wrap bit. Alone on its line.
    head: CachePadded<AtomicUsize>,
    /// Producer-owned: index of the next slot to fill | wrap bit. Alone on its line.
    tail: CachePadded<AtomicUsize>,
    /// Read by both sides on every operation, written only to sleep or to leave.
    parking: CachePadded<Parking>,
    /// The ring: exactly `capacity` slots.
    slots: Box<[Slot<T>]>,
}

/// The blocking layer's words, on one read-mostly line.
struct Parking {
    /// The consumer's futex word: [`blocking::SLEEPING`] while it sleeps, or is about to.
    consumer: AtomicU32,
    /// The producer's futex word: [`blocking::SLEEPING`] while it sleeps, or is about to.
    producer: AtomicU32,
    /// `PRODUCER_GONE | CONSUMER_GONE`: which handles have been dropped.
    closed: AtomicU32,
}

// SAFETY: the queue moves `T`s from the producer's thread to the consumer's, so it is
// `Send` and `Sync` when `T: Send`. Every slot is accessed by one side at a time: the
// producer only in `tail..head+n`, the consumer only in `head..tail`, and the
// Release/Acquire pairs on `head` and `tail` hand each slot over.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; `&Shared` only gives out slots under that protocol.
unsafe impl<T: Send> Sync for Shared<T> {}

/// Creates a queue of exactly `capacity` slots and returns its two ends.
///
/// Every slot is usable: a queue of capacity 3 holds 3 items. Any capacity works,
/// powers of two or not. Zero-sized items are supported.
///
/// # Panics
///
/// If `capacity` is 0, greater than [`MAX_CAPACITY`], or so large that `capacity` items
/// of `T` do not fit in one allocation (`isize::MAX` bytes).
///
/// # Examples
///
/// ```
/// let (mut tx, mut rx) = fencepost::spsc::channel(2);
/// tx.push('a').unwrap();
/// tx.push('b').unwrap();
/// assert!(tx.push('c').is_err()); // full: both slots are in use
/// assert_eq!(rx.pop(), Some('a'));
/// ```
pub fn channel<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    assert!(
        capacity >= 1,
        "spsc::channel: capacity must be at least 1, got 0"
    );
    assert!(
        capacity <= MAX_CAPACITY,
        "spsc::channel: capacity {capacity} exceeds MAX_CAPACITY ({MAX_CAPACITY}): \
         slot indices must fit below the wrap bit"
    );
    assert!(
        core::alloc::Layout::array::<T>(capacity).is_ok(),
        "spsc::channel: capacity {capacity} of {}-byte items exceeds isize::MAX bytes",
        size_of::<T>()
    );
    // The blocking layer's fences are chosen before either handle reaches another thread.
    futex::init_asymmetric_fences();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        parking: CachePadded::new(Parking {
            consumer: AtomicU32::new(blocking::AWAKE),
            producer: AtomicU32::new(blocking::AWAKE),
            closed: AtomicU32::new(0),
        }),
        slots: sync::uninit_cells(capacity),
    });
    let fast_path = futex::fast_light_fence_ok();
    let first_slow = if fast_path {
        slow_at(0, 0, false, capacity)
    } else {
        0
    };
    let producer = Producer {
        tail: 0,
        head_cache: 0,
        slow_at: first_slow,
        fast_path,
        capacity,
        shared: Arc::clone(&shared),
        _not_sync: PhantomData,
    };
    let consumer = Consumer {
        head: 0,
        tail_cache: Cell::new(0),
        slow_at: 0,
        fast_path,
        capacity,
        shared,
    };
    (producer, consumer)
}

/// The next slot index after `index`: compare and reset, never `%`.
#[inline(always)]
fn next_index(index: usize, capacity: usize) -> usize {
    let next = index + 1;
    if next == capacity { 0 } else { next }
}

/// `index + n` around a ring of `capacity` (`index < capacity`, `n <= capacity`).
#[inline(always)]
fn advance(index: usize, n: usize, capacity: usize) -> usize {
    let next = index + n;
    if next >= capacity {
        next - capacity
    } else {
        next
    }
}

/// Items in the ring between the words `head` and `tail`.
#[inline(always)]
fn occupied(head: usize, tail: usize, capacity: usize) -> usize {
    let (h, t) = (head & INDEX, tail & INDEX);
    if h == t {
        if head == tail { 0 } else { capacity }
    } else if t > h {
        t - h
    } else {
        t + capacity - h
    }
}

/// Where a side's run of plain increments ends.
///
/// `own` is the side's word after its last move and `other` its cache of the other
/// side's word; `stalled` says the cache shows no room (producer: full) or nothing to
/// take (consumer: empty). Returns the value of `own` at which the next operation must
/// take the slow path: `own` itself when stalled (refresh first), otherwise the first
/// of the last index before the wrap (`capacity - 1`: the next move wraps the index to
/// 0) and the index just before the other side's (the next move makes the indices
/// meet: a fill or an empty, where the wrap-bit rule applies). Every operation before it
/// moves the index by one without wrapping and keeps the bit: `word + 1`.
#[inline(always)]
fn slow_at(own: usize, other: usize, stalled: bool, capacity: usize) -> usize {
    if stalled {
        return own;
    }
    let (index, meet) = (own & INDEX, other & INDEX);
    let before_meet = if meet == 0 { capacity - 1 } else { meet - 1 };
    let stop = if before_meet >= index {
        before_meet
    } else {
        capacity - 1
    };
    stop | (own & WRAP)
}

impl<T> Shared<T> {
    /// The slots `start..start + len` (no wrap-around; `start + len <= capacity`).
    ///
    /// # Safety
    /// `start + len <= self.slots.len()`.
    #[inline(always)]
    unsafe fn run(&self, start: usize, len: usize) -> &[Slot<T>] {
        debug_assert!(start + len <= self.slots.len());
        // SAFETY: in bounds by the caller's promise.
        unsafe { self.slots.get_unchecked(start..start + len) }
    }

    /// The slot at `index`.
    ///
    /// # Safety
    /// `index < self.slots.len()`.
    #[inline(always)]
    unsafe fn slot(&self, index: usize) -> &Slot<T> {
        debug_assert!(index < self.slots.len());
        // SAFETY: in bounds by the caller's promise.
        unsafe { self.slots.get_unchecked(index) }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if !core::mem::needs_drop::<T>() {
            return;
        }
        // Both handles are gone: the Arc's final decrement acquired their last stores,
        // and these are the real words, not any handle's cache.
        let head = self.head.load(Relaxed);
        let tail = self.tail.load(Relaxed);
        let mut rest = DropRemaining {
            slots: &self.slots,
            index: head & INDEX,
            left: occupied(head, tail, self.slots.len()),
        };
        rest.drop_all();
    }
}

/// Drops the items left in the ring, one at a time, advancing before each drop. If a
/// destructor panics, this guard's own `Drop` goes on with the rest during unwinding, so
/// every item is dropped once and none twice.
struct DropRemaining<'a, T> {
    slots: &'a [Slot<T>],
    index: usize,
    left: usize,
}

impl<T> DropRemaining<'_, T> {
    fn drop_all(&mut self) {
        while self.left > 0 {
            let slot = &self.slots[self.index];
            self.index = next_index(self.index, self.slots.len());
            self.left -= 1;
            // SAFETY: the slot lay in `head..tail`, so it holds an initialised item, and
            // `index`/`left` already moved past it, so no later pass drops it again.
            slot.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T> Drop for DropRemaining<'_, T> {
    fn drop(&mut self) {
        self.drop_all();
    }
}

/// The error of [`Producer::push`]: the queue was full. Holds the value back;
/// [`into_inner`](Full::into_inner) returns it.
///
/// ```
/// let (mut tx, _rx) = fencepost::spsc::channel(1);
/// tx.push("a").unwrap();
/// let err = tx.push("b").unwrap_err();
/// assert_eq!(err.into_inner(), "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(T);

impl<T> Full<T> {
    /// The value that was not pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The error of [`Producer::push_blocking`]: the consumer is gone, so the value could
/// never be received. Holds the value back; [`into_inner`](Abandoned::into_inner)
/// returns it.
///
/// ```
/// let (mut tx, rx) = fencepost::spsc::channel(1);
/// tx.push(1).unwrap();
/// drop(rx);
/// assert_eq!(tx.push_blocking(2).unwrap_err().into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Abandoned<T>(T);

impl<T> Abandoned<T> {
    /// The value that was not pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Full").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> std::error::Error for Full<T> {}

impl<T> fmt::Debug for Abandoned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Abandoned").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Abandoned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the consumer is gone")
    }
}

impl<T> std::error::Error for Abandoned<T> {}

/// The sending end of a [`channel`]. `Send` (when `T: Send`) but not `Sync`: one thread
/// pushes at a time, which `&mut self` enforces.
pub struct Producer<T> {
    /// Our own word, exactly as last published: we are its only writer.
    tail: usize,
    /// The consumer's `head` as we last loaded it; a lower bound of its progress.
    head_cache: usize,
    /// The `tail` at which the next push is not a plain increment (see [`slow_at`]).
    slow_at: usize,
    /// Whether pushes may take the fast path (false in `FenceMode::Fences`, see
    /// `futex::fast_light_fence_ok`).
    fast_path: bool,
    capacity: usize,
    shared: Arc<Shared<T>>,
    /// Not `Sync`, like the consumer: one producer thread at a time, by type.
    _not_sync: PhantomData<Cell<()>>,
}

/// The receiving end of a [`channel`]. `Send` (when `T: Send`) but not `Sync`.
pub struct Consumer<T> {
    /// Our own word, exactly as last published: we are its only writer.
    head: usize,
    /// The producer's `tail` as we last loaded it (a `Cell` so that `peek(&self)` can
    /// refresh it; `Consumer` is not `Sync`).
    tail_cache: Cell<usize>,
    /// The `head` at which the next pop is not a plain increment (see [`slow_at`]).
    slow_at: usize,
    /// Whether pops may take the fast path (see `Producer::fast_path`).
    fast_path: bool,
    capacity: usize,
    shared: Arc<Shared<T>>,
}

impl<T> Producer<T> {
    /// Pushes `value` if there is room; never blocks.
    ///
    /// The item is visible to the consumer as soon as this returns (there is no
    /// publication batching).
    ///
    /// # Errors
    ///
    /// [`Full`] with the value when all slots are in use.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, _rx) = fencepost::spsc::channel(1);
    /// assert_eq!(tx.push(1), Ok(()));
    /// assert_eq!(tx.push(2).unwrap_err().into_inner(), 2);
    /// ```
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), Full<T>> {
        self.push_inner::<true>(value)
    }

    /// `push` without the blocking layer's sleeper check, to measure what that check
    /// costs (`examples/compare`, row "no blocking layer"). Benchmark use only: a
    /// consumer sleeping in `pop_blocking` is not woken by it.
    #[doc(hidden)]
    #[inline]
    pub fn push_without_wake_check(&mut self, value: T) -> Result<(), Full<T>> {
        self.push_inner::<false>(value)
    }

    #[inline(always)]
    fn push_inner<const WAKE: bool>(&mut self, value: T) -> Result<(), Full<T>> {
        let tail = self.tail;
        if tail == self.slow_at {
            return self.push_slow::<WAKE>(value);
        }
        // The fast path: by `slow_at`, the ring has room, this push neither wraps the
        // index nor fills the ring, so the new word is `tail + 1`, same bit.
        // SAFETY: as in `push_slow`: `tail & INDEX < capacity` is a free slot.
        unsafe { self.shared.slot(tail & INDEX) }.with_mut(|p| unsafe { (*p).write(value) });
        let new_tail = tail + 1;
        self.tail = new_tail;
        // Ordering: Release pairs with the consumer's Acquire load of `tail`
        // (`refresh_tail`): the slot write above happens before its read.
        self.shared.tail.store(new_tail, Release);
        if WAKE {
            blocking::wake_if_sleeping_fast(&self.shared.parking.consumer);
        }
        Ok(())
    }

    /// A push at `slow_at`: refresh a cache that says full, wrap the index, or apply
    /// the wrap-bit rule at a fill. Inlined for the reason given at `refresh_head`.
    #[inline(always)]
    fn push_slow<const WAKE: bool>(&mut self, value: T) -> Result<(), Full<T>> {
        let tail = self.tail;
        if tail ^ self.head_cache == WRAP && !self.refresh_head() {
            return Err(Full(value));
        }
        let index = tail & INDEX;
        // SAFETY: `index < capacity` (an index is always reduced below `capacity`), and
        // the slot is free: the ring is not full, so `index` lies outside `head..tail`,
        // where the consumer never looks, and the Acquire load of `head` that last
        // freed it ordered the consumer's read of it before this write.
        unsafe { self.shared.slot(index) }.with_mut(|p| unsafe { (*p).write(value) });
        let next = next_index(index, self.capacity);
        self.publish::<WAKE>(next, tail);
        Ok(())
    }

    /// Pushes as many items of `values` as fit, in order, and publishes them with one
    /// store. Returns how many were pushed (0 when full).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel(4);
    /// assert_eq!(tx.push_slice(&[1, 2, 3, 4, 5, 6]), 4);
    /// let mut out = [0; 8];
    /// assert_eq!(rx.pop_slice(&mut out), 4);
    /// assert_eq!(out[..4], [1, 2, 3, 4]);
    /// ```
    #[inline]
    pub fn push_slice(&mut self, values: &[T]) -> usize
    where
        T: Copy,
    {
        let tail = self.tail;
        let mut free = self.capacity - occupied(self.head_cache, tail, self.capacity);
        if free < values.len() {
            self.refresh_head();
            free = self.capacity - occupied(self.head_cache, tail, self.capacity);
        }
        let n = free.min(values.len());
        if n == 0 {
            return 0;
        }
        let index = tail & INDEX;
        let first = n.min(self.capacity - index);
        // SAFETY: both runs are in bounds (`index + first <= capacity`,
        // `n - first <= index`), and they are the `n` free slots after `tail`, which the
        // consumer does not touch until we publish them; the Acquire load of `head`
        // ordered its last reads of them before these writes.
        unsafe {
            sync::copy_to_cells(self.shared.run(index, first), &values[..first]);
            if first < n {
                sync::copy_to_cells(self.shared.run(0, n - first), &values[first..n]);
            }
        }
        let next = advance(index, n, self.capacity);
        self.publish::<true>(next, tail);
        n
    }

    /// Re-reads the consumer's `head`; returns whether the ring has room.
    ///
    /// Inlined on purpose: an out-of-line call taking `&mut self` would let the handle's
    /// address escape, and the compiler would then keep `tail` and `head_cache` in memory
    /// across a caller's loop instead of in registers.
    #[inline(always)]
    fn refresh_head(&mut self) -> bool {
        // Ordering: Acquire pairs with the consumer's Release store of `head` in `pop` /
        // `pop_slice`: its reads of the slots it freed happen before we overwrite them.
        self.head_cache = self.shared.head.load(Acquire);
        self.tail ^ self.head_cache != WRAP
    }

    /// Publishes a new `tail` at index `next` (after a move from the word `tail`), with
    /// the seed's wrap-bit rule, then wakes a sleeping consumer.
    #[inline(always)]
    fn publish<const WAKE: bool>(&mut self, next: usize, tail: usize) {
        // The indices meet only when this push fills the ring according to
        // `head_cache`, and then `head_cache` is the consumer's current word (see the
        // module docs): take the complement of its bit. Otherwise keep our bit.
        let bit = if next == self.head_cache & INDEX {
            !self.head_cache & WRAP
        } else {
            tail & WRAP
        };
        let new_tail = next | bit;
        self.tail = new_tail;
        // Ordering: Release pairs with the consumer's Acquire load of `tail`
        // (`refresh_tail`): the slot writes above happen before its reads.
        self.shared.tail.store(new_tail, Release);
        self.slow_at = if self.fast_path {
            slow_at(
                new_tail,
                self.head_cache,
                new_tail ^ self.head_cache == WRAP,
                self.capacity,
            )
        } else {
            new_tail
        };
        if WAKE {
            blocking::wake_if_sleeping(&self.shared.parking.consumer);
        }
    }

    /// The number of slots, as given to [`channel`].
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Items in the queue now (the consumer may be popping concurrently, so it may be
    /// lower by the time you act on it, never higher).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, _rx) = fencepost::spsc::channel(4);
    /// tx.push(7).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        // A snapshot: nothing is read through it, so no ordering is needed.
        occupied(self.shared.head.load(Relaxed), self.tail, self.capacity)
    }

    /// Whether the queue is empty now (it may stop being so only by our own pushes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every slot is in use now (the consumer may free one at any moment).
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity
    }

    /// Whether the [`Consumer`] has been dropped.
    ///
    /// Once it returns `true`, everything the consumer's thread did before dropping
    /// its handle is visible to this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = fencepost::spsc::channel::<u8>(1);
    /// assert!(!tx.is_abandoned());
    /// drop(rx);
    /// assert!(tx.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        // Ordering: Acquire pairs with the consumer's Release `fetch_or` in its `Drop`.
        self.shared.parking.closed.load(Acquire) & CONSUMER_GONE != 0
    }
}

impl<T> Consumer<T> {
    /// Pops the oldest item, or `None` if the queue is empty; never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel(2);
    /// assert_eq!(rx.pop(), None);
    /// tx.push("x").unwrap();
    /// assert_eq!(rx.pop(), Some("x"));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.pop_inner::<true>()
    }

    /// `pop` without the blocking layer's sleeper check, to measure what that check
    /// costs (`examples/compare`, row "no blocking layer"). Benchmark use only: a
    /// producer sleeping in `push_blocking` is not woken by it.
    #[doc(hidden)]
    #[inline]
    pub fn pop_without_wake_check(&mut self) -> Option<T> {
        self.pop_inner::<false>()
    }

    #[inline(always)]
    fn pop_inner<const WAKE: bool>(&mut self) -> Option<T> {
        let head = self.head;
        if head == self.slow_at {
            return self.pop_slow::<WAKE>();
        }
        // The fast path: by `slow_at`, the ring holds an item, and this pop neither
        // wraps the index nor empties the ring, so the new word is `head + 1`, same bit.
        // SAFETY: as in `pop_slow`: the slot at `head` holds a published item.
        let value =
            unsafe { self.shared.slot(head & INDEX) }.with(|p| unsafe { (*p).assume_init_read() });
        let new_head = head + 1;
        self.head = new_head;
        // Ordering: Release pairs with the producer's Acquire load of `head`
        // (`refresh_head`): our read of the slot happens before its rewrite.
        self.shared.head.store(new_head, Release);
        if WAKE {
            blocking::wake_if_sleeping_fast(&self.shared.parking.producer);
        }
        Some(value)
    }

    /// A pop at `slow_at`: refresh a cache that says empty, wrap the index, or apply
    /// the wrap-bit rule at an empty. Inlined for the reason given at
    /// `Producer::refresh_head`.
    #[inline(always)]
    fn pop_slow<const WAKE: bool>(&mut self) -> Option<T> {
        let head = self.head;
        if head == self.tail_cache.get() && !self.refresh_tail() {
            return None;
        }
        let index = head & INDEX;
        // SAFETY: `index < capacity`, and the ring is not empty, so the slot lies in
        // `head..tail`: the producer initialised it and its Release store of `tail`,
        // acquired by `refresh_tail`, ordered that write before this read. The producer
        // does not touch it again until we publish the new `head`.
        let value = unsafe { self.shared.slot(index) }.with(|p| unsafe { (*p).assume_init_read() });
        let next = next_index(index, self.capacity);
        self.publish::<WAKE>(next, head);
        Some(value)
    }

    /// Pops up to `out.len()` items into `out`, in order, and frees their slots with one
    /// store. Returns how many were popped (0 when empty).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel(8);
    /// tx.push_slice(&[1u8, 2, 3]);
    /// let mut out = [0u8; 2];
    /// assert_eq!(rx.pop_slice(&mut out), 2);
    /// assert_eq!(out, [1, 2]);
    /// assert_eq!(rx.pop(), Some(3));
    /// ```
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [T]) -> usize
    where
        T: Copy,
    {
        let head = self.head;
        let mut available = occupied(head, self.tail_cache.get(), self.capacity);
        if available < out.len() {
            self.refresh_tail();
            available = occupied(head, self.tail_cache.get(), self.capacity);
        }
        let n = available.min(out.len());
        if n == 0 {
            return 0;
        }
        let index = head & INDEX;
        let first = n.min(self.capacity - index);
        // SAFETY: both runs are in bounds and are the first `n` occupied slots after
        // `head`: initialised by the producer, whose Release store of `tail` (acquired
        // by `refresh_tail`) ordered those writes before these reads; it does not write
        // them again until we publish the new `head`.
        unsafe {
            sync::copy_from_cells(&mut out[..first], self.shared.run(index, first));
            if first < n {
                sync::copy_from_cells(&mut out[first..n], self.shared.run(0, n - first));
            }
        }
        let next = advance(index, n, self.capacity);
        self.publish::<true>(next, head);
        n
    }

    /// A reference to the oldest item without removing it, or `None` if empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel(2);
    /// tx.push(String::from("hi")).unwrap();
    /// assert_eq!(rx.peek().map(String::as_str), Some("hi"));
    /// assert_eq!(rx.pop().as_deref(), Some("hi"));
    /// ```
    pub fn peek(&self) -> Option<&T> {
        let head = self.head;
        if head == self.tail_cache.get() && !self.refresh_tail() {
            return None;
        }
        // SAFETY: as in `pop`: the slot at `head` is initialised and published, and it
        // stays so while `&self` is borrowed, since only `&mut self` methods pop it.
        Some(unsafe { self.shared.slot(head & INDEX) }.with(|p| unsafe { (*p).assume_init_ref() }))
    }

    /// Re-reads the producer's `tail`; returns whether the ring holds anything.
    /// Inlined for the reason given at `Producer::refresh_head`.
    #[inline(always)]
    fn refresh_tail(&self) -> bool {
        // Ordering: Acquire pairs with the producer's Release store of `tail` in
        // `publish`: its slot writes happen before our reads of them.
        let tail = self.shared.tail.load(Acquire);
        self.tail_cache.set(tail);
        tail != self.head
    }

    /// Publishes a new `head` at index `next` (after a move from the word `head`), with
    /// the seed's wrap-bit rule, then wakes a sleeping producer.
    #[inline(always)]
    fn publish<const WAKE: bool>(&mut self, next: usize, head: usize) {
        // The indices meet only when this pop empties the ring according to
        // `tail_cache`, and then `tail_cache` is the producer's current word (see the
        // module docs): copy it, bit and all. Otherwise keep our bit.
        let tail = self.tail_cache.get();
        let new_head = if next == tail & INDEX {
            tail
        } else {
            next | (head & WRAP)
        };
        self.head = new_head;
        // Ordering: Release pairs with the producer's Acquire load of `head`
        // (`refresh_head`): our reads of the freed slots happen before its rewrites.
        self.shared.head.store(new_head, Release);
        self.slow_at = if self.fast_path {
            slow_at(new_head, tail, new_head == tail, self.capacity)
        } else {
            new_head
        };
        if WAKE {
            blocking::wake_if_sleeping(&self.shared.parking.producer);
        }
    }

    /// The number of slots, as given to [`channel`].
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Items in the queue now (the producer may be pushing concurrently, so it may be
    /// higher by the time you act on it, never lower).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, rx) = fencepost::spsc::channel(4);
    /// tx.push_slice(&[1, 2]);
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        // A snapshot: nothing is read through it, so no ordering is needed.
        occupied(self.head, self.shared.tail.load(Relaxed), self.capacity)
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every slot is in use now (it may stop being so only by our own pops).
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity
    }

    /// Whether the [`Producer`] has been dropped.
    ///
    /// Once it returns `true`, everything the producer's thread did before dropping
    /// its handle is visible to this thread, its last push included: if `pop` then
    /// returns `None`, nothing more will ever arrive.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel(1);
    /// tx.push(5).unwrap();
    /// drop(tx);
    /// assert!(rx.is_abandoned());
    /// assert_eq!(rx.pop(), Some(5));
    /// ```
    pub fn is_abandoned(&self) -> bool {
        // Ordering: Acquire pairs with the producer's Release `fetch_or` in its `Drop`.
        self.shared.parking.closed.load(Acquire) & PRODUCER_GONE != 0
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        blocking::leave(
            &self.shared.parking,
            PRODUCER_GONE,
            &self.shared.parking.consumer,
        );
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        blocking::leave(
            &self.shared.parking,
            CONSUMER_GONE,
            &self.shared.parking.producer,
        );
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("abandoned", &self.is_abandoned())
            .finish()
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("abandoned", &self.is_abandoned())
            .finish()
    }
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;

    #[test]
    fn occupied_counts_across_the_wrap() {
        assert_eq!(occupied(0, 0, 3), 0);
        assert_eq!(occupied(0, WRAP, 3), 3);
        assert_eq!(occupied(2, 1, 3), 2);
        assert_eq!(occupied(1, 2, 3), 1);
        assert_eq!(occupied(2 | WRAP, 2, 3), 3);
    }

    #[test]
    fn advance_wraps_without_modulo() {
        assert_eq!(advance(2, 1, 3), 0);
        assert_eq!(advance(2, 3, 3), 2);
        assert_eq!(advance(0, 2, 3), 2);
        assert_eq!(next_index(2, 3), 0);
        assert_eq!(next_index(0, 1), 0);
    }
}

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
//! sleep on a futex until the other side makes progress or goes away; they have
//! deadline forms (`push_blocking_timeout`/`_until`, `pop_blocking_timeout`/`_until`)
//! and slice forms (`push_slice_blocking`, `pop_slice_blocking`). Zero-copy chunks
//! ([`Producer::write_chunk_uninit`], [`Consumer::read_chunk`]) move items in place,
//! and a consumer is an [`Iterator`] over the items ready now.
//!
//! For a thread that must never enter the kernel, [`channel_real_time_consumer`] and
//! [`channel_real_time_producer`] make one side a [`RealTimeConsumer`] or
//! [`RealTimeProducer`]: see [Real-time sides](#real-time-sides).
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
//! a handle wakes the other side too. Every wait has a deadline form; a deadline is
//! checked before each sleep, and a sleep lasts no longer than what is left of it.
//! Facing a real-time side none of this handshake runs: see
//! [Real-time sides](#real-time-sides).
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
//! operation takes the slow path. The real-time sides' `push` and `pop` are the same minus the light fence
//! and the sleeper check, on every platform: no call at all, which the disassembly
//! check also asserts (`fencepost_probe_rt_push`/`_pop`).
//!
//! # Real-time sides
//!
//! With the default [`channel`], a `push` or `pop` that finds the other side asleep
//! wakes it with a `futex` system call; every `push` and `pop` runs a `fence(SeqCst)`
//! in the default [`FenceMode::Fences`](crate::FenceMode), and in
//! `FenceMode::Membarrier` the side that goes to sleep first runs `membarrier`, which
//! interrupts every CPU running a thread of the process (an IPI).
//! An audio callback or a trading loop cannot afford either. So one side can be
//! declared real-time at construction:
//!
//! | constructor | real-time side | blocking side |
//! |---|---|---|
//! | [`channel_real_time_consumer`] | [`RealTimeConsumer`]: `pop`, `pop_slice`, `peek`, `read_chunk`, `Iterator` | [`Producer`]: everything, `push_blocking` and its forms included |
//! | [`channel_real_time_producer`] | [`RealTimeProducer`]: `push`, `push_slice`, `write_chunk_uninit` | [`Consumer`]: everything, `pop_blocking` and its forms included |
//! | [`channel_real_time`] | both | none (both sides poll, as with rtrb) |
//!
//! **What the real-time side executes**: the ring protocol only (loads, the slot
//! access, the store that publishes its word: a plain `mov` on x86_64, `stlr` on
//! aarch64; on the slow path one load-acquire of the other side's word). It does no
//! sleeper check at all, so whatever the other side does it makes **no system call,
//! takes no lock, allocates nothing, runs no fence or locked instruction and causes
//! no IPI**. `scripts/check asm` checks its `push`/`pop` in the disassembly (no call
//! at all), and `scripts/check rt` runs `examples/audio_rt.rs` under `strace` and
//! fails if the callback thread makes any system call in its steady state.
//!
//! **What the blocking side does instead of being woken**: it spins briefly as usual,
//! then sleeps by *timed* futex waits of at most its **poll interval**
//! ([`DEFAULT_POLL_INTERVAL`] = 1 ms, below an audio period; set with
//! [`channel_real_time_consumer_with_poll`] / [`channel_real_time_producer_with_poll`],
//! at most [`MAX_POLL_INTERVAL`] = 1 s), re-checking the ring and whether the
//! real-time side is gone after each. It neither announces its sleep nor runs the
//! heavy fence: with no one to wake it, the Dekker handshake would buy nothing (the
//! broken twin `broken_twin_untimed_wait_facing_a_real_time_side_sleeps_forever` in
//! `loom-tests/spsc.rs` shows what sleeping without a bound would do). No
//! `membarrier` is registered or issued for these queues. The cost, on the blocking
//! side only: progress (or the real-time side's drop) is seen up to one poll interval
//! (plus the scheduler's wake-up latency) late, and while it waits it wakes
//! `1 / poll interval` times per second (1,000/s at 1 ms). The numbers measured by
//! `examples/spsc_rt_cost.rs` are in the README's section on the real-time sides.
//!
//! Dropping a real-time handle sets its `closed` bit (a locked `fetch_or`) and wakes
//! no one; it may also free the queue if the other handle is gone, so drop it outside
//! the real-time loop.
//!
//! # Panics and drops
//!
//! [`channel`] panics for capacity 0 and for capacities whose index does not fit below
//! the wrap bit or whose buffer does not fit in memory (zero-sized `T` included). Items
//! still in the ring when both handles are gone are dropped exactly once; if one of
//! their destructors panics, the rest are still dropped (a second panic aborts, as for
//! `Vec`), and none is dropped twice.

/// The accessors every handle has (`capacity`, `len`, `is_empty`, `is_full`,
/// `is_abandoned`) and its `Debug`, delegating to its side. `$this`/`$peer` name the
/// handle and the other one in the examples, made by `$ctor`; `poll` adds the poll
/// interval to `Debug`.
macro_rules! handle_accessors {
    ($handle:ident, $ctor:literal, $this:ident, $peer:ident, $peer_name:literal $(, $poll:ident)?) => {
        impl<T> $handle<T> {
            /// The number of slots, as given when the queue was made.
            #[inline]
            pub fn capacity(&self) -> usize {
                self.side.capacity
            }

            #[doc = concat!("Items in the queue now: a snapshot, which the ", $peer_name, " may")]
            /// change at once (one Relaxed load of its word).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (mut tx, rx) = fencepost::spsc::", $ctor, "(4);")]
            /// tx.push(7).unwrap();
            #[doc = concat!("assert_eq!(", stringify!($this), ".len(), 1);")]
            /// ```
            pub fn len(&self) -> usize {
                self.side.len()
            }

            /// Whether the queue is empty now (a snapshot, as [`len`](Self::len)).
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Whether every slot is in use now (a snapshot, as [`len`](Self::len)).
            pub fn is_full(&self) -> bool {
                self.len() == self.capacity()
            }

            #[doc = concat!("Whether the ", $peer_name, "'s handle has been dropped.")]
            ///
            /// Once it returns `true`, everything the other thread did before dropping its
            /// handle is visible to this thread, its last push or pop included (one
            /// load-acquire).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, rx) = fencepost::spsc::", $ctor, "::<u8>(1);")]
            #[doc = concat!("assert!(!", stringify!($this), ".is_abandoned());")]
            #[doc = concat!("drop(", stringify!($peer), ");")]
            #[doc = concat!("assert!(", stringify!($this), ".is_abandoned());")]
            /// ```
            pub fn is_abandoned(&self) -> bool {
                self.side.is_abandoned()
            }
        }

        impl<T> core::fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let mut d = f.debug_struct(stringify!($handle));
                d.field("capacity", &self.capacity())
                    .field("len", &self.len())
                    .field("abandoned", &self.is_abandoned());
                $(d.field("poll_interval", &self.$poll);)?
                d.finish()
            }
        }
    };
}

/// `Iterator` for a consumer handle: `next` is its non-blocking `pop`.
macro_rules! ready_iterator {
    ($handle:ident) => {
        impl<T> Iterator for $handle<T> {
            type Item = T;

            /// `pop`: the next ready item, `None` when the queue is empty now (the
            /// iteration may then be resumed later).
            #[inline]
            fn next(&mut self) -> Option<T> {
                self.pop()
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                // At least what is ready now; the producer may add more before the end.
                (self.len(), None)
            }
        }
    };
}

mod blocking;
#[cfg(not(fencepost_loom))]
mod chunks;
mod consumer;
mod errors;
mod producer;
mod real_time;

#[cfg(not(fencepost_loom))]
pub use chunks::{ReadChunk, ReadChunkIntoIter, WriteChunkUninit};
pub use consumer::Consumer;
pub use errors::{Abandoned, ChunkError, Full, PopTimeoutError, PushTimeoutError};
pub use producer::Producer;
pub use real_time::{
    DEFAULT_POLL_INTERVAL, MAX_POLL_INTERVAL, RealTimeConsumer, RealTimeProducer,
    channel_real_time, channel_real_time_consumer, channel_real_time_consumer_with_poll,
    channel_real_time_producer, channel_real_time_producer_with_poll,
};

use crate::sync::atomic::Ordering::Relaxed;
use crate::sync::atomic::{AtomicU32, AtomicUsize};
use crate::sync::{Arc, UnsafeCell};
use crate::{futex, sync};
use consumer::ConsumerSide;
use core::mem::MaybeUninit;
use crossbeam_utils::CachePadded;
use producer::ProducerSide;

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
    let shared = new_shared(capacity, "spsc::channel");
    // The blocking layer's fences are chosen before either handle reaches another thread.
    futex::init_asymmetric_fences();
    let fast_path = futex::fast_light_fence_ok();
    let producer = Producer {
        side: ProducerSide::new(Arc::clone(&shared), fast_path),
        poll: None,
    };
    let consumer = Consumer {
        side: ConsumerSide::new(shared, fast_path),
        poll: None,
    };
    (producer, consumer)
}

/// The shared state of a queue of `capacity` slots; `who` names the constructor in the
/// panic messages.
fn new_shared<T>(capacity: usize, who: &str) -> Arc<Shared<T>> {
    assert!(capacity >= 1, "{who}: capacity must be at least 1, got 0");
    assert!(
        capacity <= MAX_CAPACITY,
        "{who}: capacity {capacity} exceeds MAX_CAPACITY ({MAX_CAPACITY}): \
         slot indices must fit below the wrap bit"
    );
    assert!(
        core::alloc::Layout::array::<T>(capacity).is_ok(),
        "{who}: capacity {capacity} of {}-byte items exceeds isize::MAX bytes",
        size_of::<T>()
    );
    Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        parking: CachePadded::new(Parking {
            consumer: AtomicU32::new(blocking::AWAKE),
            producer: AtomicU32::new(blocking::AWAKE),
            closed: AtomicU32::new(0),
        }),
        slots: sync::uninit_cells(capacity),
    })
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

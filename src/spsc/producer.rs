//! The producer's half of the ring: [`ProducerSide`] holds the protocol (the fast path,
//! the wrap-bit rule at a fill, the publication of `tail`), generic over whether a
//! publication checks for a sleeping consumer; [`Producer`] is the blocking-capable
//! public handle built on it (the real-time one is in `real_time.rs`).

use super::errors::Full;
use super::{CONSUMER_GONE, INDEX, Shared, WRAP, advance, blocking, next_index, occupied, slow_at};
use crate::sync;
use crate::sync::Arc;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::cell::Cell;
use core::marker::PhantomData;
use std::time::Duration;

/// The producer's state, shared by [`Producer`] and
/// [`RealTimeProducer`](super::RealTimeProducer). `WAKE` on a method says whether the
/// publication checks for a sleeping consumer (`true` for [`Producer`]) or not (`false`
/// for the real-time side, whose consumer never sleeps on a word it would have to
/// wake).
pub(super) struct ProducerSide<T> {
    /// Our own word, exactly as last published: we are its only writer.
    pub(super) tail: usize,
    /// The consumer's `head` as we last loaded it; a lower bound of its progress.
    pub(super) head_cache: usize,
    /// The `tail` at which the next push is not a plain increment (see [`slow_at`]).
    slow_at: usize,
    /// Whether pushes may take the fast path: true where the light fence may be a
    /// compiler fence (`futex::fast_light_fence_ok`), and always when no publication
    /// of this side needs a fence at all (a real-time side, or a side whose consumer
    /// is real-time and so never sleeps).
    fast_path: bool,
    pub(super) capacity: usize,
    pub(super) shared: Arc<Shared<T>>,
    /// Not `Sync`, like the consumer: one producer thread at a time, by type.
    _not_sync: PhantomData<Cell<()>>,
}

impl<T> ProducerSide<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, fast_path: bool) -> Self {
        let capacity = shared.slots.len();
        Self {
            tail: 0,
            head_cache: 0,
            slow_at: if fast_path {
                slow_at(0, 0, false, capacity)
            } else {
                0
            },
            fast_path,
            capacity,
            shared,
            _not_sync: PhantomData,
        }
    }

    #[inline(always)]
    pub(super) fn push<const WAKE: bool>(&mut self, value: T) -> Result<(), Full<T>> {
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

    /// Free slots now, re-reading `head` only if the cache shows fewer than `wanted`.
    #[inline(always)]
    pub(super) fn free(&mut self, wanted: usize) -> usize {
        let mut free = self.capacity - occupied(self.head_cache, self.tail, self.capacity);
        if free < wanted {
            self.refresh_head();
            free = self.capacity - occupied(self.head_cache, self.tail, self.capacity);
        }
        free
    }

    #[inline(always)]
    pub(super) fn push_slice<const WAKE: bool>(&mut self, values: &[T]) -> usize
    where
        T: Copy,
    {
        let tail = self.tail;
        let n = self.free(values.len()).min(values.len());
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
        self.advance_by::<WAKE>(n);
        n
    }

    /// Publishes `n` slots after `tail` that the caller has just filled (`n` no more
    /// than [`free`](Self::free) last reported).
    #[inline(always)]
    pub(super) fn advance_by<const WAKE: bool>(&mut self, n: usize) {
        let tail = self.tail;
        let next = advance(tail & INDEX, n, self.capacity);
        self.publish::<WAKE>(next, tail);
    }

    /// Re-reads the consumer's `head`; returns whether the ring has room.
    ///
    /// Inlined on purpose: an out-of-line call taking `&mut self` would let the handle's
    /// address escape, and the compiler would then keep `tail` and `head_cache` in memory
    /// across a caller's loop instead of in registers.
    #[inline(always)]
    fn refresh_head(&mut self) -> bool {
        // Ordering: Acquire pairs with the consumer's Release store of `head` in `pop` /
        // `pop_slice` / a read chunk's commit: its reads of the slots it freed happen
        // before we overwrite them.
        self.head_cache = self.shared.head.load(Acquire);
        self.tail ^ self.head_cache != WRAP
    }

    /// Publishes a new `tail` at index `next` (after a move from the word `tail`), with
    /// the seed's wrap-bit rule, then (if `WAKE`) wakes a sleeping consumer.
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
            // `fast_path` says the compiler fence is a valid light half here (see the
            // field); otherwise take the run-time choice.
            if self.fast_path {
                blocking::wake_if_sleeping_fast(&self.shared.parking.consumer);
            } else {
                blocking::wake_if_sleeping(&self.shared.parking.consumer);
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        // A snapshot: nothing is read through it, so no ordering is needed.
        occupied(self.shared.head.load(Relaxed), self.tail, self.capacity)
    }

    pub(super) fn is_abandoned(&self) -> bool {
        // Ordering: Acquire pairs with the consumer's Release `fetch_or` in its `Drop`
        // (`blocking::leave`).
        self.shared.parking.closed.load(Acquire) & CONSUMER_GONE != 0
    }
}

/// The sending end of a [`channel`](super::channel) or of a
/// [`channel_real_time_consumer`](super::channel_real_time_consumer). `Send` (when
/// `T: Send`) but not `Sync`: one thread pushes at a time, which `&mut self` enforces.
///
/// Facing a [`Consumer`](super::Consumer), a full queue puts `push_blocking` to sleep
/// until the consumer wakes it; facing a [`RealTimeConsumer`](super::RealTimeConsumer),
/// which never wakes anyone, it sleeps by timed waits of the poll interval instead (see
/// [Real-time sides](super#real-time-sides)).
pub struct Producer<T> {
    pub(super) side: ProducerSide<T>,
    /// `None` facing a blocking consumer; the poll interval facing a real-time one.
    pub(super) poll: Option<Duration>,
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
        self.side.push::<true>(value)
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
        self.side.push_slice::<true>(values)
    }

    /// The bound on how long `push_blocking` sleeps before re-checking the queue:
    /// `Some(interval)` when the consumer is real-time (it never wakes this side),
    /// `None` when it is a blocking [`Consumer`](super::Consumer), which wakes it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = fencepost::spsc::channel_real_time_consumer::<u8>(4);
    /// assert_eq!(tx.poll_interval(), Some(Duration::from_millis(1)));
    /// let (tx, _rx) = fencepost::spsc::channel::<u8>(4);
    /// assert_eq!(tx.poll_interval(), None);
    /// ```
    pub fn poll_interval(&self) -> Option<Duration> {
        self.poll
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        let parking = &self.side.shared.parking;
        blocking::leave(parking, super::PRODUCER_GONE, &parking.consumer);
    }
}

handle_accessors!(Producer, "channel", tx, rx, "consumer", poll);

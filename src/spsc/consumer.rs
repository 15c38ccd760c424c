//! The consumer's half of the ring: [`ConsumerSide`] holds the protocol (the fast path,
//! the wrap-bit rule at an empty, the publication of `head`), generic over whether a
//! publication checks for a sleeping producer; [`Consumer`] is the blocking-capable
//! public handle built on it (the real-time one is in `real_time.rs`).

use super::{INDEX, PRODUCER_GONE, Shared, WRAP, advance, blocking, next_index, occupied, slow_at};
use crate::sync;
use crate::sync::Arc;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::cell::Cell;
use std::time::Duration;

/// The consumer's state, shared by [`Consumer`] and
/// [`RealTimeConsumer`](super::RealTimeConsumer); `WAKE` as for `ProducerSide`.
pub(super) struct ConsumerSide<T> {
    /// Our own word, exactly as last published: we are its only writer.
    pub(super) head: usize,
    /// The producer's `tail` as we last loaded it (a `Cell` so that `peek(&self)` can
    /// refresh it; the handles are not `Sync`).
    pub(super) tail_cache: Cell<usize>,
    /// The `head` at which the next pop is not a plain increment (see [`slow_at`]).
    slow_at: usize,
    /// Whether pops may take the fast path (see `ProducerSide::fast_path`).
    fast_path: bool,
    pub(super) capacity: usize,
    pub(super) shared: Arc<Shared<T>>,
}

impl<T> ConsumerSide<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, fast_path: bool) -> Self {
        let capacity = shared.slots.len();
        Self {
            head: 0,
            tail_cache: Cell::new(0),
            slow_at: 0,
            fast_path,
            capacity,
            shared,
        }
    }

    #[inline(always)]
    pub(super) fn pop<const WAKE: bool>(&mut self) -> Option<T> {
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
    /// `ProducerSide::refresh_head`.
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

    /// Items ready now, re-reading `tail` only if the cache shows fewer than `wanted`.
    #[inline(always)]
    pub(super) fn available(&self, wanted: usize) -> usize {
        let mut available = occupied(self.head, self.tail_cache.get(), self.capacity);
        if available < wanted {
            self.refresh_tail();
            available = occupied(self.head, self.tail_cache.get(), self.capacity);
        }
        available
    }

    #[inline(always)]
    pub(super) fn pop_slice<const WAKE: bool>(&mut self, out: &mut [T]) -> usize
    where
        T: Copy,
    {
        let head = self.head;
        let n = self.available(out.len()).min(out.len());
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
        self.advance_by::<WAKE>(n);
        n
    }

    /// Frees the `n` slots after `head`, whose items the caller has just read or
    /// dropped (`n` no more than [`available`](Self::available) last reported).
    #[inline(always)]
    pub(super) fn advance_by<const WAKE: bool>(&mut self, n: usize) {
        let head = self.head;
        let next = advance(head & INDEX, n, self.capacity);
        self.publish::<WAKE>(next, head);
    }

    pub(super) fn peek(&self) -> Option<&T> {
        let head = self.head;
        if head == self.tail_cache.get() && !self.refresh_tail() {
            return None;
        }
        // SAFETY: as in `pop`: the slot at `head` is initialised and published, and it
        // stays so while `&self` is borrowed, since only `&mut self` methods pop it.
        Some(unsafe { self.shared.slot(head & INDEX) }.with(|p| unsafe { (*p).assume_init_ref() }))
    }

    /// Re-reads the producer's `tail`; returns whether the ring holds anything.
    /// Inlined for the reason given at `ProducerSide::refresh_head`.
    #[inline(always)]
    fn refresh_tail(&self) -> bool {
        // Ordering: Acquire pairs with the producer's Release store of `tail` in
        // `publish`: its slot writes happen before our reads of them.
        let tail = self.shared.tail.load(Acquire);
        self.tail_cache.set(tail);
        tail != self.head
    }

    /// Publishes a new `head` at index `next` (after a move from the word `head`), with
    /// the seed's wrap-bit rule, then (if `WAKE`) wakes a sleeping producer.
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
            // `fast_path` says the compiler fence is a valid light half here (see the
            // field); otherwise take the run-time choice.
            if self.fast_path {
                blocking::wake_if_sleeping_fast(&self.shared.parking.producer);
            } else {
                blocking::wake_if_sleeping(&self.shared.parking.producer);
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        // A snapshot: nothing is read through it, so no ordering is needed.
        occupied(self.head, self.shared.tail.load(Relaxed), self.capacity)
    }

    pub(super) fn is_abandoned(&self) -> bool {
        // Ordering: Acquire pairs with the producer's Release `fetch_or` in its `Drop`
        // (`blocking::leave`).
        self.shared.parking.closed.load(Acquire) & PRODUCER_GONE != 0
    }
}

/// The receiving end of a [`channel`](super::channel) or of a
/// [`channel_real_time_producer`](super::channel_real_time_producer). `Send` (when
/// `T: Send`) but not `Sync`.
///
/// Also an [`Iterator`] over the items ready now: `next` is [`pop`](Self::pop), so the
/// iteration ends (returns `None`) as soon as the queue is empty, and never blocks.
///
/// ```
/// let (mut tx, rx) = fencepost::spsc::channel(4);
/// tx.push_slice(&[1, 2, 3]);
/// assert_eq!(rx.collect::<Vec<_>>(), [1, 2, 3]);
/// ```
pub struct Consumer<T> {
    pub(super) side: ConsumerSide<T>,
    /// `None` facing a blocking producer; the poll interval facing a real-time one.
    pub(super) poll: Option<Duration>,
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
        self.side.pop::<true>()
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
        self.side.pop_slice::<true>(out)
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
        self.side.peek()
    }

    /// The bound on how long `pop_blocking` sleeps before re-checking the queue:
    /// `Some(interval)` when the producer is real-time, `None` when it is a blocking
    /// [`Producer`](super::Producer), which wakes this side.
    pub fn poll_interval(&self) -> Option<Duration> {
        self.poll
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        let parking = &self.side.shared.parking;
        blocking::leave(parking, super::CONSUMER_GONE, &parking.producer);
    }
}

handle_accessors!(Consumer, "channel", rx, tx, "producer", poll);
ready_iterator!(Consumer);

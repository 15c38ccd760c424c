//! Real-time sides: [`RealTimeProducer`] and [`RealTimeConsumer`], whose operations never
//! check for a sleeper and so never make a system call, whatever the other side does.
//! The other side learns of their progress by timed waits (`blocking.rs`).

use super::consumer::ConsumerSide;
use super::errors::Full;
use super::producer::ProducerSide;
use super::{CONSUMER_GONE, Consumer, PRODUCER_GONE, Producer, blocking, new_shared};
use crate::sync::Arc;
use std::time::Duration;

/// The poll interval of [`channel_real_time_consumer`] and
/// [`channel_real_time_producer`]: 1 ms, below an audio callback period (1.33 ms for
/// 64 frames at 48 kHz), so a decoder that waits for room refills the queue within one
/// callback of it being drained.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// The largest poll interval the `_with_poll` constructors accept: 1 s. A longer one
/// would let the blocking side miss the real-time side's drop for longer than any
/// caller is likely to mean.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(1);

fn check_poll(who: &str, poll_interval: Duration) {
    assert!(
        !poll_interval.is_zero(),
        "{who}: poll_interval must be greater than zero (a zero interval would busy-wait)"
    );
    assert!(
        poll_interval <= MAX_POLL_INTERVAL,
        "{who}: poll_interval {poll_interval:?} exceeds MAX_POLL_INTERVAL ({MAX_POLL_INTERVAL:?})"
    );
}

/// Creates a queue of exactly `capacity` slots whose consumer is real-time: a blocking
/// [`Producer`] and a [`RealTimeConsumer`]. The producer, when the queue is full, waits
/// by timed sleeps of [`DEFAULT_POLL_INTERVAL`] (1 ms); see
/// [`channel_real_time_consumer_with_poll`].
///
/// # Panics
///
/// As [`channel`](super::channel), for the capacity.
///
/// # Examples
///
/// ```
/// # use std::thread;
/// let (mut decoder, mut callback) = fencepost::spsc::channel_real_time_consumer::<f32>(256);
/// let t = thread::spawn(move || {
///     for block in 0..8 {
///         decoder.push_slice_blocking(&[block as f32; 64]); // may sleep up to 1 ms at a time
///     }
/// });
/// let mut out = [0.0; 64];
/// let mut got = 0;
/// while got < 8 * 64 {
///     got += callback.pop_slice(&mut out); // never a system call
/// }
/// t.join().unwrap();
/// ```
pub fn channel_real_time_consumer<T>(capacity: usize) -> (Producer<T>, RealTimeConsumer<T>) {
    real_time_consumer(
        "spsc::channel_real_time_consumer",
        capacity,
        DEFAULT_POLL_INTERVAL,
    )
}

/// [`channel_real_time_consumer`] with the producer's poll interval given: how long
/// `push_blocking` (and the other blocking pushes) sleep before re-checking the queue.
/// Each sleep is one `futex` wait with that timeout; room made by the consumer, or its
/// drop, is seen at most one interval (plus the scheduler's wake-up latency) late, and
/// a producer waiting on a full queue wakes `1 / poll_interval` times per second.
///
/// # Panics
///
/// As [`channel`](super::channel), for the capacity; if `poll_interval` is zero or
/// greater than [`MAX_POLL_INTERVAL`] (1 s).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (tx, _rx) = fencepost::spsc::channel_real_time_consumer_with_poll::<u8>(
///     4,
///     Duration::from_micros(250),
/// );
/// assert_eq!(tx.poll_interval(), Some(Duration::from_micros(250)));
/// ```
pub fn channel_real_time_consumer_with_poll<T>(
    capacity: usize,
    poll_interval: Duration,
) -> (Producer<T>, RealTimeConsumer<T>) {
    real_time_consumer(
        "spsc::channel_real_time_consumer_with_poll",
        capacity,
        poll_interval,
    )
}

fn real_time_consumer<T>(
    who: &str,
    capacity: usize,
    poll: Duration,
) -> (Producer<T>, RealTimeConsumer<T>) {
    check_poll(who, poll);
    let shared = new_shared(capacity, who);
    // Both sides take the fast path with no fence: the real-time side checks for no
    // sleeper, and the producer's check of the consumer's word, which is never
    // SLEEPING, needs no ordering to return "not sleeping". No `membarrier` is
    // registered or used.
    let producer = Producer {
        side: ProducerSide::new(Arc::clone(&shared), true),
        poll: Some(poll),
    };
    let consumer = RealTimeConsumer {
        side: ConsumerSide::new(shared, true),
    };
    (producer, consumer)
}

/// Creates a queue of exactly `capacity` slots whose producer is real-time: a
/// [`RealTimeProducer`] and a blocking [`Consumer`], which waits for items by timed
/// sleeps of [`DEFAULT_POLL_INTERVAL`] (1 ms); see
/// [`channel_real_time_producer_with_poll`].
///
/// # Panics
///
/// As [`channel`](super::channel), for the capacity.
///
/// # Examples
///
/// ```
/// # use std::thread;
/// let (mut capture, mut writer) = fencepost::spsc::channel_real_time_producer::<u32>(64);
/// let t = thread::spawn(move || writer.by_ref().count() + std::iter::from_fn(|| writer.pop_blocking()).count());
/// for i in 0..10 {
///     while capture.push(i).is_err() {} // never a system call
/// }
/// drop(capture); // seen by the writer within one poll interval
/// assert_eq!(t.join().unwrap(), 10);
/// ```
pub fn channel_real_time_producer<T>(capacity: usize) -> (RealTimeProducer<T>, Consumer<T>) {
    real_time_producer(
        "spsc::channel_real_time_producer",
        capacity,
        DEFAULT_POLL_INTERVAL,
    )
}

/// [`channel_real_time_producer`] with the consumer's poll interval given (see
/// [`channel_real_time_consumer_with_poll`] for what it costs).
///
/// # Panics
///
/// As [`channel`](super::channel), for the capacity; if `poll_interval` is zero or
/// greater than [`MAX_POLL_INTERVAL`] (1 s).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = fencepost::spsc::channel_real_time_producer_with_poll::<u8>(
///     4,
///     Duration::from_millis(5),
/// );
/// assert_eq!(rx.poll_interval(), Some(Duration::from_millis(5)));
/// ```
pub fn channel_real_time_producer_with_poll<T>(
    capacity: usize,
    poll_interval: Duration,
) -> (RealTimeProducer<T>, Consumer<T>) {
    real_time_producer(
        "spsc::channel_real_time_producer_with_poll",
        capacity,
        poll_interval,
    )
}

fn real_time_producer<T>(
    who: &str,
    capacity: usize,
    poll: Duration,
) -> (RealTimeProducer<T>, Consumer<T>) {
    check_poll(who, poll);
    let shared = new_shared(capacity, who);
    // As in `real_time_consumer`.
    let producer = RealTimeProducer {
        side: ProducerSide::new(Arc::clone(&shared), true),
    };
    let consumer = Consumer {
        side: ConsumerSide::new(shared, true),
        poll: Some(poll),
    };
    (producer, consumer)
}

/// Creates a queue of exactly `capacity` slots whose two sides are both real-time:
/// neither ever blocks, sleeps or checks for a sleeper, as in rtrb. For two threads
/// that poll (or that only ever use `push`/`pop` and their slice and chunk forms).
///
/// # Panics
///
/// As [`channel`](super::channel).
///
/// # Examples
///
/// ```
/// let (mut tx, mut rx) = fencepost::spsc::channel_real_time::<u8>(2);
/// tx.push(1).unwrap();
/// assert_eq!(rx.pop(), Some(1));
/// ```
pub fn channel_real_time<T>(capacity: usize) -> (RealTimeProducer<T>, RealTimeConsumer<T>) {
    let shared = new_shared(capacity, "spsc::channel_real_time");
    // No side checks for sleepers: the fast path needs no fence.
    let producer = RealTimeProducer {
        side: ProducerSide::new(Arc::clone(&shared), true),
    };
    let consumer = RealTimeConsumer {
        side: ConsumerSide::new(shared, true),
    };
    (producer, consumer)
}

/// The sending end of a [`channel_real_time_producer`], for a thread that must never
/// enter the kernel. `Send` (when `T: Send`) but not `Sync`.
///
/// # What its methods execute
///
/// [`push`](Self::push), [`push_slice`](Self::push_slice) and the
/// [write chunks](Self::write_chunk_uninit) execute loads, stores and, on the slow path
/// (about once per lap of the ring or when the queue looks full), one load-acquire of
/// the consumer's `head`; the publication of `tail` is a plain store on x86_64 and a
/// store-release (`stlr`) on aarch64. They make **no system call, take no lock,
/// allocate nothing, run no fence and no locked (`lock`-prefixed) instruction, and
/// cause no IPI**, whatever the consumer does: they do not look for a sleeping
/// consumer at all. `scripts/check asm` checks the release build's `push` and `pop` for
/// both targets; `scripts/check rt` checks a running program under `strace`.
///
/// The blocking [`Consumer`] on the other end finds new items by timed waits of its
/// poll interval instead of being woken. [`len`](Self::len), `is_*` and `capacity` are
/// loads only. Dropping the handle is not a hot-path operation: it sets a bit with a
/// locked `fetch_or` and may free the queue (if the consumer is gone already); it wakes
/// no one.
pub struct RealTimeProducer<T> {
    pub(super) side: ProducerSide<T>,
}

impl<T> RealTimeProducer<T> {
    /// Pushes `value` if there is room; never blocks, never makes a system call.
    ///
    /// # Errors
    ///
    /// [`Full`] with the value when all slots are in use.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, _rx) = fencepost::spsc::channel_real_time_producer(1);
    /// assert_eq!(tx.push(1), Ok(()));
    /// assert_eq!(tx.push(2).unwrap_err().into_inner(), 2);
    /// ```
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), Full<T>> {
        self.side.push::<false>(value)
    }

    /// Pushes as many items of `values` as fit, in order, with one publishing store;
    /// returns how many. Never blocks, never makes a system call.
    ///
    /// ```
    /// let (mut tx, _rx) = fencepost::spsc::channel_real_time_producer(2);
    /// assert_eq!(tx.push_slice(&[1, 2, 3]), 2);
    /// ```
    #[inline]
    pub fn push_slice(&mut self, values: &[T]) -> usize
    where
        T: Copy,
    {
        self.side.push_slice::<false>(values)
    }
}

impl<T> Drop for RealTimeProducer<T> {
    fn drop(&mut self) {
        blocking::leave_quietly(&self.side.shared.parking, PRODUCER_GONE);
    }
}

/// The receiving end of a [`channel_real_time_consumer`], for a thread that must never
/// enter the kernel (an audio callback, a trading loop). `Send` (when `T: Send`) but
/// not `Sync`.
///
/// # What its methods execute
///
/// [`pop`](Self::pop), [`pop_slice`](Self::pop_slice), [`peek`](Self::peek), the
/// [read chunks](Self::read_chunk) and the [`Iterator`] execute loads, stores and, on
/// the slow path (about once per lap or when the queue looks empty), one load-acquire
/// of the producer's `tail`; the publication of `head` is a plain store on x86_64 and a
/// store-release on aarch64. They make **no system call, take no lock, allocate
/// nothing, run no fence and no locked instruction, and cause no IPI**, whatever the
/// producer does: a producer sleeping on a full queue is not woken, it wakes by itself
/// within its poll interval ([`DEFAULT_POLL_INTERVAL`], 1 ms) and sees the room.
/// Dropping the handle is not a hot-path operation (see [`RealTimeProducer`]).
///
/// The iterator yields the items ready now and ends when the queue is empty.
///
/// ```
/// let (mut tx, rx) = fencepost::spsc::channel_real_time_consumer(4);
/// tx.push_slice(&[1, 2, 3]);
/// assert_eq!(rx.sum::<i32>(), 6);
/// ```
pub struct RealTimeConsumer<T> {
    pub(super) side: ConsumerSide<T>,
}

impl<T> RealTimeConsumer<T> {
    /// Pops the oldest item, or `None` if the queue is empty; never blocks, never makes
    /// a system call.
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel_real_time_consumer(2);
    /// assert_eq!(rx.pop(), None);
    /// tx.push('x').unwrap();
    /// assert_eq!(rx.pop(), Some('x'));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.side.pop::<false>()
    }

    /// Pops up to `out.len()` items into `out`, in order, freeing their slots with one
    /// store; returns how many. Never blocks, never makes a system call.
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel_real_time_consumer(4);
    /// tx.push_slice(&[1, 2, 3]);
    /// let mut out = [0; 2];
    /// assert_eq!(rx.pop_slice(&mut out), 2);
    /// ```
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [T]) -> usize
    where
        T: Copy,
    {
        self.side.pop_slice::<false>(out)
    }

    /// A reference to the oldest item without removing it, or `None` if empty.
    ///
    /// ```
    /// let (mut tx, rx) = fencepost::spsc::channel_real_time_consumer(2);
    /// tx.push(9).unwrap();
    /// assert_eq!(rx.peek(), Some(&9));
    /// ```
    pub fn peek(&self) -> Option<&T> {
        self.side.peek()
    }
}

impl<T> Drop for RealTimeConsumer<T> {
    fn drop(&mut self) {
        blocking::leave_quietly(&self.side.shared.parking, CONSUMER_GONE);
    }
}

handle_accessors!(
    RealTimeProducer,
    "channel_real_time_producer",
    tx,
    rx,
    "consumer"
);
handle_accessors!(
    RealTimeConsumer,
    "channel_real_time_consumer",
    rx,
    tx,
    "producer"
);
ready_iterator!(RealTimeConsumer);

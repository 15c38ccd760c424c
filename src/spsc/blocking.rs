//! The queue's blocking layer: spin, then sleep on a futex word of one's own.
//!
//! Each side has a futex word in the shared `Parking` line: `AWAKE`, or `SLEEPING` while
//! that side sleeps or is about to. The handshake is a Dekker pattern:
//!
//! | sleeper (slow path) | publisher (`push`/`pop`/`Drop`) |
//! |---|---|
//! | store `SLEEPING` to its word | store `tail`/`head` (or set `closed`) |
//! | **heavy fence**: `fence(SeqCst)` in `FenceMode::Fences` (the default); `membarrier` (an IPI to every CPU running this process) in `FenceMode::Membarrier` | **light fence**: `fence(SeqCst)` in `Fences`; a compiler fence in `Membarrier` |
//! | re-check `tail`/`head`/`closed`; sleep only if nothing changed | load the sleeper's word; wake it if `SLEEPING` |
//!
//! The fence pair orders each side's store before its load, so at least one side sees
//! the other's store: either the sleeper sees the publication and does not sleep, or
//! the publisher sees `SLEEPING` and wakes it. A `futex_wait` that starts after the wake
//! returns at once, since the publisher reset the word to `AWAKE` before waking. The
//! futex itself orders nothing; a woken side re-reads the ring through its own Acquire
//! loads (`refresh_head`/`refresh_tail`, `is_abandoned`).
//!
//! Cost to `push`/`pop`: one Relaxed load of the read-mostly parking line and a
//! predictable branch, plus the light fence. In `Membarrier` mode that is all (the fast
//! path, `wake_if_sleeping_fast`, has no fence and no check of the mode: the handle
//! chose the fast path at construction); in `Fences` mode the handles never take the
//! fast path, and `wake_if_sleeping` loads the process-wide mode byte and calls the
//! out-of-line `fence(SeqCst)`.
//!
//! **Facing a real-time side** (the handle's `poll` is `Some(interval)`), none of this
//! runs on the waiting side: the real-time side never checks for sleepers, so no one
//! would answer a `SLEEPING` announcement, and a Dekker handshake (with its heavy
//! fence) would buy nothing. The waiter instead sleeps by a timed futex wait of at most
//! `interval` on its own word, which stays `AWAKE` (nobody changes it, so the wait lasts
//! the whole interval), and re-checks the ring and `closed` after each. Progress and a
//! real-time side's drop are therefore seen at most one interval (plus scheduling
//! latency) late, at the price of `1 / interval` wake-ups per second while it waits.
//!
//! Every wait is deadline-based: a deadline of `None` (no timeout, or a `Duration` too
//! large for `Instant`) waits until progress or abandonment; otherwise the waiter
//! checks the clock before each sleep and sleeps no longer than what is left.

use super::errors::{Abandoned, PopTimeoutError, PushTimeoutError};
use super::{CONSUMER_GONE, Consumer, INDEX, PRODUCER_GONE, Parking, Producer, WRAP};
use crate::backoff::Backoff;
use crate::futex;
use crate::sync::atomic::AtomicU32;
use crate::sync::atomic::Ordering::{Relaxed, Release};
use std::time::{Duration, Instant};

/// The side runs (or is spinning).
pub(super) const AWAKE: u32 = 0;
/// The side sleeps on its word, or is about to.
pub(super) const SLEEPING: u32 = 1;

/// After publishing: wakes the other side if it sleeps on `word`.
#[inline(always)]
pub(super) fn wake_if_sleeping(word: &AtomicU32) {
    // The light half of the asymmetric fence: our store of `head`/`tail`/`closed` is
    // ordered before the load below, against the sleeper's heavy half (see module docs).
    futex::light_fence();
    if word.load(Relaxed) == SLEEPING {
        wake(word);
    }
}

/// `wake_if_sleeping` for the fast paths, which run only where
/// `futex::fast_light_fence_ok()` holds.
#[inline(always)]
pub(super) fn wake_if_sleeping_fast(word: &AtomicU32) {
    futex::fast_light_fence();
    if word.load(Relaxed) == SLEEPING {
        wake(word);
    }
}

#[cold]
#[inline(never)]
fn wake(word: &AtomicU32) {
    // Only the first publisher to see SLEEPING pays for the syscall. The futex orders
    // nothing; the woken side re-reads the ring with its own Acquire loads.
    if word.swap(AWAKE, Relaxed) == SLEEPING {
        futex::wake_one(word);
    }
}

/// A handle's `Drop`: mark it gone, then wake the other side so that it sees it.
pub(super) fn leave(parking: &Parking, gone: u32, other_side: &AtomicU32) {
    // Ordering: Release pairs with the Acquire load in the other side's `is_abandoned`:
    // everything this thread did before dropping its handle (its last push or pop
    // included) happens before whatever that side does after seeing the bit.
    parking.closed.fetch_or(gone, Release);
    // The handle's Arc is still alive here, so waking through `other_side` is safe.
    wake_if_sleeping(other_side);
}

/// A real-time handle's `Drop`: mark it gone, and wake no one. The other side, facing
/// a real-time peer, never sleeps longer than its poll interval, and sees the bit then.
/// (The `fetch_or` is a locked instruction on x86; dropping a handle is not part of
/// the real-time hot path, see `RealTimeProducer`'s docs.)
pub(super) fn leave_quietly(parking: &Parking, gone: u32) {
    // Ordering: Release pairs with the Acquire load in the other side's `is_abandoned`,
    // as in `leave`.
    parking.closed.fetch_or(gone, Release);
}

/// Sleeps on `word` unless `ready()` already holds after announcing it (the sleeper
/// half of the handshake in the module docs), for at most `timeout`.
#[cold]
fn sleep_unless(word: &AtomicU32, ready: impl Fn() -> bool, timeout: Option<Duration>) {
    set_own_word(word, SLEEPING);
    // The heavy half of the asymmetric fence: the write above is ordered before the
    // re-check below, against the publisher's light half.
    futex::heavy_fence();
    if !ready() {
        futex::wait(word, SLEEPING, timeout);
    }
    set_own_word(word, AWAKE);
}

/// How a wait step ended.
enum Waited {
    /// Spun or slept: try again.
    Retry,
    /// The other side is gone: one last try, then give up.
    Abandoned,
    /// The deadline passed.
    TimedOut,
}

/// One step of a waiting loop, after a failed try: give up if the other side is gone
/// or the deadline passed; otherwise spin, or sleep (a handshake sleep on `word` facing
/// a blocking side; a timed wait of at most `poll` facing a real-time side).
#[inline]
fn wait_step(
    backoff: &mut Backoff,
    deadline: Option<Instant>,
    abandoned: bool,
    word: &AtomicU32,
    poll: Option<Duration>,
    ready: impl Fn() -> bool,
) -> Waited {
    if abandoned {
        return Waited::Abandoned;
    }
    if !backoff.should_park() {
        backoff.snooze();
        return Waited::Retry;
    }
    let left = match deadline {
        None => None,
        Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Some(left),
            _ => return Waited::TimedOut,
        },
    };
    match poll {
        None => sleep_unless(word, ready, left),
        Some(poll) => {
            // Nobody wakes us and nobody changes `word` (it stays AWAKE): this sleeps
            // for the whole interval, or what is left of the deadline, whichever is less.
            let nap = left.map_or(poll, |left| left.min(poll));
            futex::wait(word, AWAKE, Some(nap));
        }
    }
    backoff.reset();
    Waited::Retry
}

/// `timeout` from now, or `None` (no deadline) if that instant is not representable.
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// The sleeper's write of its own word: a plain Relaxed store.
///
/// Under loom it is a Relaxed `swap` whose result is ignored, which real executions
/// cannot tell apart from the store (nothing else writes the word with Release, so no
/// release sequence changes; the value read is unused). The swap works around a bug
/// in loom 0.7.2 (tokio-rs/loom#254, tokio-rs/loom#389): loom does not place a plain
/// store after an RMW of another thread that read an earlier store of the storing
/// thread, although coherence and RMW atomicity put it there. Here the publisher's
/// `wake` swap reads the sleeper's `AWAKE`; the sleeper then stores `SLEEPING` again
/// and sleeps, and loom lets the publisher's next load, after its `SeqCst` fence,
/// still return the swap's `AWAKE`, an outcome no real execution has. loom reported
/// it as a lost wake-up (a deadlock) in `blocking_pop_never_misses_a_wake_up` at
/// `LOOM_MAX_PREEMPTIONS=3`. With every write of the word an RMW, loom keeps the
/// word's modification order total (an RMW reads only the newest write).
#[inline(always)]
fn set_own_word(word: &AtomicU32, value: u32) {
    #[cfg(not(fencepost_loom))]
    word.store(value, Relaxed);
    #[cfg(fencepost_loom)]
    word.swap(value, Relaxed);
}

impl<T> Producer<T> {
    /// Pushes `value`, waiting while the queue is full: first spinning briefly, then
    /// sleeping until the consumer pops or goes away (facing a
    /// [`RealTimeConsumer`](super::RealTimeConsumer), sleeping by timed waits of the
    /// [poll interval](Self::poll_interval), re-checking after each).
    ///
    /// # Errors
    ///
    /// [`Abandoned`] with the value if the queue is full and the consumer has been
    /// dropped, so that the value could never be received. (While there is room the
    /// push succeeds even if the consumer is gone; the item is then dropped with the
    /// queue, as for [`push`](Self::push).)
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, rx) = fencepost::spsc::channel(1);
    /// tx.push_blocking(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.push_blocking(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn push_blocking(&mut self, value: T) -> Result<(), Abandoned<T>> {
        self.push_until_inner(value, None)
            .map_err(|e| Abandoned(e.into_inner()))
    }

    /// [`push_blocking`](Self::push_blocking), giving up once `timeout` has passed.
    /// A `timeout` too large to add to [`Instant::now`] (`Duration::MAX`) means no
    /// deadline.
    ///
    /// # Errors
    ///
    /// [`PushTimeoutError::Timeout`] with the value if the queue stayed full until the
    /// deadline, [`PushTimeoutError::Abandoned`] if it is full and the consumer is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (mut tx, _rx) = fencepost::spsc::channel(1);
    /// tx.push_blocking_timeout(1, Duration::from_millis(1)).unwrap();
    /// let err = tx.push_blocking_timeout(2, Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err.into_inner(), 2);
    /// ```
    pub fn push_blocking_timeout(
        &mut self,
        value: T,
        timeout: Duration,
    ) -> Result<(), PushTimeoutError<T>> {
        self.push_until_inner(value, deadline_after(timeout))
    }

    /// [`push_blocking`](Self::push_blocking), giving up once `deadline` has passed
    /// (a deadline in the past still tries once).
    ///
    /// # Errors
    ///
    /// As for [`push_blocking_timeout`](Self::push_blocking_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (mut tx, _rx) = fencepost::spsc::channel(1);
    /// let past = Instant::now();
    /// assert!(tx.push_blocking_until(1, past).is_ok()); // room: no wait needed
    /// let deadline = Instant::now() + Duration::from_millis(2);
    /// assert!(tx.push_blocking_until(2, deadline).is_err());
    /// assert!(Instant::now() >= deadline);
    /// ```
    pub fn push_blocking_until(
        &mut self,
        value: T,
        deadline: Instant,
    ) -> Result<(), PushTimeoutError<T>> {
        self.push_until_inner(value, Some(deadline))
    }

    fn push_until_inner(
        &mut self,
        mut value: T,
        deadline: Option<Instant>,
    ) -> Result<(), PushTimeoutError<T>> {
        let mut backoff = Backoff::new();
        loop {
            match self.push(value) {
                Ok(()) => return Ok(()),
                Err(full) => value = full.into_inner(),
            }
            match self.wait_for_room(&mut backoff, deadline) {
                Waited::Retry => {}
                // The Acquire in `is_abandoned` made the consumer's last pop visible:
                // one more try sees every slot it freed.
                Waited::Abandoned => {
                    return self
                        .push(value)
                        .map_err(|full| PushTimeoutError::Abandoned(full.into_inner()));
                }
                Waited::TimedOut => return Err(PushTimeoutError::Timeout(value)),
            }
        }
    }

    /// Pushes all of `values`, in order, waiting for room as
    /// [`push_blocking`](Self::push_blocking) does; publishes as many as fit at each
    /// step. Returns how many were pushed: `values.len()`, or fewer only if the
    /// consumer is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::thread;
    /// let (mut tx, mut rx) = fencepost::spsc::channel(2);
    /// let t = thread::spawn(move || tx.push_slice_blocking(&[1, 2, 3, 4, 5]));
    /// let mut out = [0; 5];
    /// assert_eq!(rx.pop_slice_blocking(&mut out), 5);
    /// assert_eq!(out, [1, 2, 3, 4, 5]);
    /// assert_eq!(t.join().unwrap(), 5);
    /// ```
    pub fn push_slice_blocking(&mut self, values: &[T]) -> usize
    where
        T: Copy,
    {
        self.push_slice_until_inner(values, None)
    }

    /// [`push_slice_blocking`](Self::push_slice_blocking), giving up once `timeout` has
    /// passed (`Duration::MAX`: no deadline). Returns how many items were pushed
    /// before the deadline (or before the consumer went away).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (mut tx, _rx) = fencepost::spsc::channel(3);
    /// assert_eq!(tx.push_slice_blocking_timeout(&[1, 2, 3, 4], Duration::from_millis(1)), 3);
    /// ```
    pub fn push_slice_blocking_timeout(&mut self, values: &[T], timeout: Duration) -> usize
    where
        T: Copy,
    {
        self.push_slice_until_inner(values, deadline_after(timeout))
    }

    /// [`push_slice_blocking`](Self::push_slice_blocking), giving up once `deadline`
    /// has passed; returns how many items were pushed.
    pub fn push_slice_blocking_until(&mut self, values: &[T], deadline: Instant) -> usize
    where
        T: Copy,
    {
        self.push_slice_until_inner(values, Some(deadline))
    }

    fn push_slice_until_inner(&mut self, values: &[T], deadline: Option<Instant>) -> usize
    where
        T: Copy,
    {
        let mut done = 0;
        let mut backoff = Backoff::new();
        loop {
            let moved = self.push_slice(&values[done..]);
            done += moved;
            if done == values.len() {
                return done;
            }
            if moved > 0 {
                backoff.reset();
            }
            match self.wait_for_room(&mut backoff, deadline) {
                Waited::Retry => {}
                Waited::Abandoned => return done + self.push_slice(&values[done..]),
                Waited::TimedOut => return done,
            }
        }
    }

    /// After a push found the queue full: one wait step.
    fn wait_for_room(&self, backoff: &mut Backoff, deadline: Option<Instant>) -> Waited {
        let (shared, tail) = (&self.side.shared, self.side.tail);
        wait_step(
            backoff,
            deadline,
            self.is_abandoned(),
            &shared.parking.producer,
            self.poll,
            // Relaxed re-checks: `push` and `is_abandoned` re-read with Acquire.
            || {
                shared.head.load(Relaxed) ^ tail != WRAP
                    || shared.parking.closed.load(Relaxed) & CONSUMER_GONE != 0
            },
        )
    }
}

impl<T> Consumer<T> {
    /// Pops the oldest item, waiting while the queue is empty: first spinning briefly,
    /// then sleeping until the producer pushes or goes away (facing a
    /// [`RealTimeProducer`](super::RealTimeProducer), sleeping by timed waits of the
    /// [poll interval](Self::poll_interval), re-checking after each).
    ///
    /// Returns `None` only once the producer is gone and every item it pushed has been
    /// popped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::{thread};
    /// let (mut tx, mut rx) = fencepost::spsc::channel(4);
    /// let t = thread::spawn(move || tx.push(42).unwrap());
    /// assert_eq!(rx.pop_blocking(), Some(42));
    /// t.join().unwrap();
    /// assert_eq!(rx.pop_blocking(), None);
    /// ```
    pub fn pop_blocking(&mut self) -> Option<T> {
        self.pop_until_inner(None).ok()
    }

    /// [`pop_blocking`](Self::pop_blocking), giving up once `timeout` has passed
    /// (`Duration::MAX`: no deadline).
    ///
    /// # Errors
    ///
    /// [`PopTimeoutError::Timeout`] if the queue stayed empty until the deadline,
    /// [`PopTimeoutError::Abandoned`] if it is empty and the producer is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use fencepost::spsc::PopTimeoutError;
    /// use std::time::Duration;
    /// let (mut tx, mut rx) = fencepost::spsc::channel(1);
    /// tx.push(1).unwrap();
    /// assert_eq!(rx.pop_blocking_timeout(Duration::from_millis(1)), Ok(1));
    /// assert_eq!(rx.pop_blocking_timeout(Duration::from_millis(1)), Err(PopTimeoutError::Timeout));
    /// ```
    pub fn pop_blocking_timeout(&mut self, timeout: Duration) -> Result<T, PopTimeoutError> {
        self.pop_until_inner(deadline_after(timeout))
    }

    /// [`pop_blocking`](Self::pop_blocking), giving up once `deadline` has passed (a
    /// deadline in the past still tries once).
    ///
    /// # Errors
    ///
    /// As for [`pop_blocking_timeout`](Self::pop_blocking_timeout).
    pub fn pop_blocking_until(&mut self, deadline: Instant) -> Result<T, PopTimeoutError> {
        self.pop_until_inner(Some(deadline))
    }

    fn pop_until_inner(&mut self, deadline: Option<Instant>) -> Result<T, PopTimeoutError> {
        let mut backoff = Backoff::new();
        loop {
            if let Some(value) = self.pop() {
                return Ok(value);
            }
            match self.wait_for_items(&mut backoff, deadline) {
                Waited::Retry => {}
                // The Acquire in `is_abandoned` made the producer's last push visible.
                Waited::Abandoned => return self.pop().ok_or(PopTimeoutError::Abandoned),
                Waited::TimedOut => return Err(PopTimeoutError::Timeout),
            }
        }
    }

    /// Fills all of `out` with the oldest items, in order, waiting for items as
    /// [`pop_blocking`](Self::pop_blocking) does; takes as many as are ready at each
    /// step. Returns how many were popped: `out.len()`, or fewer only if the producer
    /// is gone and the queue is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel(4);
    /// tx.push_slice(&[1, 2, 3]);
    /// drop(tx);
    /// let mut out = [0; 4];
    /// assert_eq!(rx.pop_slice_blocking(&mut out), 3);
    /// ```
    pub fn pop_slice_blocking(&mut self, out: &mut [T]) -> usize
    where
        T: Copy,
    {
        self.pop_slice_until_inner(out, None)
    }

    /// [`pop_slice_blocking`](Self::pop_slice_blocking), giving up once `timeout` has
    /// passed (`Duration::MAX`: no deadline). Returns how many items were popped
    /// before the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (mut tx, mut rx) = fencepost::spsc::channel(4);
    /// tx.push_slice(&[1, 2]);
    /// let mut out = [0; 4];
    /// assert_eq!(rx.pop_slice_blocking_timeout(&mut out, Duration::from_millis(1)), 2);
    /// ```
    pub fn pop_slice_blocking_timeout(&mut self, out: &mut [T], timeout: Duration) -> usize
    where
        T: Copy,
    {
        self.pop_slice_until_inner(out, deadline_after(timeout))
    }

    /// [`pop_slice_blocking`](Self::pop_slice_blocking), giving up once `deadline` has
    /// passed; returns how many items were popped.
    pub fn pop_slice_blocking_until(&mut self, out: &mut [T], deadline: Instant) -> usize
    where
        T: Copy,
    {
        self.pop_slice_until_inner(out, Some(deadline))
    }

    fn pop_slice_until_inner(&mut self, out: &mut [T], deadline: Option<Instant>) -> usize
    where
        T: Copy,
    {
        let mut done = 0;
        let mut backoff = Backoff::new();
        loop {
            let moved = self.pop_slice(&mut out[done..]);
            done += moved;
            if done == out.len() {
                return done;
            }
            if moved > 0 {
                backoff.reset();
            }
            match self.wait_for_items(&mut backoff, deadline) {
                Waited::Retry => {}
                Waited::Abandoned => return done + self.pop_slice(&mut out[done..]),
                Waited::TimedOut => return done,
            }
        }
    }

    /// After a pop found the queue empty: one wait step.
    fn wait_for_items(&self, backoff: &mut Backoff, deadline: Option<Instant>) -> Waited {
        let (shared, head) = (&self.side.shared, self.side.head);
        wait_step(
            backoff,
            deadline,
            self.is_abandoned(),
            &shared.parking.consumer,
            self.poll,
            // Relaxed re-checks: `pop` and `is_abandoned` re-read with Acquire.
            || {
                shared.tail.load(Relaxed) != head
                    || shared.parking.closed.load(Relaxed) & PRODUCER_GONE != 0
            },
        )
    }
}

// `INDEX` is part of the word layout the re-checks above rely on: an unchanged word
// means an unchanged index and bit.
const _: () = assert!(INDEX & WRAP == 0);

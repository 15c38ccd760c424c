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

use super::Abandoned;
use super::{CONSUMER_GONE, Consumer, INDEX, PRODUCER_GONE, Parking, Producer, WRAP};
use crate::backoff::Backoff;
use crate::futex;
use crate::sync::atomic::AtomicU32;
use crate::sync::atomic::Ordering::{Relaxed, Release};

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

/// Sleeps on `word` unless `ready()` already holds after announcing it (the sleeper
/// half of the handshake in the module docs).
#[cold]
fn sleep_unless(word: &AtomicU32, ready: impl Fn() -> bool) {
    set_own_word(word, SLEEPING);
    // The heavy half of the asymmetric fence: the write above is ordered before the
    // re-check below, against the publisher's light half.
    futex::heavy_fence();
    if !ready() {
        futex::wait(word, SLEEPING, None);
    }
    set_own_word(word, AWAKE);
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
    /// sleeping until the consumer pops or goes away.
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
    pub fn push_blocking(&mut self, mut value: T) -> Result<(), Abandoned<T>> {
        let mut backoff = Backoff::new();
        loop {
            match self.push(value) {
                Ok(()) => return Ok(()),
                Err(full) => value = full.into_inner(),
            }
            if self.is_abandoned() {
                // The Acquire in `is_abandoned` made the consumer's last pop visible:
                // one more try sees every slot it freed.
                return self
                    .push(value)
                    .map_err(|full| Abandoned(full.into_inner()));
            }
            if backoff.should_park() {
                let (shared, tail) = (&self.shared, self.tail);
                sleep_unless(&shared.parking.producer, || {
                    // Relaxed re-checks: `push` and `is_abandoned` re-read with Acquire.
                    shared.head.load(Relaxed) ^ tail != WRAP
                        || shared.parking.closed.load(Relaxed) & CONSUMER_GONE != 0
                });
                backoff.reset();
            } else {
                backoff.snooze();
            }
        }
    }
}

impl<T> Consumer<T> {
    /// Pops the oldest item, waiting while the queue is empty: first spinning briefly,
    /// then sleeping until the producer pushes or goes away.
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
        let mut backoff = Backoff::new();
        loop {
            if let Some(value) = self.pop() {
                return Some(value);
            }
            if self.is_abandoned() {
                // The Acquire in `is_abandoned` made the producer's last push visible.
                return self.pop();
            }
            if backoff.should_park() {
                let (shared, head) = (&self.shared, self.head);
                sleep_unless(&shared.parking.consumer, || {
                    // Relaxed re-checks: `pop` and `is_abandoned` re-read with Acquire.
                    shared.tail.load(Relaxed) != head
                        || shared.parking.closed.load(Relaxed) & PRODUCER_GONE != 0
                });
                backoff.reset();
            } else {
                backoff.snooze();
            }
        }
    }
}

// `INDEX` is part of the word layout the re-checks above rely on: an unchanged word
// means an unchanged index and bit.
const _: () = assert!(INDEX & WRAP == 0);

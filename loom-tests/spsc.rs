//! loom models of the wrap-bit SPSC queue.
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=3 \
//!       cargo test --release --test loom_spsc`
//!
//! How to read these tests: `loom::model` runs the closure once for every interleaving
//! (and every weak-memory outcome loom can produce) of its threads, up to the preemption
//! bound. Inside, the crate's atomics, `UnsafeCell`s and futex are loom's: a slot read
//! that is not ordered after its write is reported as a data race, and a thread that
//! sleeps on a futex nobody wakes is reported as a deadlock. Each test asserts one
//! property; the `broken_*` tests at the end re-create the protocol with one step
//! weakened and expect loom to find the bug (`#[should_panic]`).
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::spsc::{self, Producer};
use loom::sync::Arc;
use loom::sync::atomic::AtomicUsize;
use loom::sync::atomic::Ordering::{self, Acquire, Relaxed, Release, SeqCst};
use loom::thread;

/// Pushes `v`, yielding to the model checker while the queue is full.
fn push_spin<T>(tx: &mut Producer<T>, mut v: T) {
    loop {
        match tx.push(v) {
            Ok(()) => return,
            Err(full) => {
                v = full.into_inner();
                thread::yield_now();
            }
        }
    }
}

/// `items` values through a queue of `cap` slots, exactly once and in order. With
/// `items > cap` the producer fills the ring, meets a stale cached head, refreshes it,
/// and both words go around the ring at least once, so every wrap-bit transition (fill
/// by the producer, empty by the consumer) happens against stale caches.
fn in_order(cap: usize, items: usize) {
    loom::model(move || {
        let (mut tx, mut rx) = spsc::channel::<usize>(cap);
        let producer = thread::spawn(move || {
            for i in 0..items {
                push_spin(&mut tx, i);
            }
        });
        let mut expected = 0;
        while expected < items {
            match rx.pop() {
                Some(v) => {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(rx.pop(), None);
        assert!(rx.is_empty());
    });
}

#[test]
fn capacity_1_delivers_in_order_across_the_wrap() {
    in_order(1, 3);
}

#[test]
fn capacity_2_delivers_in_order_across_the_wrap() {
    in_order(2, 4);
}

/// Two laps of a 3-slot ring: the only capacity in these models with runs of plain
/// increments (the fast path), and long enough that the producer rewrites slots the
/// consumer read on its fast path, so both fast-path publications are exercised.
#[test]
fn capacity_3_delivers_in_order_across_two_laps() {
    in_order(3, 6);
}

/// Full and empty are told apart correctly while the other side moves: the producer
/// fills a ring of `cap` (the fill rule), the consumer drains it (the empty rule) while
/// the producer already refills, so both transitions race with the other side's cache.
fn full_then_empty_transitions(cap: usize) {
    loom::model(move || {
        let (mut tx, mut rx) = spsc::channel::<usize>(cap);
        for i in 0..cap {
            tx.push(i).unwrap();
        }
        assert!(tx.push(usize::MAX).is_err(), "a full ring must refuse");
        let producer = thread::spawn(move || {
            push_spin(&mut tx, cap);
            // Whatever the consumer did, the ring never claims more than `cap`.
            assert!(tx.len() <= cap);
        });
        for i in 0..=cap {
            loop {
                if let Some(v) = rx.pop() {
                    assert_eq!(v, i);
                    break;
                }
                thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert_eq!(rx.pop(), None, "empty after exactly cap + 1 items");
    });
}

#[test]
fn capacity_1_full_and_empty_transitions_race_correctly() {
    full_then_empty_transitions(1);
}

#[test]
fn capacity_2_full_and_empty_transitions_race_correctly() {
    full_then_empty_transitions(2);
}

#[test]
fn capacity_3_full_and_empty_transitions_race_correctly() {
    full_then_empty_transitions(3);
}

#[test]
fn slices_cross_the_wrap_exactly_once_in_order() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<u8>(3);
        // Start at index 2 so the batches wrap.
        assert_eq!(tx.push_slice(&[0, 0]), 2);
        let mut sink = [0u8; 2];
        assert_eq!(rx.pop_slice(&mut sink), 2);
        let producer = thread::spawn(move || {
            let data = [1u8, 2, 3, 4];
            let mut sent = 0;
            while sent < data.len() {
                let n = tx.push_slice(&data[sent..]);
                sent += n;
                if n == 0 {
                    thread::yield_now();
                }
            }
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 2];
        while got.len() < 4 {
            let n = rx.pop_slice(&mut buf);
            got.extend_from_slice(&buf[..n]);
            if n == 0 {
                thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3, 4]);
    });
}

#[test]
fn peek_sees_the_published_item() {
    loom::model(|| {
        let (mut tx, rx) = spsc::channel::<usize>(1);
        let producer = thread::spawn(move || tx.push(7).unwrap());
        // Either nothing yet, or the fully written item (loom flags a racy read).
        if let Some(v) = rx.peek() {
            assert_eq!(*v, 7);
        }
        producer.join().unwrap();
        assert_eq!(rx.peek(), Some(&7));
    });
}

#[test]
fn blocking_pop_never_misses_a_wake_up() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(1);
        let producer = thread::spawn(move || {
            tx.push_blocking(1).unwrap();
            tx.push_blocking(2).unwrap();
        });
        // A lost wake-up would leave this thread asleep: a loom deadlock.
        assert_eq!(rx.pop_blocking(), Some(1));
        assert_eq!(rx.pop_blocking(), Some(2));
        producer.join().unwrap();
    });
}

#[test]
fn blocking_pop_wakes_and_returns_none_when_the_producer_goes() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(1);
        let producer = thread::spawn(move || {
            tx.push(5).unwrap();
            drop(tx);
        });
        assert_eq!(rx.pop_blocking(), Some(5), "the last push is never lost");
        assert_eq!(rx.pop_blocking(), None);
        producer.join().unwrap();
    });
}

#[test]
fn blocking_push_wakes_when_the_consumer_frees_a_slot_or_goes() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(1);
        tx.push(1).unwrap();
        let consumer = thread::spawn(move || {
            assert_eq!(rx.pop(), Some(1));
        });
        // Succeeds once the slot frees; the consumer may be gone by then (room left).
        tx.push_blocking(2).unwrap();
        consumer.join().unwrap();
        // Full and the consumer gone: an error, not a sleep forever.
        assert_eq!(tx.push_blocking(3).unwrap_err().into_inner(), 3);
    });
}

#[test]
fn is_abandoned_makes_the_last_push_visible() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(2);
        let producer = thread::spawn(move || {
            tx.push(9).unwrap();
        });
        if rx.is_abandoned() {
            assert_eq!(rx.pop(), Some(9));
        }
        producer.join().unwrap();
    });
}

/// The consumer's thread notes something and drops its handle: a producer that sees
/// it abandoned sees the note (the Release `fetch_or` of the drop, against the Acquire
/// load of `is_abandoned`).
fn consumers_drop_synchronizes_with_is_abandoned<C: Send + 'static>(
    make: fn(usize) -> (Producer<usize>, C),
) {
    loom::model(move || {
        let (tx, rx) = make(1);
        let note = Arc::new(AtomicUsize::new(0));
        let consumer = {
            let note = Arc::clone(&note);
            thread::spawn(move || {
                note.store(1, Relaxed);
                drop(rx);
            })
        };
        if tx.is_abandoned() {
            assert_eq!(
                note.load(Relaxed),
                1,
                "what the consumer did before leaving"
            );
        }
        consumer.join().unwrap();
    });
}

#[test]
fn is_abandoned_synchronizes_with_the_consumers_drop() {
    consumers_drop_synchronizes_with_is_abandoned(spsc::channel::<usize>);
}

// ---------------------------------------------------------------------------------
// Real-time sides: nothing ever wakes the blocking side, which waits by timed waits.
// Under loom a timed wait re-checks its word and times out at once (`futex/loom.rs`),
// so these models explore every schedule in which the poll interval elapsed; a
// blocking side that relied on a wake-up here would spin forever or sleep forever,
// which loom reports.
// ---------------------------------------------------------------------------------

/// Pops one item from a real-time consumer, yielding while the queue is empty.
fn pop_spin_real_time(rx: &mut spsc::RealTimeConsumer<usize>) -> usize {
    loop {
        if let Some(v) = rx.pop() {
            return v;
        }
        thread::yield_now();
    }
}

#[test]
fn blocking_producer_facing_a_real_time_consumer_sees_the_room_and_the_drop() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel_real_time_consumer::<usize>(1);
        tx.push(1).unwrap();
        let consumer = thread::spawn(move || {
            assert_eq!(pop_spin_real_time(&mut rx), 1);
            // Dropped here: sets `closed`, wakes no one.
        });
        // Needs the slot the consumer frees, seen by polling (nobody wakes us).
        tx.push_blocking(2).unwrap();
        // Full, and the consumer takes nothing more: it must be seen leaving.
        assert_eq!(tx.push_blocking(3).unwrap_err().into_inner(), 3);
        consumer.join().unwrap();
    });
}

#[test]
fn blocking_consumer_facing_a_real_time_producer_sees_every_item_and_the_drop() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel_real_time_producer::<usize>(1);
        let producer = thread::spawn(move || {
            for i in 1..=2 {
                while tx.push(i).is_err() {
                    thread::yield_now();
                }
            }
        });
        assert_eq!(rx.pop_blocking(), Some(1));
        assert_eq!(rx.pop_blocking(), Some(2), "the last push is never lost");
        assert_eq!(rx.pop_blocking(), None, "the producer's drop is seen");
        producer.join().unwrap();
    });
}

#[test]
fn a_real_time_sides_drop_synchronizes_with_is_abandoned() {
    consumers_drop_synchronizes_with_is_abandoned(spsc::channel_real_time_consumer::<usize>);
}

/// An item that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[test]
fn leftovers_are_dropped_exactly_once_when_handles_drop_on_two_threads() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = spsc::channel::<Counted>(2);
        tx.push(Counted(Arc::clone(&drops))).unwrap();
        let producer = {
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                let _ = tx.push(Counted(drops));
                drop(tx);
            })
        };
        drop(rx.pop());
        drop(rx);
        producer.join().unwrap();
        assert_eq!(drops.load(Relaxed), 2);
    });
}

// ---------------------------------------------------------------------------------
// Broken twins: the same protocol with one step weakened. loom must find each bug.
// Each is run once correct and once broken; `scripts/twin-lab` tells their stories
// (`loom-tests/twins.md`), from the log the `lab` wrappers keep.
// ---------------------------------------------------------------------------------

/// A two-slot wrap-bit ring reduced to its core, with the tail publication's ordering
/// as a parameter. `Release` is the real protocol; `Relaxed` is the broken twin.
struct TwinRing {
    tail: lab::AtomicUsize,
    slots: [lab::Cell<usize>; 2],
}

fn twin_publish(publish: Ordering) {
    lab::model("consumer", move || {
        let ring = Arc::new(TwinRing {
            tail: lab::AtomicUsize::new("tail", 0),
            slots: [lab::Cell::new("slot[0]", 0), lab::Cell::new("slot[1]", 0)],
        });
        let producer = {
            let ring = Arc::clone(&ring);
            lab::spawn("producer", move || {
                // SAFETY: slot 0 is the producer's until it publishes `tail`.
                unsafe { ring.slots[0].write(42) };
                ring.tail.store(1, publish);
            })
        };
        if ring.tail.load(Acquire) == 1 {
            // SAFETY: the consumer owns the slots below `tail`, if the publication
            // ordered the producer's write first (loom checks that it did).
            let v = unsafe { ring.slots[0].read() };
            assert_eq!(v, 42);
        }
        producer.join().unwrap();
    });
}

#[test]
fn twin_with_release_publish_is_correct() {
    twin_publish(Release);
}

/// Broken twin: the producer publishes `tail` with Relaxed. The consumer can then see
/// the new tail and read the slot before the producer's write of it is visible. On
/// aarch64 the store of `tail` and the store into the slot may become visible in either
/// order (they are plain `str`s without `stlr`), so the consumer reads a stale slot.
/// x86 hides the bug: its stores become visible in program order (TSO), so a Relaxed
/// store compiles to the same `mov` as a Release one, and only the compiler could
/// reorder them. loom reports the unordered slot access as a data race.
#[test]
#[should_panic]
fn broken_twin_relaxed_tail_publish_is_a_data_race() {
    twin_publish(Relaxed);
}

/// How the producer sets tail's wrap bit when its push fills the ring.
#[derive(Clone, Copy)]
enum FillRule {
    /// The seed's rule: the complement of head's bit.
    ComplementOfHead,
    /// The bug: flip its own bit.
    FlipOwnBit,
}

const TWIN_WRAP: usize = 1 << (usize::BITS - 1);

/// `index` or `index+wrap`, for the lab's log.
fn show_wrap_word(word: usize) -> String {
    if word & TWIN_WRAP == 0 {
        format!("{word}")
    } else {
        format!("{}+wrap", word & !TWIN_WRAP)
    }
}

/// Three items through a two-slot wrap-bit ring whose producer fills it by `rule`.
fn twin_wrap_bit(rule: FillRule) {
    const CAP: usize = 2;
    lab::model("consumer", move || {
        let head = Arc::new(lab::AtomicUsize::with_format("head", 0, show_wrap_word));
        let tail = Arc::new(lab::AtomicUsize::with_format("tail", 0, show_wrap_word));
        let slots = Arc::new([
            lab::AtomicUsize::new("slot[0]", 0),
            lab::AtomicUsize::new("slot[1]", 0),
        ]);
        let done = Arc::new(lab::AtomicBool::new("done", false));
        let producer = {
            let (head, tail, slots) = (Arc::clone(&head), Arc::clone(&tail), Arc::clone(&slots));
            let done = Arc::clone(&done);
            lab::spawn("producer", move || {
                let mut t = 0usize;
                for value in 1..=3 {
                    // Wait while full (same index, different bit).
                    while head.load(Acquire) ^ t == TWIN_WRAP {
                        thread::yield_now();
                    }
                    let idx = t & !TWIN_WRAP;
                    slots[idx].store(value, Relaxed);
                    let next = (idx + 1) % CAP;
                    let h = head.load(Acquire);
                    let bit = if next != h & !TWIN_WRAP {
                        t & TWIN_WRAP
                    } else {
                        match rule {
                            FillRule::ComplementOfHead => !h & TWIN_WRAP,
                            FillRule::FlipOwnBit => !t & TWIN_WRAP,
                        }
                    };
                    t = next | bit;
                    tail.store(t, Release);
                }
                done.store(true, Release);
            })
        };
        let mut h = 0usize;
        let mut got = Vec::new();
        while got.len() < 3 {
            let t = tail.load(Acquire);
            if t == h {
                if done.load(Acquire) && tail.load(Acquire) == h {
                    break; // looks empty for good: items were lost
                }
                thread::yield_now();
                continue;
            }
            let idx = h & !TWIN_WRAP;
            got.push(slots[idx].load(Relaxed));
            let next = (idx + 1) % CAP;
            h = if next == t & !TWIN_WRAP {
                t
            } else {
                next | (h & TWIN_WRAP)
            };
            head.store(h, Release);
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3], "items lost or reordered");
    });
}

#[test]
fn twin_wrap_bit_from_heads_complement_delivers_every_item() {
    twin_wrap_bit(FillRule::ComplementOfHead);
}

/// Broken twin of the wrap-bit rule: a producer that *flips its own bit* when it fills
/// the ring, instead of taking the complement of head's. After fill → one pop → refill
/// without an empty in between, tail's bit equals head's again, so a full ring looks
/// empty: the consumer stops seeing the items and the producer overwrites unread slots.
/// No memory model is involved, so this breaks on every CPU; loom finds the lost items.
#[test]
#[should_panic]
fn broken_twin_wrap_bit_flipped_from_own_word_loses_items() {
    twin_wrap_bit(FillRule::FlipOwnBit);
}

/// The blocking layer's sleep handshake, with or without its store→load fences. The
/// sleeper announces itself and re-checks the ring; the publisher publishes and checks
/// for a sleeper (under loom the asymmetric fence pair is `fence(SeqCst)` on each side).
fn twin_sleep_handshake(fences: bool) {
    lab::model("publisher", move || {
        // The sleeper is a spawned thread, and state is shared through std's `Arc`
        // (whose drop does not call into loom), so that loom's deadlock panic unwinds
        // cleanly instead of aborting in a destructor.
        let tail = std::sync::Arc::new(lab::AtomicUsize::new("tail", 0));
        let sleeping = std::sync::Arc::new(lab::AtomicU32::new("sleeping", 0));
        let sleeper = {
            let (tail, sleeping) = (
                std::sync::Arc::clone(&tail),
                std::sync::Arc::clone(&sleeping),
            );
            lab::spawn("sleeper", move || {
                sleeping.store(1, Relaxed);
                if fences {
                    lab::fence(SeqCst);
                }
                if tail.load(Acquire) == 0 {
                    lab::futex_wait(&sleeping, 1);
                }
            })
        };
        tail.store(1, Release);
        if fences {
            lab::fence(SeqCst);
        }
        if sleeping.load(Relaxed) == 1 && sleeping.swap(0, Relaxed) == 1 {
            lab::futex_wake_one(&sleeping);
        }
        sleeper.join().unwrap();
    });
}

#[test]
fn twin_sleep_handshake_with_fences_never_loses_the_wake_up() {
    twin_sleep_handshake(true);
}

/// Broken twin of the blocking layer: the sleep handshake without the store→load
/// fences. Without a fence between each side's store and its load, both loads may read
/// the old values (store buffering): the sleeper sleeps and the publisher does not wake
/// it. On x86 this happens too (a store waits in the store buffer while the later load
/// runs; only `mfence`/locked ops or `membarrier` prevent it); aarch64 reorders even
/// more. loom reports the sleeper that is never woken as a deadlock.
#[test]
#[should_panic]
fn broken_twin_sleep_handshake_without_fences_loses_the_wake_up() {
    twin_sleep_handshake(false);
}

/// The blocking side facing a real-time side, reduced to its core: the real-time
/// producer publishes `tail` and leaves (`closed`) without ever looking at the
/// waiter's word; the waiter either sleeps by timed waits, re-checking after each
/// (the real protocol; under loom a timed wait times out at once, recorded as a
/// `timed_wait` step), or goes through the handshake sleep it uses facing a blocking
/// peer, an untimed futex wait (the broken twin).
fn twin_real_time_wait(timed: bool) {
    lab::model("rt", move || {
        // std's `Arc` for the reason given in `twin_sleep_handshake`.
        let tail = std::sync::Arc::new(lab::AtomicUsize::new("tail", 0));
        let closed = std::sync::Arc::new(lab::AtomicU32::new("closed", 0));
        let sleeping = std::sync::Arc::new(lab::AtomicU32::new("sleeping", 0));
        let waiter = {
            let (tail, closed, sleeping) = (
                std::sync::Arc::clone(&tail),
                std::sync::Arc::clone(&closed),
                std::sync::Arc::clone(&sleeping),
            );
            lab::spawn("waiter", move || {
                loop {
                    if tail.load(Acquire) == 1 {
                        return; // got the item
                    }
                    if closed.load(Acquire) == 1 {
                        assert_eq!(tail.load(Acquire), 1, "the last push is never lost");
                        return;
                    }
                    if timed {
                        lab::step("timed_wait", "sleeping");
                        thread::yield_now();
                    } else {
                        sleeping.store(1, Relaxed);
                        lab::fence(SeqCst);
                        if tail.load(Acquire) == 0 && closed.load(Acquire) == 0 {
                            lab::futex_wait(&sleeping, 1);
                        }
                        sleeping.store(0, Relaxed);
                    }
                }
            })
        };
        // The real-time side: publish, leave; no sleeper check, no wake.
        tail.store(1, Release);
        closed.store(1, Release);
        waiter.join().unwrap();
    });
}

#[test]
fn twin_real_time_peer_with_timed_waits_is_always_seen() {
    twin_real_time_wait(true);
}

/// Broken twin of the real-time mode: a blocking side facing a real-time side that
/// sleeps as it does facing a blocking side, on an untimed futex wait after the
/// handshake. The handshake is only half there: the real-time side never loads the
/// sleeper's word (that check is what it must not run), so when the waiter's re-check
/// comes before the publication, it sleeps and nobody ever wakes it. No memory model
/// is involved: this hangs on every CPU, and loom reports it as a deadlock.
#[test]
#[should_panic]
fn broken_twin_untimed_wait_facing_a_real_time_side_sleeps_forever() {
    twin_real_time_wait(false);
}

//! loom models of `SeqLock`: every interleaving (up to `LOOM_MAX_PREEMPTIONS`) and
//! every value a `Relaxed` load may return under the C++/Rust memory model.
//!
//! Payloads are 2-3 words whose words always hold the same number, so a torn copy
//! shows as words that disagree. Each model has at most 3 threads.
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --test loom_seqlock`.
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::SeqLock;
use loom::sync::Arc;
use loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use loom::thread;

fn assert_untorn<const N: usize>(words: [usize; N]) -> usize {
    assert!(words.iter().all(|&w| w == words[0]), "torn read: {words:?}");
    words[0]
}

#[test]
fn reader_racing_a_writer_sees_whole_values() {
    loom::model(|| {
        let lock = Arc::new(SeqLock::new([0usize; 3]));
        let writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                lock.write([1; 3]);
                lock.write([2; 3]);
            })
        };
        let first = assert_untorn(lock.read());
        let second = assert_untorn(lock.read());
        assert!(second >= first, "went back in time: {second} after {first}");
        writer.join().unwrap();
        assert_eq!(lock.read(), [2; 3]);
    });
}

#[test]
fn try_read_accepts_only_whole_values() {
    loom::model(|| {
        let lock = Arc::new(SeqLock::new([0usize; 2]));
        let writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || lock.write([1; 2]))
        };
        if let Some(words) = lock.try_read() {
            assert_untorn(words);
        }
        writer.join().unwrap();
        assert_eq!(lock.try_read(), Some([1; 2]));
    });
}

#[test]
fn two_readers_racing_a_writer_see_whole_values() {
    loom::model(|| {
        let lock = Arc::new(SeqLock::new([0usize; 2]));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let lock = Arc::clone(&lock);
                // One attempt each: retry loops of two readers exhaust loom's
                // branch budget, and one attempt already meets the write anywhere.
                thread::spawn(move || lock.try_read().map(assert_untorn))
            })
            .collect();
        lock.write([1; 2]);
        for r in readers {
            assert!(r.join().unwrap().is_none_or(|v| v <= 1));
        }
    });
}

#[test]
fn two_writers_serialise_and_lose_no_update() {
    loom::model(|| {
        let lock = Arc::new(SeqLock::new([0usize; 2]));
        let other = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                lock.update(|w| *w = [w[0] + 1; 2]);
            })
        };
        lock.update(|w| {
            assert_untorn(*w);
            *w = [w[0] + 1; 2];
        });
        other.join().unwrap();
        assert_eq!(lock.read(), [2; 2]);
    });
}

#[test]
fn three_writers_with_sleepers_lose_no_update_and_no_wake_up() {
    // While one writer holds the lock the others spin once (under loom) and then sleep
    // on the futex word; whoever sleeps must be woken (a lost wake-up is a loom
    // deadlock), and no update may be lost. Two waiters at once is what checks that no
    // waiter ever spins on the holder's progress: loom's scheduler may let two spinning
    // threads yield to each other forever, which shows as exceeding its branch limit.
    // It also kills the weakened `wake` orderings (a waiter that counts the last
    // wake-up but still sees the hold it ended sleeps forever: a deadlock).
    loom::model(|| {
        let lock = Arc::new(SeqLock::new([0usize; 2]));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let lock = Arc::clone(&lock);
                thread::spawn(move || lock.update(|w| *w = [w[0] + 1; 2]))
            })
            .collect();
        lock.update(|w| *w = [w[0] + 1; 2]);
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(lock.read(), [3; 2]);
    });
}

// ---------------------------------------------------------------------------------
// Broken twins, each run once correct and once broken; `scripts/twin-lab` tells their
// stories.
// ---------------------------------------------------------------------------------

/// The seqlock protocol over two loom words, with one step removable, for the broken
/// twins below.
struct TwinSeqLock {
    seq: lab::AtomicUsize,
    words: [lab::AtomicUsize; 2],
    /// The classic payload, read without atomics: only the racy twin uses it.
    cell: lab::Cell<[usize; 2]>,
}

/// How the reader copies the payload.
#[derive(Clone, Copy, PartialEq)]
enum ReadBy {
    /// Relaxed atomic loads of the words (the crate's way), then `fence(Acquire)`.
    AtomicWithFence,
    /// The same loads without the fence: the first twin's bug.
    AtomicWithoutFence,
    /// A plain read of the whole value (`read_volatile` in the classic seqlock), then
    /// the fence: the second twin's bug.
    RacyPlainRead,
}

impl TwinSeqLock {
    fn new() -> Self {
        Self {
            seq: lab::AtomicUsize::new("seq", 0),
            words: [
                lab::AtomicUsize::new("word[0]", 0),
                lab::AtomicUsize::new("word[1]", 0),
            ],
            cell: lab::Cell::new("value", [0; 2]),
        }
    }

    fn write(&self, value: usize, how: ReadBy) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s + 1, Relaxed);
        lab::fence(Release);
        if how == ReadBy::RacyPlainRead {
            // SAFETY: the writer is alone among writers, but readers race it: that is
            // the bug under test.
            unsafe { self.cell.write([value; 2]) };
        } else {
            for word in &self.words {
                word.store(value, Relaxed);
            }
        }
        self.seq.store(s + 2, Release);
    }

    fn try_read(&self, how: ReadBy) -> Option<[usize; 2]> {
        let s1 = self.seq.load(Acquire);
        if s1 & 1 != 0 {
            return None;
        }
        let copy = if how == ReadBy::RacyPlainRead {
            // SAFETY: none; this read races the writer (the bug under test).
            unsafe { self.cell.read() }
        } else {
            [self.words[0].load(Relaxed), self.words[1].load(Relaxed)]
        };
        if how != ReadBy::AtomicWithoutFence {
            lab::fence(Acquire);
        }
        (self.seq.load(Relaxed) == s1).then_some(copy)
    }
}

/// One write racing one read attempt; an accepted copy must be whole.
fn twin_seqlock(how: ReadBy) {
    lab::model("reader", move || {
        let lock = Arc::new(TwinSeqLock::new());
        let writer = {
            let lock = Arc::clone(&lock);
            lab::spawn("writer", move || lock.write(1, how))
        };
        if let Some(words) = lock.try_read(how) {
            assert_untorn(words);
        }
        writer.join().unwrap();
    });
}

#[test]
fn twin_with_all_fences_is_correct() {
    twin_seqlock(ReadBy::AtomicWithFence);
}

/// Broken twin: the reader's `fence(Acquire)` removed.
///
/// The validating load of `seq` is then not ordered after the chunk loads. loom finds
/// the execution in which the reader copies a new first word and an old second word
/// (or the reverse) and still reads the old, even `seq`: a torn value is accepted.
///
/// On aarch64 this happens in hardware: loads to different addresses may be satisfied
/// out of order, so the second `ldr` of `seq` can complete before the `ldr`s of the
/// words (which may miss in cache while the writer owns the line); `dmb ishld` is what
/// forbids it. x86 hides the bug: under TSO loads are never reordered with other
/// loads, so the `mov`s execute in program order (only the compiler could still move
/// them, which it rarely does).
#[test]
#[should_panic(expected = "torn read")]
fn broken_twin_without_the_reader_fence_accepts_a_torn_value() {
    twin_seqlock(ReadBy::AtomicWithoutFence);
}

/// Broken twin: the classic seqlock, reading the payload non-atomically (what
/// `ptr::read_volatile` of an `UnsafeCell` does) while the writer may be storing to it.
///
/// Even with every fence in place this is a data race, undefined behaviour in Rust;
/// loom's `UnsafeCell` tracking reports it as a causality violation the first time a
/// read and a write of the cell are not ordered by happens-before. On aarch64 the
/// compiler may merge the copy into `ldp` pairs or split it differently from the
/// writer's stores; on x86 the generated `mov`s look harmless, which is why the bug
/// survives in practice: it is in the language, not in the hardware.
#[test]
#[should_panic(expected = "Causality violation")]
fn broken_twin_with_a_racy_non_atomic_read_is_a_data_race() {
    twin_seqlock(ReadBy::RacyPlainRead);
}

//! loom models of `fencepost::HashMap`: its table protocol and its epoch reclamation.
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --test loom_hash_map`
//!
//! Under loom the map has one shard and groups of two slots, so three keys overflow a
//! group and a third insert resizes a one-group table. Keys hash to themselves
//! ([`Identity`]), so a test chooses which group a key lands in (`key & (groups - 1)`).
//!
//! Values are [`Val`]: a loom `UnsafeCell` that its destructor overwrites. A reader that
//! reads a value that a writer frees without a happens-before edge between them is a
//! data race that loom reports, so every "no use-after-free" claim below is checked by
//! loom itself, not only by the asserted value. Each test asserts one property; the
//! `broken_*` tests at the end re-create one step of the protocol with an ordering
//! weakened or a step removed and expect loom to find the bug (`#[should_panic]`).
#![cfg(fencepost_loom)]

use fencepost::hash_map::{Computed, HashMap, HashMapBuilder, Op};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use loom::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, fence};
use loom::thread;
use std::hash::{BuildHasher, Hasher};

/// Hashes a `u64` to itself: tag 0x80, shard 0, group `key & mask` for small keys.
#[derive(Clone, Copy, Default)]
struct Identity;

struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0 << 8 | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl BuildHasher for Identity {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

/// A value whose destructor writes it, so loom sees a free racing a read.
struct Val(UnsafeCell<u64>);

// SAFETY: the cell is written only by `Drop` (exclusive) and read through `&self`; the
// map is what must order the two, and loom checks that it does.
unsafe impl Sync for Val {}

const FREED: u64 = u64::MAX;

impl Val {
    fn new(v: u64) -> Self {
        Val(UnsafeCell::new(v))
    }
    fn get(&self) -> u64 {
        // SAFETY: reads only; loom reports a racing write (the destructor).
        self.0.with(|p| unsafe { *p })
    }
}

/// A value created after a loom operation of its own. loom's vector clocks advance only
/// at synchronisation points, so a value created right after a pin's `fence(SeqCst)`
/// would look ordered before every later SeqCst fence of any thread, and a reader would
/// inherit its creation through its own pin instead of through the map's protocol.
fn fresh(v: u64) -> Val {
    AtomicU64::new(0).load(Relaxed);
    Val::new(v)
}

impl Drop for Val {
    fn drop(&mut self) {
        // SAFETY: `&mut self`; loom checks it is ordered after every read.
        self.0.with_mut(|p| unsafe { *p = FREED });
    }
}

type Map = HashMap<u64, Val, Identity>;

/// One shard, `capacity` sized so that the table has `groups` groups of two slots.
fn map(groups: usize) -> Arc<Map> {
    // capacity c gives ceil((c + c/7 + 1) / 2) groups, rounded up to a power of two.
    let capacity = match groups {
        1 => 0,
        2 => 2,
        _ => unreachable!(),
    };
    Arc::new(
        HashMapBuilder::new()
            .shards(1)
            .capacity(capacity)
            .hasher(Identity)
            .build(),
    )
}

fn get(map: &Map, key: u64) -> Option<u64> {
    map.pin().get(&key).map(Val::get)
}

/// Spins (yielding to loom) until `get(key)` returns `Some`, and returns it.
fn get_eventually(map: &Map, key: u64) -> u64 {
    loop {
        if let Some(v) = get(map, key) {
            return v;
        }
        thread::yield_now();
    }
}

/// A writer thread kept alive until the reader is done. loom's `fence(SeqCst)` joins
/// the causality of every earlier SeqCst fence, and a finished writer's effects would
/// reach the reader through the fence in its next pin; a writer that is still running
/// (and fences no more) cannot lend the reader a happens-before edge the protocol lacks.
struct HeldWriter {
    done: Arc<AtomicU64>,
    thread: thread::JoinHandle<()>,
}

impl HeldWriter {
    /// Runs `work` on a new thread, waits there until [`release`](Self::release), then
    /// runs `then`.
    fn spawn(
        map: &Arc<Map>,
        work: impl FnOnce(&Map) + Send + 'static,
        then: impl FnOnce(&Map) + Send + 'static,
    ) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        let thread = {
            let (map, done) = (Arc::clone(map), Arc::clone(&done));
            thread::spawn(move || {
                work(&map);
                while done.load(Relaxed) == 0 {
                    thread::yield_now();
                }
                then(&map);
            })
        };
        HeldWriter { done, thread }
    }

    /// Lets the writer finish and joins it.
    fn release(self) {
        self.done.store(1, Relaxed);
        self.thread.join().unwrap();
    }
}

#[test]
fn insert_then_get_sees_the_value() {
    loom::model(|| {
        let map = map(1);
        drop(map.pin());
        let writer = HeldWriter::spawn(
            &map,
            |map| {
                map.pin().insert(1, fresh(10));
            },
            |_| {},
        );
        assert_eq!(get_eventually(&map, 1), 10);
        writer.release();
    });
}

#[test]
fn iter_racing_insert_sees_an_initialised_entry() {
    loom::model(|| {
        let map = map(1);
        drop(map.pin());
        let writer = HeldWriter::spawn(
            &map,
            |map| {
                map.pin().insert(1, fresh(10));
            },
            |_| {},
        );
        loop {
            let m = map.pin();
            if let Some((k, v)) = m.iter().next() {
                assert_eq!((*k, v.get()), (1, 10));
                break;
            }
            drop(m);
            thread::yield_now();
        }
        writer.release();
    });
}

#[test]
fn replaced_and_updated_values_are_seen_initialised() {
    loom::model(|| {
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        map.pin().insert(2, Val::new(20));
        let writer = HeldWriter::spawn(
            &map,
            |map| {
                map.pin().insert(1, fresh(11));
                assert!(map.update(&2, |v| fresh(v.get() + 1)));
            },
            |_| {},
        );
        while get(&map, 1) != Some(11) {
            thread::yield_now();
        }
        while get(&map, 2) != Some(21) {
            thread::yield_now();
        }
        writer.release();
    });
}

#[test]
fn get_racing_remove_never_reads_freed_memory() {
    loom::model(|| {
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                assert_eq!(map.pin().remove(&1).map(Val::get), Some(10));
                map.flush();
            })
        };
        let seen = get(&map, 1);
        assert!(seen.is_none() || seen == Some(10), "{seen:?}");
        writer.join().unwrap();
        assert_eq!(get(&map, 1), None);
        map.flush();
        assert_eq!(map.garbage_len(), 0, "freed once nobody is pinned");
    });
}

#[test]
fn get_racing_overflowing_insert_never_misses_present_keys() {
    loom::model(|| {
        // Two groups: key 1 in group 1; keys 0 and 2 fill group 0; the racing insert of
        // key 4 (home group 0) overflows into group 1 and bumps group 0's count.
        let map = map(2);
        for k in [1, 0, 2] {
            map.pin().insert(k, Val::new(k + 10));
        }
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().insert(4, fresh(14));
            })
        };
        let m = map.pin();
        assert_eq!(m.get(&1).map(Val::get), Some(11));
        assert_eq!(m.get(&2).map(Val::get), Some(12));
        let four = m.get(&4).map(Val::get);
        assert!(four.is_none() || four == Some(14), "{four:?}");
        drop(m);
        writer.join().unwrap();
        assert_eq!(get(&map, 4), Some(14));
    });
}

#[test]
fn get_racing_remove_in_overflowed_group_finds_the_other_key() {
    loom::model(|| {
        // Keys 0 and 2 fill group 0, key 4 overflows into group 1. Removing key 0 lowers
        // nothing (it sits in its home group); removing key 4 lowers group 0's count.
        let map = map(2);
        for k in [0, 2, 4] {
            map.pin().insert(k, Val::new(k + 10));
        }
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().remove(&0);
                map.pin().insert(6, fresh(16));
            })
        };
        assert_eq!(get(&map, 4), Some(14));
        assert_eq!(get(&map, 2), Some(12));
        writer.join().unwrap();
        assert_eq!(get(&map, 6), Some(16));
        assert_eq!(get(&map, 0), None);
    });
}

#[test]
fn get_racing_resize_sees_old_or_new_table_never_neither() {
    loom::model(|| {
        // One group of two slots holds keys 1 and 2; inserting key 3 grows the table.
        let map = map(1);
        map.pin().insert(1, Val::new(11));
        map.pin().insert(2, Val::new(12));
        let writer = HeldWriter::spawn(
            &map,
            |map| {
                map.pin().insert(3, fresh(13));
            },
            |map| {
                map.flush();
            },
        );
        let m = map.pin();
        assert_eq!(m.get(&1).map(Val::get), Some(11));
        assert_eq!(m.get(&2).map(Val::get), Some(12));
        let three = m.get(&3).map(Val::get);
        assert!(three.is_none() || three == Some(13), "{three:?}");
        drop(m);
        // Once the new table is visible, every key is in it.
        assert_eq!(get_eventually(&map, 3), 13);
        assert_eq!(get(&map, 1), Some(11));
        assert_eq!(get(&map, 2), Some(12));
        writer.release();
        assert_eq!(map.len(), 3);
    });
}

#[test]
fn remove_then_reinsert_shows_old_new_or_nothing() {
    loom::model(|| {
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().remove(&1);
                map.pin().insert(1, fresh(11));
            })
        };
        let seen = get(&map, 1);
        assert!(matches!(seen, None | Some(10) | Some(11)), "{seen:?}");
        writer.join().unwrap();
        assert_eq!(get(&map, 1), Some(11));
    });
}

#[test]
fn replaced_value_outlives_the_pin_that_read_it() {
    loom::model(|| {
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().insert(1, fresh(11));
                map.flush();
            })
        };
        let m = map.pin();
        if let Some(v) = m.get(&1) {
            let first = v.get();
            thread::yield_now();
            // Still readable (not freed) while pinned, and unchanged.
            assert_eq!(v.get(), first);
        }
        drop(m);
        writer.join().unwrap();
        map.flush();
        assert_eq!(map.garbage_len(), 0, "freed after the pin ended");
    });
}

#[test]
fn nested_pins_keep_the_outer_pin() {
    loom::model(|| {
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().remove(&1);
                map.flush();
            })
        };
        let outer = map.pin();
        let v = outer.get(&1);
        // An inner pin ending must not unpin the outer one.
        drop(map.pin());
        if let Some(v) = v {
            assert_eq!(v.get(), 10);
        }
        drop(outer);
        writer.join().unwrap();
    });
}

#[test]
fn a_later_thread_reuses_a_finished_threads_participant() {
    loom::model(|| {
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let map = Arc::clone(&map);
                thread::spawn(move || {
                    assert_eq!(get(&map, 1), Some(10));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn compute_runs_each_closure_exactly_once() {
    loom::model(|| {
        let map = map(1);
        let calls = Arc::new(AtomicUsize::new(0));
        let bump = {
            let calls = Arc::clone(&calls);
            move |v: Option<&Val>| {
                calls.fetch_add(1, Relaxed);
                Op::Insert(Val::new(v.map_or(1, |v| v.get() + 1)))
            }
        };
        let other = {
            let (map, bump) = (Arc::clone(&map), bump.clone());
            thread::spawn(move || map.compute(7, bump))
        };
        let mine = map.compute(7, bump);
        let theirs = other.join().unwrap();
        let mut outcomes = [mine, theirs];
        outcomes.sort_by_key(|c| *c as u8);
        assert_eq!(outcomes, [Computed::Inserted, Computed::Replaced]);
        assert_eq!(calls.load(Relaxed), 2);
        assert_eq!(get(&map, 7), Some(2));
    });
}

// --- broken twins -------------------------------------------------------------------
//
// The map's protocol in miniature, with one step weakened. Each shows loom finding the
// bug that the real code's ordering prevents.

/// A boxed value published through a slot: the map's `Entry` and table slot.
fn publish(slot: &AtomicPtr<Val>, v: u64, order: loom::sync::atomic::Ordering) {
    slot.store(Box::into_raw(Box::new(fresh(v))), order);
}

/// The slot published with Relaxed instead of Release. On aarch64 the store of the
/// pointer may become visible before the stores that initialised the entry (stores to
/// different lines are not ordered without `stlr`/`dmb`), so a reader follows the
/// pointer into uninitialised memory. x86 hides it: TSO keeps stores in program order,
/// and only the compiler could reorder them (which Relaxed permits, too).
#[test]
#[should_panic]
fn broken_slot_published_relaxed_lets_a_reader_see_an_uninitialised_entry() {
    loom::model(|| {
        let slot = Arc::new(AtomicPtr::new(std::ptr::null_mut()));
        let writer = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || publish(&slot, 10, Relaxed))
        };
        let p = slot.load(Acquire);
        // SAFETY: the pointer, if any, came from `Box::into_raw` and is freed below.
        if let Some(v) = unsafe { p.as_ref() } {
            assert_eq!(v.get(), 10);
        }
        writer.join().unwrap();
        // SAFETY: the writer is done; we own the box.
        drop(unsafe { Box::from_raw(slot.load(Relaxed)) });
    });
}

/// A reader's pin made visible without the store→load fence. The reader announces its
/// pin and then loads the slot; the writer unlinks the entry and then checks for pinned
/// readers. Without a full fence on both sides this is the store-buffering pattern: on
/// aarch64 *and* on x86 (whose store buffer lets a later load pass an earlier store)
/// each side can miss the other's store, so the writer frees an entry the reader is
/// about to read. x86 needs an `mfence` (or a `membarrier`) here just as aarch64 needs a
/// `dmb ish`; a plain Release store is not enough on either.
#[test]
#[should_panic]
fn broken_pin_without_fence_lets_the_writer_free_under_a_reader() {
    loom::model(|| {
        let slot = Arc::new(AtomicPtr::new(std::ptr::null_mut()));
        publish(&slot, 10, Release);
        let pinned = Arc::new(AtomicU64::new(0));
        let writer = {
            let (slot, pinned) = (Arc::clone(&slot), Arc::clone(&pinned));
            thread::spawn(move || {
                let p = slot.swap(std::ptr::null_mut(), Relaxed);
                fence(SeqCst);
                if pinned.load(Acquire) == 0 {
                    // SAFETY: unlinked, and no reader appeared to be pinned.
                    drop(unsafe { Box::from_raw(p) });
                    None
                } else {
                    Some(SendPtr(p))
                }
            })
        };
        pinned.store(1, Release);
        // Missing: fence(SeqCst) (the map's `light_fence`).
        let p = slot.load(Acquire);
        // SAFETY: the entry is alive if the protocol works (it does not).
        if let Some(v) = unsafe { p.as_ref() } {
            assert_eq!(v.get(), 10);
        }
        pinned.store(0, Release);
        if let Some(SendPtr(p)) = writer.join().unwrap() {
            // SAFETY: the writer left the unlinked entry to us.
            drop(unsafe { Box::from_raw(p) });
        }
    });
}

/// A raw pointer handed back from a thread.
struct SendPtr(*mut Val);
// SAFETY: only used to hand an unlinked box back to the thread that frees it.
unsafe impl Send for SendPtr {}

/// The writer frees an unlinked entry at once instead of waiting for the epoch. On any
/// CPU a reader that loaded the pointer just before the unlink still reads the entry;
/// loom reports the destructor's write racing that read.
#[test]
#[should_panic]
fn broken_free_without_waiting_for_the_epoch_races_a_reader() {
    loom::model(|| {
        let slot = Arc::new(AtomicPtr::new(std::ptr::null_mut()));
        publish(&slot, 10, Release);
        let writer = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || {
                let p = slot.swap(std::ptr::null_mut(), Acquire);
                // SAFETY: unlinked; the missing grace period is the bug.
                drop(unsafe { Box::from_raw(p) });
            })
        };
        let p = slot.load(Acquire);
        // SAFETY: the entry is alive if the protocol works (it does not).
        if let Some(v) = unsafe { p.as_ref() } {
            assert_eq!(v.get(), 10);
        }
        writer.join().unwrap();
    });
}

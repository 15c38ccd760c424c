//! loom models of `fencepost::HashMap`: its table protocol, its slab slots and their
//! reuse, and its epoch reclamation.
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=3 \
//!       cargo test --release --test loom_hash_map`
//!
//! Under loom the map has one shard (unless a test asks for two), groups of two slots
//! (three keys overflow a group, a third insert resizes a one-group table), slabs whose
//! first chunk holds two entries (a third live or retired entry adds a chunk), and every
//! retire runs a collection. Keys hash to themselves ([`Identity`]), so a test chooses
//! the group a key lands in (`key & (groups - 1)`) and, with two shards, its shard (bit
//! 56); every small key has the same tag, so every probe compares keys.
//!
//! Values are [`Val`]: a loom `UnsafeCell` that its destructor overwrites; the slab slots
//! that hold them are loom `UnsafeCell`s too. A reader that reads a value (or a slot)
//! that a writer drops or reuses without a happens-before edge between them is a data
//! race that loom reports, so every "no use-after-free" and "no reuse before the grace
//! period" claim below is checked by loom itself, not only by the asserted value. Each
//! test asserts one property; the `broken_*` tests at the end re-create one step of the
//! protocol with an ordering weakened or a step removed and expect loom to find the bug
//! (`#[should_panic]`).
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::hash_map::{Computed, HashMap, HashMapBuilder, Op};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::Ordering::{self, Acquire, Relaxed, Release, SeqCst};
use loom::sync::atomic::{AtomicU64, AtomicUsize};
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
    // A group of two slots takes 2 entries (7/8 of 2, rounded up by the table), two
    // groups take 4: capacity 3 needs two groups.
    let capacity = match groups {
        1 => 0,
        2 => 3,
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
fn an_owned_pin_keeps_a_value_alive_on_another_thread() {
    loom::model(|| {
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        // SAFETY: the handle only borrows `map`, which this closure keeps alive (the
        // `Arc` below) until after the thread that uses the handle is joined; loom has
        // no scoped threads, so the borrow is widened to 'static for the spawn.
        let m: OwnedRef = unsafe { std::mem::transmute(map.pin_owned()) };
        let reader = thread::spawn(move || {
            if let Some(v) = m.get(&1) {
                thread::yield_now();
                assert_eq!(v.get(), 10);
            }
            // The owned pin ends on this thread.
        });
        map.pin().remove(&1);
        map.flush();
        reader.join().unwrap();
        map.flush();
        assert_eq!(map.garbage_len(), 0);
    });
}

/// An owned pin of a test map, its borrow widened for a loom thread.
type OwnedRef = fencepost::hash_map::HashMapRef<
    'static,
    u64,
    Val,
    Identity,
    fencepost::hash_map::OwnedGuard<'static>,
>;

#[test]
fn get_racing_remove_never_sees_its_slot_reused_before_the_grace_period() {
    loom::model(|| {
        // Slab: first chunk of two slots. Key 1 takes slot A. The writer removes it and
        // inserts keys 2 and 3: with A still pinned by the reader, A must not be reused
        // (a loom race on the slot or the value if it were).
        let map = map(2);
        map.pin().insert(1, Val::new(10));
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().remove(&1);
                map.flush();
                map.pin().insert(2, fresh(20));
                map.pin().insert(3, fresh(30));
            })
        };
        let m = map.pin();
        if let Some(v) = m.get(&1) {
            thread::yield_now();
            assert_eq!(v.get(), 10);
        }
        drop(m);
        writer.join().unwrap();
        assert_eq!(get(&map, 1), None);
        assert_eq!((get(&map, 2), get(&map, 3)), (Some(20), Some(30)));
    });
}

#[test]
fn a_reinserted_key_in_a_reused_slot_reads_old_new_or_nothing() {
    loom::model(|| {
        // After the grace period the slot of key 1 is reused for its new value.
        let map = map(1);
        map.pin().insert(1, Val::new(10));
        map.pin().remove(&1);
        map.flush();
        assert_eq!(map.garbage_len(), 0, "reclaimed: its slot is free again");
        map.pin().insert(1, Val::new(11));
        let writer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().remove(&1);
                map.flush();
                map.pin().insert(1, fresh(12));
            })
        };
        let seen = get(&map, 1);
        assert!(matches!(seen, None | Some(11) | Some(12)), "{seen:?}");
        writer.join().unwrap();
        assert_eq!(get(&map, 1), Some(12));
    });
}

#[test]
fn a_destructor_that_uses_the_map_runs_outside_the_lock() {
    loom::model(|| {
        // Dropping value 1 removes key 2 from the same map: it must not run under the
        // shard lock (a loom deadlock if it did).
        let map: Arc<HashMap<u64, Remover, Identity>> =
            Arc::new(HashMapBuilder::new().shards(1).hasher(Identity).build());
        map.pin().insert(2, Remover(None));
        map.pin().insert(1, Remover(Some(Arc::clone(&map))));
        let other = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                map.pin().insert(3, Remover(None));
            })
        };
        map.pin().remove(&1);
        map.flush();
        other.join().unwrap();
        map.flush();
        assert_eq!(map.len(), 1, "key 3 is left");
        // Break the cycle before loom checks for leaks: the value that held the map is gone.
        map.clear();
        map.flush();
    });
}

/// A value whose destructor removes key 2 of the map it holds.
struct Remover(Option<Arc<HashMap<u64, Remover, Identity>>>);

impl Drop for Remover {
    fn drop(&mut self) {
        if let Some(map) = self.0.take() {
            map.pin().remove(&2);
        }
    }
}

#[test]
fn a_pin_on_another_map_does_not_hold_back_this_maps_reclamation() {
    loom::model(|| {
        let (a, b) = (map(1), map(1));
        a.pin().insert(1, Val::new(1));
        b.pin().insert(1, Val::new(2));
        let pinned = {
            let a = Arc::clone(&a);
            thread::spawn(move || {
                let m = a.pin();
                assert_eq!(m.get(&1).map(Val::get), Some(1));
            })
        };
        b.pin().remove(&1);
        b.flush();
        assert_eq!(b.garbage_len(), 0, "held back by a pin on another map");
        pinned.join().unwrap();
    });
}

/// Fault 7 of the issue, the stale pin: a reader loads the epoch, stalls, and stores its
/// pin only after two advances that other writers made (on another shard, so no lock
/// orders them after the unlink). The reader then pins at an old epoch; the unlinked
/// value must still not be dropped while it reads it.
#[test]
fn a_reader_whose_pin_lands_after_two_advances_still_sees_the_unlink() {
    loom::model(|| {
        let map: Arc<Map> = Arc::new(HashMapBuilder::new().shards(2).hasher(Identity).build());
        const OTHER: u64 = 1 << 56; // shard 1
        for k in [1, 2, OTHER, OTHER + 1] {
            map.pin().insert(k, Val::new(k));
        }
        let remover = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                // Unlinks key 1, then a second retire whose collection reclaims it once
                // the epoch has moved two steps past its stamp.
                map.pin().remove(&1);
                map.pin().remove(&2);
            })
        };
        let advancer = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                // Two retires in shard 1, each with a collection that may advance.
                map.pin().remove(&OTHER);
                map.pin().remove(&(OTHER + 1));
            })
        };
        let seen = get(&map, 1);
        assert!(seen.is_none() || seen == Some(1), "{seen:?}");
        remover.join().unwrap();
        advancer.join().unwrap();
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
// The map's protocol in miniature, through the lab's recorder (`scripts/twin-lab NAME`
// tells each failing schedule as a story): a slab slot (a cell holding the entry), the
// table lane that points to it (0: empty, 1: the slot) and a reader's pin. Each twin
// weakens or drops one step; its correct version beside it does the step.

/// A slot and the lane that publishes it.
struct TwinLane {
    lane: lab::AtomicU32,
    slot: lab::Cell<u32>,
}

/// The writer fills the slot and publishes it in the lane (`write_first`: in that
/// order), the reader follows the lane into the slot.
fn twin_publish(write_first: bool, publish: Ordering) {
    lab::model("reader", move || {
        let t = Arc::new(TwinLane {
            lane: lab::AtomicU32::new("lane", 0),
            slot: lab::Cell::new("slot", 0),
        });
        let writer = {
            let t = Arc::clone(&t);
            lab::spawn("writer", move || {
                if write_first {
                    // SAFETY: the slot is free: no lane points to it yet.
                    unsafe { t.slot.write(10) };
                    t.lane.store(1, publish);
                } else {
                    t.lane.store(1, publish);
                    // SAFETY: the bug under test: the slot is written after it is published.
                    unsafe { t.slot.write(10) };
                }
            })
        };
        if t.lane.load(Acquire) == 1 {
            // SAFETY: a published slot was written before its lane (loom checks it).
            let v = unsafe { t.slot.read() };
            assert_eq!(v, 10);
        }
        writer.join().unwrap();
    });
}

#[test]
fn twin_lane_published_with_release_after_the_slot_is_written() {
    twin_publish(true, Release);
}

/// The lane published with Relaxed instead of Release. On aarch64 the store of the
/// handle may become visible before the stores that wrote the entry into its slot
/// (stores to different lines are not ordered without `stlr`/`dmb`), so a reader follows
/// the handle into a slot not yet written. x86 hides it: TSO keeps stores in program
/// order, and only the compiler could reorder them (which Relaxed permits, too).
#[test]
#[should_panic]
fn broken_lane_published_relaxed_lets_a_reader_see_an_unwritten_entry() {
    twin_publish(true, Relaxed);
}

/// The lane (and tag) published before the entry is written into its slot: a reader
/// that follows the lane reads the slot while the writer writes it. No ordering fixes
/// that order of steps; on any CPU the reader can run between them.
#[test]
#[should_panic]
fn broken_lane_published_before_the_slot_is_written_races_a_reader() {
    twin_publish(false, Release);
}

/// A slot, its lane and one reader's pin (0: not pinned).
struct TwinEpoch {
    pin: lab::AtomicU32,
    lane: lab::AtomicU32,
    slot: lab::Cell<u32>,
}

/// The reader pins (then fences, if `reader_fences`), follows the lane and unpins; the
/// writer unlinks the slot and reuses it, after checking for pinned readers behind a
/// fence (`writer_waits`) or at once.
fn twin_reclaim(reader_fences: bool, writer_waits: bool) {
    lab::model("reader", move || {
        let t = Arc::new(TwinEpoch {
            pin: lab::AtomicU32::new("pin", 0),
            lane: lab::AtomicU32::new("lane", 1),
            slot: lab::Cell::new("slot", 10),
        });
        let writer = {
            let t = Arc::clone(&t);
            lab::spawn("writer", move || {
                t.lane.store(0, Relaxed);
                if writer_waits {
                    lab::fence(SeqCst);
                    if t.pin.load(Acquire) != 0 {
                        // A reader may still hold the slot: a later collection reuses it.
                        return;
                    }
                }
                // SAFETY: unlinked, and no reader can hold it if the protocol works.
                unsafe { t.slot.write(11) };
            })
        };
        t.pin.store(1, Release);
        if reader_fences {
            lab::fence(SeqCst);
        }
        if t.lane.load(Acquire) == 1 {
            // SAFETY: the slot stays put while we are pinned, if the protocol works.
            let v = unsafe { t.slot.read() };
            assert_eq!(v, 10);
        }
        t.pin.store(0, Release);
        writer.join().unwrap();
    });
}

#[test]
fn twin_slot_reused_after_the_pinned_readers_checked_behind_fences() {
    twin_reclaim(true, true);
}

/// A reader's pin made visible without the store→load fence. The reader announces its
/// pin and then loads the lane; the writer unlinks the slot and then checks for pinned
/// readers. Without a full fence on both sides this is the store-buffering pattern: on
/// aarch64 *and* on x86 (whose store buffer lets a later load pass an earlier store)
/// each side can miss the other's store, so the writer reuses a slot the reader is about
/// to read. x86 needs an `mfence` (or a `membarrier`) here just as aarch64 needs a
/// `dmb ish`; a plain Release store is not enough on either.
#[test]
#[should_panic]
fn broken_pin_without_fence_lets_the_writer_reuse_a_slot_under_a_reader() {
    twin_reclaim(false, true);
}

/// A slot reused at once after its unlink instead of after the grace period. A reader
/// that read the lane just before the unlink is still in the slot: on any CPU the reader
/// can be preempted between its two loads, so this is not a weak-memory effect; only
/// waiting until no pinned reader can hold the slot fixes it.
#[test]
#[should_panic]
fn broken_slot_reused_before_the_grace_period_races_a_reader() {
    twin_reclaim(true, false);
}

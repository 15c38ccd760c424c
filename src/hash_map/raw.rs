//! The table: 64-byte groups of one control word and boxed-entry slots, and the
//! single-writer operations on one shard.
//!
//! # Group layout
//!
//! | bytes of `ctrl` | meaning |
//! |---|---|
//! | `0 .. SLOTS` | tag of slot `i`: `0` empty, else `0x80 | top 7 hash bits` |
//! | `SLOTS .. 7` | unused, always `0` (only under loom, where `SLOTS` is 2) |
//! | `7` | overflow count: entries whose probe passed this group because it was full |
//!
//! A lookup starts at the group picked by the low hash bits, matches the tag in all
//! lanes at once (SWAR), and stops at the first group whose overflow count is 0: a
//! miss usually reads one cache line. Probing is linear and bounded by the group count.
//!
//! Only the shard's writer (holding the shard lock) stores to a table; readers load.

use super::epoch::Bag;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize};
use core::borrow::Borrow;
use core::mem::MaybeUninit;
use core::ptr;

/// Slots per group: 7 pointers and the control word fill 64 bytes.
#[cfg(not(fencepost_loom))]
pub(crate) const SLOTS: usize = 7;
/// Under loom, two slots per group, so three keys overflow a group.
#[cfg(fencepost_loom)]
pub(crate) const SLOTS: usize = 2;

const OVERFLOW_SHIFT: u32 = 56;
const MAX_OVERFLOW: u64 = 0xff;
/// `0x01` in every tag lane.
const LANE_LSB: u64 = 0x0101_0101_0101_0101 & ((1u64 << (8 * SLOTS)) - 1);
/// `0x80` in every tag lane.
const LANE_MSB: u64 = LANE_LSB << 7;

/// The tag of `hash`: its top 7 bits, with the high bit set so 0 means "empty".
#[inline(always)]
pub(crate) fn tag(hash: u64) -> u8 {
    0x80 | (hash >> 57) as u8
}

/// Lanes whose tag may equal `tag` (hashbrown's trick; a rare false positive only costs
/// a key comparison). One bit per candidate lane: bit `8 * lane + 7`.
#[inline(always)]
fn match_tag(ctrl: u64, tag: u8) -> u64 {
    let x = (ctrl & (LANE_LSB * 0xff)) ^ (LANE_LSB * u64::from(tag));
    x.wrapping_sub(LANE_LSB) & !x & LANE_MSB
}

/// Lanes whose tag is 0 (empty), exactly.
#[inline(always)]
fn match_empty(ctrl: u64) -> u64 {
    !ctrl & LANE_MSB
}

#[inline(always)]
fn overflow(ctrl: u64) -> u64 {
    ctrl >> OVERFLOW_SHIFT
}

/// A cache-line prefetch hint; a no-op where the target has no stable intrinsic (and
/// under loom and Miri, which model memory, not caches).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri), not(fencepost_loom)))]
    // SAFETY: `prefetcht0` is a hint: it never faults and never changes memory, whatever
    // the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri), not(fencepost_loom))))]
    let _ = p;
}

/// A key and its value, boxed once; tables hold pointers to entries, so a resize moves
/// pointers and a reader's `&V` stays put.
pub(crate) struct Entry<K, V> {
    pub(crate) hash: u64,
    pub(crate) key: K,
    pub(crate) value: V,
}

/// One cache line: the control word and `SLOTS` entry pointers.
#[repr(align(64))]
pub(crate) struct Group<K, V> {
    ctrl: AtomicU64,
    slots: [AtomicPtr<Entry<K, V>>; SLOTS],
}

impl<K, V> Group<K, V> {
    fn new() -> Self {
        Group {
            ctrl: AtomicU64::new(0),
            slots: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }
}

/// `2^k` groups. Owns no entries: the shard does.
pub(crate) struct Table<K, V> {
    mask: usize,
    groups: Box<[Group<K, V>]>,
}

/// The probe found no free slot, or would saturate an overflow count.
pub(crate) struct NoRoom;

impl<K, V> Table<K, V> {
    /// A table of `groups` groups (a power of two).
    pub(crate) fn new(groups: usize) -> Self {
        debug_assert!(groups.is_power_of_two());
        Table {
            mask: groups - 1,
            groups: (0..groups).map(|_| Group::new()).collect(),
        }
    }

    pub(crate) fn groups(&self) -> usize {
        self.mask + 1
    }

    pub(crate) fn capacity(&self) -> usize {
        self.groups() * SLOTS
    }

    /// Entries allowed before the writer grows the table: 7/8 of the slots.
    pub(crate) fn max_len(&self) -> usize {
        self.capacity() - self.capacity() / 8
    }

    /// Asks the CPU to start loading the home group of `hash`: a writer calls it before
    /// allocating and locking, so the group's cache miss overlaps that work instead of
    /// stalling the critical section (perf: 85% of `Shard::insert` was that load).
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        prefetch(&self.groups[hash as usize & self.mask]);
    }

    /// Finds `key`: wait-free, lock-free, no writes. The entry stays valid while the
    /// caller is pinned (or holds the shard lock).
    #[inline]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<&Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        // SAFETY: `locate` returns only non-null slots, each a live entry or one retired
        // while the caller was pinned (the epoch keeps it) or under the caller's lock.
        self.locate(hash, key).map(|(_, _, p)| unsafe { &*p })
    }

    /// The probe, for readers (through `find`) and the writer: `(group, lane, entry)` of
    /// `key`.
    #[inline]
    fn locate<Q>(&self, hash: u64, key: &Q) -> Option<(usize, usize, *mut Entry<K, V>)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let tag = tag(hash);
        let mut g = hash as usize & self.mask;
        for _ in 0..=self.mask {
            let group = &self.groups[g];
            // Ordering: Relaxed: the control word only steers the probe. The entry is
            // acquired through its slot; a tag or an overflow count seen early or late
            // only makes a racing insert or remove appear earlier or later, and anything
            // that happened before this lookup is seen by coherence.
            let ctrl = group.ctrl.load(Relaxed);
            let mut lanes = match_tag(ctrl, tag);
            while lanes != 0 {
                let lane = (lanes.trailing_zeros() / 8) as usize;
                lanes &= lanes - 1;
                // The writer, ordered by the lock, would need no Acquire; it shares it
                // (the same `mov` on x86, an `ldar` instead of an `ldr` on aarch64).
                // Ordering: Acquire pairs with the Release slot stores in `insert_new`
                // and `replace`: the entry's fields are initialised before a reader reads
                // them.
                let p = group.slots[lane].load(Acquire);
                // SAFETY: a non-null slot points to a live entry, or to one retired while
                // the caller was pinned (the epoch keeps it) or under the caller's lock.
                if let Some(e) = unsafe { p.as_ref() } {
                    if e.key.borrow() == key {
                        return Some((g, lane, p));
                    }
                }
            }
            if overflow(ctrl) == 0 {
                return None;
            }
            g = (g + 1) & self.mask;
        }
        None
    }

    /// Places a new entry (its key absent) in the first free slot of its probe.
    fn insert_new(&self, entry: *mut Entry<K, V>) -> Result<(), NoRoom> {
        // SAFETY: the caller passes a live entry it owns.
        let hash = unsafe { (*entry).hash };
        let home = hash as usize & self.mask;
        let mut g = home;
        let mut found = None;
        for _ in 0..=self.mask {
            // Ordering: only the writer stores, and the lock orders writers.
            let ctrl = self.groups[g].ctrl.load(Relaxed);
            let empty = match_empty(ctrl);
            if empty != 0 {
                found = Some((g, (empty.trailing_zeros() / 8) as usize));
                break;
            }
            if overflow(ctrl) == MAX_OVERFLOW {
                return Err(NoRoom);
            }
            g = (g + 1) & self.mask;
        }
        let (g, lane) = found.ok_or(NoRoom)?;
        let mut skip = home;
        while skip != g {
            let c = &self.groups[skip].ctrl;
            // Ordering: Relaxed: a reader that misses the new count cannot be looking
            // for this entry yet (it is published below); readers looking for older
            // keys need no count of ours.
            c.store(c.load(Relaxed) + (1 << OVERFLOW_SHIFT), Relaxed);
            skip = (skip + 1) & self.mask;
        }
        let group = &self.groups[g];
        // Ordering: Release pairs with the Acquire slot load in `find`: the entry's
        // fields are initialised before a reader that loads the pointer reads them.
        group.slots[lane].store(entry, Release);
        // Ordering: Relaxed: the tag only steers readers to the slot, which carries the
        // entry's publication; a reader that sees the tag before the slot sees null or
        // an older entry and compares keys.
        let ctrl = group.ctrl.load(Relaxed);
        group
            .ctrl
            .store(ctrl | u64::from(tag(hash)) << (8 * lane), Relaxed);
        Ok(())
    }

    /// Unlinks the entry at `(g, lane)`; the caller retires it.
    fn remove_at(&self, g: usize, lane: usize) -> *mut Entry<K, V> {
        let group = &self.groups[g];
        // Ordering: only the writer stores, and the lock orders writers.
        let p = group.slots[lane].load(Relaxed);
        // SAFETY: the caller found a live entry there under the lock.
        let hash = unsafe { (*p).hash };
        let ctrl = group.ctrl.load(Relaxed);
        // Ordering: Relaxed: clearing the tag publishes nothing; a reader that still sees
        // it finds null or the old entry, which the epoch keeps alive.
        group.ctrl.store(ctrl & !(0xff << (8 * lane)), Relaxed);
        // Ordering: Relaxed: null publishes nothing. This is the unlink the epoch's seal
        // (Release, after it) orders before later pins.
        group.slots[lane].store(ptr::null_mut(), Relaxed);
        let mut skip = hash as usize & self.mask;
        while skip != g {
            let c = &self.groups[skip].ctrl;
            // Ordering: Relaxed: this entry no longer needs readers to pass the group;
            // every other entry's count is unchanged.
            c.store(c.load(Relaxed) - (1 << OVERFLOW_SHIFT), Relaxed);
            skip = (skip + 1) & self.mask;
        }
        p
    }

    /// Every entry pointer in the table (writer side, or the owner at drop).
    fn entries(&self) -> impl Iterator<Item = (usize, usize, *mut Entry<K, V>)> + '_ {
        self.groups.iter().enumerate().flat_map(|(g, group)| {
            group.slots.iter().enumerate().filter_map(move |(lane, s)| {
                // Ordering: writer side: only the writer stores, under the lock.
                let p = s.load(Relaxed);
                (!p.is_null()).then_some((g, lane, p))
            })
        })
    }

    /// The entry at a slot, for readers' iteration (Acquire, as in `find`).
    #[inline]
    pub(crate) fn slot(&self, g: usize, lane: usize) -> *mut Entry<K, V> {
        // Ordering: Acquire pairs with the Release slot stores (as in `find`).
        self.groups[g].slots[lane].load(Acquire)
    }

    /// A table of `groups` groups holding this table's entries, if they fit.
    fn rebuilt(&self, groups: usize) -> Option<Box<Table<K, V>>> {
        let t = Box::new(Table::new(groups));
        // Each entry's hash is a cache miss of its own (entries lie in allocation order,
        // the table in hash order): fetch a few entries ahead so the misses overlap.
        const AHEAD: usize = 8;
        let mut ring = [ptr::null_mut(); AHEAD];
        for (i, (_, _, p)) in self.entries().enumerate() {
            prefetch(p);
            let due = core::mem::replace(&mut ring[i % AHEAD], p);
            if !due.is_null() {
                t.insert_new(due).ok()?;
            }
        }
        for p in ring {
            if !p.is_null() {
                t.insert_new(p).ok()?;
            }
        }
        Some(t)
    }
}

/// What a shard's writer keeps behind the lock.
pub(crate) struct Writer<K, V> {
    pub(crate) garbage: Bag<Retired<K, V>>,
    /// Allocations of reclaimed entries (their key and value dropped), reused by the
    /// next inserts: a pop instead of `malloc`, a push instead of a `free` that is often
    /// a cross-thread one (the entry was allocated by another writer). Bounded by
    /// [`Writer::FREE_BYTES`].
    free: Vec<Box<MaybeUninit<Entry<K, V>>>>,
    /// The table never shrinks below this many groups.
    pub(crate) min_groups: usize,
}

impl<K, V> Writer<K, V> {
    /// The memory a shard keeps at most in reclaimed entry allocations (but always
    /// room for 16 entries, and never more than 1024): about one collection's worth
    /// ([`COLLECT_EVERY`](super::epoch::COLLECT_EVERY)) of small entries. Measured on the
    /// exchange 10/40/40/10 mix, 2 threads, best of 9, three interleaved pairs: 4.80,
    /// 3.07, 3.61 M ops/s without the free list, 4.97, 3.24, 3.85 with it.
    const FREE_BYTES: usize = 32 * 1024;

    fn new(min_groups: usize) -> Self {
        Writer {
            garbage: Bag::new(),
            free: Vec::new(),
            min_groups,
        }
    }

    fn free_cap() -> usize {
        (Self::FREE_BYTES / size_of::<Entry<K, V>>().max(1)).clamp(16, 1024)
    }

    /// A boxed `entry`, in a reclaimed allocation when there is one.
    #[inline]
    pub(crate) fn alloc(&mut self, entry: Entry<K, V>) -> Box<Entry<K, V>> {
        match self.free.pop() {
            Some(mut slot) => {
                slot.write(entry);
                // SAFETY: just initialised.
                unsafe { slot.assume_init() }
            }
            None => Box::new(entry),
        }
    }

    /// Retires an unlinked item; what the epoch then reclaims is recycled or freed.
    fn retire(&mut self, item: Retired<K, V>) {
        let free = &mut self.free;
        self.garbage.retire(item, &mut |r| r.reclaim(free));
    }

    /// Reclaims everything no pinned thread can still see (`HashMap::flush`).
    pub(crate) fn flush(&mut self) {
        let free = &mut self.free;
        self.garbage.flush(&mut |r| r.reclaim(free));
    }
}

/// Garbage: freed when no reader can hold it any more.
pub(crate) enum Retired<K, V> {
    Entry(*mut Entry<K, V>),
    Table(*mut Table<K, V>),
}

impl<K, V> Retired<K, V> {
    /// Frees the item, or for an entry drops its key and value and keeps the allocation
    /// in `free` (if there is room) for a later insert.
    fn reclaim(self, free: &mut Vec<Box<MaybeUninit<Entry<K, V>>>>) {
        let Retired::Entry(p) = self else {
            return drop(self);
        };
        if free.len() >= Writer::<K, V>::free_cap() {
            return drop(self);
        }
        core::mem::forget(self);
        // SAFETY: as in `drop`: `p` came from `Box::into_raw`, was unlinked, and the
        // epoch says no reader holds it any more, so we own it. Dropping its contents in
        // place leaves an allocation of the right layout, which `MaybeUninit` permits.
        let slot = unsafe {
            ptr::drop_in_place(p);
            Box::from_raw(p.cast::<MaybeUninit<Entry<K, V>>>())
        };
        free.push(slot);
    }
}

impl<K, V> Drop for Retired<K, V> {
    fn drop(&mut self) {
        match *self {
            // SAFETY: retired items came from `Box::into_raw`, were unlinked, and the
            // epoch says no reader holds them any more (or the map is being dropped).
            Retired::Entry(p) => drop(unsafe { Box::from_raw(p) }),
            // SAFETY: as above; a table owns no entries, so this frees the groups only.
            Retired::Table(p) => drop(unsafe { Box::from_raw(p) }),
        }
    }
}

/// What `Shard::insert` linked and what it replaced.
pub(crate) struct Inserted<K, V> {
    pub(crate) old: Option<*mut Entry<K, V>>,
    pub(crate) new: *mut Entry<K, V>,
}

/// An entry a `Fixed` shard had no room for, handed back.
pub(crate) type Rejected<K, V> = Box<Entry<K, V>>;

/// How a shard may resize (the public `ResizePolicy`, lowered).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Resize {
    Grow,
    GrowShrink,
    Fixed,
}

/// One shard: a writer lock, the current table and the entry count.
pub(crate) struct Shard<K, V> {
    pub(crate) writer: crate::Mutex<Writer<K, V>>,
    table: AtomicPtr<Table<K, V>>,
    len: AtomicUsize,
}

impl<K, V> Shard<K, V> {
    pub(crate) fn new(groups: usize) -> Self {
        Shard {
            writer: crate::Mutex::new(Writer::new(groups)),
            table: AtomicPtr::new(Box::into_raw(Box::new(Table::new(groups)))),
            len: AtomicUsize::new(0),
        }
    }

    /// The current table, for readers; valid while pinned.
    #[inline(always)]
    pub(crate) fn table(&self) -> &Table<K, V> {
        // Ordering: Acquire pairs with the Release publication in `replace_table`: the
        // new table's groups are filled before a reader probes them.
        let t = self.table.load(Acquire);
        // SAFETY: the table pointer is never null; a replaced table is retired, so it
        // stays valid while the caller is pinned.
        unsafe { &*t }
    }

    /// The current table, for the writer (who alone replaces it).
    fn table_w(&self) -> &Table<K, V> {
        // Ordering: only the writer stores the pointer, and the lock orders writers.
        let t = self.table.load(Relaxed);
        // SAFETY: never null; only the writer (the caller) retires it.
        unsafe { &*t }
    }

    pub(crate) fn len(&self) -> usize {
        // Ordering: a count, written by the writer; no data is read through it.
        self.len.load(Relaxed)
    }

    fn set_len(&self, len: usize) {
        // Ordering: see `len`.
        self.len.store(len, Relaxed);
    }

    /// Publishes `new` and retires the old table. The writer never touches the old
    /// table again: readers still on it see it frozen, complete up to this instant.
    fn replace_table(&self, w: &mut Writer<K, V>, new: Box<Table<K, V>>) {
        // Ordering: only the writer stores the pointer, and the lock orders writers.
        let old = self.table.load(Relaxed);
        // Ordering: Release pairs with the Acquire in `table`: the new table's contents
        // happen before a reader's probe of it.
        self.table.store(Box::into_raw(new), Release);
        w.retire(Retired::Table(old));
    }

    /// Grows to at least twice the groups (more if the entries do not fit).
    #[cold]
    fn grow(&self, w: &mut Writer<K, V>) {
        let mut groups = self.table_w().groups() * 2;
        loop {
            if let Some(t) = self.table_w().rebuilt(groups) {
                self.replace_table(w, t);
                return;
            }
            groups *= 2;
        }
    }

    /// Halves the table while it is at most 1/8 full (GrowShrink).
    #[cold]
    fn shrink(&self, w: &mut Writer<K, V>) {
        let t = self.table_w();
        let groups = t.groups() / 2;
        if groups < w.min_groups || self.len() > t.capacity() / 8 {
            return;
        }
        if let Some(t) = t.rebuilt(groups) {
            self.replace_table(w, t);
        }
    }

    /// Writer lookup under the lock.
    pub(crate) fn find_w<Q>(&self, hash: u64, key: &Q) -> Option<&Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        // SAFETY: under the lock a located entry is live.
        self.table_w()
            .locate(hash, key)
            .map(|(_, _, p)| unsafe { &*p })
    }

    /// Inserts or replaces. `old`: the replaced entry (retired, valid while the caller
    /// is pinned); `new`: the linked entry. `Err(entry)`: a Fixed shard is full.
    pub(crate) fn insert(
        &self,
        w: &mut Writer<K, V>,
        entry: Box<Entry<K, V>>,
        policy: Resize,
    ) -> Result<Inserted<K, V>, Rejected<K, V>>
    where
        K: Eq,
    {
        let t = self.table_w();
        if let Some((g, lane, old)) = t.locate(entry.hash, &entry.key) {
            let new = Box::into_raw(entry);
            // Ordering: Release pairs with the Acquire slot load in `find`: the new
            // entry's fields are initialised before a reader reads them.
            t.groups[g].slots[lane].store(new, Release);
            w.retire(Retired::Entry(old));
            return Ok(Inserted {
                old: Some(old),
                new,
            });
        }
        let len = self.len();
        if policy == Resize::Fixed && len >= t.max_len() {
            return Err(entry);
        }
        if len >= t.max_len() {
            self.grow(w);
        }
        let p = Box::into_raw(entry);
        while self.table_w().insert_new(p).is_err() {
            if policy == Resize::Fixed {
                // SAFETY: `p` came from `Box::into_raw` above and was not published.
                return Err(unsafe { Box::from_raw(p) });
            }
            self.grow(w);
        }
        self.set_len(len + 1);
        Ok(Inserted { old: None, new: p })
    }

    /// Replaces the value of the entry at `key` with a new entry (same slot).
    pub(crate) fn replace<Q>(
        &self,
        w: &mut Writer<K, V>,
        key: &Q,
        entry: Box<Entry<K, V>>,
    ) -> Option<*mut Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let t = self.table_w();
        let (g, lane, old) = t.locate(entry.hash, key)?;
        // Ordering: Release pairs with the Acquire slot load in `find` (as in `insert`).
        t.groups[g].slots[lane].store(Box::into_raw(entry), Release);
        w.retire(Retired::Entry(old));
        Some(old)
    }

    /// Removes `key`; returns the retired entry (valid while the caller is pinned).
    pub(crate) fn remove<Q>(
        &self,
        w: &mut Writer<K, V>,
        hash: u64,
        key: &Q,
        policy: Resize,
    ) -> Option<*mut Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let t = self.table_w();
        let (g, lane, _) = t.locate(hash, key)?;
        let p = t.remove_at(g, lane);
        w.retire(Retired::Entry(p));
        self.set_len(self.len() - 1);
        if policy == Resize::GrowShrink {
            self.shrink(w);
        }
        Some(p)
    }

    /// Removes every entry for which `keep` returns false (called once per entry).
    pub(crate) fn retain(
        &self,
        w: &mut Writer<K, V>,
        policy: Resize,
        keep: &mut dyn FnMut(&K, &V) -> bool,
    ) {
        let t = self.table_w();
        let doomed: Vec<(usize, usize)> = t
            .entries()
            .filter(|&(_, _, p)| {
                // SAFETY: under the lock every linked entry is live.
                let e = unsafe { &*p };
                !keep(&e.key, &e.value)
            })
            .map(|(g, lane, _)| (g, lane))
            .collect();
        for (g, lane) in doomed {
            let p = t.remove_at(g, lane);
            w.retire(Retired::Entry(p));
            self.set_len(self.len() - 1);
        }
        if policy == Resize::GrowShrink {
            self.shrink(w);
        }
    }

    /// Unlinks and retires every entry.
    pub(crate) fn clear(&self, w: &mut Writer<K, V>, policy: Resize) {
        let t = self.table_w();
        if policy == Resize::GrowShrink && t.groups() > w.min_groups {
            let entries: Vec<_> = t.entries().map(|(_, _, p)| p).collect();
            self.replace_table(w, Box::new(Table::new(w.min_groups)));
            for p in entries {
                w.retire(Retired::Entry(p));
            }
        } else {
            let doomed: Vec<_> = t.entries().map(|(g, lane, _)| (g, lane)).collect();
            for (g, lane) in doomed {
                let p = t.remove_at(g, lane);
                w.retire(Retired::Entry(p));
            }
        }
        self.set_len(0);
    }
}

impl<K, V> Drop for Shard<K, V> {
    fn drop(&mut self) {
        // Ordering: `&mut self`: no reader or writer is left.
        let t = self.table.load(Relaxed);
        // SAFETY: `&mut self` proves no guard of the map is alive, so nobody can still
        // read the table or its entries; both came from `Box::into_raw`.
        let t = unsafe { Box::from_raw(t) };
        for (_, _, p) in t.entries() {
            // SAFETY: linked entries are owned by the shard and freed exactly once here
            // (retired ones are in the garbage bag, which frees its own).
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;

    #[test]
    fn swar_matches_tags_and_empty_lanes() {
        let ctrl = 0x0300_0000_0000_83a5u64; // lane 0 = 0xa5, lane 1 = 0x83, overflow 3
        assert_eq!(match_tag(ctrl, 0xa5), 0x80);
        assert_eq!(match_tag(ctrl, 0x83), 0x8000);
        assert_eq!(match_tag(ctrl, 0x90), 0);
        assert_eq!(match_empty(ctrl), LANE_MSB & !0x8080);
        assert_eq!(overflow(ctrl), 3);
        // The overflow byte never matches a tag, even an equal value.
        assert_eq!(match_tag(0x8300_0000_0000_0000, 0x83), 0);
    }

    #[test]
    fn tags_are_never_zero() {
        for h in [0, 1, u64::MAX, 1 << 63, 0x0123_4567_89ab_cdef] {
            assert!(tag(h) >= 0x80);
        }
    }
}

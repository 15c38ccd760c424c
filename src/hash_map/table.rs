//! Probe metadata: groups of tags and slab indices, separate from the entries. A table
//! holds no keys or values (they live in the shard's slab and never move), so a resize
//! rebuilds this array and nothing else.
//!
//! # Layout
//!
//! A group is 32 bytes, half a cache line: one tag word `ctrl` and `SLOTS` index lanes.
//!
//! | bytes of `ctrl` | meaning |
//! |---|---|
//! | `0 .. SLOTS` | tag of lane `i`: `0` empty, else `0x80 | top 7 hash bits` |
//! | `SLOTS .. 7` | unused, always `0` |
//! | `7` | overflow count: entries whose probe passed this group because it was full; sticks at 255 |
//!
//! A lane holds a slab slot's handle (never 0), or [`EMPTY`]. Six slots in 32 bytes is 5.3 bytes of
//! metadata per slot (the boxed design before it spent 9): a hit reads one metadata line
//! and then the entry, a miss one metadata line. Keeping the tags in an array of their own
//! (1.1 bytes per slot) would make a miss's working set smaller, but every hit would then
//! touch a third line and a third page; on the 2-vCPU KVM guest, where each TLB miss is a
//! nested page walk, the hit path measured slower that way (`get hit` 1M keys: 226-240 ns
//! against dashmap's 167-188 ns with separate arrays).
//!
//! A lookup starts at the group picked by the low hash bits, matches the tag in all
//! lanes at once (SWAR, as hashbrown's generic group does), and stops at the first group
//! whose overflow count is 0. Probing is linear and bounded by the group count. Only the
//! shard's writer (holding the shard lock) stores to a table; readers only load.

use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicU32, AtomicU64};

/// Slots per group: the tag word and six 4-byte lanes fill 32 bytes.
#[cfg(not(fencepost_loom))]
pub(crate) const SLOTS: usize = 6;
/// Under loom, two slots per group, so three keys overflow a group.
#[cfg(fencepost_loom)]
pub(crate) const SLOTS: usize = 2;

/// An index lane with no entry.
pub(crate) const EMPTY: u32 = 0;

const OVERFLOW_SHIFT: u32 = 56;
/// An overflow count at this value is no longer counted down (it sticks).
const OVERFLOW_STUCK: u64 = 0xff;
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

/// Lanes whose tag is not 0 (full), exactly.
#[inline(always)]
fn match_full(ctrl: u64) -> u64 {
    ctrl & LANE_MSB
}

#[inline(always)]
fn overflow(ctrl: u64) -> u64 {
    ctrl >> OVERFLOW_SHIFT
}

/// A cache-line prefetch hint; a no-op where the target has no stable intrinsic (and
/// under loom and Miri, which model memory, not caches).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri), not(fencepost_loom)))]
    // SAFETY: `prefetcht0` is a hint: it never faults and never changes memory, whatever
    // the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri), not(fencepost_loom))))]
    let _ = p;
}

/// What a writer's [`Table::probe`] found.
pub(crate) enum Probe {
    /// The key, here.
    Found(Found),
    /// No such key; the first empty lane of its home group, if any.
    Absent { home_lane: Option<usize> },
}

/// Where a key sits: group, lane and slab slot handle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    pub(crate) group: usize,
    pub(crate) lane: usize,
    pub(crate) slot: u32,
}

/// Bytes of a group.
pub(crate) const GROUP_BYTES: usize = size_of::<Group>();

/// One group: a tag word and its index lanes, in one aligned half cache line.
#[repr(C, align(32))]
struct Group {
    ctrl: AtomicU64,
    lanes: [AtomicU32; SLOTS],
}

/// `2^k` groups.
pub(crate) struct Table {
    mask: usize,
    groups: Box<[Group]>,
}

impl Table {
    /// An empty table of `groups` groups (a power of two): every tag 0, every lane
    /// [`EMPTY`].
    pub(crate) fn new(groups: usize) -> Self {
        debug_assert!(groups.is_power_of_two());
        #[cfg(not(fencepost_loom))]
        // SAFETY: a group is atomics only, for which all-zero bytes are valid (tag 0 and
        // `EMPTY` lanes); a zeroed allocation costs no pass over a large table.
        let groups = unsafe { crate::sync::zeroed_slice::<Group>(groups) };
        #[cfg(fencepost_loom)]
        let groups: Box<[Group]> = (0..groups)
            .map(|_| Group {
                ctrl: AtomicU64::new(0),
                lanes: core::array::from_fn(|_| AtomicU32::new(EMPTY)),
            })
            .collect();
        Table {
            mask: groups.len() - 1,
            groups,
        }
    }

    pub(crate) fn groups(&self) -> usize {
        self.mask + 1
    }

    /// The address of the first group (for prefetch hints).
    pub(crate) fn groups_ptr(&self) -> *mut u8 {
        self.groups.as_ptr().cast_mut().cast()
    }

    pub(crate) fn slots(&self) -> usize {
        self.groups() * SLOTS
    }

    /// Entries allowed before the writer grows the table: 7/8 of the slots.
    pub(crate) fn max_len(&self) -> usize {
        max_len(self.groups())
    }

    #[inline(always)]
    fn group(&self, g: usize) -> &Group {
        debug_assert!(g <= self.mask);
        // SAFETY: every caller masks `g` with `self.mask`, and there are `mask + 1`
        // groups.
        unsafe { self.groups.get_unchecked(g) }
    }

    #[inline(always)]
    fn ctrl(&self, g: usize) -> &AtomicU64 {
        &self.group(g).ctrl
    }

    #[inline(always)]
    fn lane(&self, g: usize, lane: usize) -> &AtomicU32 {
        debug_assert!(lane < SLOTS);
        // SAFETY: `lane < SLOTS`: lanes come from tag matches, which only set bits in
        // the `SLOTS` tag bytes.
        unsafe { self.group(g).lanes.get_unchecked(lane) }
    }

    /// Asks the CPU to start loading the home group of `hash`: a writer calls it before
    /// locking, so the miss overlaps that work instead of stalling the critical section.
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        prefetch(self.group(hash as usize & self.mask));
    }

    /// The probe, for readers and the writer: `f` is called for each slot whose tag
    /// matches `hash` (its slab index read with Acquire), until it returns `Some`.
    /// Wait-free; writes nothing.
    #[inline(always)]
    pub(crate) fn find<R>(&self, hash: u64, mut f: impl FnMut(Found) -> Option<R>) -> Option<R> {
        let tag = tag(hash);
        let (groups, mask) = (&*self.groups, self.mask);
        let mut g = hash as usize & mask;
        for _ in 0..groups.len() {
            debug_assert!(g < groups.len());
            // SAFETY: `g <= mask`, and there are `mask + 1` groups.
            let group = unsafe { groups.get_unchecked(g) };
            // Ordering: Relaxed: the tag word only steers the probe. The entry is reached
            // through its index lane (Acquire below); a tag or an overflow count seen
            // early or late only makes a racing insert or remove appear earlier or later,
            // and whatever happened before this lookup is seen by coherence.
            let ctrl = group.ctrl.load(Relaxed);
            let mut lanes = match_tag(ctrl, tag);
            while lanes != 0 {
                let lane = (lanes.trailing_zeros() / 8) as usize;
                lanes &= lanes - 1;
                // SAFETY: `lane < SLOTS`: tag matches only set bits in the `SLOTS` tag
                // bytes.
                let lane_word = unsafe { group.lanes.get_unchecked(lane) };
                // The writer, ordered by the lock, would need no Acquire; it shares this
                // probe (the same `mov` on x86, an `ldar` instead of an `ldr` on aarch64).
                // Ordering: Acquire pairs with the Release lane stores in `set`: the entry
                // was written into its slab slot before a reader that reads the index
                // reads the slot.
                let slot = lane_word.load(Acquire);
                if slot != EMPTY {
                    let found = Found {
                        group: g,
                        lane,
                        slot,
                    };
                    if let Some(r) = f(found) {
                        return Some(r);
                    }
                }
            }
            if overflow(ctrl) == 0 {
                return None;
            }
            g = (g + 1) & mask;
        }
        None
    }

    /// The writer's probe for an insert: the key's slot if `is_key` accepts one, else
    /// the first empty lane of the key's home group, if it has one (where `insert_new`
    /// would put it, with no overflow count to raise). One pass instead of two.
    #[inline]
    pub(crate) fn probe(&self, hash: u64, mut is_key: impl FnMut(u32) -> bool) -> Probe {
        let home = hash as usize & self.mask;
        // Ordering: only the writer stores, and the lock orders writers.
        let empty = match_empty(self.ctrl(home).load(Relaxed));
        match self.find(hash, |f| is_key(f.slot).then_some(f)) {
            Some(found) => Probe::Found(found),
            None => Probe::Absent {
                home_lane: (empty != 0).then(|| (empty.trailing_zeros() / 8) as usize),
            },
        }
    }

    /// Places slab slot `slot` of an absent key in empty `lane` of its home group (from
    /// [`probe`](Self::probe) under the same lock). Writer only.
    #[inline]
    pub(crate) fn insert_at_home(&self, hash: u64, lane: usize, slot: u32) {
        let g = hash as usize & self.mask;
        self.set(g, lane, slot);
        let c = self.ctrl(g);
        // Ordering: only the writer stores, and the lock orders writers.
        let ctrl = c.load(Relaxed);
        debug_assert_eq!(ctrl >> (8 * lane) & 0xff, 0, "the lane is empty");
        // Ordering: Relaxed, as the tag store in `insert_new`.
        c.store(ctrl | u64::from(tag(hash)) << (8 * lane), Relaxed);
    }

    /// Places slab slot `slot` (a handle) of a key that is absent, hashed `hash`, in the first free
    /// lane of its probe. Writer only; the caller keeps the table below [`max_len`].
    #[inline]
    pub(crate) fn insert_new(&self, hash: u64, slot: u32) {
        let home = hash as usize & self.mask;
        let mut g = home;
        let lane = loop {
            // Ordering: only the writer stores, and the lock orders writers.
            let empty = match_empty(self.ctrl(g).load(Relaxed));
            if empty != 0 {
                break (empty.trailing_zeros() / 8) as usize;
            }
            g = (g + 1) & self.mask;
            assert!(g != home, "fencepost::HashMap: a table with no free slot");
        };
        let mut skip = home;
        while skip != g {
            let c = self.ctrl(skip);
            // Ordering: only the writer stores, and the lock orders writers.
            let ctrl = c.load(Relaxed);
            if overflow(ctrl) != OVERFLOW_STUCK {
                // Ordering: Relaxed: a reader that misses the new count cannot be looking
                // for this entry yet (it is published below); readers looking for older
                // keys need no count of ours.
                c.store(ctrl + (1 << OVERFLOW_SHIFT), Relaxed);
            }
            skip = (skip + 1) & self.mask;
        }
        self.set(g, lane, slot);
        let c = self.ctrl(g);
        // Ordering: only the writer stores, and the lock orders writers.
        let ctrl = c.load(Relaxed);
        // Ordering: Relaxed: the tag only steers readers to the lane, which carries the
        // entry's publication; a reader that sees the tag before the lane sees `EMPTY` or
        // an older index and compares keys.
        c.store(ctrl | u64::from(tag(hash)) << (8 * lane), Relaxed);
    }

    /// Points an occupied lane (same key) or a free one at slab slot `slot` (a handle).
    /// Writer only.
    #[inline]
    pub(crate) fn set(&self, g: usize, lane: usize, slot: u32) {
        debug_assert_ne!(slot, EMPTY);
        // Ordering: Release pairs with the Acquire lane load in `find`: the entry was
        // written into its slab slot before a reader that reads this handle reads it.
        self.lane(g, lane).store(slot, Release);
    }

    /// Unlinks the entry at `(g, lane)`, whose key hashed to `hash`. Writer only; the
    /// caller retires the slab slot.
    #[inline]
    pub(crate) fn remove_at(&self, g: usize, lane: usize, hash: u64) {
        let c = self.ctrl(g);
        // Ordering: only the writer stores, and the lock orders writers.
        let ctrl = c.load(Relaxed);
        // Ordering: Relaxed: clearing the tag publishes nothing; a reader that still sees
        // it loads the lane and finds `EMPTY`, a newer index, or the old one (kept alive by
        // the epoch while that reader stays pinned).
        c.store(ctrl & !(0xff << (8 * lane)), Relaxed);
        // Ordering: Relaxed: the unlink that the epoch's collection orders before later
        // pins (its heavy fence); `EMPTY` publishes nothing. Overwriting the index, not
        // only the tag, is what keeps a late reader from reaching a reused slab slot.
        self.lane(g, lane).store(EMPTY, Relaxed);
        let mut skip = hash as usize & self.mask;
        while skip != g {
            let c = self.ctrl(skip);
            // Ordering: only the writer stores, and the lock orders writers.
            let ctrl = c.load(Relaxed);
            if overflow(ctrl) != OVERFLOW_STUCK {
                // Ordering: Relaxed: this entry no longer needs readers to pass the
                // group; every other entry's count is unchanged.
                c.store(ctrl - (1 << OVERFLOW_SHIFT), Relaxed);
            }
            skip = (skip + 1) & self.mask;
        }
    }

    /// The slab slot at `(g, lane)`, if any: for iteration (Acquire, as in `find`).
    #[inline]
    pub(crate) fn slot_at(&self, g: usize, lane: usize) -> Option<u32> {
        // Ordering: Acquire pairs with the Release lane stores (as in `find`).
        let slot = self.lane(g, lane).load(Acquire);
        (slot != EMPTY).then_some(slot)
    }

    /// The first occupied slot at or after position `from` (`group * SLOTS + lane`), with
    /// its position: for an owner that consumes the map.
    pub(crate) fn occupied_from(&self, from: usize) -> Option<(usize, Found)> {
        (from..self.slots()).find_map(|p| {
            let (g, lane) = (p / SLOTS, p % SLOTS);
            // Ordering: the caller owns the map; nothing races.
            let slot = self.lane(g, lane).load(Relaxed);
            (slot != EMPTY).then_some((
                p,
                Found {
                    group: g,
                    lane,
                    slot,
                },
            ))
        })
    }

    /// Empties a lane and its tag, with no overflow bookkeeping: for an owner that
    /// consumes the map and drops the table after.
    pub(crate) fn clear_lane(&self, g: usize, lane: usize) {
        let c = self.ctrl(g);
        // Ordering: the caller owns the map; nothing races.
        c.store(c.load(Relaxed) & !(0xff << (8 * lane)), Relaxed);
        // Ordering: as above.
        self.lane(g, lane).store(EMPTY, Relaxed);
    }

    /// Every occupied `(group, lane, slot)`: the writer's view (under the lock).
    pub(crate) fn occupied(&self) -> impl Iterator<Item = Found> + '_ {
        (0..self.groups()).flat_map(move |g| {
            // Ordering: only the writer stores, and the lock orders writers.
            let mut full = match_full(self.ctrl(g).load(Relaxed));
            core::iter::from_fn(move || {
                if full == 0 {
                    return None;
                }
                let lane = (full.trailing_zeros() / 8) as usize;
                full &= full - 1;
                // Ordering: only the writer stores, and the lock orders writers.
                let slot = self.lane(g, lane).load(Relaxed);
                debug_assert_ne!(slot, EMPTY, "a tagged lane has an index");
                Some(Found {
                    group: g,
                    lane,
                    slot,
                })
            })
        })
    }
}

/// Entries a table of `groups` groups takes before it grows: 7/8 of its slots.
pub(crate) fn max_len(groups: usize) -> usize {
    let slots = groups * SLOTS;
    slots - slots / 8
}

/// The fewest groups (a power of two) whose [`max_len`] is at least `entries`.
pub(crate) fn groups_for(entries: usize) -> usize {
    let mut groups = entries.div_ceil(SLOTS).next_power_of_two().max(1);
    while max_len(groups) < entries {
        groups *= 2;
    }
    groups
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
        assert_eq!(match_full(ctrl), 0x8080);
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

    #[test]
    fn groups_for_gives_room_for_the_entries() {
        for n in [0, 1, 6, 7, 100, 1000, 123_457] {
            let g = groups_for(n);
            assert!(g.is_power_of_two());
            assert!(max_len(g) >= n, "{n} entries in {g} groups");
            assert!(
                g == 1 || max_len(g / 2) < n,
                "{g} groups is not the fewest for {n}"
            );
        }
    }

    #[test]
    fn overflow_counts_stick_at_their_maximum() {
        // 1 group of 7 slots, then 300 keys homed in group 0 of a 64-group table.
        let t = Table::new(64);
        let home0 = |i: u64| (i << 6) | (i << 57); // low 6 bits 0: home group 0
        for i in 0..300u64 {
            t.insert_new(home0(i), i as u32 + 1);
        }
        assert_eq!(overflow(t.ctrl(0).load(Relaxed)), OVERFLOW_STUCK);
        for i in 0..300u64 {
            let f = t
                .find(home0(i), |f| (f.slot == i as u32 + 1).then_some(f))
                .expect("inserted");
            t.remove_at(f.group, f.lane, home0(i));
        }
        // Stuck at 255: probes from group 0 keep going, which is slower but correct.
        assert_eq!(overflow(t.ctrl(0).load(Relaxed)), OVERFLOW_STUCK);
        assert_eq!(t.occupied().count(), 0);
        assert!(t.find(home0(7), Some).is_none());
    }
}

//! One shard: its current table, its slab of entries, its entry count, and the writer
//! state behind its lock; the single-writer operations; reclamation outside the lock.

use super::epoch::{Bag, Domain};
use super::slab::{Slab, SlabAlloc};
use super::table::{Found, GROUP_BYTES, Probe, Table, groups_for};
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicPtr, AtomicUsize};
use crate::{Mutex, MutexGuard};
use core::borrow::Borrow;
use core::mem::{ManuallyDrop, needs_drop};
use crossbeam_utils::CachePadded;

/// How a shard may resize (the public `ResizePolicy`, lowered).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Resize {
    Grow,
    GrowShrink,
    Fixed,
}

/// What a shard's writer keeps behind the lock.
pub(crate) struct Writer {
    alloc: SlabAlloc,
    /// Unlinked slots: their entries are dropped in place, then the slots reused.
    slots: Bag<u32>,
    /// Replaced tables (metadata only).
    tables: Bag<RetiredTable>,
    /// Reclaimable slots whose entries still need dropping: the next writer to unlock
    /// drops them with no lock held, then frees the slots.
    ready_slots: Vec<u32>,
    /// Reclaimable tables, freed by the next writer to unlock.
    ready_tables: Vec<RetiredTable>,
    policy: Resize,
    /// The table never shrinks below this many groups.
    min_groups: usize,
}

/// A replaced table, kept as the raw pointer readers may still follow: turning it back
/// into a `Box` (which asserts unique access) waits until no reader can hold it, when
/// it is dropped.
pub(crate) struct RetiredTable(*mut Table);

impl Drop for RetiredTable {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` of the shard's table, was replaced
        // and retired, and is dropped only after its grace period (or with the shard), so
        // no reader holds it and this is the only owner.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

// SAFETY: a retired table is owned by the shard's writer state and freed once; the
// `Table` it points to is atomics only.
unsafe impl Send for RetiredTable {}

/// One shard. What readers load (the table and the slab's chunk pointers) comes first
/// and is written only on a resize or a new chunk; what writers write on every operation
/// (the count, the lock and its state) sits on a line of its own, so a write does not
/// take the line that every reader of the shard needs.
pub(crate) struct Shard<K, V> {
    table: AtomicPtr<Table>,
    /// The current table's groups and mask, for `prefetch` without a pin: a writer
    /// prefetches before locking, and a stale pair only prefetches a useless line.
    groups: AtomicPtr<u8>,
    mask: AtomicUsize,
    slab: Slab<K, V>,
    written: CachePadded<Written>,
}

/// The writer-side half of a shard.
struct Written {
    len: AtomicUsize,
    writer: Mutex<Writer>,
}

impl<K, V> Shard<K, V> {
    /// A shard with a table of `groups` groups and a slab whose first chunk holds `base`
    /// entries (allocated on the first insert).
    pub(crate) fn new(groups: usize, base: usize, policy: Resize) -> Self {
        let table = Table::new(groups);
        Shard {
            groups: AtomicPtr::new(table.groups_ptr()),
            mask: AtomicUsize::new(groups - 1),
            table: AtomicPtr::new(Box::into_raw(Box::new(table))),
            slab: Slab::new(base),
            written: CachePadded::new(Written {
                len: AtomicUsize::new(0),
                writer: Mutex::new(Writer {
                    alloc: SlabAlloc::new(policy == Resize::GrowShrink),
                    slots: Bag::new(),
                    tables: Bag::new(),
                    ready_slots: Vec::new(),
                    ready_tables: Vec::new(),
                    policy,
                    min_groups: groups,
                }),
            }),
        }
    }

    /// The current table, for readers: valid while pinned.
    #[inline(always)]
    pub(crate) fn table(&self) -> &Table {
        // Ordering: Acquire pairs with the Release publication in `rebuild`: the new
        // table's groups are filled before a reader probes them.
        let t = self.table.load(Acquire);
        // SAFETY: the table pointer is never null; a replaced table is retired, so it
        // stays valid while the caller is pinned.
        unsafe { &*t }
    }

    /// Asks the CPU to start loading the home group of `hash` in the current table: no
    /// pin needed, as nothing is read through the pointers (a prefetch never faults).
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        // Relaxed: a hint; a stale or mismatched pair prefetches some other line.
        let base = self.groups.load(Relaxed);
        let mask = self.mask.load(Relaxed);
        super::table::prefetch(base.wrapping_add((hash as usize & mask) * GROUP_BYTES));
    }

    pub(crate) fn slab(&self) -> &Slab<K, V> {
        &self.slab
    }

    /// Live entries (exact when no writer runs).
    pub(crate) fn len(&self) -> usize {
        // Ordering: a count, written by the writer; no data is read through it.
        self.written.len.load(Relaxed)
    }

    /// Finds `key`, for a pinned reader: wait-free, writes nothing.
    #[inline(always)]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<&(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.table().find(hash, |found| {
            // SAFETY: `find` hands over only indices it read from a lane with Acquire, so
            // the slot holds an entry written before; the caller is pinned, so that entry
            // stays until the pin ends even if it is unlinked meanwhile.
            let entry = unsafe { self.slab.entry(found.slot) };
            (entry.0.borrow() == key).then_some(entry)
        })
    }

    /// An empty shard configured as this one was built (`HashMap::clone`).
    pub(crate) fn empty_like(&self) -> Self {
        let w = self.written.writer.lock();
        Shard::new(w.min_groups, self.slab.base(), w.policy)
    }

    /// Moves the entry at or after table position `from` out of the shard, for an owner
    /// that consumes the map (no reader exists, and the shard is dropped after); returns
    /// the position after it. The lane is cleared so the shard's drop skips the entry.
    pub(crate) fn take_next(&mut self, from: usize) -> Option<(usize, (K, V))> {
        // Ordering: `&mut self`: nobody else reads or writes the table.
        let table = self.table.load(Relaxed);
        // SAFETY: never null, and `&mut self` keeps it from being replaced or freed.
        let table = unsafe { &*table };
        let (position, found) = table.occupied_from(from)?;
        table.clear_lane(found.group, found.lane);
        let len = self.len();
        // Ordering: `&mut self`: nobody else reads or writes the count.
        self.written.len.store(len - 1, Relaxed);
        // SAFETY: `&mut self`: no reader exists; the entry was linked and its lane is now
        // cleared, so the shard never drops it.
        let entry = unsafe { self.slab.take(found.slot) };
        Some((position + 1, entry))
    }

    /// Takes the writer lock. The caller has checked that it is not inside one of this
    /// map's closures.
    #[inline]
    pub(crate) fn lock(&self) -> Locked<'_, K, V> {
        Locked {
            shard: self,
            w: ManuallyDrop::new(self.written.writer.lock()),
        }
    }

    /// Drops the entries of reclaimed slots with no lock held, then frees the slots.
    #[cold]
    fn reclaim(&self, slots: Vec<u32>, tables: Vec<RetiredTable>) {
        drop(tables);
        let mut pass = Reclaim {
            shard: self,
            slots,
            next: 0,
        };
        pass.drop_entries();
    }
}

/// Drops the entries of a batch of reclaimed slots, then frees the slots under the
/// lock. A destructor that panics stops nothing: the rest are still dropped (a second
/// panic aborts, as in std's collections) and every slot is freed.
struct Reclaim<'a, K, V> {
    shard: &'a Shard<K, V>,
    slots: Vec<u32>,
    next: usize,
}

impl<K, V> Reclaim<'_, K, V> {
    fn drop_entries(&mut self) {
        while let Some(&slot) = self.slots.get(self.next) {
            self.next += 1;
            // SAFETY: the slot was unlinked and its grace period has passed (the epoch
            // said so when it was collected); it left the writer's lists when this pass
            // took it, so nobody else drops or frees it.
            unsafe { self.shard.slab.drop_in_place(slot) };
        }
    }
}

impl<K, V> Drop for Reclaim<'_, K, V> {
    fn drop(&mut self) {
        self.drop_entries();
        let mut w = self.shard.written.writer.lock();
        for &slot in &self.slots {
            w.alloc.free(&self.shard.slab, slot);
        }
        if w.policy == Resize::GrowShrink {
            w.alloc.release_free_chunks(&self.shard.slab);
        }
        if w.ready_slots.capacity() == 0 {
            self.slots.clear();
            w.ready_slots = core::mem::take(&mut self.slots);
        }
    }
}

impl<K, V> Drop for Shard<K, V> {
    fn drop(&mut self) {
        // Ordering: `&mut self`: no reader or writer is left.
        let table = self.table.load(Relaxed);
        // SAFETY: `&mut self` proves no guard of the map is alive; the table came from
        // `Box::into_raw` and is freed here, once.
        let table = unsafe { Box::from_raw(table) };
        let mut doomed: Vec<u32> = table.occupied().map(|f| f.slot).collect();
        drop(table);
        let w = self.written.writer.get_mut();
        doomed.append(&mut w.ready_slots);
        doomed.extend(w.slots.drain());
        w.tables.drain().for_each(drop);
        w.ready_tables.clear();
        let mut pass = DropAll {
            slab: &self.slab,
            slots: doomed,
            next: 0,
        };
        pass.run();
        drop(pass);
        let w = self.written.writer.get_mut();
        w.alloc.free_all(&self.slab);
    }
}

/// Drops every listed entry, carrying on after a destructor panics.
struct DropAll<'a, K, V> {
    slab: &'a Slab<K, V>,
    slots: Vec<u32>,
    next: usize,
}

impl<K, V> DropAll<'_, K, V> {
    fn run(&mut self) {
        while let Some(&slot) = self.slots.get(self.next) {
            self.next += 1;
            // SAFETY: the owner is being dropped: every listed slot holds an entry (linked,
            // retired or reclaimable, each listed once) that nobody can reach any more.
            unsafe { self.slab.drop_in_place(slot) };
        }
    }
}

impl<K, V> Drop for DropAll<'_, K, V> {
    fn drop(&mut self) {
        self.run();
    }
}

/// A shard's writer lock, held. Unlocking hands reclaimable entries to `Shard::reclaim`,
/// which drops them with no lock held (user destructors may then use the map).
pub(crate) struct Locked<'a, K, V> {
    shard: &'a Shard<K, V>,
    w: ManuallyDrop<MutexGuard<'a, Writer>>,
}

impl<K, V> Drop for Locked<'_, K, V> {
    #[inline]
    fn drop(&mut self) {
        // While unwinding, leave the batch for the next writer: a destructor that panicked
        // now would abort.
        let batch = if (self.w.ready_slots.is_empty() && self.w.ready_tables.is_empty())
            || crate::sync::panicking()
        {
            None
        } else {
            Some((
                core::mem::take(&mut self.w.ready_slots),
                core::mem::take(&mut self.w.ready_tables),
            ))
        };
        // SAFETY: dropped exactly once, here; `self.w` is not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.w) };
        if let Some((slots, tables)) = batch {
            self.shard.reclaim(slots, tables);
        }
    }
}

impl<'a, K, V> Locked<'a, K, V> {
    /// The current table (the writer alone replaces it).
    fn table(&self) -> &'a Table {
        // Ordering: only the writer stores the pointer, and the lock orders writers.
        let t = self.shard.table.load(Relaxed);
        // SAFETY: never null; only the writer (the lock holder) retires it.
        unsafe { &*t }
    }

    fn len(&self) -> usize {
        self.shard.len()
    }

    fn set_len(&self, len: usize) {
        // Ordering: see `Shard::len`.
        self.shard.written.len.store(len, Relaxed);
    }

    /// Finds `key` under the lock.
    #[inline]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<Found>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let slab = &self.shard.slab;
        self.table().find(hash, |found| {
            // SAFETY: under the lock, an index read from a lane is a linked entry.
            let (k, _) = unsafe { slab.entry(found.slot) };
            (k.borrow() == key).then_some(found)
        })
    }

    /// The entry in `slot`.
    ///
    /// # Safety
    /// `slot` holds an entry for `'g`: linked now and `'g` ends before the lock is
    /// released, or the caller is pinned for `'g` (a later unlink retires it after the
    /// pin began, which keeps it).
    pub(crate) unsafe fn entry<'g>(&self, slot: u32) -> &'g (K, V) {
        // SAFETY: as the caller guarantees.
        unsafe { self.shard.slab.entry(slot) }
    }

    /// Inserts or replaces; returns the slot of the entry it replaced (retired, so
    /// valid while the caller is pinned). `Err` gives the pair back when a `Fixed`
    /// shard is full.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        domain: &Domain,
        hash: u64,
        key: K,
        value: V,
    ) -> Result<Option<u32>, (K, V)>
    where
        K: Eq,
    {
        let slab = &self.shard.slab;
        let probe = self.table().probe(hash, |slot| {
            // SAFETY: under the lock, a handle read from a lane is a linked entry.
            unsafe { slab.entry(slot) }.0 == key
        });
        match probe {
            Probe::Found(found) => {
                self.replace(domain, found, hash, key, value);
                Ok(Some(found.slot))
            }
            Probe::Absent { home_lane } => {
                self.insert_absent_at(domain, hash, key, value, home_lane)?;
                Ok(None)
            }
        }
    }

    /// Links a new entry for a key the caller found absent under this lock; `Err` gives
    /// the pair back when a `Fixed` shard is full.
    #[inline]
    pub(crate) fn insert_absent(
        &mut self,
        domain: &Domain,
        hash: u64,
        key: K,
        value: V,
    ) -> Result<u32, (K, V)> {
        self.insert_absent_at(domain, hash, key, value, None)
    }

    /// As [`insert_absent`](Self::insert_absent), with the empty home lane the caller's
    /// probe found, if any.
    #[inline]
    fn insert_absent_at(
        &mut self,
        domain: &Domain,
        hash: u64,
        key: K,
        value: V,
        mut home_lane: Option<usize>,
    ) -> Result<u32, (K, V)> {
        let len = self.len();
        if len >= self.table().max_len() {
            if self.w.policy == Resize::Fixed {
                return Err((key, value));
            }
            self.grow(domain, len + 1);
            // The probe's lane was in the old table.
            home_lane = None;
        }
        let slot = self.write(hash, key, value);
        match home_lane {
            Some(lane) => self.table().insert_at_home(hash, lane, slot),
            None => self.table().insert_new(hash, slot),
        }
        self.set_len(len + 1);
        Ok(slot)
    }

    /// Takes a free slot and writes the entry into it (not yet linked).
    #[inline(always)]
    fn write(&mut self, hash: u64, key: K, value: V) -> u32 {
        let slot = self.w.alloc.alloc(&self.shard.slab, hash);
        // SAFETY: under the lock; the slot was free (never handed out, or reclaimed after
        // its grace period), so no reader can reach it before we link it.
        unsafe { self.shard.slab.write(slot, (key, value)) };
        slot
    }

    /// Replaces the entry at `found` (its key equal to `key`) by a new one, in the same
    /// lane; retires the old slot. Returns the new slot.
    #[inline]
    pub(crate) fn replace(
        &mut self,
        domain: &Domain,
        found: Found,
        hash: u64,
        key: K,
        value: V,
    ) -> u32 {
        let slot = self.write(hash, key, value);
        self.table().set(found.group, found.lane, slot);
        self.retire(domain, found.slot);
        slot
    }

    /// Unlinks and retires the entry at `found`, whose key hashed to `hash`.
    #[inline]
    pub(crate) fn remove(&mut self, domain: &Domain, found: Found, hash: u64) {
        self.table().remove_at(found.group, found.lane, hash);
        self.set_len(self.len() - 1);
        self.retire(domain, found.slot);
        if self.w.policy == Resize::GrowShrink {
            self.shrink(domain);
        }
    }

    /// Removes every entry for which `keep` returns false (called once per entry, in
    /// table order). If `keep` panics, nothing in this shard is removed.
    pub(crate) fn retain(&mut self, domain: &Domain, keep: &mut dyn FnMut(&K, &V) -> bool) {
        let slab = &self.shard.slab;
        let doomed: Vec<(Found, u64)> = self
            .table()
            .occupied()
            .filter(|f| {
                // SAFETY: under the lock every occupied lane points to a linked entry.
                let (k, v) = unsafe { slab.entry(f.slot) };
                !keep(k, v)
            })
            .map(|f| (f, self.w.alloc.hash(slab, f.slot)))
            .collect();
        for (found, hash) in doomed {
            self.table().remove_at(found.group, found.lane, hash);
            self.set_len(self.len() - 1);
            self.retire(domain, found.slot);
        }
        if self.w.policy == Resize::GrowShrink {
            self.shrink(domain);
        }
    }

    /// Unlinks and retires every entry.
    pub(crate) fn clear(&mut self, domain: &Domain) {
        let slab = &self.shard.slab;
        let t = self.table();
        let found: Vec<Found> = t.occupied().collect();
        if self.w.policy == Resize::GrowShrink && t.groups() > self.w.min_groups {
            // A new table of the first size, empty (the old one keeps its entries for
            // readers still on it, until it is reclaimed).
            self.publish(domain, Table::new(self.w.min_groups));
        } else {
            for f in &found {
                t.remove_at(f.group, f.lane, self.w.alloc.hash(slab, f.slot));
            }
        }
        self.set_len(0);
        for f in found {
            self.retire(domain, f.slot);
        }
    }

    /// Makes room for `entries` live entries without another allocation (table and
    /// slab). Returns false (changing nothing) for a `Fixed` shard that cannot.
    pub(crate) fn reserve(&mut self, domain: &Domain, entries: usize) -> bool {
        if entries > self.table().max_len() {
            if self.w.policy == Resize::Fixed {
                return false;
            }
            self.rebuild(domain, groups_for(entries));
        }
        self.w.alloc.reserve(&self.shard.slab, entries);
        true
    }

    /// Seals the open garbage, tries to advance the epoch and queues what is
    /// reclaimable; returns how many retired items are still waiting.
    pub(crate) fn collect(&mut self, domain: &Domain) -> usize {
        let (stamp, now) = domain.collect();
        let w = &mut **self.w;
        if needs_drop::<(K, V)>() {
            let ready = &mut w.ready_slots;
            w.slots.collect(stamp, now, |slot| ready.push(slot));
        } else {
            // No destructor to run: free the slots at once, under the lock.
            let (alloc, slab) = (&mut w.alloc, &self.shard.slab);
            w.slots.collect(stamp, now, |slot| alloc.free(slab, slot));
            if w.policy == Resize::GrowShrink {
                w.alloc.release_free_chunks(&self.shard.slab);
            }
        }
        let ready = &mut w.ready_tables;
        w.tables.collect(stamp, now, |table| ready.push(table));
        self.garbage()
    }

    /// Retired items not yet reclaimed, queued ones included.
    pub(crate) fn garbage(&self) -> usize {
        let w = &**self.w;
        w.slots.len() + w.tables.len() + w.ready_slots.len() + w.ready_tables.len()
    }

    /// Retires an unlinked slot; collects every `COLLECT_EVERY` of them.
    #[inline]
    fn retire(&mut self, domain: &Domain, slot: u32) {
        if self.w.slots.retire(slot) {
            self.collect(domain);
        }
    }

    /// Retires a replaced table. A growing map retires no slots, so replaced tables are
    /// collected on their own cadence: at every second one (a collection costs a heavy
    /// fence; the tables then waiting add up to at most the current table's size).
    fn retire_table(&mut self, domain: &Domain, table: RetiredTable) {
        if self.w.tables.retire(table) || self.w.tables.len() >= 2 {
            self.collect(domain);
        }
    }

    /// Grows to the larger of twice the groups and room for `entries`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, domain: &Domain, entries: usize) {
        let groups = groups_for(entries).max(self.table().groups() * 2);
        self.rebuild(domain, groups);
    }

    /// Halves the table while it is at most 1/8 full (GrowShrink).
    #[cold]
    fn shrink(&mut self, domain: &Domain) {
        let t = self.table();
        let groups = t.groups() / 2;
        if groups >= self.w.min_groups && self.len() <= t.slots() / 8 {
            self.rebuild(domain, groups);
        }
    }

    /// Builds a table of `groups` groups holding the current table's entries, publishes
    /// it and retires the old one. The old table is scanned in order (one sequential pass
    /// over its groups; each entry's hash comes from the writer's dense hash array, no
    /// entry is touched). Readers still on the old table see it frozen and complete up
    /// to this instant.
    fn rebuild(&mut self, domain: &Domain, groups: usize) {
        let t = Table::new(groups);
        let (old_table, slab) = (self.table(), &self.shard.slab);
        // The new table is written in hash order: fetch a few home groups ahead so those
        // misses overlap.
        const AHEAD: usize = 8;
        let mut ring = [(0u32, 0u64); AHEAD];
        let mut queued = 0;
        for found in old_table.occupied() {
            let hash = self.w.alloc.hash(slab, found.slot);
            t.prefetch(hash);
            let due = core::mem::replace(&mut ring[queued % AHEAD], (found.slot, hash));
            if queued >= AHEAD {
                t.insert_new(due.1, due.0);
            }
            queued += 1;
        }
        for &(slot, hash) in ring.iter().take(queued.min(AHEAD)) {
            t.insert_new(hash, slot);
        }
        self.publish(domain, t);
    }

    /// Publishes `table` in place of the current one and retires the old one.
    fn publish(&mut self, domain: &Domain, table: Table) {
        // Relaxed: prefetch hints (see `Shard::prefetch`).
        self.shard.groups.store(table.groups_ptr(), Relaxed);
        self.shard.mask.store(table.groups() - 1, Relaxed);
        // Ordering: only the writer stores the pointer, and the lock orders writers.
        let old = self.shard.table.load(Relaxed);
        let new = Box::into_raw(Box::new(table));
        // Ordering: Release pairs with the Acquire in `Shard::table`: the new table's
        // contents happen before a reader's probe of it.
        self.shard.table.store(new, Release);
        self.retire_table(domain, RetiredTable(old));
    }
}

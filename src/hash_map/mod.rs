//! A concurrent hash map: sharded single-writer tables, wait-free readers, and an epoch
//! reclamation scheme of its own in which only writers free memory.
//!
//! # Design
//!
//! The hash of a key is computed once. Its top 7 bits are the *tag*, the next bits pick
//! the *shard*, the low bits pick the *group* where the probe starts. Each shard has a
//! writer lock (the crate's [`Mutex`](crate::Mutex)), a pointer to its current table and
//! an entry count. A table is an array of 64-byte groups: one control word (7 tag bytes
//! and an overflow count) and 7 pointers to boxed entries.
//!
//! - **Readers** ([`HashMapRef::get`]) pin the epoch, load the shard's table, match the
//!   tag in a group's control word SWAR-style, load the matching slots and compare keys.
//!   The probe ends at the first group whose overflow count is 0, so a miss usually reads
//!   one cache line and a hit two. No lock, no read-modify-write, no retry: a lookup is
//!   wait-free and bounded by the table's group count.
//! - **Writers** prefetch the key's home group, lock the shard, box the entry (reusing
//!   the allocation of an entry the epoch already reclaimed when the shard has one, so
//!   a steady mix of inserts and removes rarely calls the allocator), then bump the
//!   overflow counts of the full groups they skip, store the slot pointer and then the
//!   tag. A remove clears the tag, nulls the slot, lowers the overflow counts and retires
//!   the entry. A replace swaps the slot's pointer and retires the old entry.
//! - **Resize** is per shard, by its writer: build a table of twice the groups holding
//!   the same entry pointers, publish it, retire the old one. Readers still on the old
//!   table see it frozen and complete up to the publication, so each key's reads stay
//!   linearizable. [`ResizePolicy`] chooses growth, growth and shrinking, or a fixed
//!   capacity for which inserts fail instead of allocating.
//! - **Reclamation**: readers pin (one store and a compiler fence where `membarrier` is
//!   available); writers stamp their garbage with the epoch, advance the epoch every 1024
//!   retires (a `membarrier`, then a scan of the pinned threads) and free garbage two
//!   epochs old. Readers never free, so a read's tail latency never contains a
//!   destructor. [`HashMap::flush`] reclaims on demand.
//! - **Closures** ([`update`](HashMap::update), [`compute`](HashMap::compute),
//!   [`get_or_insert_with`](HashMap::get_or_insert_with), [`retain`](HashMap::retain))
//!   run exactly once, under the shard lock. No guard or return value holds a lock, and
//!   calling a mutating method of the same map from inside such a closure panics instead
//!   of deadlocking.
//!
//! # Memory ordering
//!
//! | operation | ordering | pairs with / why |
//! |---|---|---|
//! | reader loads the shard's table | Acquire | the writer's Release publication of a new table: its groups are filled first |
//! | reader loads a control word | Relaxed | it only steers the probe; data comes through the slot |
//! | reader loads a slot | Acquire | the writer's Release slot store: the entry is initialised first |
//! | writer stores tags and overflow counts | Relaxed | see the reader's control load |
//! | writer stores an entry pointer | Release | the reader's Acquire slot load |
//! | writer publishes a table | Release | the reader's Acquire table load |
//! | pin | Acquire epoch load, Release state store, light fence | the epoch module's `# Why a reader never sees freed memory` |
//!
//! Writers are ordered by the shard lock, so their own loads are Relaxed. A reader that
//! sees a tag before its slot finds null or an older entry and compares keys, so it
//! never returns another key's value; anything stored before the lookup began (in
//! happens-before) is seen by coherence, so a key present throughout is never missed.
//!
//! The hot path on x86_64: `get` is plain `mov` loads (Acquire is free under TSO) and the
//! pin is a `mov` store with a compiler fence; on aarch64 the Acquire loads are
//! `ldar`/`ldapr` and the pin store an `stlr`. Neither has a barrier instruction when
//! `membarrier(PRIVATE_EXPEDITED)` is available; without it the pin pays `fence(SeqCst)`.

mod builder;
mod epoch;
mod map_ref;
mod raw;

pub use builder::{Computed, Full, HashMapBuilder, Op, ResizePolicy};
pub use map_ref::{HashMapRef, Iter};

use crate::sync::thread_local;
use core::borrow::Borrow;
use core::cell::Cell;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use crossbeam_utils::CachePadded;
use raw::{Entry, Resize, Shard, Writer};
use std::collections::hash_map::RandomState;

/// A concurrent hash map with wait-free reads: see the [module docs](self).
///
/// Reads go through a pinned [`HashMapRef`] ([`pin`](Self::pin)), which holds no lock,
/// only an epoch pin; references it returns stay valid while it lives. Writes take one
/// shard's lock for a few stores. The guard-free methods ([`get_cloned`](Self::get_cloned),
/// [`update`](Self::update), [`compute`](Self::compute), ...) pin or lock internally.
///
/// ```
/// use fencepost::HashMap;
///
/// let map: HashMap<String, u32> = HashMap::new();
/// let m = map.pin();
/// assert_eq!(m.insert("apple".to_string(), 3), None);
/// assert_eq!(m.get("apple"), Some(&3));
/// assert_eq!(m.insert("apple".to_string(), 4), Some(&3));
/// drop(m);
/// assert!(map.update("apple", |n| n + 1));
/// assert_eq!(map.get_cloned("apple"), Some(5));
/// ```
pub struct HashMap<K, V, S = RandomState> {
    shards: Box<[CachePadded<Shard<K, V>>]>,
    /// Shard index: `(hash >> shard_shift) & shard_mask`, the bits below the tag.
    shard_shift: u32,
    shard_mask: usize,
    policy: Resize,
    hasher: S,
}

// SAFETY: the map owns its keys and values (boxed entries); moving it to another thread
// moves them, and its raw pointers are owned allocations, not shared ones.
unsafe impl<K: Send, V: Send, S: Send> Send for HashMap<K, V, S> {}
// SAFETY: `&HashMap` hands out `&K`/`&V` to several threads (so `Sync`), and lets any
// thread insert, replace and drop keys and values another thread created (so `Send`).
// Shared state is atomics and the shard mutexes.
unsafe impl<K: Send + Sync, V: Send + Sync, S: Sync> Sync for HashMap<K, V, S> {}

impl<K, V> HashMap<K, V, RandomState> {
    /// An empty map with the default shard count and std's `RandomState`.
    ///
    /// ```
    /// let map: fencepost::HashMap<u64, u64> = fencepost::HashMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn new() -> Self {
        HashMapBuilder::new().build()
    }

    /// An empty map with room for `capacity` entries before any shard grows.
    ///
    /// ```
    /// let map: fencepost::HashMap<u64, u64> = fencepost::HashMap::with_capacity(1 << 10);
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        HashMapBuilder::new().capacity(capacity).build()
    }

    /// A builder for capacity, shard count, resize policy and hasher.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u64, u64>::builder().shards(4).build();
    /// assert!(map.is_empty());
    /// ```
    pub fn builder() -> HashMapBuilder<K, V, RandomState> {
        HashMapBuilder::new()
    }
}

impl<K, V, S> HashMap<K, V, S> {
    /// An empty map using `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: fencepost::HashMap<u8, u8> = fencepost::HashMap::with_hasher(RandomState::new());
    /// assert!(map.is_empty());
    /// ```
    pub fn with_hasher(hasher: S) -> Self {
        HashMapBuilder::new().hasher(hasher).build()
    }

    /// An empty map with room for `capacity` entries, using `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: fencepost::HashMap<u8, u8> =
    ///     fencepost::HashMap::with_capacity_and_hasher(16, RandomState::new());
    /// assert!(map.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        HashMapBuilder::new()
            .capacity(capacity)
            .hasher(hasher)
            .build()
    }

    /// Pins the current thread and returns a handle for reads and writes whose
    /// references stay valid while it lives. Pinning is cheap and nests; holding a pin
    /// for long delays the reclamation of removed entries (map-wide and in every other
    /// map), so keep it scoped.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// let m = map.pin();
    /// m.insert(1, 10);
    /// assert_eq!(m.get(&1), Some(&10));
    /// ```
    #[inline]
    pub fn pin(&self) -> HashMapRef<'_, K, V, S> {
        HashMapRef {
            map: self,
            _guard: epoch::pin(),
        }
    }

    /// The number of entries (a sum of per-shard counts; exact when nothing writes).
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// map.pin().insert(1, 1);
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// Whether the map has no entries.
    ///
    /// ```
    /// assert!(fencepost::HashMap::<u32, u32>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frees the removed entries and replaced tables that no pinned thread can still
    /// see: call it for deterministic memory use after a burst of removals. Garbage that
    /// a pinned thread (this one included) may still read stays until a later flush or
    /// write.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, String>::new();
    /// map.pin().insert(1, "one".into());
    /// map.pin().remove(&1);
    /// map.flush();
    /// ```
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    pub fn flush(&self) {
        for shard in self.shards.iter() {
            self.lock(shard).flush();
        }
    }

    /// Removed entries and replaced tables waiting to be freed (a metric: it stays
    /// bounded unless a thread stays pinned for long). Locks each shard in turn.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// map.pin().insert(1, 1);
    /// map.pin().remove(&1);
    /// map.flush();
    /// assert_eq!(map.garbage_len(), 0);
    /// ```
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    pub fn garbage_len(&self) -> usize {
        self.shards.iter().map(|s| self.lock(s).garbage.len()).sum()
    }

    /// Locks one shard's writer, refusing re-entry from this map's closures.
    #[inline]
    fn lock<'a>(&self, shard: &'a Shard<K, V>) -> crate::MutexGuard<'a, Writer<K, V>> {
        if IN_CLOSURE.with(Cell::get) == self.id() {
            reentrant();
        }
        shard.writer.lock()
    }

    fn id(&self) -> usize {
        self as *const Self as *const () as usize
    }

    /// Runs `f` with this map marked as "in a closure" on this thread.
    fn in_closure<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                IN_CLOSURE.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(IN_CLOSURE.with(|c| c.replace(self.id())));
        f()
    }

    /// Entries the current tables hold before some shard grows (7/8 of their slots,
    /// summed over shards). With `ResizePolicy::Fixed` this is the most the map can
    /// hold; keys that crowd one shard fill it sooner.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u64, u64>::with_capacity(1000);
    /// assert!(map.capacity() >= 1000);
    /// ```
    pub fn capacity(&self) -> usize {
        let _guard = epoch::pin();
        self.shards.iter().map(|s| s.table().max_len()).sum()
    }
}

#[cfg(not(fencepost_loom))]
thread_local! {
    /// The map (its address) whose closure this thread is running, or 0.
    static IN_CLOSURE: Cell<usize> = const { Cell::new(0) };
}

// loom's macro (edition 2018) takes no `const { }` initialiser.
#[cfg(fencepost_loom)]
thread_local! {
    static IN_CLOSURE: Cell<usize> = Cell::new(0);
}

#[cold]
#[inline(never)]
fn reentrant() -> ! {
    panic!(
        "fencepost::HashMap: a closure passed to update/compute/get_or_insert_with/retain \
         called a mutating method of the same map while its shard lock is held; \
         this would deadlock"
    )
}

impl<K: Hash + Eq, V, S: BuildHasher> HashMap<K, V, S> {
    #[inline(always)]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Starts loading the home group of `hash` before the caller locks `shard` (see
    /// `Table::prefetch`); pins only to read the table pointer safely.
    #[inline(always)]
    fn prefetch(&self, shard: &Shard<K, V>, hash: u64) {
        let _guard = epoch::pin();
        shard.table().prefetch(hash);
    }

    #[inline(always)]
    fn shard(&self, hash: u64) -> &Shard<K, V> {
        &self.shards[(hash >> self.shard_shift) as usize & self.shard_mask]
    }

    /// A clone of the value for `key`.
    ///
    /// ```
    /// let map = fencepost::HashMap::<&str, Vec<u8>>::new();
    /// map.pin().insert("k", vec![1, 2]);
    /// assert_eq!(map.get_cloned("k"), Some(vec![1, 2]));
    /// ```
    #[inline]
    pub fn get_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.pin().get(key).cloned()
    }

    /// Whether `key` is present.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u8, u8>::new();
    /// map.pin().insert(1, 1);
    /// assert!(map.contains_key(&1) && !map.contains_key(&2));
    /// ```
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.pin().get(key).is_some()
    }

    /// Replaces the value of `key` by `f(&old)`; `false` if `key` is absent. `f` runs
    /// exactly once (if the key is present), under the shard lock, and must not call a
    /// mutating method of this map. The key is cloned into the new entry.
    ///
    /// ```
    /// let map = fencepost::HashMap::<&str, u32>::new();
    /// map.pin().insert("hits", 1);
    /// assert!(map.update("hits", |n| n + 1));
    /// assert!(!map.update("misses", |n| n + 1));
    /// assert_eq!(map.get_cloned("hits"), Some(2));
    /// ```
    ///
    /// # Panics
    /// If `f` calls a mutating method of this map; if `f` panics (the map is unchanged).
    pub fn update<Q, F>(&self, key: &Q, f: F) -> bool
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
        F: FnOnce(&V) -> V,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        self.prefetch(shard, hash);
        let mut w = self.lock(shard);
        let Some(e) = shard.find_w(hash, key) else {
            return false;
        };
        let value = self.in_closure(|| f(&e.value));
        let entry = w.alloc(Entry {
            hash,
            key: e.key.clone(),
            value,
        });
        shard.replace(&mut w, key, entry);
        true
    }

    /// Reads the current value of `key` (if any) and applies `f`'s decision: keep,
    /// insert/replace, or remove. `f` runs exactly once, under the shard lock.
    ///
    /// ```
    /// use fencepost::hash_map::{Computed, HashMap, Op};
    ///
    /// let map = HashMap::<&str, u32>::new();
    /// let bump = |v: Option<&u32>| Op::Insert(v.map_or(1, |n| n + 1));
    /// assert_eq!(map.compute("k", bump), Computed::Inserted);
    /// assert_eq!(map.compute("k", bump), Computed::Replaced);
    /// assert_eq!(map.get_cloned("k"), Some(2));
    /// assert_eq!(map.compute("k", |_| Op::Remove), Computed::Removed);
    /// assert_eq!(map.compute("k", |_| Op::<u32>::Keep), Computed::Unchanged);
    /// ```
    ///
    /// # Panics
    /// If `f` calls a mutating method of this map; if `f` asks to insert into a full
    /// shard of a `ResizePolicy::Fixed` map; if `f` panics (the map is unchanged).
    pub fn compute<F>(&self, key: K, f: F) -> Computed
    where
        F: FnOnce(Option<&V>) -> Op<V>,
    {
        let hash = self.hash(&key);
        let shard = self.shard(hash);
        self.prefetch(shard, hash);
        let mut w = self.lock(shard);
        let current = shard.find_w(hash, &key);
        let present = current.is_some();
        match self.in_closure(|| f(current.map(|e| &e.value))) {
            Op::Keep => Computed::Unchanged,
            Op::Remove if !present => Computed::Unchanged,
            Op::Remove => {
                shard.remove(&mut w, hash, &key, self.policy);
                Computed::Removed
            }
            Op::Insert(value) => {
                let entry = w.alloc(Entry { hash, key, value });
                match shard.insert(&mut w, entry, self.policy) {
                    Ok(done) if done.old.is_some() => Computed::Replaced,
                    Ok(_) => Computed::Inserted,
                    Err(_) => {
                        drop(w);
                        self.full()
                    }
                }
            }
        }
    }

    /// The value of `key`, inserting `f()` first if it is absent. `f` runs at most
    /// once, under the shard lock, only if the key is absent.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u8, String>::new();
    /// assert_eq!(map.get_or_insert_with(1, || "one".into()), "one");
    /// assert_eq!(map.get_or_insert_with(1, || unreachable!()), "one");
    /// ```
    ///
    /// # Panics
    /// As [`HashMapRef::get_or_insert_with`].
    pub fn get_or_insert_with<F>(&self, key: K, f: F) -> V
    where
        F: FnOnce() -> V,
        V: Clone,
    {
        self.pin().get_or_insert_with(key, f).clone()
    }

    /// Keeps only the entries for which `f` returns true. `f` runs exactly once per
    /// entry, under each shard's lock in turn (not as one atomic step over the map).
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// for i in 0..10 {
    ///     map.pin().insert(i, i);
    /// }
    /// map.retain(|k, _| k % 2 == 0);
    /// assert_eq!(map.len(), 5);
    /// ```
    ///
    /// # Panics
    /// If `f` calls a mutating method of this map; if `f` panics (entries already
    /// visited in earlier shards stay removed).
    pub fn retain<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        for shard in self.shards.iter() {
            let mut w = self.lock(shard);
            self.in_closure(|| shard.retain(&mut w, self.policy, &mut f));
        }
    }

    /// Removes every entry (shard by shard; concurrent inserts may survive).
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// map.pin().insert(1, 1);
    /// map.clear();
    /// assert!(map.is_empty());
    /// ```
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut w = self.lock(shard);
            shard.clear(&mut w, self.policy);
        }
    }

    #[cold]
    #[inline(never)]
    fn full(&self) -> ! {
        panic!(
            "fencepost::HashMap: insert into a full shard of a ResizePolicy::Fixed map \
             (capacity {}); use HashMapRef::try_insert to handle it",
            self.capacity()
        )
    }
}

impl<K, V> Default for HashMap<K, V, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S> fmt::Debug for HashMap<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.pin().iter()).finish()
    }
}

//! A concurrent hash map: sharded single-writer tables of dense tag metadata, keys and
//! values stored inline in slabs that never move, wait-free readers, and an epoch
//! reclamation domain per map in which only writers reclaim.
//!
//! # Design
//!
//! The hash of a key is computed once. Its top 7 bits are the *tag*, the next bits pick
//! the *shard*, the low bits pick the *group* where the probe starts. Each shard has a
//! writer lock (the crate's [`Mutex`](crate::Mutex)), a pointer to its current *table*,
//! a *slab* holding its entries, and an entry count.
//!
//! - **Tables are metadata only**: 32-byte groups, each a tag word (six tags and an
//!   overflow count, matched SWAR-style) and the six slab handles of its slots, about 5
//!   bytes a slot (the boxed design before it spent 9, in a 64-byte line per 7 slots). A
//!   miss reads one group; a hit reads one group, then the entry.
//! - **Entries live inline in the slab**: `(K, V)` pairs in chunks of doubling size that
//!   are never moved or reallocated. A removed entry's slot is reused only after the
//!   epoch's grace period, so inserts and removes neither allocate nor free (a new chunk
//!   is added when the slab is full, as a `Vec` doubles).
//! - **Readers** ([`HashMapRef::get`]) pin the map's epoch, load the shard's table, match
//!   the tag in a group's tag word, load the matching handles and compare keys. The
//!   probe ends at the first group whose overflow count is 0. No lock, no
//!   read-modify-write, no retry, no store beyond the pin: a lookup is wait-free and
//!   bounded by the table's group count.
//! - **Writers** prefetch the key's home group, lock the shard, write the entry into a
//!   free slot, then bump the overflow counts of the full groups they skip, store the
//!   handle and then the tag. A remove clears the tag and the handle, lowers the
//!   overflow counts and retires the slot. A replace writes a new slot, repoints the
//!   handle and retires the old slot.
//! - **Resize** is per shard, by its writer: a new table of twice the groups is filled
//!   from a sequential scan of the slab's linked slots and their stored hashes (no entry
//!   is touched, no pointer followed), published, and the old table retired. Readers
//!   still on the old table see it frozen and complete up to the publication, so each
//!   key's reads stay linearizable. [`ResizePolicy`] chooses growth, growth and
//!   shrinking, or a fixed capacity for which inserts fail instead of allocating.
//! - **Reclamation**: readers pin (one store and the light fence of the
//!   [`FenceMode`](crate::FenceMode): `fence(SeqCst)` by default, a compiler fence in
//!   `Membarrier` mode); writers stamp their garbage with the epoch and every 1024
//!   retires try to advance it (the heavy fence: `fence(SeqCst)`, or a `membarrier` in
//!   `Membarrier` mode; then a scan of the map's participants); slots two
//!   epochs old are reclaimed: their entries are dropped *after the shard lock is
//!   released* (a destructor may use the map; one that panics loses nothing), then the
//!   slots are freed. [`HashMap::flush`] reclaims on demand. Each map has its own domain,
//!   so a thread pinned on one map never holds back another map's garbage.
//! - **Closures** ([`update`](HashMap::update), [`compute`](HashMap::compute),
//!   [`get_or_insert_with`](HashMap::get_or_insert_with), [`retain`](HashMap::retain))
//!   run exactly once, under the shard lock. No guard or return value holds a lock, and
//!   calling a mutating method of a map from inside one of its closures (directly or
//!   through another map's closure) panics instead of deadlocking.
//!
//! # Why inline storage is sound for every `K` and `V`
//!
//! A reader holds `&K` and `&V` into a slot while pinned, and `V` may have interior
//! mutability (an `AtomicU64`, a `Mutex`): the reader may write through its `&V` while a
//! writer runs. A design that moved entries bitwise on resize (as a hashbrown table
//! does) would then read a value while another thread writes it (a data race) and lose
//! the write. Here no entry is ever moved, copied or written while reachable:
//!
//! 1. a slot is written only while free: never handed out, or dropped after its grace
//!    period, when no pinned reader can hold its index;
//! 2. while linked, and for the grace period after its unlink, the writer only reads it
//!    through `&(K, V)` (key comparisons, `update`'s argument), which shares it with
//!    readers exactly as `&V` does in `std`;
//! 3. a resize copies handles between tables, never entries; chunks are added, never
//!    reallocated, and a chunk is freed only when every slot in it is free.
//!
//! So `&V` behaves as a reference into a `Box` that lives until the grace period ends,
//! with no allocation per entry.
//!
//! # Memory ordering
//!
//! | operation | ordering | pairs with / why |
//! |---|---|---|
//! | reader loads the shard's table | Acquire | the writer's Release publication of a new table: its groups are filled first |
//! | reader loads a tag word | Relaxed | it only steers the probe; the entry is reached through the handle |
//! | reader loads a handle | Acquire | the writer's Release handle store: the entry was written into its slot first |
//! | reader loads a slab chunk pointer | Relaxed | the chunk was stored before the Release handle store that published a slot in it |
//! | writer stores tags, overflow counts, an empty handle | Relaxed | see the reader's tag load; an unlink is ordered for later pins by the epoch's heavy fence |
//! | writer stores a handle | Release | the reader's Acquire handle load |
//! | writer publishes a table | Release | the reader's Acquire table load |
//! | pin | Relaxed epoch load, Release state store, light fence | the epoch module's `# Why a reader never sees reclaimed memory` |
//!
//! Writers are ordered by the shard lock, so their own loads are Relaxed. A reader that
//! sees a tag before its handle finds none or an older one and compares keys, so it
//! never returns another key's value; anything stored before the lookup began (in
//! happens-before) is seen by coherence, so a key present throughout is never missed.
//!
//! The hot path on x86_64: `get` is plain `mov` loads (Acquire is free under TSO) and the
//! pin is a `mov` store and the light fence; on aarch64 the Acquire loads are
//! `ldar`/`ldapr` and the pin store an `stlr`. In the default
//! [`FenceMode::Fences`](crate::FenceMode) the pin adds one `fence(SeqCst)`; in
//! `FenceMode::Membarrier` it has no barrier instruction, and instead a removal may, once
//! every 1024 retires, make the writer issue a `membarrier`, which interrupts every CPU
//! running a thread of the process (see the crate docs' [fence modes](crate#fence-modes)).

mod builder;
mod epoch;
mod iter;
mod map_ref;
mod set;
mod shard;
mod slab;
mod table;

pub use builder::{Computed, HashMapBuilder, Op, ResizePolicy, ShardFull};
pub use epoch::{LocalGuard, OwnedGuard};
pub use iter::{IntoIter, Iter, Keys, Values};
pub use map_ref::{HashMapRef, OccupiedError};
pub use set::{HashSet, HashSetRef};

use core::borrow::Borrow;
use core::cell::Cell;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use crossbeam_utils::CachePadded;
use epoch::Domain;
use shard::{Locked, Shard};
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
    hasher: S,
    domain: Domain,
}

// SAFETY: the map owns its keys and values (inline in its slabs); moving it to another
// thread moves them, and its raw pointers are owned allocations, not shared ones.
unsafe impl<K: Send, V: Send, S: Send> Send for HashMap<K, V, S> {}
// SAFETY: `&HashMap` hands out `&K`/`&V` to several threads (so `Sync`), and lets any
// thread insert, replace and drop keys and values another thread created (so `Send`).
// Shared state is atomics and the shard mutexes; a slot is written or dropped only
// while no reader can reach it (module docs).
unsafe impl<K: Send + Sync, V: Send + Sync, S: Sync> Sync for HashMap<K, V, S> {}

// A panic in a user closure (`update`, `compute`, ...) happens before the map changes,
// and a destructor that panics runs after the map's bookkeeping is done, so a map
// observed after a caught panic is consistent: unwind safe as its contents are.
impl<K, V, S> core::panic::UnwindSafe for HashMap<K, V, S>
where
    K: core::panic::RefUnwindSafe,
    V: core::panic::RefUnwindSafe,
    S: core::panic::RefUnwindSafe,
{
}
impl<K, V, S> core::panic::RefUnwindSafe for HashMap<K, V, S>
where
    K: core::panic::RefUnwindSafe,
    V: core::panic::RefUnwindSafe,
    S: core::panic::RefUnwindSafe,
{
}

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

    /// An empty map with room for `capacity` entries before any shard grows (see
    /// [`HashMapBuilder::capacity`] for what is guaranteed).
    ///
    /// ```
    /// let map: fencepost::HashMap<u64, u64> = fencepost::HashMap::with_capacity(1 << 10);
    /// assert!(map.capacity() >= 1 << 10);
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

    /// Pins the current thread on this map and returns a handle for reads and writes
    /// whose references stay valid while it lives. Pinning is cheap (a store and the
    /// light fence of the [`FenceMode`](crate::FenceMode): a `fence(SeqCst)` by default,
    /// a compiler fence in `Membarrier` mode) and nests; holding a pin for long delays the reclamation of this
    /// map's removed entries (no other map's), so keep it scoped. The handle is not
    /// `Send`; see [`pin_owned`](Self::pin_owned) for one that is.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// let m = map.pin();
    /// m.insert(1, 10);
    /// assert_eq!(m.get(&1), Some(&10));
    /// ```
    #[inline]
    pub fn pin(&self) -> HashMapRef<'_, K, V, S> {
        HashMapRef::new(self, self.domain.pin())
    }

    /// As [`pin`](Self::pin), with a guard of its own that is `Send` and `Sync`: the
    /// handle may be held across an `.await` and resumed on another thread. Taking it
    /// locks a process-wide pool of ids, so prefer `pin` on a single thread.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// map.pin().insert(1, 10);
    /// let m = map.pin_owned();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || assert_eq!(m.get(&1), Some(&10)));
    /// });
    /// ```
    pub fn pin_owned(&self) -> HashMapRef<'_, K, V, S, OwnedGuard<'_>> {
        HashMapRef::new(self, self.domain.pin_owned())
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

    /// Entries the map holds before any shard grows (or, with
    /// [`ResizePolicy::Fixed`], before an insert fails): exact with one shard whatever
    /// the keys; with more, it holds unless the hasher crowds one shard, which for keys
    /// spread like random ones happens with probability below 10^-9 (see
    /// [`HashMapBuilder::capacity`]). At least what was asked for at construction.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u64, u64>::with_capacity(1000);
    /// assert!(map.capacity() >= 1000);
    /// ```
    pub fn capacity(&self) -> usize {
        let _guard = self.domain.pin();
        let limits: Vec<usize> = self.shards.iter().map(|s| s.table().max_len()).collect();
        builder::guaranteed(&limits)
    }

    /// Drops the removed entries and replaced tables that no pinned thread can still
    /// see: call it for deterministic drops and memory use after a burst of removals or
    /// a [`clear`](Self::clear). Garbage that a thread pinned on this map (this one
    /// included) may still read stays until a later flush or write; pins on other maps
    /// do not matter.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, String>::new();
    /// map.pin().insert(1, "one".into());
    /// map.pin().remove(&1);
    /// map.flush();
    /// assert_eq!(map.garbage_len(), 0);
    /// ```
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`; if a value's destructor panics (every other
    /// value is still dropped).
    pub fn flush(&self) {
        const ATTEMPTS: usize = if cfg!(fencepost_loom) { 3 } else { 64 };
        for attempt in 0..ATTEMPTS {
            if attempt >= 3 {
                crate::sync::yield_now();
            }
            let mut left = 0;
            for shard in self.shards.iter() {
                let mut w = self.lock(shard);
                if w.garbage() > 0 {
                    left += w.collect(&self.domain);
                }
            }
            if left == 0 {
                return;
            }
        }
    }

    /// Removed entries and replaced tables waiting to be reclaimed (a metric: it stays
    /// bounded unless a thread stays pinned on this map for long). Locks each shard in
    /// turn.
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
        self.shards.iter().map(|s| self.lock(s).garbage()).sum()
    }

    /// Locks one shard's writer, refusing re-entry from this map's closures.
    #[inline]
    fn lock<'a>(&'a self, shard: &'a Shard<K, V>) -> Locked<'a, K, V> {
        if in_closure_of(self.id()) {
            reentrant();
        }
        shard.lock()
    }

    fn id(&self) -> usize {
        self as *const Self as *const () as usize
    }

    /// Runs `f` with this map marked as "in a closure" on this thread (a frame on a
    /// thread-local stack, so a closure of another map in between does not hide it).
    fn in_closure<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Pop(*const Frame);
        impl Drop for Pop {
            fn drop(&mut self) {
                let _ = IN_CLOSURE.try_with(|top| top.set(self.0));
            }
        }
        let outer = IN_CLOSURE.try_with(Cell::get).unwrap_or(core::ptr::null());
        let frame = Frame {
            map: self.id(),
            outer,
        };
        let _ = IN_CLOSURE.try_with(|top| top.set(&frame));
        let _pop = Pop(outer);
        f()
    }

    #[cold]
    #[inline(never)]
    fn full(&self) -> ! {
        panic!(
            "fencepost::HashMap: insert into a full shard of a ResizePolicy::Fixed map \
             (capacity {}); use HashMapRef::insert_within_capacity to handle it",
            self.capacity()
        )
    }
}

/// One map whose closure this thread is running, and the frame below it.
struct Frame {
    map: usize,
    outer: *const Frame,
}

#[cfg(not(fencepost_loom))]
crate::sync::thread_local! {
    /// The innermost closure frame of this thread, or null.
    static IN_CLOSURE: Cell<*const Frame> = const { Cell::new(core::ptr::null()) };
}

// loom's macro (edition 2018) takes no `const { }` initialiser.
#[cfg(fencepost_loom)]
crate::sync::thread_local! {
    static IN_CLOSURE: Cell<*const Frame> = Cell::new(core::ptr::null());
}

/// Whether this thread is inside a closure of the map `id`, at any depth.
#[inline]
fn in_closure_of(id: usize) -> bool {
    IN_CLOSURE
        .try_with(|top| {
            let mut frame = top.get();
            while !frame.is_null() {
                // SAFETY: frames live on the stack of `in_closure` calls that are still
                // running on this thread (each pops itself before returning).
                let f = unsafe { &*frame };
                if f.map == id {
                    return true;
                }
                frame = f.outer;
            }
            false
        })
        .unwrap_or(false)
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

    #[inline(always)]
    fn shard(&self, hash: u64) -> &Shard<K, V> {
        let i = (hash >> self.shard_shift) as usize & self.shard_mask;
        // SAFETY: `shard_mask + 1` is the shard count.
        unsafe { self.shards.get_unchecked(i) }
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

    /// Inserts `key → value`; true if the key was new. Needs no pin (nothing is returned
    /// by reference): a replaced value is dropped once no pinned reader can still see it
    /// (at a later write or [`flush`](Self::flush)). [`HashMapRef::insert`] returns the
    /// old value instead.
    ///
    /// ```
    /// let map = fencepost::HashMap::<&str, u32>::new();
    /// assert!(map.insert("a", 1));
    /// assert!(!map.insert("a", 2));
    /// assert_eq!(map.get_cloned("a"), Some(2));
    /// ```
    ///
    /// # Panics
    /// As [`HashMapRef::insert`].
    #[inline]
    pub fn insert(&self, key: K, value: V) -> bool {
        let hash = self.hash(&key);
        let shard = self.shard(hash);
        shard.prefetch(hash);
        let mut w = self.lock(shard);
        match w.insert(&self.domain, hash, key, value) {
            Ok(old) => old.is_none(),
            Err(_) => {
                drop(w);
                self.full()
            }
        }
    }

    /// Removes `key`; true if it was present. Needs no pin: the value is dropped once no
    /// pinned reader can still see it (at a later write or [`flush`](Self::flush)).
    /// [`HashMapRef::remove`] returns it by reference instead.
    ///
    /// ```
    /// let map = fencepost::HashMap::<&str, u32>::new();
    /// map.insert("a", 1);
    /// assert!(map.remove("a"));
    /// assert!(!map.remove("a"));
    /// ```
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    #[inline]
    pub fn remove<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        shard.prefetch(hash);
        let mut w = self.lock(shard);
        let Some(found) = w.find(hash, key) else {
            return false;
        };
        w.remove(&self.domain, found, hash);
        true
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
    /// mutating method of this map. The key is cloned into the new slot.
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
        shard.prefetch(hash);
        let mut w = self.lock(shard);
        let Some(found) = w.find(hash, key) else {
            return false;
        };
        // SAFETY: linked, and used only while the lock is held.
        let (k, v) = unsafe { w.entry(found.slot) };
        let value = self.in_closure(|| f(v));
        let key = k.clone();
        w.replace(&self.domain, found, hash, key, value);
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
        shard.prefetch(hash);
        let mut w = self.lock(shard);
        let found = w.find(hash, &key);
        // SAFETY: linked, and used only while the lock is held.
        let current = found.map(|f| &unsafe { w.entry(f.slot) }.1);
        match self.in_closure(|| f(current)) {
            Op::Keep => Computed::Unchanged,
            Op::Remove => match found {
                Some(found) => {
                    w.remove(&self.domain, found, hash);
                    Computed::Removed
                }
                None => Computed::Unchanged,
            },
            Op::Insert(value) => match found {
                Some(found) => {
                    w.replace(&self.domain, found, hash, key, value);
                    Computed::Replaced
                }
                None => match w.insert_absent(&self.domain, hash, key, value) {
                    Ok(_) => Computed::Inserted,
                    Err(_) => {
                        drop(w);
                        self.full()
                    }
                },
            },
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
    /// visited in earlier shards stay removed; the current shard is unchanged).
    pub fn retain<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        for shard in self.shards.iter() {
            let mut w = self.lock(shard);
            self.in_closure(|| w.retain(&self.domain, &mut f));
        }
    }

    /// Removes every entry (shard by shard; concurrent inserts may survive). The
    /// removed values are dropped once no pinned reader can see them: at a later write
    /// or [`flush`](Self::flush), which drops them at once if no thread is pinned on
    /// this map.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// map.pin().insert(1, 1);
    /// map.clear();
    /// assert!(map.is_empty());
    /// map.flush();
    /// assert_eq!(map.garbage_len(), 0);
    /// ```
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            self.lock(shard).clear(&self.domain);
        }
    }

    /// Makes room for `additional` more entries than the map holds now, so that
    /// inserting them allocates nothing (tables and entry storage): the same guarantee
    /// as [`HashMapBuilder::capacity`].
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// map.reserve(10_000);
    /// assert!(map.capacity() >= 10_000);
    /// ```
    ///
    /// # Panics
    /// If the map is `ResizePolicy::Fixed` and cannot hold that many (the message names
    /// its capacity); if called from inside one of this map's closures.
    pub fn reserve(&self, additional: usize) {
        let want = self.len().saturating_add(additional);
        let per_shard = builder::per_shard(want, self.shards.len());
        for shard in self.shards.iter() {
            if !self.lock(shard).reserve(&self.domain, per_shard) {
                panic!(
                    "fencepost::HashMap::reserve: a ResizePolicy::Fixed map of capacity {} \
                     cannot make room for {want} entries",
                    self.capacity()
                );
            }
        }
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

impl<K, V, S> Clone for HashMap<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher + Clone,
{
    /// A map with the same hasher, shard count and policy holding clones of the entries
    /// (a weakly consistent snapshot while other threads write).
    fn clone(&self) -> Self {
        let copy = HashMap {
            shards: self
                .shards
                .iter()
                .map(|s| CachePadded::new(s.empty_like()))
                .collect(),
            shard_shift: self.shard_shift,
            shard_mask: self.shard_mask,
            hasher: self.hasher.clone(),
            domain: Domain::new(),
        };
        let m = copy.pin();
        for (k, v) in self.pin().iter() {
            m.insert(k.clone(), v.clone());
        }
        drop(m);
        copy
    }
}

impl<K, V, S> FromIterator<(K, V)> for HashMap<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher + Default,
{
    /// ```
    /// let map: fencepost::HashMap<u32, char> = [(1, 'a'), (2, 'b')].into_iter().collect();
    /// assert_eq!(map.get_cloned(&2), Some('b'));
    /// ```
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let map = HashMap::with_capacity_and_hasher(iter.size_hint().0, S::default());
        let mut extend = &map;
        extend.extend(iter);
        map
    }
}

impl<K, V, S> Extend<(K, V)> for &HashMap<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Inserts every pair (a later pair replaces an earlier one with the same key).
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// (&map).extend([(1, 1), (1, 2)]);
    /// assert_eq!(map.get_cloned(&1), Some(2));
    /// ```
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let m = self.pin();
        for (k, v) in iter {
            m.insert(k, v);
        }
    }
}

impl<K, V, S> Extend<(K, V)> for HashMap<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let mut shared = &*self;
        shared.extend(iter);
    }
}

impl<K, V, S> IntoIterator for HashMap<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    /// Consumes the map and yields its entries by value, in no particular order.
    ///
    /// ```
    /// let map: fencepost::HashMap<u32, String> = [(1, "a".to_string())].into_iter().collect();
    /// let all: Vec<(u32, String)> = map.into_iter().collect();
    /// assert_eq!(all, [(1, "a".to_string())]);
    /// ```
    fn into_iter(self) -> IntoIter<K, V> {
        IntoIter::new(self.shards)
    }
}

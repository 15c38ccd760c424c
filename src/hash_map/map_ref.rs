//! The pinned handle ([`HashMapRef`]) and its iterator.

use super::raw::{Entry, SLOTS, Shard, Table};
use super::{Full, HashMap, epoch};
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use crossbeam_utils::CachePadded;
use std::collections::hash_map::RandomState;

/// A pinned view of a [`HashMap`]: reads are wait-free and return plain references that
/// stay valid while this handle lives. Holds no lock. `!Send`.
pub struct HashMapRef<'m, K, V, S = RandomState> {
    pub(super) map: &'m HashMap<K, V, S>,
    pub(super) _guard: epoch::Guard,
}

impl<'m, K, V, S> HashMapRef<'m, K, V, S> {
    /// The number of entries (as [`HashMap::len`]).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every entry, weakly consistent: entries present throughout are yielded once;
    /// entries inserted or removed meanwhile may or may not be. Never blocks writers.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u32, u32>::new();
    /// let m = map.pin();
    /// m.insert(1, 10);
    /// m.insert(2, 20);
    /// let mut all: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
    /// all.sort();
    /// assert_eq!(all, [(1, 10), (2, 20)]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            shards: &self.map.shards,
            shard: 0,
            table: None,
            slot: 0,
        }
    }
}

impl<'m, K: Hash + Eq, V, S: BuildHasher> HashMapRef<'m, K, V, S> {
    /// The value for `key`: wait-free, no lock, no write to shared memory beyond the pin.
    ///
    /// ```
    /// let map = fencepost::HashMap::<String, u32>::new();
    /// let m = map.pin();
    /// m.insert("a".to_string(), 1);
    /// assert_eq!(m.get("a"), Some(&1));
    /// assert_eq!(m.get("b"), None);
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.map.hash(key);
        self.map
            .shard(hash)
            .table()
            .find(hash, key)
            .map(|e| &e.value)
    }

    /// Whether `key` is present.
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Inserts `key → value`; returns the old value (still readable through this
    /// handle) if the key was present.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u8, u8>::new();
    /// let m = map.pin();
    /// assert_eq!(m.insert(1, 1), None);
    /// assert_eq!(m.insert(1, 2), Some(&1));
    /// ```
    ///
    /// # Panics
    /// If the map is `ResizePolicy::Fixed` and the key's shard is full (the message
    /// names the capacity; [`try_insert`](Self::try_insert) returns an error instead);
    /// if called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    #[inline]
    pub fn insert(&self, key: K, value: V) -> Option<&V> {
        match self.try_insert(key, value) {
            Ok(old) => old,
            Err(_) => self.map.full(),
        }
    }

    /// Inserts `key → value` unless a `Fixed` map's shard is full.
    ///
    /// ```
    /// use fencepost::hash_map::{Full, HashMap, ResizePolicy};
    ///
    /// let map = HashMap::<u32, u32>::builder()
    ///     .shards(1)
    ///     .capacity(4)
    ///     .resize_policy(ResizePolicy::Fixed)
    ///     .build();
    /// let m = map.pin();
    /// let mut i = 0;
    /// let rejected = loop {
    ///     match m.try_insert(i, i) {
    ///         Ok(_) => i += 1,
    ///         Err(Full(kv)) => break kv,
    ///     }
    /// };
    /// assert!(i >= 4);
    /// assert_eq!(rejected, (i, i));
    /// ```
    ///
    /// # Errors
    /// [`Full`] with the key and value if the key is absent and its shard is full
    /// (only with `ResizePolicy::Fixed`). Replacing an existing key always succeeds.
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    #[inline]
    pub fn try_insert(&self, key: K, value: V) -> Result<Option<&V>, Full<(K, V)>> {
        let hash = self.map.hash(&key);
        let shard = self.map.shard(hash);
        shard.table().prefetch(hash);
        let mut w = self.map.lock(shard);
        let entry = w.alloc(Entry { hash, key, value });
        match shard.insert(&mut w, entry, self.map.policy) {
            // SAFETY: the old entry was retired after this handle pinned, so the epoch
            // keeps it alive while `self` (and the returned borrow) lives.
            Ok(done) => Ok(done.old.map(|p| unsafe { &(*p).value })),
            Err(entry) => Err(Full((entry.key, entry.value))),
        }
    }

    /// Removes `key`; returns its value (still readable through this handle).
    ///
    /// ```
    /// let map = fencepost::HashMap::<u8, u8>::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// assert_eq!(m.remove(&1), Some(&1));
    /// assert_eq!(m.remove(&1), None);
    /// ```
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    #[inline]
    pub fn remove<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.map.hash(key);
        let shard = self.map.shard(hash);
        shard.table().prefetch(hash);
        let mut w = self.map.lock(shard);
        let p = shard.remove(&mut w, hash, key, self.map.policy)?;
        // SAFETY: retired after this handle pinned; the epoch keeps it alive while `self`
        // lives.
        Some(unsafe { &(*p).value })
    }

    /// The value of `key`, inserting `f()` first if it is absent; `f` runs at most once,
    /// under the shard lock.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u8, u8>::new();
    /// let m = map.pin();
    /// assert_eq!(m.get_or_insert_with(1, || 7), &7);
    /// assert_eq!(m.get_or_insert_with(1, || 8), &7);
    /// ```
    ///
    /// # Panics
    /// If `f` calls a mutating method of this map, if a `Fixed` map's shard is full, or
    /// if `f` panics (the map is unchanged).
    pub fn get_or_insert_with<F>(&self, key: K, f: F) -> &V
    where
        F: FnOnce() -> V,
    {
        if let Some(v) = self.get(&key) {
            return v;
        }
        let hash = self.map.hash(&key);
        let shard = self.map.shard(hash);
        let mut w = self.map.lock(shard);
        if let Some(e) = shard.find_w(hash, &key) {
            let v: *const V = &e.value;
            // SAFETY: the entry is live under the lock and, once unlocked, kept alive by
            // this handle's pin (any later removal retires it after we pinned).
            return unsafe { &*v };
        }
        let value = self.map.in_closure(f);
        let entry = w.alloc(Entry { hash, key, value });
        let Ok(done) = shard.insert(&mut w, entry, self.map.policy) else {
            drop(w);
            self.map.full();
        };
        // SAFETY: the entry was just linked; a later removal retires it after we
        // pinned, so it stays alive while `self` lives.
        unsafe { &(*done.new).value }
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S> fmt::Debug for HashMapRef<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The entries of a pinned map ([`HashMapRef::iter`]), weakly consistent.
pub struct Iter<'g, K, V> {
    shards: &'g [CachePadded<Shard<K, V>>],
    shard: usize,
    table: Option<&'g Table<K, V>>,
    slot: usize,
}

impl<'g, K, V> Iterator for Iter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let table = match self.table {
                Some(t) => t,
                None => {
                    let shard = self.shards.get(self.shard)?;
                    let t = shard.table();
                    self.table = Some(t);
                    self.slot = 0;
                    t
                }
            };
            while self.slot < table.capacity() {
                let (g, lane) = (self.slot / SLOTS, self.slot % SLOTS);
                self.slot += 1;
                let p = table.slot(g, lane);
                // SAFETY: a loaded entry is live or retired after the iterator's handle
                // pinned, which keeps it alive for `'g`.
                if let Some(e) = unsafe { p.as_ref() } {
                    return Some((&e.key, &e.value));
                }
            }
            self.table = None;
            self.shard += 1;
        }
    }
}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

//! The pinned handle ([`HashMapRef`]).

use super::epoch::LocalGuard;
use super::iter::{Iter, Keys, Values};
use super::{HashMap, ShardFull};
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::hash_map::RandomState;

/// A pinned view of a [`HashMap`]: reads are wait-free and return plain references that
/// stay valid while this handle lives. Holds no lock. With the default guard
/// ([`HashMap::pin`]) it is not `Send`; with an [`OwnedGuard`](super::OwnedGuard)
/// ([`HashMap::pin_owned`]) it is `Send` and `Sync`.
pub struct HashMapRef<'m, K, V, S = RandomState, G = LocalGuard<'m>> {
    map: &'m HashMap<K, V, S>,
    _guard: G,
}

impl<'m, K, V, S, G> HashMapRef<'m, K, V, S, G> {
    pub(super) fn new(map: &'m HashMap<K, V, S>, guard: G) -> Self {
        HashMapRef { map, _guard: guard }
    }

    /// The map this handle pins.
    pub fn map(&self) -> &'m HashMap<K, V, S> {
        self.map
    }

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
        Iter::new(&self.map.shards)
    }

    /// Every key, weakly consistent (as [`iter`](Self::iter)).
    ///
    /// ```
    /// let map: fencepost::HashMap<u32, u32> = [(1, 10), (2, 20)].into_iter().collect();
    /// let mut keys: Vec<u32> = map.pin().keys().copied().collect();
    /// keys.sort();
    /// assert_eq!(keys, [1, 2]);
    /// ```
    pub fn keys(&self) -> Keys<'_, K, V> {
        Keys(self.iter())
    }

    /// Every value, weakly consistent (as [`iter`](Self::iter)).
    ///
    /// ```
    /// let map: fencepost::HashMap<u32, u32> = [(1, 10), (2, 20)].into_iter().collect();
    /// assert_eq!(map.pin().values().sum::<u32>(), 30);
    /// ```
    pub fn values(&self) -> Values<'_, K, V> {
        Values(self.iter())
    }
}

impl<'m, K: Hash + Eq, V, S: BuildHasher, G> HashMapRef<'m, K, V, S, G> {
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
        self.get_key_value(key).map(|(_, v)| v)
    }

    /// The stored key and the value for `key` (as [`get`](Self::get)).
    ///
    /// ```
    /// let map = fencepost::HashMap::<String, u32>::new();
    /// let m = map.pin();
    /// m.insert("a".to_string(), 1);
    /// assert_eq!(m.get_key_value("a"), Some((&"a".to_string(), &1)));
    /// ```
    #[inline]
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.map.hash(key);
        let (k, v) = self.map.shard(hash).find(hash, key)?;
        Some((k, v))
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
    /// names the capacity; [`insert_within_capacity`](Self::insert_within_capacity)
    /// returns an error instead); if called from inside a closure passed to this map's
    /// `update`, `compute`, `get_or_insert_with` or `retain`.
    #[inline]
    pub fn insert(&self, key: K, value: V) -> Option<&V> {
        match self.insert_within_capacity(key, value) {
            Ok(old) => old,
            Err(_) => self.map.full(),
        }
    }

    /// Inserts `key → value` unless the key is absent and a `ResizePolicy::Fixed`
    /// map's shard for it is full (as `Vec::push_within_capacity`). Replacing an
    /// existing key always succeeds.
    ///
    /// ```
    /// use fencepost::hash_map::{HashMap, ResizePolicy};
    ///
    /// let map = HashMap::<u32, u32>::builder()
    ///     .shards(1)
    ///     .capacity(4)
    ///     .resize_policy(ResizePolicy::Fixed)
    ///     .build();
    /// let m = map.pin();
    /// let mut i = 0;
    /// let rejected = loop {
    ///     match m.insert_within_capacity(i, i) {
    ///         Ok(_) => i += 1,
    ///         Err(full) => break full.into_pair(),
    ///     }
    /// };
    /// assert!(i >= 4);
    /// assert_eq!(rejected, (i, i));
    /// ```
    ///
    /// # Errors
    /// [`ShardFull`] with the key and value if the key is absent and its shard is full
    /// (only with `ResizePolicy::Fixed`).
    ///
    /// # Panics
    /// If called from inside a closure passed to this map's `update`, `compute`,
    /// `get_or_insert_with` or `retain`.
    #[inline]
    pub fn insert_within_capacity(&self, key: K, value: V) -> Result<Option<&V>, ShardFull<K, V>> {
        let hash = self.map.hash(&key);
        let shard = self.map.shard(hash);
        shard.prefetch(hash);
        let mut w = self.map.lock(shard);
        match w.insert(&self.map.domain, hash, key, value) {
            // SAFETY: the old entry was retired after this handle pinned, so the epoch
            // keeps it while `self` (and the returned borrow) lives.
            Ok(old) => Ok(old.map(|slot| &unsafe { w.entry(slot) }.1)),
            Err(kv) => Err(ShardFull::new(kv)),
        }
    }

    /// Inserts `key → value` only if the key is absent (as std's and papaya's
    /// `try_insert`); returns the inserted value, or the current one and the pair back.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u8, &str>::new();
    /// let m = map.pin();
    /// assert_eq!(m.try_insert(1, "a").ok(), Some(&"a"));
    /// let err = m.try_insert(1, "b").unwrap_err();
    /// assert_eq!((err.current(), err.into_pair()), (&"a", (1, "b")));
    /// ```
    ///
    /// # Errors
    /// [`OccupiedError`] if the key is present.
    ///
    /// # Panics
    /// As [`insert`](Self::insert).
    pub fn try_insert(&self, key: K, value: V) -> Result<&V, OccupiedError<'_, K, V>> {
        let hash = self.map.hash(&key);
        let shard = self.map.shard(hash);
        shard.prefetch(hash);
        let mut w = self.map.lock(shard);
        if let Some(found) = w.find(hash, &key) {
            return Err(OccupiedError {
                // SAFETY: linked now; a later unlink retires it after this handle pinned.
                current: &unsafe { w.entry(found.slot) }.1,
                key,
                value,
            });
        }
        match w.insert_absent(&self.map.domain, hash, key, value) {
            // SAFETY: just linked; a later unlink retires it after this handle pinned.
            Ok(slot) => Ok(&unsafe { w.entry(slot) }.1),
            Err(_) => {
                drop(w);
                self.map.full()
            }
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
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key`; returns the stored key and its value (still readable through this
    /// handle).
    ///
    /// ```
    /// let map = fencepost::HashMap::<String, u8>::new();
    /// let m = map.pin();
    /// m.insert("k".to_string(), 1);
    /// assert_eq!(m.remove_entry("k"), Some((&"k".to_string(), &1)));
    /// ```
    ///
    /// # Panics
    /// As [`remove`](Self::remove).
    #[inline]
    pub fn remove_entry<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.map.hash(key);
        let shard = self.map.shard(hash);
        shard.prefetch(hash);
        let mut w = self.map.lock(shard);
        let found = w.find(hash, key)?;
        w.remove(&self.map.domain, found, hash);
        // SAFETY: retired just now, after this handle pinned: the epoch keeps it while
        // `self` lives.
        let (k, v) = unsafe { w.entry(found.slot) };
        Some((k, v))
    }

    /// Removes `key` if `f(key, value)` says so; `f` runs at most once, under the
    /// shard lock. `Ok(Some(entry))`: removed; `Ok(None)`: absent; `Err(entry)`: kept.
    /// Removed and kept entries stay readable through this handle.
    ///
    /// ```
    /// let map = fencepost::HashMap::<u8, u32>::new();
    /// let m = map.pin();
    /// m.insert(1, 10);
    /// assert_eq!(m.remove_if(&1, |_, v| *v > 100), Err((&1, &10)));
    /// assert_eq!(m.remove_if(&1, |_, v| *v == 10), Ok(Some((&1, &10))));
    /// assert_eq!(m.remove_if(&1, |_, _| true), Ok(None));
    /// ```
    ///
    /// # Errors
    /// The current entry, if the key is present and `f` returned false.
    ///
    /// # Panics
    /// If `f` calls a mutating method of this map, or panics (the map is unchanged);
    /// as [`remove`](Self::remove).
    #[allow(
        clippy::type_complexity,
        reason = "papaya's shape: removed, absent or kept"
    )]
    pub fn remove_if<Q, F>(&self, key: &Q, f: F) -> Result<Option<(&K, &V)>, (&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnOnce(&K, &V) -> bool,
    {
        let hash = self.map.hash(key);
        let shard = self.map.shard(hash);
        shard.prefetch(hash);
        let mut w = self.map.lock(shard);
        let Some(found) = w.find(hash, key) else {
            return Ok(None);
        };
        // SAFETY: linked now; once unlinked it is retired after this handle pinned,
        // which keeps it while `self` lives.
        let (k, v) = unsafe { w.entry(found.slot) };
        if !self.map.in_closure(|| f(k, v)) {
            return Err((k, v));
        }
        w.remove(&self.map.domain, found, hash);
        Ok(Some((k, v)))
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
        if let Some(found) = w.find(hash, &key) {
            // SAFETY: linked now; a later unlink retires it after this handle pinned.
            return &unsafe { w.entry(found.slot) }.1;
        }
        let value = self.map.in_closure(f);
        match w.insert_absent(&self.map.domain, hash, key, value) {
            // SAFETY: just linked; a later unlink retires it after this handle pinned.
            Ok(slot) => &unsafe { w.entry(slot) }.1,
            Err(_) => {
                drop(w);
                self.map.full()
            }
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S, G> fmt::Debug for HashMapRef<'_, K, V, S, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// [`HashMapRef::try_insert`] found the key present: the current value, and the pair
/// that was not inserted.
pub struct OccupiedError<'g, K, V> {
    current: &'g V,
    key: K,
    value: V,
}

impl<'g, K, V> OccupiedError<'g, K, V> {
    /// The value in the map (still readable through the handle).
    pub fn current(&self) -> &'g V {
        self.current
    }

    /// The key and value that were not inserted.
    pub fn into_pair(self) -> (K, V) {
        (self.key, self.value)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for OccupiedError<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OccupiedError")
            .field("key", &self.key)
            .field("current", &self.current)
            .field("not_inserted", &self.value)
            .finish()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Display for OccupiedError<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "key {:?} is already present with value {:?}; {:?} was not inserted",
            self.key, self.current, self.value
        )
    }
}

impl<K: fmt::Debug, V: fmt::Debug> std::error::Error for OccupiedError<'_, K, V> {}

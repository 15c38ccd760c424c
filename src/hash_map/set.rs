//! A concurrent hash set on the map's table: [`HashSet`] and its pinned view.

use super::epoch::LocalGuard;
use super::iter::Keys;
use super::{HashMap, HashMapBuilder, HashMapRef, OwnedGuard};
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::hash_map::RandomState;

/// A concurrent hash set: a [`HashMap<T, ()>`](HashMap) with a set's methods. Reads
/// are wait-free; see the [module docs](super) for the design and its guarantees.
///
/// ```
/// let set = fencepost::hash_map::HashSet::<String>::new();
/// assert!(set.insert("a".to_string()));
/// assert!(!set.insert("a".to_string()));
/// assert!(set.contains("a"));
/// assert!(set.remove("a"));
/// assert!(set.is_empty());
/// ```
pub struct HashSet<T, S = RandomState> {
    map: HashMap<T, (), S>,
}

impl<T> HashSet<T, RandomState> {
    /// An empty set with the default shard count and std's `RandomState`.
    pub fn new() -> Self {
        HashSet {
            map: HashMap::new(),
        }
    }

    /// An empty set with room for `capacity` elements before any shard grows.
    ///
    /// ```
    /// let set = fencepost::hash_map::HashSet::<u64>::with_capacity(100);
    /// assert!(set.capacity() >= 100);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        HashSet {
            map: HashMap::with_capacity(capacity),
        }
    }
}

impl<T, S> HashSet<T, S> {
    /// An empty set using `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        HashSet {
            map: HashMap::with_hasher(hasher),
        }
    }

    /// An empty set with room for `capacity` elements, using `hasher`.
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        HashSet {
            map: HashMap::with_capacity_and_hasher(capacity, hasher),
        }
    }

    /// A set built as `builder` would build a map (shards, policy, hasher).
    ///
    /// ```
    /// use fencepost::hash_map::{HashMap, HashSet, ResizePolicy};
    /// let set = HashSet::from_builder(
    ///     HashMap::<u32, ()>::builder().shards(2).resize_policy(ResizePolicy::GrowShrink),
    /// );
    /// assert!(set.insert(1));
    /// ```
    pub fn from_builder(builder: HashMapBuilder<T, (), S>) -> Self {
        HashSet {
            map: builder.build(),
        }
    }

    /// Pins the current thread on this set (as [`HashMap::pin`]).
    #[inline]
    pub fn pin(&self) -> HashSetRef<'_, T, S> {
        HashSetRef {
            map: self.map.pin(),
        }
    }

    /// As [`pin`](Self::pin), with a guard that is `Send` (as [`HashMap::pin_owned`]).
    pub fn pin_owned(&self) -> HashSetRef<'_, T, S, OwnedGuard<'_>> {
        HashSetRef {
            map: self.map.pin_owned(),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// As [`HashMap::capacity`].
    pub fn capacity(&self) -> usize {
        self.map.capacity()
    }

    /// As [`HashMap::flush`].
    pub fn flush(&self) {
        self.map.flush()
    }
}

impl<T: Hash + Eq, S: BuildHasher> HashSet<T, S> {
    /// Whether `value` is in the set.
    #[inline]
    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(value)
    }

    /// Adds `value`; true if it was absent (an equal element already present is kept).
    ///
    /// # Panics
    /// As [`HashMapRef::insert`].
    pub fn insert(&self, value: T) -> bool {
        self.pin().insert(value)
    }

    /// Removes `value`; true if it was present.
    ///
    /// # Panics
    /// As [`HashMapRef::remove`].
    pub fn remove<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.pin().remove(value)
    }

    /// Keeps only the elements for which `f` returns true (as [`HashMap::retain`]).
    pub fn retain<F: FnMut(&T) -> bool>(&self, mut f: F) {
        self.map.retain(|k, _| f(k));
    }

    /// Removes every element (as [`HashMap::clear`]).
    pub fn clear(&self) {
        self.map.clear()
    }

    /// As [`HashMap::reserve`].
    pub fn reserve(&self, additional: usize) {
        self.map.reserve(additional)
    }
}

impl<T> Default for HashSet<T, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug, S> fmt::Debug for HashSet<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.pin().keys()).finish()
    }
}

impl<T: Hash + Eq + Clone, S: BuildHasher + Clone> Clone for HashSet<T, S> {
    fn clone(&self) -> Self {
        HashSet {
            map: self.map.clone(),
        }
    }
}

impl<T: Hash + Eq, S: BuildHasher + Default> FromIterator<T> for HashSet<T, S> {
    /// ```
    /// let set: fencepost::hash_map::HashSet<u8> = [1, 2, 2].into_iter().collect();
    /// assert_eq!(set.len(), 2);
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        HashSet {
            map: iter.into_iter().map(|t| (t, ())).collect(),
        }
    }
}

impl<T: Hash + Eq, S: BuildHasher> Extend<T> for &HashSet<T, S> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        let s = self.pin();
        for t in iter {
            s.insert(t);
        }
    }
}

impl<T: Hash + Eq, S: BuildHasher> Extend<T> for HashSet<T, S> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        let mut this = &*self;
        this.extend(iter);
    }
}

impl<T, S> IntoIterator for HashSet<T, S> {
    type Item = T;
    type IntoIter = core::iter::Map<super::IntoIter<T, ()>, fn((T, ())) -> T>;

    /// Consumes the set and yields its elements by value.
    fn into_iter(self) -> Self::IntoIter {
        self.map.into_iter().map(|(t, ())| t)
    }
}

/// A pinned view of a [`HashSet`]: references it returns stay valid while it lives.
pub struct HashSetRef<'m, T, S = RandomState, G = LocalGuard<'m>> {
    map: HashMapRef<'m, T, (), S, G>,
}

impl<'m, T, S, G> HashSetRef<'m, T, S, G> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every element, weakly consistent (as [`HashMapRef::iter`]).
    ///
    /// ```
    /// let set: fencepost::hash_map::HashSet<u8> = [3, 1].into_iter().collect();
    /// let mut all: Vec<u8> = set.pin().iter().copied().collect();
    /// all.sort();
    /// assert_eq!(all, [1, 3]);
    /// ```
    pub fn iter(&self) -> Keys<'_, T, ()> {
        self.map.keys()
    }
}

impl<'m, T: Hash + Eq, S: BuildHasher, G> HashSetRef<'m, T, S, G> {
    /// Whether `value` is in the set: wait-free, as [`HashMapRef::get`].
    #[inline]
    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(value)
    }

    /// The stored element equal to `value`.
    ///
    /// ```
    /// let set = fencepost::hash_map::HashSet::<String>::new();
    /// let s = set.pin();
    /// s.insert("x".to_string());
    /// assert_eq!(s.get("x"), Some(&"x".to_string()));
    /// ```
    #[inline]
    pub fn get<Q>(&self, value: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_key_value(value).map(|(k, _)| k)
    }

    /// Adds `value`; true if it was absent (an equal element already present is kept).
    ///
    /// # Panics
    /// As [`HashMapRef::insert`].
    pub fn insert(&self, value: T) -> bool {
        self.map.try_insert(value, ()).is_ok()
    }

    /// Removes `value`; true if it was present.
    ///
    /// # Panics
    /// As [`HashMapRef::remove`].
    pub fn remove<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(value).is_some()
    }

    /// Removes `value` and returns the stored element (readable through this handle).
    pub fn take<Q>(&self, value: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove_entry(value).map(|(k, _)| k)
    }
}

impl<T: fmt::Debug, S, G> fmt::Debug for HashSetRef<'_, T, S, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

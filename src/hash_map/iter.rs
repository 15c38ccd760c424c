//! Iterators: over a pinned map ([`Iter`], [`Keys`], [`Values`]) and by value over an
//! owned one ([`IntoIter`]).

use super::shard::Shard;
use super::table::{SLOTS, Table};
use core::fmt;
use crossbeam_utils::CachePadded;

/// The entries of a pinned map ([`HashMapRef::iter`](super::HashMapRef::iter)), weakly
/// consistent.
pub struct Iter<'g, K, V> {
    shards: &'g [CachePadded<Shard<K, V>>],
    shard: usize,
    table: Option<&'g Table>,
    slot: usize,
}

impl<'g, K, V> Iter<'g, K, V> {
    pub(super) fn new(shards: &'g [CachePadded<Shard<K, V>>]) -> Self {
        Iter {
            shards,
            shard: 0,
            table: None,
            slot: 0,
        }
    }
}

impl<'g, K, V> Iterator for Iter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let shard = self.shards.get(self.shard)?;
            let table = match self.table {
                Some(t) => t,
                None => {
                    // Valid for `'g`: the handle that lent `'g` is pinned.
                    let t = shard.table();
                    self.table = Some(t);
                    self.slot = 0;
                    t
                }
            };
            while self.slot < table.slots() {
                let (g, lane) = (self.slot / SLOTS, self.slot % SLOTS);
                self.slot += 1;
                if let Some(slot) = table.slot_at(g, lane) {
                    // SAFETY: the index was read with Acquire, so its entry is written;
                    // the handle that lent `'g` is pinned, so a later unlink leaves it
                    // in place for `'g`.
                    let (k, v) = unsafe { shard.slab().entry(slot) };
                    return Some((k, v));
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

/// The keys of a pinned map ([`HashMapRef::keys`](super::HashMapRef::keys)).
pub struct Keys<'g, K, V>(pub(super) Iter<'g, K, V>);

impl<'g, K, V> Iterator for Keys<'g, K, V> {
    type Item = &'g K;

    fn next(&mut self) -> Option<&'g K> {
        self.0.next().map(|(k, _)| k)
    }
}

impl<K, V> fmt::Debug for Keys<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Keys").field(&self.0).finish()
    }
}

/// The values of a pinned map ([`HashMapRef::values`](super::HashMapRef::values)).
pub struct Values<'g, K, V>(pub(super) Iter<'g, K, V>);

impl<'g, K, V> Iterator for Values<'g, K, V> {
    type Item = &'g V;

    fn next(&mut self) -> Option<&'g V> {
        self.0.next().map(|(_, v)| v)
    }
}

impl<K, V> fmt::Debug for Values<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Values").field(&self.0).finish()
    }
}

/// The entries of a consumed map, by value (`HashMap::into_iter`). What it does not
/// yield is dropped with it.
pub struct IntoIter<K, V> {
    shards: Box<[CachePadded<Shard<K, V>>]>,
    shard: usize,
    /// The next table position to look at in the current shard.
    from: usize,
}

impl<K, V> IntoIter<K, V> {
    pub(super) fn new(shards: Box<[CachePadded<Shard<K, V>>]>) -> Self {
        IntoIter {
            shards,
            shard: 0,
            from: 0,
        }
    }
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            let shard = self.shards.get_mut(self.shard)?;
            if let Some((next, entry)) = shard.take_next(self.from) {
                self.from = next;
                return Some(entry);
            }
            self.shard += 1;
            self.from = 0;
        }
    }
}

impl<K, V> fmt::Debug for IntoIter<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

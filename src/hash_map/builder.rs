//! Configuration: the builder, the resize policies and the closure/insert result types.

use super::HashMap;
use super::raw::{Resize, SLOTS, Shard};
use core::fmt;
use core::marker::PhantomData;
use crossbeam_utils::CachePadded;
use std::collections::hash_map::RandomState;

/// How a shard's table may change size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResizePolicy {
    /// Double a shard's table when it is 7/8 full or a probe runs out of room (default).
    #[default]
    Grow,
    /// As `Grow`, and halve a table (never below its initial size) when a removal leaves
    /// it at most 1/8 full.
    GrowShrink,
    /// Never allocate a table after construction: an insert into a full shard fails
    /// ([`HashMapRef::try_insert`](super::HashMapRef::try_insert)) instead, so insert latency stays deterministic.
    Fixed,
}

impl ResizePolicy {
    fn lower(self) -> Resize {
        match self {
            ResizePolicy::Grow => Resize::Grow,
            ResizePolicy::GrowShrink => Resize::GrowShrink,
            ResizePolicy::Fixed => Resize::Fixed,
        }
    }
}

/// A `Fixed` map's shard had no room; the rejected key and value are returned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the hash map shard is full (ResizePolicy::Fixed)")
    }
}

impl<T> std::error::Error for Full<T> {}

/// What a [`HashMap::compute`] closure asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op<V> {
    /// Leave the entry as it is (present or absent).
    Keep,
    /// Insert this value, replacing the current one if any.
    Insert(V),
    /// Remove the entry if present.
    Remove,
}

/// What [`HashMap::compute`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Computed {
    /// Nothing changed.
    Unchanged,
    /// The key was absent and is now present.
    Inserted,
    /// The key's value was replaced.
    Replaced,
    /// The key was removed.
    Removed,
}

/// The most shards a map may have.
const MAX_SHARDS: usize = 1 << 16;

/// Default shard count: four per core, a power of two, at most 1024 (one under loom).
fn default_shards() -> usize {
    if cfg!(fencepost_loom) {
        return 1;
    }
    (4 * crate::sync::available_parallelism())
        .next_power_of_two()
        .clamp(4, 1024)
}

/// A builder for a [`HashMap`]: capacity, shard count, resize policy and hasher.
///
/// ```
/// use fencepost::hash_map::{HashMap, HashMapBuilder, ResizePolicy};
///
/// let map: HashMap<u32, &str> = HashMapBuilder::new()
///     .capacity(1000)
///     .shards(16)
///     .resize_policy(ResizePolicy::Fixed)
///     .build();
/// assert!(map.pin().try_insert(1, "one").is_ok());
/// ```
pub struct HashMapBuilder<K, V, S = RandomState> {
    capacity: usize,
    shards: Option<usize>,
    policy: ResizePolicy,
    hasher: S,
    _map: PhantomData<fn() -> (K, V)>,
}

impl<K, V, S: Clone> Clone for HashMapBuilder<K, V, S> {
    fn clone(&self) -> Self {
        HashMapBuilder {
            capacity: self.capacity,
            shards: self.shards,
            policy: self.policy,
            hasher: self.hasher.clone(),
            _map: PhantomData,
        }
    }
}

impl<K, V, S> fmt::Debug for HashMapBuilder<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashMapBuilder")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<K, V> HashMapBuilder<K, V, RandomState> {
    /// A builder with the defaults: capacity 0, four shards per core, `Grow`, std's
    /// `RandomState`.
    pub fn new() -> Self {
        HashMapBuilder {
            capacity: 0,
            shards: None,
            policy: ResizePolicy::Grow,
            hasher: RandomState::new(),
            _map: PhantomData,
        }
    }
}

impl<K, V> Default for HashMapBuilder<K, V, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> HashMapBuilder<K, V, S> {
    /// Room for at least `capacity` entries spread evenly over the shards, before any
    /// shard grows. With `Fixed`, keys that crowd one shard can make it full before the
    /// map as a whole holds `capacity` entries.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The number of shards, rounded up to a power of two. More shards let more writers
    /// proceed at once; each costs at least one 64-byte group.
    ///
    /// # Panics
    /// If `shards` is 0 or above 65536.
    pub fn shards(mut self, shards: usize) -> Self {
        assert!(
            (1..=MAX_SHARDS).contains(&shards),
            "HashMapBuilder::shards: shards must be in 1..=65536, got {shards}"
        );
        self.shards = Some(shards.next_power_of_two());
        self
    }

    /// How shards resize (default [`ResizePolicy::Grow`]).
    pub fn resize_policy(mut self, policy: ResizePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The hasher (default std's `RandomState`, SipHash-1-3 with random keys).
    pub fn hasher<S2>(self, hasher: S2) -> HashMapBuilder<K, V, S2> {
        HashMapBuilder {
            capacity: self.capacity,
            shards: self.shards,
            policy: self.policy,
            hasher,
            _map: PhantomData,
        }
    }

    /// Builds the map.
    pub fn build(self) -> HashMap<K, V, S> {
        // Decide membarrier once, before the map reaches other threads, so every pin's
        // light fence and every reclaimer's heavy fence agree on the pairing.
        crate::futex::init_asymmetric_fences();
        let shards = self.shards.unwrap_or_else(default_shards);
        let per_shard = self.capacity.div_ceil(shards);
        // 7/8 of a table's slots may be used before it grows.
        let slots = per_shard.saturating_add(per_shard / 7 + 1);
        let groups = slots.div_ceil(SLOTS).next_power_of_two().max(1);
        let bits = shards.trailing_zeros();
        HashMap {
            shards: (0..shards)
                .map(|_| CachePadded::new(Shard::new(groups)))
                .collect(),
            shard_shift: 57 - bits,
            shard_mask: shards - 1,
            policy: self.policy.lower(),
            hasher: self.hasher,
        }
    }
}

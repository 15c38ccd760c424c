//! Configuration: the builder, the resize policies and the closure/insert result types.

use super::HashMap;
use super::epoch::Domain;
use super::shard::{Resize, Shard};
use super::table::{groups_for, max_len};
use core::fmt;
use core::marker::PhantomData;
use crossbeam_utils::CachePadded;
use std::collections::hash_map::RandomState;

/// How a shard's table may change size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResizePolicy {
    /// Double a shard's table when it is 7/8 full or a probe runs out of room (default).
    #[default]
    Grow,
    /// As `Grow`, and halve a table (never below its initial size) when a removal leaves
    /// it at most 1/8 full.
    GrowShrink,
    /// Never allocate a table after construction: an insert into a full shard fails
    /// ([`HashMapRef::insert_within_capacity`](super::HashMapRef::insert_within_capacity))
    /// instead, so insert latency stays deterministic. Entry storage for the capacity is
    /// allocated up front too; more is allocated only while pinned readers hold back the
    /// reclamation of removed entries (their slots are reused only after it).
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

/// A `Fixed` map's shard had no room; the rejected key and value are held back, and
/// [`into_pair`](ShardFull::into_pair) returns them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShardFull<K, V> {
    key: K,
    value: V,
}

impl<K, V> ShardFull<K, V> {
    pub(super) fn new((key, value): (K, V)) -> Self {
        Self { key, value }
    }

    /// The key and value that were not inserted.
    pub fn into_pair(self) -> (K, V) {
        (self.key, self.value)
    }
}

impl<K, V> fmt::Debug for ShardFull<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShardFull(..)")
    }
}

impl<K, V> fmt::Display for ShardFull<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the hash map shard is full (ResizePolicy::Fixed)")
    }
}

impl<K, V> std::error::Error for ShardFull<K, V> {}

/// What a [`HashMap::compute`] closure asks for.
///
/// `#[non_exhaustive]`, like [`Computed`] and [`ResizePolicy`]: a later version may add
/// variants, so a `match` outside this crate needs a wildcard arm.
///
/// ```compile_fail
/// use fencepost::hash_map::Op;
/// fn name(op: &Op<u8>) -> &'static str {
///     match op {
///         Op::Keep => "keep",
///         Op::Insert(_) => "insert",
///         Op::Remove => "remove",
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Room for `capacity` entries before any shard grows (or, with
    /// [`ResizePolicy::Fixed`], before an insert fails).
    ///
    /// Each shard is sized for its share plus headroom: with `shards(1)` the guarantee
    /// is exact whatever the keys; with more shards it holds unless the hasher sends more
    /// keys to one shard than its headroom allows, which for keys spread like random ones
    /// (the default `RandomState` is keyed, so callers cannot aim keys at a shard)
    /// happens with probability below 10^-9. [`HashMap::capacity`] reports the figure
    /// for the tables the map has now.
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
        // Fix the fence mode, before the map reaches other threads, so every pin's
        // light fence and every reclaimer's heavy fence agree on the pairing.
        crate::futex::init_asymmetric_fences();
        let shards = self.shards.unwrap_or_else(default_shards);
        let groups = groups_for(per_shard(self.capacity, shards));
        // The slab's first chunk holds what the table takes, so a map that never grows
        // never adds a chunk for its live entries.
        let base = max_len(groups).next_power_of_two().max(MIN_SLAB_BASE);
        let policy = self.policy.lower();
        let bits = shards.trailing_zeros();
        HashMap {
            shards: (0..shards)
                .map(|_| CachePadded::new(Shard::new(groups, base, policy)))
                .collect(),
            shard_shift: 57 - bits,
            shard_mask: shards - 1,
            hasher: self.hasher,
            domain: Domain::new(),
        }
    }
}

/// The smallest first slab chunk: 16 entries (2 under loom, so models add chunks).
const MIN_SLAB_BASE: usize = if cfg!(fencepost_loom) { 2 } else { 16 };

/// The probability a capacity guarantee may fail, for keys spread like random ones.
const FAILURE: f64 = 1e-9;

/// An upper bound on `P(X > m)` for `X ~ Binomial(n, p)`: the Chernoff bound in its
/// relative-entropy form, `exp(-n D((m + 1) / n || p))`.
fn tail(n: usize, p: f64, m: usize) -> f64 {
    if m >= n {
        return 0.0;
    }
    let (n, a) = (n as f64, (m as f64 + 1.0) / n as f64);
    if a <= p {
        return 1.0;
    }
    let d = a * (a / p).ln() + (1.0 - a) * ((1.0 - a) / (1.0 - p)).ln();
    (-n * d).exp()
}

/// Entries one of `shards` shards must take so that `n` keys spread like random ones
/// overflow none of them, except with probability below [`FAILURE`].
pub(crate) fn per_shard(n: usize, shards: usize) -> usize {
    if shards == 1 || n == 0 {
        return n;
    }
    let p = 1.0 / shards as f64;
    let fits = |m: usize| shards as f64 * tail(n, p, m) <= FAILURE;
    let mut lo = n.div_ceil(shards);
    if fits(lo) {
        return lo;
    }
    let mut hi = lo;
    while !fits(hi) {
        hi = hi.saturating_mul(2).min(n);
    }
    // fits(hi), !fits(lo)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The most keys, spread like random ones over shards that take `limits[i]` entries
/// each, that overflow none of them except with probability below [`FAILURE`]; exact
/// for one shard.
pub(crate) fn guaranteed(limits: &[usize]) -> usize {
    if let [only] = limits {
        return *only;
    }
    let p = 1.0 / limits.len() as f64;
    let fits = |n: usize| limits.iter().map(|&m| tail(n, p, m)).sum::<f64>() <= FAILURE;
    // fits(lo), !fits(hi)
    let (mut lo, mut hi) = (0, limits.iter().sum::<usize>() + 1);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_shard_is_sized_exactly() {
        assert_eq!(per_shard(100_000, 1), 100_000);
        assert_eq!(guaranteed(&[1234]), 1234);
    }

    #[test]
    fn shards_get_headroom_that_the_guarantee_gives_back() {
        for (n, shards) in [
            (100_000, 64),
            (100_000, 8),
            (1 << 20, 8),
            (1000, 1024),
            (7, 4),
        ] {
            let m = per_shard(n, shards);
            assert!(m >= n.div_ceil(shards) && m <= n, "{n} over {shards}: {m}");
            // The guarantee over shards of exactly `m` entries is at least `n` again.
            assert!(guaranteed(&vec![m; shards]) >= n, "{n} over {shards}");
        }
        // Headroom shrinks as shards fill: 64 shards for 100k keys need under 25% more.
        assert!(per_shard(100_000, 64) < 100_000 / 64 * 5 / 4);
        assert!(per_shard(1 << 20, 8) < (1 << 17) * 21 / 20);
    }
}

//! The hash-map workloads and map adapters, shared by `benches/hash_map.rs` (criterion) and
//! `examples/compare/hash_map.rs`, so both measure the same loops.
//!
//! Maps: `fencepost::HashMap`, `papaya::HashMap`, `dashmap::DashMap`, `scc::HashMap` and
//! `RwLock<std::collections::HashMap>`, all with `u64` keys and values and the same hasher
//! (a type parameter: std's `RandomState`, SipHash-1-3, unless a row says otherwise).
//! Every operation goes through the map's ordinary public API, the one a user would pick
//! for it; papaya pins once per operation, fencepost for lookups (its `insert`/`remove`
//! that return a bool need no pin), so a guard's cost is part of those figures.
//!
//! Keys are `mix(tag, index)`: a bijection of (thread, index), so the keys of different
//! threads never collide, hits and misses are known by construction, and nothing is read
//! from a key array in the timed loop (a few cycles of arithmetic, the same for every map).
//!
//! Workloads:
//! - single thread: `gets` (hit or miss, over a prefilled map), `insert_fresh`,
//!   `remove_all`, `insert_latencies` (per-insert latency while the map grows);
//! - `parallel_gets`, `parallel_remove`: the same lookups and removals split over
//!   several threads;
//! - `mixed`: bustle-style read/insert/remove/update mixes on `threads` threads, each with
//!   its own keys (`READ_HEAVY`, `EXCHANGE`, `RAPID_GROW`, `READ_90`).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::{Barrier, RwLock};
use std::time::{Duration, Instant};

/// Keys of the single-thread lookup rows: a map of 2^20 keys.
pub const KEYS: u64 = 1 << 20;
/// Keys of the single-thread insert, remove and latency rows.
pub const WRITE_KEYS: u64 = 1 << 19;
/// Capacity of the prefilled mixes (prefilled to 0.75 of it).
pub const MIX_CAPACITY: usize = 1 << 18;
/// Operations (all threads together) of one run of a mix.
pub const MIX_OPS: u64 = 1 << 19;
/// Where rapid-grow and the latency rows start: small, so the map grows all the way.
pub const SMALL_CAPACITY: usize = 1024;

/// One concurrent map under test, `u64 -> u64`.
pub trait ConcurrentMap: Send + Sync + Sized {
    /// Short name, for criterion's benchmark ids and the comparison rows.
    const NAME: &'static str;
    /// An empty map sized for `capacity` keys (a minimum, not a limit).
    fn with_capacity(capacity: usize) -> Self;
    /// Whether `key` is present (its value is read).
    fn get(&self, key: u64) -> bool;
    /// Inserts or replaces; true if `key` was new.
    fn insert(&self, key: u64, value: u64) -> bool;
    /// True if `key` was present.
    fn remove(&self, key: u64) -> bool;
    /// Adds one to the value of `key` if present; never inserts. True if it was present.
    fn update(&self, key: u64) -> bool;
}

/// `fencepost::HashMap`: lookups pinned per operation; inserts and removes through the
/// map's pin-free `insert`/`remove` (which return whether the key was new / present, as
/// the adapter needs).
pub struct Fencepost<S = RandomState>(fencepost::HashMap<u64, u64, S>);

impl<S: BuildHasher + Default + Send + Sync> ConcurrentMap for Fencepost<S> {
    const NAME: &'static str = "fencepost";
    fn with_capacity(capacity: usize) -> Self {
        Fencepost(fencepost::HashMap::with_capacity_and_hasher(
            capacity,
            S::default(),
        ))
    }
    #[inline]
    fn get(&self, key: u64) -> bool {
        black_box(self.0.pin().get(&key).copied()).is_some()
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.insert(key, value)
    }
    #[inline]
    fn remove(&self, key: u64) -> bool {
        self.0.remove(&key)
    }
    #[inline]
    fn update(&self, key: u64) -> bool {
        self.0.update(&key, |v| v + 1)
    }
}

/// `papaya::HashMap`, pinned per operation (as conc-map-bench does).
pub struct Papaya<S = RandomState>(papaya::HashMap<u64, u64, S>);

impl<S: BuildHasher + Default + Send + Sync> ConcurrentMap for Papaya<S> {
    const NAME: &'static str = "papaya";
    fn with_capacity(capacity: usize) -> Self {
        Papaya(papaya::HashMap::with_capacity_and_hasher(
            capacity,
            S::default(),
        ))
    }
    #[inline]
    fn get(&self, key: u64) -> bool {
        black_box(self.0.pin().get(&key).copied()).is_some()
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.pin().insert(key, value).is_none()
    }
    #[inline]
    fn remove(&self, key: u64) -> bool {
        self.0.pin().remove(&key).is_some()
    }
    #[inline]
    fn update(&self, key: u64) -> bool {
        self.0.pin().update(key, |v| v + 1).is_some()
    }
}

/// `dashmap::DashMap` (its default shard count).
pub struct DashMap<S = RandomState>(dashmap::DashMap<u64, u64, S>);

impl<S: BuildHasher + Default + Clone + Send + Sync> ConcurrentMap for DashMap<S> {
    const NAME: &'static str = "dashmap";
    fn with_capacity(capacity: usize) -> Self {
        DashMap(dashmap::DashMap::with_capacity_and_hasher(
            capacity,
            S::default(),
        ))
    }
    #[inline]
    fn get(&self, key: u64) -> bool {
        black_box(self.0.get(&key).map(|v| *v)).is_some()
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.insert(key, value).is_none()
    }
    #[inline]
    fn remove(&self, key: u64) -> bool {
        self.0.remove(&key).is_some()
    }
    #[inline]
    fn update(&self, key: u64) -> bool {
        self.0.get_mut(&key).map(|mut v| *v += 1).is_some()
    }
}

/// `scc::HashMap` (the 3.x `*_sync` API). Its insert refuses a present key, which never
/// happens here: the workloads insert only new keys.
pub struct Scc<S: BuildHasher = RandomState>(scc::HashMap<u64, u64, S>);

impl<S: BuildHasher + Default + Send + Sync> ConcurrentMap for Scc<S> {
    const NAME: &'static str = "scc";
    fn with_capacity(capacity: usize) -> Self {
        Scc(scc::HashMap::with_capacity_and_hasher(
            capacity,
            S::default(),
        ))
    }
    #[inline]
    fn get(&self, key: u64) -> bool {
        black_box(self.0.read_sync(&key, |_, v| *v)).is_some()
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.insert_sync(key, value).is_ok()
    }
    #[inline]
    fn remove(&self, key: u64) -> bool {
        self.0.remove_sync(&key).is_some()
    }
    #[inline]
    fn update(&self, key: u64) -> bool {
        self.0.update_sync(&key, |_, v| *v += 1).is_some()
    }
}

/// `std::sync::RwLock<std::collections::HashMap>`: the baseline a user starts from.
pub struct StdRwLock<S = RandomState>(RwLock<std::collections::HashMap<u64, u64, S>>);

impl<S: BuildHasher + Default + Send + Sync> ConcurrentMap for StdRwLock<S> {
    const NAME: &'static str = "RwLock<std HashMap>";
    fn with_capacity(capacity: usize) -> Self {
        StdRwLock(RwLock::new(
            std::collections::HashMap::with_capacity_and_hasher(capacity, S::default()),
        ))
    }
    #[inline]
    fn get(&self, key: u64) -> bool {
        black_box(self.0.read().unwrap().get(&key).copied()).is_some()
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.write().unwrap().insert(key, value).is_none()
    }
    #[inline]
    fn remove(&self, key: u64) -> bool {
        self.0.write().unwrap().remove(&key).is_some()
    }
    #[inline]
    fn update(&self, key: u64) -> bool {
        self.0
            .write()
            .unwrap()
            .get_mut(&key)
            .map(|v| *v += 1)
            .is_some()
    }
}

/// The second hasher of the extra rows: foldhash's fast `RandomState`, the same for all maps.
pub type FoldHash = foldhash::fast::RandomState;

/// SplitMix64's finaliser: a bijection on `u64`.
#[inline]
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Key `index` of thread `thread`: distinct for distinct (thread, index) with index < 2^40.
#[inline]
pub fn key(thread: usize, index: u64) -> u64 {
    splitmix(((thread as u64) << 40) | index)
}

/// A key that no workload ever inserts (a distinct tag bit), for misses.
#[inline]
pub fn miss_key(thread: usize, index: u64) -> u64 {
    splitmix((1 << 63) | ((thread as u64) << 40) | index)
}

/// xorshift64*: the per-thread generator for read and update targets.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(splitmix(seed) | 1)
    }
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0), by multiply-high rather than division.
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// The keys `key(0, 0..n)` in a shuffled order: lookups must not walk the map in insertion
/// order, which would favour maps that allocate entries one after another.
pub fn shuffled_keys(n: u64) -> Vec<u64> {
    let mut order: Vec<u64> = (0..n).collect();
    let mut rng = Rng::new(0x5eed);
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order.into_iter().map(|i| key(0, i)).collect()
}

/// A map sized for `n` keys holding `key(0, 0..n)`, inserted on the calling thread.
pub fn prefilled<M: ConcurrentMap>(n: u64) -> M {
    let map = M::with_capacity(n as usize);
    for i in 0..n {
        map.insert(key(0, i), i);
    }
    map
}

/// `ops` lookups cycling through `keys`; returns the time and the number of hits.
pub fn gets<M: ConcurrentMap>(map: &M, keys: &[u64], ops: u64) -> (Duration, u64) {
    let mut hits = 0u64;
    let start = Instant::now();
    let mut left = ops;
    while left > 0 {
        let n = left.min(keys.len() as u64) as usize;
        for &k in &keys[..n] {
            hits += u64::from(map.get(k));
        }
        left -= n as u64;
    }
    (start.elapsed(), black_box(hits))
}

/// `threads` threads (each pinned by `pin(t)`) look up `keys` at once, each thread its
/// own contiguous share, starting together at a barrier; returns the time until the
/// slowest finishes and the number of hits.
pub fn parallel_gets<M: ConcurrentMap>(
    map: &M,
    keys: &[u64],
    threads: usize,
    pin: fn(usize),
) -> (Duration, u64) {
    if threads == 1 {
        return gets(map, keys, keys.len() as u64);
    }
    let start_line = Barrier::new(threads + 1);
    let hits = std::sync::atomic::AtomicU64::new(0);
    let share = keys.len().div_ceil(threads);
    let elapsed = std::thread::scope(|s| {
        for (t, part) in keys.chunks(share).enumerate() {
            let (start_line, hits) = (&start_line, &hits);
            s.spawn(move || {
                pin(t);
                start_line.wait();
                let (_, h) = gets(map, part, part.len() as u64);
                hits.fetch_add(h, std::sync::atomic::Ordering::Relaxed);
            });
        }
        start_line.wait();
        Instant::now()
    })
    .elapsed();
    (elapsed, hits.into_inner())
}

/// Fills a fresh map with `keys` (in sorted order), then `threads` threads (pinned by
/// `pin(t)`) remove them, each its own contiguous share of `keys`. Only the removals
/// are timed.
pub fn parallel_remove<M: ConcurrentMap>(keys: &[u64], threads: usize, pin: fn(usize)) -> Duration {
    if threads == 1 {
        return remove_all::<M>(keys);
    }
    let map = M::with_capacity(keys.len());
    let mut fill = keys.to_vec();
    fill.sort_unstable();
    for (i, k) in fill.into_iter().enumerate() {
        map.insert(k, i as u64);
    }
    let start_line = Barrier::new(threads + 1);
    let share = keys.len().div_ceil(threads);
    let elapsed = std::thread::scope(|s| {
        for (t, part) in keys.chunks(share).enumerate() {
            let (map, start_line) = (&map, &start_line);
            s.spawn(move || {
                pin(t);
                start_line.wait();
                for &k in part {
                    black_box(map.remove(k));
                }
            });
        }
        start_line.wait();
        Instant::now()
    })
    .elapsed();
    drop(map);
    elapsed
}

/// Inserts `keys` into an empty map made with `with_capacity(capacity)`: with a small
/// capacity the map grows all the way. Creating and dropping the map is not timed.
pub fn insert_fresh<M: ConcurrentMap>(capacity: usize, keys: &[u64]) -> Duration {
    let map = M::with_capacity(capacity);
    let start = Instant::now();
    for (i, &k) in keys.iter().enumerate() {
        black_box(map.insert(k, i as u64));
    }
    let elapsed = start.elapsed();
    drop(map);
    elapsed
}

/// Fills a fresh map with `keys` (inserted in sorted order, unrelated to the order of
/// `keys`), then removes them in the order of `keys`. Only the removals are timed.
pub fn remove_all<M: ConcurrentMap>(keys: &[u64]) -> Duration {
    let map = M::with_capacity(keys.len());
    let mut fill = keys.to_vec();
    fill.sort_unstable();
    for (i, k) in fill.into_iter().enumerate() {
        map.insert(k, i as u64);
    }
    let start = Instant::now();
    for &k in keys {
        black_box(map.remove(k));
    }
    let elapsed = start.elapsed();
    drop(map);
    elapsed
}

/// Per-insert latency while a map grows, in nanoseconds: p50, p99, p99.9 and max.
#[derive(Clone, Copy, Debug)]
pub struct Latencies {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Inserts `n` new keys into `with_capacity(initial_capacity)`, timing each insert on its
/// own with `Instant` (the clock read, ~20 ns on a TSC clocksource, is in every figure and
/// the same for every map).
pub fn insert_latencies<M: ConcurrentMap>(initial_capacity: usize, n: u64) -> Latencies {
    let map = M::with_capacity(initial_capacity);
    let mut ns: Vec<u64> = Vec::with_capacity(n as usize);
    for i in 0..n {
        let k = key(0, i);
        let start = Instant::now();
        black_box(map.insert(k, i));
        ns.push(start.elapsed().as_nanos() as u64);
    }
    drop(map);
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)] as f64;
    Latencies {
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: ns[ns.len() - 1] as f64,
    }
}

/// Percentages of reads, inserts (always a new key), removes (the thread's oldest live
/// key) and updates (a random live key); they add up to 100.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    pub read: u8,
    pub insert: u8,
    pub remove: u8,
    pub update: u8,
}

/// conc-map-bench's ReadHeavy: 98 / 1 / 1 / 0, prefill 0.75.
pub const READ_HEAVY: Mix = Mix {
    read: 98,
    insert: 1,
    remove: 1,
    update: 0,
};
/// conc-map-bench's Exchange: 10 / 40 / 40 / 10, prefill 0.75.
pub const EXCHANGE: Mix = Mix {
    read: 10,
    insert: 40,
    remove: 40,
    update: 10,
};
/// conc-map-bench's RapidGrow: 5 / 80 / 5 / 10, no prefill; here from a small capacity.
pub const RAPID_GROW: Mix = Mix {
    read: 5,
    insert: 80,
    remove: 5,
    update: 10,
};
/// The 90 / 5 / 5 read/insert/remove mix, prefill 0.75.
pub const READ_90: Mix = Mix {
    read: 90,
    insert: 5,
    remove: 5,
    update: 0,
};

#[derive(Clone, Copy)]
enum Op {
    Read,
    Insert,
    Remove,
    Update,
}

/// The mix as 100 operations, shuffled per thread, cycled through by the timed loop.
fn op_pattern(mix: Mix, seed: u64) -> [Op; 100] {
    assert_eq!(
        u32::from(mix.read) + u32::from(mix.insert) + u32::from(mix.remove) + u32::from(mix.update),
        100,
        "a mix adds up to 100"
    );
    let mut ops = [Op::Read; 100];
    let mut i = 0;
    for (op, n) in [
        (Op::Insert, mix.insert),
        (Op::Remove, mix.remove),
        (Op::Update, mix.update),
    ] {
        for _ in 0..n {
            ops[i] = op;
            i += 1;
        }
    }
    let mut rng = Rng::new(seed);
    for i in (1..ops.len()).rev() {
        ops.swap(i, rng.below(i as u64 + 1) as usize);
    }
    ops
}

/// One bustle-style run.
#[derive(Clone, Copy, Debug)]
pub struct MixedRun {
    pub mix: Mix,
    pub threads: usize,
    /// The map is made with `with_capacity(initial_capacity)`.
    pub initial_capacity: usize,
    /// Keys inserted before the clock starts, over all threads (each thread its own share).
    pub prefill: u64,
    /// Operations in the timed part, over all threads (rounded up to a multiple of them).
    pub ops: u64,
}

impl MixedRun {
    /// A mix as conc-map-bench runs it: prefilled to 0.75 of `MIX_CAPACITY`, except for
    /// a growing mix (`RAPID_GROW`), which starts empty at `SMALL_CAPACITY`.
    pub fn new(mix: Mix, threads: usize, ops: u64) -> MixedRun {
        let (initial_capacity, prefill) = if mix.insert > mix.remove {
            (SMALL_CAPACITY, 0)
        } else {
            (MIX_CAPACITY, MIX_CAPACITY as u64 * 3 / 4)
        };
        MixedRun {
            mix,
            threads,
            initial_capacity,
            prefill,
            ops,
        }
    }
}

/// Runs `run`: each thread (pinned by `pin(i)`) prefills its share, then all start at a
/// barrier and the time runs until the slowest finishes. Thread `t` keeps its live keys
/// as the window `key(t, lo..hi)`: inserts add `key(t, hi)`, removes take `key(t, lo)`,
/// updates hit a random live key, reads pick uniformly from `lo..hi + (hi - lo)`, so about
/// half of them hit and half look for a key not (yet) inserted.
pub fn mixed<M: ConcurrentMap>(run: MixedRun, pin: fn(usize)) -> Duration {
    let map = M::with_capacity(run.initial_capacity);
    let threads = run.threads;
    let start_line = Barrier::new(threads + 1);
    let elapsed = std::thread::scope(|s| {
        for t in 0..threads {
            let (map, start_line) = (&map, &start_line);
            s.spawn(move || {
                pin(t);
                let pattern = op_pattern(run.mix, t as u64);
                let mut rng = Rng::new(0xface ^ t as u64);
                let ops = run.ops.div_ceil(threads as u64);
                let (mut lo, mut hi) = (0u64, run.prefill / threads as u64);
                for i in lo..hi {
                    map.insert(key(t, i), i);
                }
                let mut done = 0u64;
                start_line.wait();
                for i in 0..ops {
                    let live = hi - lo;
                    let ok = match pattern[(i % 100) as usize] {
                        Op::Read if live == 0 => map.get(miss_key(t, i)),
                        Op::Read => map.get(key(t, lo + rng.below(2 * live))),
                        Op::Insert => {
                            let new = map.insert(key(t, hi), hi);
                            debug_assert!(new, "inserts add new keys");
                            hi += 1;
                            new
                        }
                        Op::Remove if live == 0 => map.remove(miss_key(t, i)),
                        Op::Remove => {
                            let was = map.remove(key(t, lo));
                            debug_assert!(was, "removes take live keys");
                            lo += 1;
                            was
                        }
                        Op::Update if live == 0 => map.update(miss_key(t, i)),
                        Op::Update => map.update(key(t, lo + rng.below(live))),
                    };
                    done += u64::from(ok);
                }
                black_box(done);
            });
        }
        start_line.wait();
        // Scope end joins every thread: the sample ends with the slowest.
        Instant::now()
    })
    .elapsed();
    drop(map);
    elapsed
}

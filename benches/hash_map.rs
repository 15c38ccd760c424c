//! `fencepost::HashMap` against papaya, dashmap, scc and `RwLock<std HashMap>`, `u64` keys
//! and values, std's SipHash `RandomState` for every map, peers in the same group:
//!
//! - `hash_map/get-hit`, `hash_map/get-miss`: one thread, a map of 2^20 keys, lookups in
//!   shuffled order;
//! - `hash_map/insert-presized`, `hash_map/insert-growing`, `hash_map/remove`: one thread,
//!   batches of up to 2^19 keys into (or out of) a fresh map;
//! - `hash_map/{read-heavy,read-90,exchange,rapid-grow}/{1,2,8}-threads`: the bustle-style
//!   mixes (threads unpinned; 8 oversubscribes a 2-core machine). One iteration is one run
//!   of `MIX_OPS` operations over all threads on a fresh map, timed from a barrier to the
//!   slowest thread's finish (`iter_custom`, flat sampling: a run has a fixed start-up
//!   cost, and each builds and prefills its own map untimed).
//!
//! `cargo bench --bench hash_map [-- FILTER]`. Per-insert latency percentiles are not a
//! criterion figure (criterion reports means): `cargo run --release --example compare --
//! --only hash_map` prints them. The maps and loops live in `workloads/hash_map.rs`, shared
//! with `examples/compare`.

#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the shared workload's interface"
)]

#[allow(
    dead_code,
    reason = "the latency workload and the foldhash alias serve only `examples/compare`"
)]
#[path = "workloads/hash_map.rs"]
mod workload;

use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use std::time::Duration;
use workload::{
    ConcurrentMap, DashMap, EXCHANGE, Fencepost, KEYS, MIX_OPS, Mix, MixedRun, Papaya, RAPID_GROW,
    READ_90, READ_HEAVY, Scc, StdRwLock, WRITE_KEYS,
};

/// Leaves the mixes' threads to the scheduler: these groups do not pin.
fn no_pin(_cpu: usize) {}

/// Runs `f(batch)` for batches of at most `max` until `iters` operations are timed.
fn batched(iters: u64, max: u64, mut f: impl FnMut(usize) -> Duration) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = left.min(max);
        total += f(n as usize);
        left -= n;
    }
    total
}

/// The map types of every group, ours first.
trait ForEachMap {
    fn bench<M: ConcurrentMap>(&mut self);
}

fn for_each_map(f: &mut impl ForEachMap) {
    f.bench::<Fencepost>();
    f.bench::<Papaya>();
    f.bench::<DashMap>();
    f.bench::<Scc>();
    f.bench::<StdRwLock>();
}

struct Gets<'a, 'c> {
    g: BenchmarkGroup<'c, criterion::measurement::WallTime>,
    probe: &'a [u64],
}

impl ForEachMap for Gets<'_, '_> {
    fn bench<M: ConcurrentMap>(&mut self) {
        let map = workload::prefilled::<M>(KEYS);
        let probe = self.probe;
        self.g.bench_function(M::NAME, |b| {
            b.iter_custom(|iters| workload::gets(&map, probe, iters).0);
        });
    }
}

struct Inserts<'a, 'c> {
    g: BenchmarkGroup<'c, criterion::measurement::WallTime>,
    keys: &'a [u64],
    /// `None`: sized for the batch.
    capacity: Option<usize>,
}

impl ForEachMap for Inserts<'_, '_> {
    fn bench<M: ConcurrentMap>(&mut self) {
        let (keys, capacity) = (self.keys, self.capacity);
        self.g.bench_function(M::NAME, |b| {
            b.iter_custom(|iters| {
                batched(iters, keys.len() as u64, |n| {
                    workload::insert_fresh::<M>(capacity.unwrap_or(n), &keys[..n])
                })
            });
        });
    }
}

struct Removes<'a, 'c> {
    g: BenchmarkGroup<'c, criterion::measurement::WallTime>,
    keys: &'a [u64],
}

impl ForEachMap for Removes<'_, '_> {
    fn bench<M: ConcurrentMap>(&mut self) {
        let keys = self.keys;
        self.g.bench_function(M::NAME, |b| {
            b.iter_custom(|iters| {
                batched(iters, keys.len() as u64, |n| {
                    workload::remove_all::<M>(&keys[..n])
                })
            });
        });
    }
}

struct Mixed<'c> {
    g: BenchmarkGroup<'c, criterion::measurement::WallTime>,
    mix: Mix,
    threads: usize,
}

impl ForEachMap for Mixed<'_> {
    fn bench<M: ConcurrentMap>(&mut self) {
        let (mix, threads) = (self.mix, self.threads);
        self.g.bench_function(M::NAME, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| workload::mixed::<M>(MixedRun::new(mix, threads, MIX_OPS), no_pin))
                    .sum()
            });
        });
    }
}

fn single_thread(c: &mut Criterion) {
    let hit = workload::shuffled_keys(KEYS);
    let miss: Vec<u64> = (0..KEYS).map(|i| workload::miss_key(0, i)).collect();
    for (name, probe) in [("get-hit", &hit), ("get-miss", &miss)] {
        let mut g = c.benchmark_group(format!("hash_map/{name}"));
        g.throughput(Throughput::Elements(1));
        let mut gets = Gets { g, probe };
        for_each_map(&mut gets);
        gets.g.finish();
    }

    let keys = workload::shuffled_keys(WRITE_KEYS);
    for (name, capacity) in [("insert-presized", None), ("insert-growing", Some(0))] {
        let mut g = c.benchmark_group(format!("hash_map/{name}"));
        g.throughput(Throughput::Elements(1));
        g.sample_size(20);
        let mut inserts = Inserts {
            g,
            keys: &keys,
            capacity,
        };
        for_each_map(&mut inserts);
        inserts.g.finish();
    }

    let mut g = c.benchmark_group("hash_map/remove");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    let mut removes = Removes { g, keys: &keys };
    for_each_map(&mut removes);
    removes.g.finish();
}

fn mixes(c: &mut Criterion) {
    for (name, mix) in [
        ("read-heavy", READ_HEAVY),
        ("read-90", READ_90),
        ("exchange", EXCHANGE),
        ("rapid-grow", RAPID_GROW),
    ] {
        for threads in [1, 2, 8] {
            let mut g = c.benchmark_group(format!("hash_map/{name}/{threads}-threads"));
            g.throughput(Throughput::Elements(MIX_OPS));
            g.sampling_mode(SamplingMode::Flat);
            g.sample_size(10);
            g.warm_up_time(Duration::from_secs(1));
            g.measurement_time(Duration::from_secs(3));
            let mut mixed = Mixed { g, mix, threads };
            for_each_map(&mut mixed);
            mixed.g.finish();
        }
    }
}

criterion_group!(hash_map, single_thread, mixes);
criterion_main!(hash_map);

//! Criterion: `fencepost::RwLock` against `std::sync::RwLock` and
//! `parking_lot::RwLock`, with `fencepost::SeqLock` (for `Copy` data) in the same
//! groups; a 64-byte value throughout.
//!
//! `cargo bench --bench rwlock`. Groups: uncontended read and write; reads with 2
//! readers alone, with 2 readers + 1 writer at ~1 M writes/s and in a tight loop, and
//! with 6 readers + 2 tight-loop writers (8 threads, oversubscribed on 2 cores). The
//! contended groups time `iters` reads per reader with `iter_custom` (threads pinned
//! round-robin, readers first); the loops live in `workloads/rwlock.rs`, shared with
//! `examples/compare`.

#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the shared workload's interface"
)]

#[path = "seqlock/peers.rs"]
mod peers;
#[path = "workloads/pin.rs"]
mod pin;
#[allow(dead_code, reason = "the shares serve only `examples/compare`")]
#[path = "workloads/rwlock.rs"]
mod workload;

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use peers::{Budget, Shared, Value};
use std::time::Duration;
use workload::{Pace, Payload};

/// Runs `bench::<L>` for every candidate, in the same group.
macro_rules! for_each_lock {
    ($group:expr, $bench:ident $(, $arg:expr)*) => {
        $bench::<fencepost::RwLock<Payload>>($group, "fencepost" $(, $arg)*);
        $bench::<std::sync::RwLock<Payload>>($group, "std RwLock" $(, $arg)*);
        $bench::<parking_lot::RwLock<Payload>>($group, "parking_lot RwLock" $(, $arg)*);
        $bench::<fencepost::SeqLock<Payload>>($group, "fencepost SeqLock" $(, $arg)*);
    };
}

fn uncontended_read<L: Shared<Payload>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(Payload::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| peers::uncontended_reads(&lock, iters))
    });
}

fn uncontended_write<L: Shared<Payload>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(Payload::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| peers::uncontended_writes(&lock, iters))
    });
}

/// `iters` reads per reader, with `writers` writers pacing themselves as `pace` says.
fn reads<L: Shared<Payload>>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    readers: usize,
    writers: usize,
    pace: Pace,
) {
    let lock = L::new(Payload::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let m = workload::mixed(
                &lock,
                readers,
                writers,
                pace,
                Budget::Ops(iters),
                pin::pin_to_cpu,
            );
            m.elapsed
        })
    });
}

fn rwlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("rwlock/uncontended read 64 B");
    for_each_lock!(&mut g, uncontended_read);
    g.finish();

    let mut g = c.benchmark_group("rwlock/uncontended write 64 B");
    for_each_lock!(&mut g, uncontended_write);
    g.finish();

    for (group, readers, writers, pace) in [
        ("rwlock/2 readers", 2, 0, Pace::Tight),
        (
            "rwlock/2 readers + 1 writer at ~1M writes per s",
            2,
            1,
            Pace::Every(Duration::from_micros(1)),
        ),
        ("rwlock/2 readers + 1 tight-loop writer", 2, 1, Pace::Tight),
        ("rwlock/6 readers + 2 tight-loop writers", 6, 2, Pace::Tight),
    ] {
        let mut g = c.benchmark_group(group);
        for_each_lock!(&mut g, reads, readers, writers, pace);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = rwlock
}
criterion_main!(benches);

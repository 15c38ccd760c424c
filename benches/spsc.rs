#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the workload interface"
)]

//! Criterion benchmarks of the SPSC queue against rtrb, crossbeam's `ArrayQueue` and
//! std's `sync_channel`, with the same loops (`workloads/spsc.rs`); u64 items, producer
//! and consumer pinned to CPUs 1 and 0. `examples/compare` runs the same workloads
//! interleaved, with ratios; this file gives criterion's statistics per implementation.

#[path = "workloads/pin.rs"]
mod pin;
#[allow(dead_code)]
#[path = "workloads/spsc.rs"]
mod spsc;

use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use spsc::*;
use std::time::Duration;

fn per_queue<Q: Queue>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, capacity: usize) {
    g.bench_function(name, |b| {
        b.iter_custom(|iters| stream::<Q>(capacity, iters))
    });
}

fn streaming(c: &mut Criterion) {
    for (label, capacity) in [("stream_cap4096", 4096), ("contended_cap2", 2)] {
        let mut g = c.benchmark_group(format!("spsc/{label}"));
        g.throughput(Throughput::Elements(1));
        g.measurement_time(Duration::from_secs(2));
        per_queue::<Fencepost>(&mut g, "fencepost", capacity);
        per_queue::<FencepostNoBlockingLayer>(&mut g, "fencepost_no_blocking_layer", capacity);
        per_queue::<Rtrb>(&mut g, "rtrb", capacity);
        per_queue::<CrossbeamArrayQueue>(&mut g, "crossbeam_ArrayQueue", capacity);
        per_queue::<StdSyncChannel>(&mut g, "std_sync_channel", capacity);
        g.finish();
    }
}

fn round_trips(c: &mut Criterion) {
    let mut g = c.benchmark_group("spsc/round_trip");
    g.measurement_time(Duration::from_secs(2));
    g.bench_function("ping_pong_floor", |b| b.iter_custom(ping_pong_floor));
    g.bench_function("fencepost", |b| b.iter_custom(round_trip::<Fencepost>));
    g.bench_function("rtrb", |b| b.iter_custom(round_trip::<Rtrb>));
    g.bench_function("crossbeam_ArrayQueue", |b| {
        b.iter_custom(round_trip::<CrossbeamArrayQueue>)
    });
    g.bench_function("std_sync_channel", |b| {
        b.iter_custom(round_trip::<StdSyncChannel>)
    });
    g.finish();
}

fn slice_batches(c: &mut Criterion) {
    let mut g = c.benchmark_group("spsc/batch64_cap4096");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(2));
    g.bench_function("fencepost_push_slice", |b| {
        b.iter_custom(|n| batches::<Fencepost>(4096, 64, n))
    });
    g.bench_function("rtrb_partial_slice", |b| {
        b.iter_custom(|n| batches::<Rtrb>(4096, 64, n))
    });
    g.bench_function("rtrb_per_item", |b| {
        b.iter_custom(|n| batches::<PerItem<Rtrb>>(4096, 64, n))
    });
    g.finish();
}

criterion_group!(benches, streaming, round_trips, slice_batches);
criterion_main!(benches);

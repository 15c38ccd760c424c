//! `fencepost::Mutex` against `std::sync::Mutex`, `parking_lot::Mutex` and `spin::Mutex`
//! in one criterion group per regime: uncontended lock+unlock; 2 threads and 8 threads
//! (unpinned, on however many cores there are: 8 oversubscribes a 2-core machine) with
//! critical sections of ~0 ns and ~100 ns.
//!
//! `cargo bench --bench mutex`. Contended groups time `threads × ops` acquisitions with
//! `iter_custom`: threads start together at a barrier and the slowest one's finish ends
//! the sample. The lock types and loops live in `workloads/mutex.rs`, shared with
//! `examples/compare`.

#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the shared workload's interface"
)]

#[allow(
    dead_code,
    reason = "the fairness workload (`shares`) serves only `examples/compare`"
)]
#[path = "workloads/mutex.rs"]
mod workload;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use workload::{CS_100NS, Lock};

/// Leaves the contended threads to the scheduler: these groups do not pin.
fn no_pin(_cpu: usize) {}

fn uncontended<L: Lock>(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex/uncontended");
    g.throughput(Throughput::Elements(1));
    let lock = L::new();
    g.bench_function(L::NAME, |b| {
        b.iter(|| workload::lock_unlock(&lock));
    });
    g.finish();
}

fn contended<L: Lock>(c: &mut Criterion, threads: usize, units: u32, label: &str) {
    let mut g = c.benchmark_group(format!("mutex/{threads}-threads/{label}"));
    g.throughput(Throughput::Elements(threads as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::from_parameter(L::NAME), |b| {
        b.iter_custom(|iters| workload::contended::<L>(threads, units, iters, no_pin));
    });
    g.finish();
}

fn all<L: Lock>(c: &mut Criterion) {
    uncontended::<L>(c);
    for threads in [2, 8] {
        contended::<L>(c, threads, 0, "cs-0ns");
        contended::<L>(c, threads, CS_100NS, "cs-100ns");
    }
}

fn benches(c: &mut Criterion) {
    all::<fencepost::Mutex<u64>>(c);
    all::<std::sync::Mutex<u64>>(c);
    all::<parking_lot::Mutex<u64>>(c);
    all::<spin::Mutex<u64>>(c);
}

criterion_group!(mutex, benches);
criterion_main!(mutex);

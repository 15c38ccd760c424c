//! Criterion: `fencepost::Barrier` against `std::sync::Barrier`, glibc
//! `pthread_barrier_t` and a spinning sense-reversing barrier, peers in the same group.
//! One iteration is one generation; groups for 2 threads (one per core on a 2-core
//! machine) and 4 and 8 threads (oversubscribed there).

#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the shared workload's interface"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

#[path = "workloads/pin.rs"]
mod pin;
#[path = "workloads/barrier.rs"]
mod workload;

use workload::{Bar, Fencepost, Spinning, Std};

fn generations<B: Bar>(threads: usize, iters: u64) -> Duration {
    workload::generations::<B>(threads, iters, pin::pin_to_cpu)
}

fn barrier(c: &mut Criterion) {
    for threads in [2, 4, 8] {
        let mut g = c.benchmark_group(format!("barrier/{threads}_threads"));
        g.measurement_time(Duration::from_secs(3));
        g.bench_function("fencepost", |b| {
            b.iter_custom(|iters| generations::<Fencepost>(threads, iters))
        });
        g.bench_function("std", |b| {
            b.iter_custom(|iters| generations::<Std>(threads, iters))
        });
        #[cfg(target_os = "linux")]
        g.bench_function("pthread", |b| {
            b.iter_custom(|iters| generations::<workload::Pthread>(threads, iters))
        });
        if threads <= 4 {
            // Spinning at 8 threads on 2 cores takes milliseconds per generation: it is
            // shown at 4 (and in the comparison), where the collapse is already clear.
            g.bench_function("spinning", |b| {
                b.iter_custom(|iters| generations::<Spinning>(threads, iters))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, barrier);
criterion_main!(benches);

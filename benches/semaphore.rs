//! Criterion: `fencepost::Semaphore` against glibc `sem_t`, a `Mutex` + `Condvar`
//! semaphore and `async-lock` (`acquire_blocking`), peers in the same group.
//!
//! Groups: `uncontended` (acquire + release on one thread), `ping_pong` (wait/post
//! round trips between two pinned threads), `4_threads_2_permits`,
//! `8_threads_2_permits` (oversubscribed on a 2-core machine).

#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the shared workload's interface"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

#[path = "workloads/pin.rs"]
mod pin;
#[path = "workloads/semaphore.rs"]
mod workload;

use workload::{AsyncLock, Fencepost, MutexCondvar, Sem};

/// Adds one row per peer to `group`, measuring `run::<Peer>(iters)`.
macro_rules! peers {
    ($group:expr, $run:ident $(, $arg:expr)*) => {{
        $group.bench_function("fencepost", |b| b.iter_custom(|iters| $run::<Fencepost>($($arg,)* iters)));
        #[cfg(target_os = "linux")]
        $group.bench_function("glibc sem_t", |b| b.iter_custom(|iters| $run::<workload::Glibc>($($arg,)* iters)));
        $group.bench_function("Mutex+Condvar", |b| b.iter_custom(|iters| $run::<MutexCondvar>($($arg,)* iters)));
        $group.bench_function("async-lock", |b| b.iter_custom(|iters| $run::<AsyncLock>($($arg,)* iters)));
    }};
}

fn uncontended<S: Sem>(iters: u64) -> Duration {
    workload::uncontended::<S>(iters)
}

fn ping_pong<S: Sem>(iters: u64) -> Duration {
    workload::ping_pong::<S>(iters, pin::pin_to_cpu)
}

fn contended<S: Sem>(threads: usize, iters: u64) -> Duration {
    // At least one op per thread, so that every iteration count measures something.
    workload::contended::<S>(threads, 2, iters.max(threads as u64))
}

fn semaphore(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore/uncontended");
    peers!(g, uncontended);
    g.finish();

    let mut g = c.benchmark_group("semaphore/ping_pong");
    g.measurement_time(Duration::from_secs(3));
    peers!(g, ping_pong);
    g.finish();

    for threads in [4, 8] {
        let mut g = c.benchmark_group(format!("semaphore/{threads}_threads_2_permits"));
        g.measurement_time(Duration::from_secs(3));
        peers!(g, contended, threads);
        g.finish();
    }
}

criterion_group!(benches, semaphore);
criterion_main!(benches);

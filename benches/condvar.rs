//! Criterion: `fencepost::Condvar` (with `fencepost::Mutex`) against std's and
//! parking_lot's mutex + condvar pairs, peers in the same group.
//!
//! `cargo bench --bench condvar`. Groups: `notify_one` with nobody waiting; a hand-off
//! ping-pong between two pinned threads; a `notify_all` barrier (std's `Barrier`
//! algorithm on the pair) of 4 and 8 threads, notifying after the unlock or under the
//! lock; a queue with 2 producers and 2 consumers. The loops live in `workloads/condvar.rs`, shared with
//! `examples/compare`.

#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the shared workload's interface"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

#[path = "workloads/pin.rs"]
mod pin;
#[path = "workloads/condvar.rs"]
mod workload;

use workload::{Fencepost, Notify, ParkingLot, Std};

/// Adds one row per pair to `group`, measuring `workload::$f::<Pair>(args…, iters)`.
macro_rules! pairs {
    ($group:expr, |$iters:ident| $f:ident ($($arg:expr),*)) => {{
        $group.bench_function("fencepost", |b| b.iter_custom(|$iters| workload::$f::<Fencepost>($($arg),*)));
        $group.bench_function("std", |b| b.iter_custom(|$iters| workload::$f::<Std>($($arg),*)));
        $group.bench_function("parking_lot", |b| b.iter_custom(|$iters| workload::$f::<ParkingLot>($($arg),*)));
    }};
}

fn condvar(c: &mut Criterion) {
    let mut g = c.benchmark_group("condvar/notify_one nobody waiting");
    pairs!(g, |iters| notify_nobody(iters));
    g.finish();

    let mut g = c.benchmark_group("condvar/ping_pong");
    g.measurement_time(Duration::from_secs(3));
    pairs!(g, |iters| ping_pong(iters, pin::pin_to_cpu));
    g.finish();

    for (name, threads, notify) in [
        ("4 threads, notify after unlock", 4, Notify::AfterUnlock),
        ("8 threads, notify after unlock", 8, Notify::AfterUnlock),
        (
            "8 threads, notify under the lock",
            8,
            Notify::InsideThenWork(0),
        ),
        (
            "8 threads, notify under the lock then 20 us",
            8,
            Notify::InsideThenWork(20_000),
        ),
    ] {
        let mut g = c.benchmark_group(format!("condvar/notify_all barrier {name}"));
        g.measurement_time(Duration::from_secs(3));
        pairs!(g, |iters| generations(
            threads,
            notify,
            iters,
            pin::pin_to_cpu
        ));
        g.finish();
    }

    let mut g = c.benchmark_group("condvar/queue 2 producers 2 consumers");
    g.measurement_time(Duration::from_secs(3));
    pairs!(g, |iters| queue(2, 2, (iters / 2).max(1), pin::pin_to_cpu));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = condvar
}
criterion_main!(benches);

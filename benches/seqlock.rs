#![allow(
    unreachable_pub,
    reason = "a bench binary: `pub` marks the shared workload interface"
)]

//! `SeqLock` against `std::sync::RwLock`, `parking_lot::RwLock`, `std::sync::Mutex`
//! and the `seqlock` crate (unsound: racy `read_volatile`, but what people use), with a
//! plain copy of the same payload as the floor. Peers share each group.
//!
//! `cargo bench --bench seqlock`; cross-thread groups pin the measured thread to CPU 0
//! and the other to CPU 1 and time with `iter_custom`.

#[path = "seqlock/peers.rs"]
mod peers;
#[path = "workloads/pin.rs"]
mod pin;

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use peers::{Budget, Shared, Value, Writer};
use std::time::Duration;

use pin::pin_to_cpu as pin;

/// Runs `bench::<L>` for every peer, in the same group.
macro_rules! for_each_peer {
    ($group:expr, $t:ty, $bench:ident) => {
        $bench::<$t, fencepost::SeqLock<$t>>($group, "fencepost");
        $bench::<$t, seqlock::SeqLock<$t>>($group, "seqlock crate");
        $bench::<$t, std::sync::RwLock<$t>>($group, "std RwLock");
        $bench::<$t, parking_lot::RwLock<$t>>($group, "parking_lot RwLock");
        $bench::<$t, std::sync::Mutex<$t>>($group, "std Mutex");
    };
}

fn uncontended_read<T: Value, L: Shared<T>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(T::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| peers::uncontended_reads(&lock, iters))
    });
}

fn uncontended_write<T: Value, L: Shared<T>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(T::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| peers::uncontended_writes(&lock, iters))
    });
}

fn read_vs_tight_writer<T: Value, L: Shared<T>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(T::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            peers::reads_against_writer(&lock, Writer::TightLoop, Budget::Ops(iters), pin).elapsed
        })
    });
}

fn read_vs_paced_writer<T: Value, L: Shared<T>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(T::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let writer = Writer::Paced(Duration::from_micros(1));
            peers::reads_against_writer(&lock, writer, Budget::Ops(iters), pin).elapsed
        })
    });
}

fn write_vs_reader<T: Value, L: Shared<T>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(T::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| peers::writes_against_reader(&lock, Budget::Ops(iters), pin).elapsed)
    });
}

fn oversubscribed<T: Value, L: Shared<T>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str) {
    let lock = L::new(T::make(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            // Time per read: run ~20 ms, scale to `iters` reads.
            let m = peers::oversubscribed_reads(&lock, 4, Duration::from_millis(20));
            m.elapsed.mul_f64(iters as f64 / m.ops.max(1) as f64)
        })
    });
}

fn seqlock(c: &mut Criterion) {
    {
        let mut g = c.benchmark_group("seqlock/uncontended read 8 B");
        for_each_peer!(&mut g, u64, uncontended_read);
        let floor = 1u64;
        g.bench_function("plain copy (floor)", |b| {
            b.iter_custom(|iters| peers::plain_copies(&floor, iters))
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("seqlock/uncontended read 64 B");
        for_each_peer!(&mut g, [u64; 8], uncontended_read);
        let floor = [1u64; 8];
        g.bench_function("plain copy (floor)", |b| {
            b.iter_custom(|iters| peers::plain_copies(&floor, iters))
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("seqlock/uncontended write 64 B");
        for_each_peer!(&mut g, [u64; 8], uncontended_write);
        g.finish();
    }
    {
        let mut g = c.benchmark_group("seqlock/read 64 B, tight-loop writer");
        for_each_peer!(&mut g, [u64; 8], read_vs_tight_writer);
        g.finish();
    }
    {
        let mut g = c.benchmark_group("seqlock/read 64 B, writer at ~1M writes per s");
        for_each_peer!(&mut g, [u64; 8], read_vs_paced_writer);
        g.finish();
    }
    {
        let mut g = c.benchmark_group("seqlock/write 64 B, tight-loop reader");
        for_each_peer!(&mut g, [u64; 8], write_vs_reader);
        g.finish();
    }
    {
        let mut g = c.benchmark_group("seqlock/read 64 B, 4 readers + 1 writer oversubscribed");
        for_each_peer!(&mut g, [u64; 8], oversubscribed);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = seqlock
}
criterion_main!(benches);

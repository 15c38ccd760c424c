//! `fencepost::Mutex` against `std::sync::Mutex`, `parking_lot::Mutex` and `spin::Mutex`
//! in one criterion group per regime: uncontended lock+unlock; 2 threads and 8 threads
//! (on however many cores there are: 8 oversubscribes a 2-core machine) with critical
//! sections of ~0 ns and ~100 ns.
//!
//! `cargo bench --bench mutex`. Contended groups time `threads × ops` acquisitions with
//! `iter_custom`: threads start together at a barrier and the slowest one's finish ends
//! the sample.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// One lock type under test, protecting a `u64`.
trait Lock: Sync + Send {
    const NAME: &'static str;
    fn new() -> Self;
    fn with(&self, f: impl FnOnce(&mut u64));
}

impl Lock for fencepost::Mutex<u64> {
    const NAME: &'static str = "fencepost";
    fn new() -> Self {
        fencepost::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

impl Lock for std::sync::Mutex<u64> {
    const NAME: &'static str = "std";
    fn new() -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock().unwrap())
    }
}

impl Lock for parking_lot::Mutex<u64> {
    const NAME: &'static str = "parking_lot";
    fn new() -> Self {
        parking_lot::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

impl Lock for spin::Mutex<u64> {
    const NAME: &'static str = "spin";
    fn new() -> Self {
        spin::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

/// About `units × 1` ns of dependent work inside the critical section (a chain of
/// multiply-adds the compiler cannot fold); `CS_100NS` units ≈ 100 ns on a ~3 GHz core.
#[inline]
fn critical_section(v: &mut u64, units: u32) {
    let mut x = *v;
    for _ in 0..units {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    *v = x.wrapping_add(1);
}

const CS_100NS: u32 = 60;

fn uncontended<L: Lock>(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex/uncontended");
    g.throughput(Throughput::Elements(1));
    let lock = L::new();
    g.bench_function(L::NAME, |b| {
        b.iter(|| black_box(&lock).with(|v| *v += 1));
    });
    g.finish();
}

fn contended_run<L: Lock>(threads: usize, units: u32, iters: u64) -> Duration {
    let lock = L::new();
    let start_line = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start_line.wait();
                for _ in 0..iters {
                    lock.with(|v| critical_section(v, units));
                }
            });
        }
        start_line.wait();
        let start = Instant::now();
        // Scope end joins every thread: the sample ends with the slowest.
        start
    })
    .elapsed()
}

fn contended<L: Lock>(c: &mut Criterion, threads: usize, units: u32, label: &str) {
    let mut g = c.benchmark_group(format!("mutex/{threads}-threads/{label}"));
    g.throughput(Throughput::Elements(threads as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::from_parameter(L::NAME), |b| {
        b.iter_custom(|iters| contended_run::<L>(threads, units, iters));
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

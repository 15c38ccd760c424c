//! The mutex workloads and lock types, shared by `benches/mutex.rs` (criterion) and
//! `examples/compare/mutex.rs`, so both measure the same loops.
//!
//! Locks: `fencepost::Mutex`, `std::sync::Mutex`, `parking_lot::Mutex` and `spin::Mutex`,
//! each protecting a `u64`. Loops that spawn threads take a `pin` function, called with
//! each thread's index before it starts (`pin_to_cpu`, or a no-op to leave threads to the
//! scheduler).

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// One lock type under test, protecting a `u64`.
pub trait Lock: Sync + Send {
    /// Short name, for criterion's benchmark ids and the fairness lines.
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

/// ~100 ns of work on a ~3 GHz core.
pub const CS_100NS: u32 = 60;

/// One lock+unlock that increments the value: the uncontended workload's operation.
#[inline]
pub fn lock_unlock<L: Lock>(lock: &L) {
    black_box(lock).with(|v| *v += 1);
}

/// `threads` threads (thread `i` pinned by `pin(i)`) each take the lock `ops_per_thread`
/// times, with `units` of work inside (see `critical_section`). They start together at a
/// barrier; the time runs until the slowest one finishes.
pub fn contended<L: Lock>(
    threads: usize,
    units: u32,
    ops_per_thread: u64,
    pin: fn(usize),
) -> Duration {
    let lock = L::new();
    let start_line = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for i in 0..threads {
            let (lock, start_line) = (&lock, &start_line);
            s.spawn(move || {
                pin(i);
                start_line.wait();
                for _ in 0..ops_per_thread {
                    lock.with(|v| critical_section(v, units));
                }
            });
        }
        start_line.wait();
        // Scope end joins every thread: the sample ends with the slowest.
        Instant::now()
    })
    .elapsed()
}

/// Runs `threads` threads (thread `i` pinned by `pin(i)`) for `run_for`, taking the lock
/// with an empty critical section; returns each one's acquisition count and its longest
/// single wait for the lock.
pub fn shares<L: Lock>(threads: usize, run_for: Duration, pin: fn(usize)) -> Vec<(u64, Duration)> {
    let lock = L::new();
    let stop = AtomicBool::new(false);
    let start_line = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (lock, stop, start_line) = (&lock, &stop, &start_line);
                s.spawn(move || {
                    pin(i);
                    start_line.wait();
                    let mut n = 0u64;
                    let mut worst = Duration::ZERO;
                    while !stop.load(Relaxed) {
                        let asked = Instant::now();
                        lock.with(|v| {
                            worst = worst.max(asked.elapsed());
                            critical_section(v, 0);
                        });
                        n += 1;
                    }
                    (n, worst)
                })
            })
            .collect();
        start_line.wait();
        std::thread::sleep(run_for);
        stop.store(true, Relaxed);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

//! `fencepost::Mutex` against `std::sync::Mutex`, `parking_lot::Mutex` and `spin::Mutex`.
//!
//! Regimes: uncontended lock+unlock (ns/op); 2 threads and 8 threads (threads pinned
//! round-robin to the CPUs, so 8 oversubscribes a 2-core machine) with critical
//! sections of ~0 ns and ~100 ns (M acquisitions/s, all threads together); and
//! fairness: 8 threads for a fixed time, reported as the slowest thread's acquisition
//! rate (M/s) with the max/min spread of per-thread counts printed beside it.

use crate::harness::{Candidate, Harness, Sample, Scale, Unit, pin_to_cpu};
use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// One lock type under test, protecting a `u64`.
trait Lock: Sync + Send {
    fn new() -> Self;
    fn with(&self, f: impl FnOnce(&mut u64));
}

impl Lock for fencepost::Mutex<u64> {
    fn new() -> Self {
        fencepost::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

impl Lock for std::sync::Mutex<u64> {
    fn new() -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock().unwrap())
    }
}

impl Lock for parking_lot::Mutex<u64> {
    fn new() -> Self {
        parking_lot::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

impl Lock for spin::Mutex<u64> {
    fn new() -> Self {
        spin::Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock())
    }
}

/// About `units` ns of dependent arithmetic inside the critical section.
#[inline]
fn critical_section(v: &mut u64, units: u32) {
    let mut x = *v;
    for _ in 0..units {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    *v = x.wrapping_add(1);
}

/// ~100 ns of work on a ~3 GHz core (same constant as `benches/mutex.rs`).
const CS_100NS: u32 = 60;

fn uncontended<L: Lock>(ops: u64) -> Sample {
    let lock = L::new();
    Sample::time(ops, || {
        for _ in 0..ops {
            black_box(&lock).with(|v| *v += 1);
        }
    })
}

fn contended<L: Lock>(threads: usize, units: u32, ops_per_thread: u64) -> Sample {
    let lock = L::new();
    let start_line = Barrier::new(threads + 1);
    let start = std::thread::scope(|s| {
        for i in 0..threads {
            let (lock, start_line) = (&lock, &start_line);
            s.spawn(move || {
                pin_to_cpu(i);
                start_line.wait();
                for _ in 0..ops_per_thread {
                    lock.with(|v| critical_section(v, units));
                }
            });
        }
        start_line.wait();
        Instant::now()
    });
    Sample {
        ops: threads as u64 * ops_per_thread,
        elapsed: start.elapsed(),
    }
}

/// Runs `threads` threads for `run_for`; returns each one's acquisition count and its
/// longest single wait for the lock.
fn shares<L: Lock>(threads: usize, run_for: Duration) -> Vec<(u64, Duration)> {
    let lock = L::new();
    let stop = AtomicBool::new(false);
    let start_line = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (lock, stop, start_line) = (&lock, &stop, &start_line);
                s.spawn(move || {
                    pin_to_cpu(i);
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

/// The slowest thread's rate as a sample; its share, the max/min spread and the
/// longest single wait go to stderr.
fn fairness<L: Lock>(name: &'static str, threads: usize, run_for: Duration) -> Sample {
    let counts = shares::<L>(threads, run_for);
    let min = counts.iter().map(|c| c.0).min().unwrap();
    let max = counts.iter().map(|c| c.0).max().unwrap();
    let worst = counts.iter().map(|c| c.1).max().unwrap();
    let total: u64 = counts.iter().map(|c| c.0).sum();
    eprintln!(
        "\n  fairness {name:<12} min share {:>5.2}% (fair {:.1}%), max/min {:>9.2}, longest wait {:>8.2} ms",
        100.0 * min as f64 / total.max(1) as f64,
        100.0 / threads as f64,
        max as f64 / min.max(1) as f64,
        worst.as_secs_f64() * 1e3,
    );
    Sample {
        ops: min,
        elapsed: run_for,
    }
}

/// One workload, run against any lock type.
#[derive(Clone, Copy)]
enum Job {
    Uncontended {
        ops: u64,
    },
    Contended {
        threads: usize,
        units: u32,
        ops_per_thread: u64,
    },
    Fairness {
        threads: usize,
    },
}

impl Job {
    fn run<L: Lock>(self, name: &'static str, scale: Scale) -> Sample {
        match self {
            Job::Uncontended { ops } => uncontended::<L>(scale.ops(ops)),
            Job::Contended {
                threads,
                units,
                ops_per_thread,
            } => contended::<L>(threads, units, scale.ops(ops_per_thread)),
            Job::Fairness { threads } => {
                let run_for = Duration::from_millis(scale.ops(200).max(20));
                fairness::<L>(name, threads, run_for)
            }
        }
    }
}

/// The four candidates for `job`, ours first.
fn candidates(job: Job) -> Vec<Candidate<'static>> {
    vec![
        (
            "fencepost",
            Box::new(move |s| job.run::<fencepost::Mutex<u64>>("fencepost", s)),
        ),
        (
            "std::sync::Mutex",
            Box::new(move |s| job.run::<std::sync::Mutex<u64>>("std", s)),
        ),
        (
            "parking_lot::Mutex",
            Box::new(move |s| job.run::<parking_lot::Mutex<u64>>("parking_lot", s)),
        ),
        (
            "spin::Mutex",
            Box::new(move |s| job.run::<spin::Mutex<u64>>("spin", s)),
        ),
    ]
}

pub(crate) fn run(h: &mut Harness) {
    h.group(
        "mutex",
        "uncontended lock+unlock",
        Unit::NsPerOp,
        candidates(Job::Uncontended { ops: 2_000_000 }),
    );
    for (threads, units, regime, ops_per_thread) in [
        (2, 0, "2 threads, cs ~0 ns", 400_000),
        (2, CS_100NS, "2 threads, cs ~100 ns", 100_000),
        (8, 0, "8 threads (oversubscribed), cs ~0 ns", 100_000),
        (
            8,
            CS_100NS,
            "8 threads (oversubscribed), cs ~100 ns",
            25_000,
        ),
    ] {
        h.group(
            "mutex",
            regime,
            Unit::MopsPerSec,
            candidates(Job::Contended {
                threads,
                units,
                ops_per_thread,
            }),
        );
    }
    h.group(
        "mutex",
        "fairness: slowest of 8 threads, M acquisitions/s",
        Unit::MopsPerSec,
        candidates(Job::Fairness { threads: 8 }),
    );
}

//! `fencepost::Mutex` against `std::sync::Mutex`, `parking_lot::Mutex` and `spin::Mutex`.
//!
//! Regimes: uncontended lock+unlock (ns/op); 2 threads and 8 threads (threads pinned
//! round-robin to the CPUs, so 8 oversubscribes a 2-core machine) with critical
//! sections of ~0 ns and ~100 ns (M acquisitions/s, all threads together); and
//! fairness: 8 threads for a fixed time, reported as the slowest thread's acquisition
//! rate (M/s) with the max/min spread of per-thread counts printed beside it. The lock
//! types and loops live in `benches/workloads/mutex.rs`, shared with the criterion bench
//! (which leaves its contended threads unpinned).

use crate::harness::{Candidate, Harness, Sample, Scale, Unit, pin_to_cpu};
use std::time::Duration;

#[path = "../../benches/workloads/mutex.rs"]
mod workload;

use workload::{CS_100NS, Lock};

/// The slowest thread's rate as a sample; its share, the max/min spread and the
/// longest single wait go to stderr.
fn fairness<L: Lock>(threads: usize, run_for: Duration) -> Sample {
    let name = L::NAME;
    let counts = workload::shares::<L>(threads, run_for, pin_to_cpu);
    let min = counts.iter().map(|c| c.0).min().unwrap();
    let max = counts.iter().map(|c| c.0).max().unwrap();
    let worst = counts.iter().map(|c| c.1).max().unwrap();
    let total: u64 = counts.iter().map(|c| c.0).sum();
    eprintln!(
        "  fairness {name:<12} min share {:>5.2}% (fair {:.1}%), max/min {:>9.2}, longest wait {:>8.2} ms",
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
    fn run<L: Lock>(self, scale: Scale) -> Sample {
        match self {
            Job::Uncontended { ops } => {
                let (ops, lock) = (scale.ops(ops), L::new());
                Sample::time(ops, || {
                    for _ in 0..ops {
                        workload::lock_unlock(&lock);
                    }
                })
            }
            Job::Contended {
                threads,
                units,
                ops_per_thread,
            } => {
                let ops_per_thread = scale.ops(ops_per_thread);
                Sample {
                    ops: threads as u64 * ops_per_thread,
                    elapsed: workload::contended::<L>(threads, units, ops_per_thread, pin_to_cpu),
                }
            }
            Job::Fairness { threads } => {
                let run_for = Duration::from_millis(scale.ops(200).max(20));
                fairness::<L>(threads, run_for)
            }
        }
    }
}

/// The four candidates for `job`, ours first.
fn candidates(job: Job) -> Vec<Candidate<'static>> {
    vec![
        (
            "fencepost",
            Box::new(move |s| job.run::<fencepost::Mutex<u64>>(s)),
        ),
        (
            "std::sync::Mutex",
            Box::new(move |s| job.run::<std::sync::Mutex<u64>>(s)),
        ),
        (
            "parking_lot::Mutex",
            Box::new(move |s| job.run::<parking_lot::Mutex<u64>>(s)),
        ),
        (
            "spin::Mutex",
            Box::new(move |s| job.run::<spin::Mutex<u64>>(s)),
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

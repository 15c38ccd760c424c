//! `fencepost::RwLock` against `std::sync::RwLock` and `parking_lot::RwLock`, with
//! `fencepost::SeqLock` beside them for `Copy` data (shown, not counted as a peer).
//!
//! Regimes, all on a 64-byte value: uncontended read and write (ns/op); 2 readers
//! alone (one per core on a 2-core machine: the reader count's line moves between
//! them); 2 readers + 1 writer at ~1 M writes/s and in a tight loop (reads/s, and the
//! writer's writes/s); 8 threads, 6 readers + 2 tight-loop writers (oversubscribed on
//! 2 cores: reads/s and the slowest writer's writes/s). Shares go to stderr. The loops
//! live in `benches/workloads/rwlock.rs`, shared with the criterion bench.

use crate::harness::{Harness, MultiCandidate, Sample, Scale, Unit, pin_to_cpu};
use std::time::Duration;

#[path = "../../benches/workloads/rwlock.rs"]
mod workload;

use crate::seqlock::peers::{self, Budget, Shared, Value};
use workload::{Pace, Payload};

/// About 30 ms per sample (3 ms with `--quick`).
fn budget(scale: Scale) -> Duration {
    Duration::from_millis(scale.ops(30))
}

/// One job: what a single run of it measures, as one figure per regime.
#[derive(Clone, Copy)]
enum Job {
    UncontendedRead,
    UncontendedWrite,
    /// Reads/s and (if there are writers) the slowest writer's writes/s.
    Mixed {
        readers: usize,
        writers: usize,
        pace: Pace,
    },
}

impl Job {
    fn run<L: Shared<Payload>>(self, name: &str, lock: &L, scale: Scale) -> Vec<Sample> {
        match self {
            Job::UncontendedRead => {
                let n = scale.ops(5_000_000);
                vec![Sample {
                    ops: n,
                    elapsed: peers::uncontended_reads(lock, n),
                }]
            }
            Job::UncontendedWrite => {
                let n = scale.ops(2_000_000);
                vec![Sample {
                    ops: n,
                    elapsed: peers::uncontended_writes(lock, n),
                }]
            }
            Job::Mixed {
                readers,
                writers,
                pace,
            } => {
                let b = Budget::Time(budget(scale));
                let m = workload::mixed(lock, readers, writers, pace, b, pin_to_cpu);
                let mut figures = vec![Sample {
                    ops: m.reads,
                    elapsed: m.elapsed,
                }];
                if writers > 0 {
                    eprint!(
                        "\n  {name:<18} writes {:>9}, slowest writer's share of acquisitions {:.3}%",
                        m.writes.iter().sum::<u64>(),
                        100.0 * m.slowest_writer_share()
                    );
                    figures.push(Sample {
                        ops: m.slowest_writer(),
                        elapsed: m.elapsed,
                    });
                }
                figures
            }
        }
    }
}

/// A candidate running `job` on a lock of type `L`, made once (page-aligned, as in
/// the seqlock's rows, so that placement does not decide the uncontended figures).
fn candidate<L: Shared<Payload> + 'static>(
    name: &'static str,
    job: Job,
) -> MultiCandidate<'static> {
    #[repr(align(4096))]
    struct PageAligned<T>(T);
    let lock = Box::new(PageAligned(L::new(Payload::make(1))));
    (name, Box::new(move |scale| job.run(name, &lock.0, scale)))
}

fn candidates(job: Job) -> Vec<MultiCandidate<'static>> {
    vec![
        candidate::<fencepost::RwLock<Payload>>("fencepost", job),
        candidate::<std::sync::RwLock<Payload>>("std::sync::RwLock", job),
        candidate::<parking_lot::RwLock<Payload>>("parking_lot::RwLock", job),
        candidate::<fencepost::SeqLock<Payload>>("fencepost SeqLock (Copy only)", job),
    ]
}

pub fn run(h: &mut Harness) {
    h.group_multi(
        "rwlock",
        &["uncontended read, 64 B"],
        Unit::NsPerOp,
        candidates(Job::UncontendedRead),
    );
    h.group_multi(
        "rwlock",
        &["uncontended write, 64 B"],
        Unit::NsPerOp,
        candidates(Job::UncontendedWrite),
    );
    h.group_multi(
        "rwlock",
        &["reads/s, 2 readers (no writer)"],
        Unit::MopsPerSec,
        candidates(Job::Mixed {
            readers: 2,
            writers: 0,
            pace: Pace::Tight,
        }),
    );
    for (pace, label) in [
        (
            Pace::Every(Duration::from_micros(1)),
            "writer at ~1 M writes/s",
        ),
        (Pace::Tight, "writer in a tight loop"),
    ] {
        h.group_multi(
            "rwlock",
            &[
                &format!("reads/s, 2 readers + 1 {label}"),
                &format!("writes/s, 2 readers + 1 {label}"),
            ],
            Unit::MopsPerSec,
            candidates(Job::Mixed {
                readers: 2,
                writers: 1,
                pace,
            }),
        );
    }
    h.group_multi(
        "rwlock",
        &[
            "reads/s, 6 readers + 2 tight-loop writers (8 threads, oversubscribed)",
            "slowest writer's writes/s, 6 readers + 2 writers (8 threads, oversubscribed)",
        ],
        Unit::MopsPerSec,
        candidates(Job::Mixed {
            readers: 6,
            writers: 2,
            pace: Pace::Tight,
        }),
    );
}

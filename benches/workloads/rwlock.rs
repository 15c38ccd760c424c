//! The RwLock workloads, shared by `benches/rwlock.rs` (criterion) and
//! `examples/compare/rwlock.rs`, on the seqlock's peers (`benches/seqlock/peers.rs`):
//! `fencepost::RwLock`, `std::sync::RwLock`, `parking_lot::RwLock`, and
//! `fencepost::SeqLock` where the value is `Copy` (the includer declares
//! `benches/seqlock/peers.rs` as its module `peers`). Every lock holds a 64-byte
//! `[u64; 8]`; a read copies it out under the lock, a write stores a new one.
//!
//! Threads are pinned round-robin (`pin(i)`): readers first, then writers, so with 2
//! CPUs two readers get a core each and a third thread shares one.

// The includer provides the seqlock's peers as a sibling module `peers`.
use super::peers::{self, Budget, Shared, Value};

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The value every lock holds.
pub type Payload = [u64; 8];

/// How a writer paces itself.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// Writes back to back.
    Tight,
    /// About one write per `Duration`, busy-waiting in between.
    Every(Duration),
}

/// What one mixed run did.
#[derive(Clone, Debug)]
pub struct Mixed {
    /// The readers' time: from the start line to the last reader's end.
    pub elapsed: Duration,
    /// Reads by all readers together.
    pub reads: u64,
    /// Writes by each writer, over `elapsed`.
    pub writes: Vec<u64>,
}

impl Mixed {
    /// The slowest writer's writes.
    pub fn slowest_writer(&self) -> u64 {
        self.writes.iter().copied().min().unwrap_or(0)
    }

    /// The slowest writer's share of all acquisitions (reads + writes).
    pub fn slowest_writer_share(&self) -> f64 {
        let total = self.reads + self.writes.iter().sum::<u64>();
        self.slowest_writer() as f64 / total.max(1) as f64
    }
}

/// `readers` readers (each for `budget`: `Ops(n)` reads each, or about `Time(d)`) and
/// `writers` writers writing as `pace` says until the readers are done.
pub fn mixed<L: Shared<Payload>>(
    lock: &L,
    readers: usize,
    writers: usize,
    pace: Pace,
    budget: Budget,
    pin: fn(usize),
) -> Mixed {
    let stop = AtomicBool::new(false);
    let start_line = Barrier::new(readers + writers);
    std::thread::scope(|s| {
        let writer_handles: Vec<_> = (0..writers)
            .map(|j| {
                let (stop, start_line) = (&stop, &start_line);
                s.spawn(move || {
                    pin(readers + j);
                    start_line.wait();
                    let start = Instant::now();
                    let mut n = 0u64;
                    while !stop.load(Relaxed) {
                        n += 1;
                        if let Pace::Every(gap) = pace {
                            let due = start + gap * n as u32;
                            while Instant::now() < due && !stop.load(Relaxed) {
                                std::hint::spin_loop();
                            }
                        }
                        lock.write(Payload::make(n));
                    }
                    n
                })
            })
            .collect();
        let reader_handles: Vec<_> = (0..readers)
            .map(|i| {
                let start_line = &start_line;
                s.spawn(move || {
                    pin(i);
                    start_line.wait();
                    let start = Instant::now();
                    let m = peers::run_measured(budget, |_| {
                        let v = lock.read();
                        debug_assert!(v.iter().all(|&w| w == v[0]), "torn read");
                        black_box(v);
                    });
                    (m.ops, start.elapsed())
                })
            })
            .collect();
        let (mut reads, mut elapsed) = (0, Duration::ZERO);
        for h in reader_handles {
            let (ops, took) = h.join().unwrap();
            reads += ops;
            elapsed = elapsed.max(took);
        }
        stop.store(true, Relaxed);
        let writes = writer_handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        Mixed {
            elapsed,
            reads,
            writes,
        }
    })
}

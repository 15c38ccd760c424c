//! The seqlock's peers and workloads, shared by `benches/seqlock.rs` (criterion) and
//! `examples/compare/seqlock.rs` (the side-by-side table); the RwLock workloads
//! (`benches/workloads/rwlock.rs`) use the same peers.

#![allow(dead_code, reason = "each includer uses part of the workloads")]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// A payload the workloads can make from a counter.
pub(crate) trait Value: Copy + Send + Sync + Default + bytemuck::NoUninit {
    fn make(i: u64) -> Self;
}

impl Value for u64 {
    fn make(i: u64) -> Self {
        i
    }
}

impl Value for [u64; 8] {
    fn make(i: u64) -> Self {
        [i; 8]
    }
}

/// Something a value can be read from and written to by several threads.
pub(crate) trait Shared<T: Value>: Sync {
    fn new(value: T) -> Self;
    fn read(&self) -> T;
    fn write(&self, value: T);
}

impl<T: Value> Shared<T> for fencepost::SeqLock<T> {
    fn new(value: T) -> Self {
        fencepost::SeqLock::new(value)
    }
    #[inline]
    fn read(&self) -> T {
        fencepost::SeqLock::read(self)
    }
    #[inline]
    fn write(&self, value: T) {
        fencepost::SeqLock::write(self, value)
    }
}

impl<T: Value> Shared<T> for seqlock::SeqLock<T> {
    fn new(value: T) -> Self {
        seqlock::SeqLock::new(value)
    }
    #[inline]
    fn read(&self) -> T {
        seqlock::SeqLock::read(self)
    }
    #[inline]
    fn write(&self, value: T) {
        *self.lock_write() = value;
    }
}

impl<T: Value> Shared<T> for std::sync::RwLock<T> {
    fn new(value: T) -> Self {
        std::sync::RwLock::new(value)
    }
    #[inline]
    fn read(&self) -> T {
        *std::sync::RwLock::read(self).unwrap()
    }
    #[inline]
    fn write(&self, value: T) {
        *std::sync::RwLock::write(self).unwrap() = value;
    }
}

impl<T: Value> Shared<T> for parking_lot::RwLock<T> {
    fn new(value: T) -> Self {
        parking_lot::RwLock::new(value)
    }
    #[inline]
    fn read(&self) -> T {
        *parking_lot::RwLock::read(self)
    }
    #[inline]
    fn write(&self, value: T) {
        *parking_lot::RwLock::write(self) = value;
    }
}

impl<T: Value> Shared<T> for fencepost::RwLock<T> {
    fn new(value: T) -> Self {
        fencepost::RwLock::new(value)
    }
    #[inline]
    fn read(&self) -> T {
        *fencepost::RwLock::read(self)
    }
    #[inline]
    fn write(&self, value: T) {
        *fencepost::RwLock::write(self) = value;
    }
}

impl<T: Value> Shared<T> for std::sync::Mutex<T> {
    fn new(value: T) -> Self {
        std::sync::Mutex::new(value)
    }
    #[inline]
    fn read(&self) -> T {
        *self.lock().unwrap()
    }
    #[inline]
    fn write(&self, value: T) {
        *self.lock().unwrap() = value;
    }
}

/// `n` reads on one thread, nobody else touching the lock.
pub(crate) fn uncontended_reads<T: Value, L: Shared<T>>(lock: &L, n: u64) -> Duration {
    let lock = black_box(lock);
    let start = Instant::now();
    for _ in 0..n {
        black_box(lock.read());
    }
    start.elapsed()
}

/// `n` writes on one thread, nobody else touching the lock.
pub(crate) fn uncontended_writes<T: Value, L: Shared<T>>(lock: &L, n: u64) -> Duration {
    let lock = black_box(lock);
    let start = Instant::now();
    for i in 0..n {
        lock.write(black_box(T::make(i)));
    }
    start.elapsed()
}

/// The floor: `n` plain copies of a `T` (re-read through an opaque pointer each time).
pub(crate) fn plain_copies<T: Value>(value: &T, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(*black_box(value));
    }
    start.elapsed()
}

/// How long the measured side runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Budget {
    /// Exactly this many operations (criterion's `iter_custom`).
    Ops(u64),
    /// About this long (the comparison table: slow peers must not take minutes).
    Time(Duration),
}

/// What the other thread does while one is measured.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Writer {
    /// Writes back to back.
    TightLoop,
    /// About one write per `Duration`, busy-waiting in between.
    Paced(Duration),
}

/// Operations counted and the time they took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Measured {
    pub(crate) ops: u64,
    pub(crate) elapsed: Duration,
}

/// Runs `op(i)` until `budget` is spent, checking the clock every 64 operations.
pub(crate) fn run_measured(budget: Budget, mut op: impl FnMut(u64)) -> Measured {
    let start = Instant::now();
    let mut i = 0;
    match budget {
        Budget::Ops(n) => {
            while i < n {
                op(i);
                i += 1;
            }
        }
        Budget::Time(d) => loop {
            for _ in 0..64 {
                op(i);
                i += 1;
            }
            if start.elapsed() >= d {
                break;
            }
        },
    }
    Measured {
        ops: i,
        elapsed: start.elapsed(),
    }
}

/// Reads on CPU 0, measured, while a writer on CPU 1 writes as `writer` says.
pub(crate) fn reads_against_writer<T: Value, L: Shared<T>>(
    lock: &L,
    writer: Writer,
    budget: Budget,
    pin: fn(usize),
) -> Measured {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            pin(1);
            let start = Instant::now();
            let mut i = 0u64;
            while !stop.load(Relaxed) {
                i += 1;
                if let Writer::Paced(gap) = writer {
                    let due = start + gap * i as u32;
                    while Instant::now() < due {
                        std::hint::spin_loop();
                    }
                }
                lock.write(T::make(i));
            }
        });
        pin(0);
        let m = run_measured(budget, |_| {
            black_box(lock.read());
        });
        stop.store(true, Relaxed);
        m
    })
}

/// Writes on CPU 0, measured, while a reader on CPU 1 reads back to back.
pub(crate) fn writes_against_reader<T: Value, L: Shared<T>>(
    lock: &L,
    budget: Budget,
    pin: fn(usize),
) -> Measured {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            pin(1);
            while !stop.load(Relaxed) {
                black_box(lock.read());
            }
        });
        pin(0);
        let m = run_measured(budget, |i| lock.write(T::make(i)));
        stop.store(true, Relaxed);
        m
    })
}

/// `readers` unpinned readers and one unpinned tight-loop writer (oversubscribed on a
/// small machine); counts the reads of all readers over about `time`.
pub(crate) fn oversubscribed_reads<T: Value, L: Shared<T>>(
    lock: &L,
    readers: usize,
    time: Duration,
) -> Measured {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let ops = std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Relaxed) {
                i += 1;
                lock.write(T::make(i));
            }
        });
        let handles: Vec<_> = (0..readers)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while !stop.load(Relaxed) {
                        for _ in 0..64 {
                            black_box(lock.read());
                        }
                        n += 64;
                    }
                    n
                })
            })
            .collect();
        std::thread::sleep(time);
        stop.store(true, Relaxed);
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    Measured {
        ops,
        elapsed: start.elapsed(),
    }
}

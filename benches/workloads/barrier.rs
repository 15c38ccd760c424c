//! The barrier workload and peers, shared by `benches/barrier.rs` (criterion) and
//! `examples/compare/barrier.rs`.
//!
//! Peers: `std::sync::Barrier` (Mutex + Condvar), glibc `pthread_barrier_t` (Linux
//! only), and a pure spinning centralized sense-reversing barrier (Mellor-Crummey &
//! Scott 1991, as in `hurdles`), which is fastest while every thread has a core and
//! collapses when they do not.

use crossbeam_utils::CachePadded;
use std::hint::spin_loop;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::thread;
use std::time::{Duration, Instant};

/// A barrier under test. `sense` is per-thread state (used by the spinning barrier).
pub trait Bar: Send + Sync + Sized {
    fn new(n: usize) -> Self;
    fn wait(&self, sense: &mut bool);
}

pub struct Fencepost(fencepost::Barrier);
impl Bar for Fencepost {
    fn new(n: usize) -> Self {
        Self(fencepost::Barrier::new(n))
    }
    #[inline(always)]
    fn wait(&self, _: &mut bool) {
        self.0.wait();
    }
}

pub struct Std(std::sync::Barrier);
impl Bar for Std {
    fn new(n: usize) -> Self {
        Self(std::sync::Barrier::new(n))
    }
    #[inline(always)]
    fn wait(&self, _: &mut bool) {
        self.0.wait();
    }
}

/// glibc's `pthread_barrier_t`, boxed so it never moves after init.
#[cfg(target_os = "linux")]
pub struct Pthread(Box<std::cell::UnsafeCell<libc::pthread_barrier_t>>);
// SAFETY: a process-private pthread barrier is meant to be shared by threads through a
// pointer; it never moves (boxed) and is destroyed only in `Drop`.
#[cfg(target_os = "linux")]
unsafe impl Sync for Pthread {}
// SAFETY: as above.
#[cfg(target_os = "linux")]
unsafe impl Send for Pthread {}
#[cfg(target_os = "linux")]
impl Bar for Pthread {
    fn new(n: usize) -> Self {
        // SAFETY: zeroed storage is a valid place for `pthread_barrier_init` to fill.
        let b = Box::new(std::cell::UnsafeCell::new(unsafe { std::mem::zeroed() }));
        // SAFETY: `b` is writable, never moves; default attributes.
        let rc = unsafe { libc::pthread_barrier_init(b.get(), std::ptr::null(), n as u32) };
        assert_eq!(rc, 0, "pthread_barrier_init");
        Self(b)
    }
    #[inline(always)]
    fn wait(&self, _: &mut bool) {
        // SAFETY: initialised in `new`, destroyed only in `Drop`.
        unsafe { libc::pthread_barrier_wait(self.0.get()) };
    }
}
#[cfg(target_os = "linux")]
impl Drop for Pthread {
    fn drop(&mut self) {
        // SAFETY: initialised; nobody waits (we have `&mut self`).
        unsafe { libc::pthread_barrier_destroy(self.0.get()) };
    }
}

/// Centralized sense-reversing barrier, spinning only.
pub struct Spinning {
    n: usize,
    left: CachePadded<AtomicUsize>,
    sense: CachePadded<AtomicBool>,
}
impl Bar for Spinning {
    fn new(n: usize) -> Self {
        Self {
            n,
            left: CachePadded::new(AtomicUsize::new(n)),
            sense: CachePadded::new(AtomicBool::new(false)),
        }
    }
    #[inline(always)]
    fn wait(&self, sense: &mut bool) {
        *sense = !*sense;
        if self.left.fetch_sub(1, AcqRel) == 1 {
            self.left.store(self.n, Relaxed);
            self.sense.store(*sense, Release);
        } else {
            while self.sense.load(Acquire) != *sense {
                spin_loop();
            }
        }
    }
}

/// `threads` threads pass `generations` generations of a barrier of `threads`; thread
/// `i` is pinned to CPU `i` (modulo the CPU count) by `pin`. Returns the time from the
/// start line until every thread has passed the last generation.
pub fn generations<B: Bar>(threads: usize, generations: u64, pin: fn(usize)) -> Duration {
    let barrier = B::new(threads);
    let start_line = std::sync::Barrier::new(threads);
    thread::scope(|s| {
        for i in 1..threads {
            let (barrier, start_line) = (&barrier, &start_line);
            s.spawn(move || {
                pin(i);
                let mut sense = false;
                start_line.wait();
                for _ in 0..generations {
                    barrier.wait(&mut sense);
                }
            });
        }
        pin(0);
        let mut sense = false;
        start_line.wait();
        let start = Instant::now();
        for _ in 0..generations {
            barrier.wait(&mut sense);
        }
        // Our last `wait` returned only once every thread had arrived at the last
        // generation: that is the end of the measured work.
        start.elapsed()
    })
}

//! The semaphore workloads and peers, shared by `benches/semaphore.rs` (criterion) and
//! `examples/compare/semaphore.rs`, so both measure the same loops.
//!
//! Peers: glibc `sem_t` (`sem_init`/`sem_wait`/`sem_post`, Linux only), a textbook
//! `Mutex<usize>` + `Condvar` semaphore, and `async-lock`'s `Semaphore` through
//! `acquire_blocking`.

use std::hint::black_box;
use std::sync::{Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A semaphore under test.
pub trait Sem: Send + Sync + Sized {
    fn with_permits(permits: usize) -> Self;
    /// Run `f` holding one permit (the guard style each API offers).
    fn with_permit(&self, f: impl FnOnce());
    /// Take one permit for good (`sem_wait`).
    fn wait(&self);
    /// Add one permit (`sem_post`).
    fn post(&self);
}

pub struct Fencepost(fencepost::Semaphore);
impl Sem for Fencepost {
    fn with_permits(permits: usize) -> Self {
        Self(fencepost::Semaphore::new(permits))
    }
    #[inline(always)]
    fn with_permit(&self, f: impl FnOnce()) {
        let _permit = self.0.acquire();
        f();
    }
    #[inline(always)]
    fn wait(&self) {
        self.0.acquire().forget();
    }
    #[inline(always)]
    fn post(&self) {
        self.0.add_permits(1);
    }
}

/// glibc's `sem_t`, boxed so it never moves after `sem_init`.
#[cfg(target_os = "linux")]
pub struct Glibc(Box<std::cell::UnsafeCell<libc::sem_t>>);
// SAFETY: a process-private `sem_t` is meant to be used from many threads at once
// through a pointer; it never moves (boxed) and is destroyed only in `Drop`.
#[cfg(target_os = "linux")]
unsafe impl Sync for Glibc {}
// SAFETY: as above; nothing ties it to the creating thread.
#[cfg(target_os = "linux")]
unsafe impl Send for Glibc {}
#[cfg(target_os = "linux")]
impl Sem for Glibc {
    fn with_permits(permits: usize) -> Self {
        // SAFETY: an all-zero `sem_t` is a valid place for `sem_init` to initialise.
        let sem = Box::new(std::cell::UnsafeCell::new(unsafe { std::mem::zeroed() }));
        // SAFETY: `sem` points to writable, never-moving storage; pshared = 0.
        let rc = unsafe { libc::sem_init(sem.get(), 0, permits as libc::c_uint) };
        assert_eq!(rc, 0, "sem_init");
        Self(sem)
    }
    #[inline(always)]
    fn with_permit(&self, f: impl FnOnce()) {
        self.wait();
        f();
        self.post();
    }
    #[inline(always)]
    fn wait(&self) {
        // SAFETY: initialised in `with_permits`, destroyed only in `Drop`.
        while unsafe { libc::sem_wait(self.0.get()) } != 0 {} // EINTR: retry
    }
    #[inline(always)]
    fn post(&self) {
        // SAFETY: as in `wait`.
        unsafe { libc::sem_post(self.0.get()) };
    }
}
#[cfg(target_os = "linux")]
impl Drop for Glibc {
    fn drop(&mut self) {
        // SAFETY: initialised, and nobody waits on it (we have `&mut self`).
        unsafe { libc::sem_destroy(self.0.get()) };
    }
}

/// The textbook semaphore (std's pre-1.8 `Semaphore`, `std-semaphore`).
pub struct MutexCondvar {
    count: Mutex<usize>,
    cond: Condvar,
}
impl Sem for MutexCondvar {
    fn with_permits(permits: usize) -> Self {
        Self {
            count: Mutex::new(permits),
            cond: Condvar::new(),
        }
    }
    #[inline(always)]
    fn with_permit(&self, f: impl FnOnce()) {
        self.wait();
        f();
        self.post();
    }
    fn wait(&self) {
        let mut c = self
            .cond
            .wait_while(self.count.lock().unwrap(), |c| *c == 0)
            .unwrap();
        *c -= 1;
    }
    fn post(&self) {
        *self.count.lock().unwrap() += 1;
        self.cond.notify_one();
    }
}

pub struct AsyncLock(async_lock::Semaphore);
impl Sem for AsyncLock {
    fn with_permits(permits: usize) -> Self {
        Self(async_lock::Semaphore::new(permits))
    }
    #[inline(always)]
    fn with_permit(&self, f: impl FnOnce()) {
        let _guard = self.0.acquire_blocking();
        f();
    }
    fn wait(&self) {
        std::mem::forget(self.0.acquire_blocking());
    }
    fn post(&self) {
        self.0.add_permits(1);
    }
}

/// `ops` acquire+release pairs on one thread, nobody else around.
pub fn uncontended<S: Sem>(ops: u64) -> Duration {
    let sem = S::with_permits(1);
    let start = Instant::now();
    for i in 0..ops {
        sem.with_permit(|| {
            black_box(i);
        });
    }
    start.elapsed()
}

/// `ops` round trips: main posts `ping` and waits on `pong`; the echo thread (pinned to
/// CPU 1; main to CPU 0) waits on `ping` and posts `pong` (musl's wait/post rate).
pub fn ping_pong<S: Sem>(ops: u64, pin: fn(usize)) -> Duration {
    let ping = S::with_permits(0);
    let pong = S::with_permits(0);
    let start_line = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            pin(1);
            start_line.wait();
            for _ in 0..ops {
                ping.wait();
                pong.post();
            }
        });
        pin(0);
        start_line.wait();
        let start = Instant::now();
        for _ in 0..ops {
            ping.post();
            pong.wait();
        }
        start.elapsed()
    })
}

/// `threads` threads share `permits` permits, `ops` acquire+release pairs in all, a few
/// nanoseconds of work while holding one. Threads are left unpinned, so the
/// oversubscribed case (more threads than cores) is up to the scheduler.
pub fn contended<S: Sem>(threads: usize, permits: usize, ops: u64) -> Duration {
    let sem = S::with_permits(permits);
    let per_thread = ops / threads as u64;
    let start_line = Barrier::new(threads + 1);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start_line.wait();
                for i in 0..per_thread {
                    sem.with_permit(|| {
                        black_box(i.wrapping_mul(31));
                    });
                }
            });
        }
        start_line.wait();
        // The scope joins every worker before returning.
        Instant::now()
    })
    .elapsed()
}

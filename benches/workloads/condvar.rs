//! The condvar workloads and peers, shared by `benches/condvar.rs` (criterion) and
//! `examples/compare/condvar.rs`: `fencepost::{Mutex, Condvar}` against std's and
//! parking_lot's pairs, each guarding a `u64` of state.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// A mutex and a condvar under test, guarding a `u64`.
pub trait Pair: Send + Sync {
    fn new() -> Self;
    /// Locks, waits while `cond(&mut state)`, runs `f` on the state, unlocks.
    fn wait_while_then<R>(
        &self,
        cond: impl FnMut(&mut u64) -> bool,
        f: impl FnOnce(&mut u64) -> R,
    ) -> R;
    fn notify_one(&self);
    fn notify_all(&self);
}

/// The two notifies of a pair whose condvar is field `.1`.
macro_rules! notifies {
    () => {
        #[inline]
        fn notify_one(&self) {
            self.1.notify_one();
        }
        #[inline]
        fn notify_all(&self) {
            self.1.notify_all();
        }
    };
}

pub struct Fencepost(fencepost::Mutex<u64>, fencepost::Condvar);
impl Pair for Fencepost {
    fn new() -> Self {
        Self(fencepost::Mutex::new(0), fencepost::Condvar::new())
    }
    #[inline]
    fn wait_while_then<R>(
        &self,
        cond: impl FnMut(&mut u64) -> bool,
        f: impl FnOnce(&mut u64) -> R,
    ) -> R {
        f(&mut self.1.wait_while(self.0.lock(), cond))
    }
    notifies!();
}

pub struct Std(std::sync::Mutex<u64>, std::sync::Condvar);
impl Pair for Std {
    fn new() -> Self {
        Self(std::sync::Mutex::new(0), std::sync::Condvar::new())
    }
    #[inline]
    fn wait_while_then<R>(
        &self,
        cond: impl FnMut(&mut u64) -> bool,
        f: impl FnOnce(&mut u64) -> R,
    ) -> R {
        f(&mut self.1.wait_while(self.0.lock().unwrap(), cond).unwrap())
    }
    notifies!();
}

pub struct ParkingLot(parking_lot::Mutex<u64>, parking_lot::Condvar);
impl Pair for ParkingLot {
    fn new() -> Self {
        Self(parking_lot::Mutex::new(0), parking_lot::Condvar::new())
    }
    #[inline]
    fn wait_while_then<R>(
        &self,
        mut cond: impl FnMut(&mut u64) -> bool,
        f: impl FnOnce(&mut u64) -> R,
    ) -> R {
        let mut g = self.0.lock();
        self.1.wait_while(&mut g, |v| cond(v));
        f(&mut g)
    }
    notifies!();
}

/// `n` `notify_one` calls with nobody waiting.
pub fn notify_nobody<P: Pair>(n: u64) -> Duration {
    let p = P::new();
    let p = black_box(&p);
    let start = Instant::now();
    for _ in 0..n {
        p.notify_one();
    }
    start.elapsed()
}

/// Two threads (pinned to CPUs 0 and 1) hand a token back and forth `round_trips`
/// times: each waits until the state says it is its turn, bumps it, and notifies.
pub fn ping_pong<P: Pair>(round_trips: u64, pin: fn(usize)) -> Duration {
    let p = P::new();
    let turn = |me: u64, p: &P| {
        for i in 0..round_trips {
            let mine = 2 * i + me;
            p.wait_while_then(|s| *s != mine, |s| *s += 1);
            p.notify_one();
        }
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            pin(1);
            turn(1, &p);
        });
        pin(0);
        let start = Instant::now();
        turn(0, &p);
        start.elapsed()
    })
}

/// About `units` ns of dependent work the compiler cannot fold (a chain of
/// multiply-adds, ~1 ns each on a ~3 GHz core).
#[inline]
fn work(units: u32) {
    let mut x = 1u64;
    for _ in 0..units {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    black_box(x);
}

/// Where a barrier's last arrival calls `notify_all`, and what it does after.
#[derive(Clone, Copy, Debug)]
pub enum Notify {
    /// After unlocking, as std's `Barrier` does.
    AfterUnlock,
    /// While still holding the mutex, then ~`units` ns of work before unlocking: the
    /// woken waiters find the mutex taken (the classic thundering herd).
    InsideThenWork(u32),
}

/// `threads` threads pass `generations` generations of a barrier built on the pair, as
/// std's `Barrier` is: the last arrival bumps the generation and calls `notify_all` as
/// `notify` says, so every generation wakes `threads - 1` waiters that all need the
/// mutex. State: generation in the high 32 bits, arrivals in the low.
pub fn generations<P: Pair>(
    threads: usize,
    notify: Notify,
    generations: u64,
    pin: fn(usize),
) -> Duration {
    let p = P::new();
    let n = threads as u64;
    let arrive = |p: &P| {
        let leader = p.wait_while_then(
            |_| false,
            |s| {
                let gen_now = *s >> 32;
                *s += 1;
                if *s & 0xFFFF_FFFF != n {
                    return Some(gen_now);
                }
                *s = (gen_now + 1) << 32;
                if let Notify::InsideThenWork(units) = notify {
                    p.notify_all();
                    work(units);
                }
                None
            },
        );
        match leader {
            None => {
                if let Notify::AfterUnlock = notify {
                    p.notify_all();
                }
            }
            Some(mine) => p.wait_while_then(|s| *s >> 32 == mine, |_| ()),
        }
    };
    std::thread::scope(|s| {
        for i in 1..threads {
            let p = &p;
            s.spawn(move || {
                pin(i);
                for _ in 0..generations {
                    arrive(p);
                }
            });
        }
        pin(0);
        let start = Instant::now();
        for _ in 0..generations {
            arrive(&p);
        }
        start.elapsed()
    })
}

/// `producers` threads each push `items` items to a queue (the state counts what is
/// queued) and `notify_one`; `consumers` threads take them, waiting while it is empty.
/// Returns the time until every item is taken.
pub fn queue<P: Pair>(producers: usize, consumers: usize, items: u64, pin: fn(usize)) -> Duration {
    let p = P::new();
    let total = producers as u64 * items;
    // The low 32 bits: items queued; the high: items taken (to stop the consumers).
    let taken = |s: u64| s >> 32;
    std::thread::scope(|s| {
        let start = Instant::now();
        for c in 0..consumers {
            let p = &p;
            s.spawn(move || {
                pin(c);
                loop {
                    let done = p.wait_while_then(
                        |s| *s & 0xFFFF_FFFF == 0 && taken(*s) < total,
                        |s| {
                            if *s & 0xFFFF_FFFF > 0 {
                                *s = *s - 1 + (1 << 32);
                            }
                            taken(*s) == total
                        },
                    );
                    if done {
                        p.notify_all();
                        break;
                    }
                }
            });
        }
        for i in 0..producers {
            let p = &p;
            s.spawn(move || {
                pin(consumers + i);
                for _ in 0..items {
                    p.wait_while_then(|_| false, |s| *s += 1);
                    p.notify_one();
                }
            });
        }
        // Scope end joins every thread.
        start
    })
    .elapsed()
}

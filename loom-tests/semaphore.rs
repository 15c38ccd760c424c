//! loom models of `fencepost::Semaphore`: permits hand over the holder's writes, no
//! permit is lost or created, and no wake-up is lost (a sleeper nobody wakes is a loom
//! deadlock, since the futex model really sleeps).
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --test loom_semaphore`.
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::Semaphore;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::Ordering::{self, Acquire, Relaxed, Release};
use loom::thread;
use std::time::Duration;

/// A semaphore and a counter only its permit holders may touch.
struct Guarded {
    sem: Semaphore,
    counter: UnsafeCell<u32>,
}

// SAFETY: `counter` is only accessed by a thread holding a permit of a one-permit `sem`,
// so accesses never overlap, and loom checks that they are ordered.
unsafe impl Sync for Guarded {}

impl Guarded {
    fn new(permits: usize) -> Arc<Self> {
        Arc::new(Self {
            sem: Semaphore::new(permits),
            counter: UnsafeCell::new(0),
        })
    }

    /// Increments the counter; the caller holds the only permit.
    fn bump(&self) {
        // SAFETY: the caller holds the semaphore's only permit (see `Sync` above).
        self.counter.with_mut(|c| unsafe { *c += 1 });
    }

    fn count(&self) -> u32 {
        // SAFETY: called after every other thread was joined.
        self.counter.with(|c| unsafe { *c })
    }
}

#[test]
fn permit_hands_the_holders_writes_to_the_next_holder() {
    // Kills a weakened Acquire in `try_take`/`acquire_slow` or Release in `release`:
    // loom then reports the two increments as a data race.
    loom::model(|| {
        let g = Guarded::new(1);
        let t = {
            let g = Arc::clone(&g);
            thread::spawn(move || {
                let _p = g.sem.acquire();
                g.bump();
            })
        };
        {
            let _p = g.sem.acquire();
            g.bump();
        }
        t.join().unwrap();
        assert_eq!(g.count(), 2);
        assert_eq!(g.sem.available_permits(), 1);
    });
}

#[test]
fn add_permits_hands_writes_to_the_sleeper_it_wakes() {
    // The waiter may take the permit on its fast path, after spinning, or after
    // sleeping; in every case it sees the write made before `add_permits`.
    loom::model(|| {
        let g = Guarded::new(0);
        let t = {
            let g = Arc::clone(&g);
            thread::spawn(move || {
                g.sem.acquire().forget();
                g.bump();
            })
        };
        g.bump();
        g.sem.add_permits(1);
        t.join().unwrap();
        assert_eq!(g.count(), 2);
        assert_eq!(g.sem.available_permits(), 0);
    });
}

#[test]
fn registered_waiter_beside_another_sleeper_sees_the_releasers_writes() {
    // Two registered waiters, so the one that takes the permit does not clear SLEEPERS
    // (and gets no acquire from `leave`): the Acquire of the permit-taking CAS in
    // `acquire_slow` alone must order the writer's increment before its own. Taking the
    // permit without sleeping matters: a futex sleep would add loom's mutex edge.
    loom::model(|| {
        let g = Guarded::new(0);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let g = Arc::clone(&g);
                thread::spawn(move || {
                    let _p = g.sem.acquire();
                    g.bump();
                })
            })
            .collect();
        g.bump();
        g.sem.add_permits(1);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(g.count(), 3);
        assert_eq!(g.sem.available_permits(), 1);
    });
}

#[test]
fn two_sleepers_both_get_permits_released_one_at_a_time() {
    // Exercises `leave`'s speculative clear: the first sleeper to get a permit may
    // clear SLEEPERS while the second sleeps; the second must still be woken.
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let sem = Arc::clone(&sem);
                thread::spawn(move || sem.acquire().forget())
            })
            .collect();
        sem.add_permits(1);
        sem.add_permits(1);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn timed_out_waiter_withdraws_without_stranding_a_sleeper() {
    // loom's timed futex wait times out at once, so the timed waiter registers, maybe
    // clears SLEEPERS as the (guessed) last sleeper, and leaves while the other sleeps.
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let timed = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                sem.acquire_timeout(Duration::from_secs(1))
                    .map(|p| p.forget())
                    .is_some()
            })
        };
        let sleeper = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || sem.acquire().forget())
        };
        sem.add_permits(1);
        let timed_got_it = timed.join().unwrap();
        if timed_got_it {
            // The sleeper still needs one: it must not have been stranded.
            sem.add_permits(1);
        }
        sleeper.join().unwrap();
        assert_eq!(sem.available_permits(), 0, "no permit lost or created");
    });
}

#[test]
fn multi_permit_waiter_and_single_waiter_both_finish() {
    // A greedy sleeper makes releases wake everyone; permits are conserved.
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let greedy = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || drop(sem.acquire_many(2)))
        };
        let single = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || drop(sem.acquire()))
        };
        sem.add_permits(1);
        greedy.join().unwrap();
        single.join().unwrap();
        assert_eq!(sem.available_permits(), 2);
    });
}

// ---------------------------------------------------------------------------------
// Broken twins, each run once correct and once broken; `scripts/twin-lab` tells their
// stories.
// ---------------------------------------------------------------------------------

/// A twin of the semaphore's sleep/wake handshake, reduced to one-permit waiters and a
/// sticky sleepers bit: the waiter counts itself in `sleepers`, then sets `SLEEPERS` in
/// `state` and sleeps; the releaser adds a permit and, seeing the bit, reads `sleepers`
/// to decide whether to wake anyone.
struct TwinSemaphore {
    state: lab::AtomicU32,
    sleepers: lab::AtomicU32,
    /// The `fence(Acquire)` in `Semaphore::wake_for_release`; `false` is the bug.
    acquire_fence: bool,
}

const TWIN_SLEEPERS: u32 = 1;

impl TwinSemaphore {
    fn acquire(&self) {
        let mut registered = false;
        loop {
            let s = self.state.load(Relaxed);
            if s >= 2 {
                if self
                    .state
                    .compare_exchange(s, s - 2, Acquire, Relaxed)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            if !registered {
                self.sleepers.fetch_add(1, Relaxed);
                registered = true;
            }
            let sleeping = s | TWIN_SLEEPERS;
            if self
                .state
                .compare_exchange(s, sleeping, Release, Relaxed)
                .is_ok()
            {
                lab::futex_wait(&self.state, sleeping);
            }
        }
    }

    fn release(&self) {
        let old = self.state.fetch_add(2, Release);
        if old & TWIN_SLEEPERS != 0 {
            if self.acquire_fence {
                lab::fence(Acquire);
            }
            if self.sleepers.load(Relaxed) > 0 {
                lab::futex_wake_one(&self.state);
            }
        }
    }
}

fn twin_release_wakes_the_sleeper(acquire_fence: bool) {
    // The sleeper is a spawned thread, and the twin is shared through std's `Arc`
    // (whose drop does not call into loom), so that loom's deadlock panic unwinds
    // cleanly instead of aborting in a destructor.
    lab::model("releaser", move || {
        let sem = std::sync::Arc::new(TwinSemaphore {
            state: lab::AtomicU32::new("state", 0),
            sleepers: lab::AtomicU32::new("sleepers", 0),
            acquire_fence,
        });
        let waiter = {
            let sem = std::sync::Arc::clone(&sem);
            lab::spawn("waiter", move || sem.acquire())
        };
        sem.release();
        waiter.join().unwrap();
    });
}

#[test]
fn twin_with_acquire_fence_never_loses_the_wake_up() {
    twin_release_wakes_the_sleeper(true);
}

/// Without the fence, the releaser's `fetch_add` (Release only) reads the waiter's
/// SLEEPERS bit but does not acquire the waiter's earlier `sleepers += 1`, so its load
/// of `sleepers` may return the stale 0: it skips the wake, and the waiter sleeps
/// forever (loom: deadlock).
///
/// On aarch64 this is real: `ldaddl` orders only *earlier* accesses before it, so the
/// later `ldr` of `sleepers` may be satisfied before the `ldaddl` reads `state`, and the
/// waiter's `stlr`-ordered increment can still be invisible. x86 hides it: every
/// `lock`-prefixed instruction is a full barrier, so the later load cannot pass it.
#[test]
#[should_panic]
fn broken_twin_without_acquire_fence_loses_the_wake_up() {
    twin_release_wakes_the_sleeper(false);
}

/// A twin of the permit hand-off: the holder writes the data and returns the permit
/// with `release` (Release in `Semaphore::release`; Relaxed is the bug); the other
/// thread takes the permit with the real Acquire CAS and reads the data.
fn twin_permit_hand_off(release: Ordering) {
    lab::model("taker", move || {
        let state = Arc::new(lab::AtomicU32::new("state", 0));
        let data = Arc::new(lab::Cell::new("data", 0u32));
        let holder = {
            let (state, data) = (Arc::clone(&state), Arc::clone(&data));
            lab::spawn("holder", move || {
                // SAFETY: the holder owns the permit (the semaphore starts empty and
                // only this thread writes before releasing).
                unsafe { data.write(42) };
                state.fetch_add(2, release);
            })
        };
        // Take the permit with the real Acquire CAS.
        loop {
            let s = state.load(Relaxed);
            if s >= 2 && state.compare_exchange(s, s - 2, Acquire, Relaxed).is_ok() {
                break;
            }
            thread::yield_now();
        }
        // SAFETY: we hold the permit now; loom reports a missing ordering as a race.
        let seen = unsafe { data.read() };
        assert_eq!(seen, 42);
        holder.join().unwrap();
    });
}

#[test]
fn twin_with_release_hands_over_the_data() {
    twin_permit_hand_off(Release);
}

/// The next holder reads the previous holder's write without a happens-before edge:
/// loom reports a data race (a panic).
///
/// On aarch64 a `Relaxed` `ldadd` lets the earlier store of the protected data become
/// visible after the permit, so the next holder can read the old value. x86 hides it:
/// `lock xadd` is a full barrier and stores are never reordered with each other (TSO).
#[test]
#[should_panic]
fn broken_twin_with_relaxed_release_races_on_the_data() {
    twin_permit_hand_off(Relaxed);
}

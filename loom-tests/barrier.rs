//! loom models of `fencepost::Barrier`: one leader per generation, no early release
//! across two generations, writes before `wait` seen after it, withdrawn timeouts, and
//! no lost wake-up (a sleeper nobody wakes is a loom deadlock).
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --test loom_barrier`.
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::{Barrier, BarrierTimeout};
use loom::sync::Arc;
use loom::sync::atomic::AtomicUsize;
use loom::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use loom::thread;
use std::time::Duration;

/// Each participant's progress marker, written before `wait` and read after it.
/// Relaxed on purpose: only the barrier may order them.
struct Shared {
    barrier: Barrier,
    slots: [AtomicUsize; 3],
    leaders: [AtomicUsize; 2],
}

fn shared(n: usize) -> Arc<Shared> {
    Arc::new(Shared {
        barrier: Barrier::new(n),
        slots: Default::default(),
        leaders: Default::default(),
    })
}

/// Participant `me` of `n` runs `generations` generations, checking after each that
/// every participant has written its marker for it (no early release, writes visible).
fn participate(s: &Shared, me: usize, n: usize, generations: usize) {
    for g in 0..generations {
        s.slots[me].store(g + 1, Relaxed);
        if s.barrier.wait().is_leader() {
            s.leaders[g].fetch_add(1, Relaxed);
        }
        for other in 0..n {
            assert!(
                s.slots[other].load(Relaxed) > g,
                "released from generation {g} before participant {other} arrived (or \
                 without seeing its write)"
            );
        }
    }
}

#[test]
fn two_threads_two_generations_one_leader_each_no_early_release() {
    loom::model(|| {
        let s = shared(2);
        let t = {
            let s = Arc::clone(&s);
            thread::spawn(move || participate(&s, 1, 2, 2))
        };
        participate(&s, 0, 2, 2);
        t.join().unwrap();
        for g in 0..2 {
            assert_eq!(s.leaders[g].load(Relaxed), 1, "generation {g}");
        }
    });
}

#[test]
fn three_threads_one_generation_one_leader() {
    loom::model(|| {
        let s = shared(3);
        let ts: Vec<_> = (1..3)
            .map(|me| {
                let s = Arc::clone(&s);
                thread::spawn(move || participate(&s, me, 3, 1))
            })
            .collect();
        participate(&s, 0, 3, 1);
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(s.leaders[0].load(Relaxed), 1);
    });
}

#[test]
fn timed_out_arrival_is_withdrawn_and_the_barrier_still_works() {
    // loom's timed futex wait times out at once, so every interleaving of "arrive, time
    // out, withdraw" against the other arrival is explored.
    loom::model(|| {
        let s = shared(2);
        let t = {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                s.slots[1].store(1, Relaxed);
                s.barrier.wait_timeout(Duration::from_secs(1))
            })
        };
        s.slots[0].store(1, Relaxed);
        let mine = s.barrier.wait_timeout(Duration::from_secs(1));
        let theirs = t.join().unwrap();
        match (mine, theirs) {
            (Ok(a), Ok(b)) => {
                assert!(a.is_leader() ^ b.is_leader(), "exactly one leader");
            }
            (Err(BarrierTimeout), Err(BarrierTimeout)) => {}
            (a, b) => panic!("a generation of one: {a:?} / {b:?}"),
        }
        // Whatever happened, the count is back to zero: a full generation still works.
        let t = {
            let s = Arc::clone(&s);
            thread::spawn(move || s.barrier.wait().is_leader())
        };
        let me = s.barrier.wait().is_leader();
        assert!(me ^ t.join().unwrap());
    });
}

/// A twin of the barrier for two threads (`scripts/twin-lab` tells its story): the
/// leader's RMW that begins the next generation and the follower's fence after seeing
/// it, with the follower's `fence` switchable.
fn twin_barrier(follower_fence: bool) {
    lab::model("follower", move || {
        let generation = Arc::new(lab::AtomicU32::new("generation", 0));
        let arrived = Arc::new(lab::AtomicU32::new("arrived", 0));
        let data = Arc::new(lab::AtomicUsize::new("data", 0));
        let leader = {
            let (generation, arrived, data) = (
                Arc::clone(&generation),
                Arc::clone(&arrived),
                Arc::clone(&data),
            );
            lab::spawn("leader", move || {
                data.store(7, Relaxed);
                // Wait for the follower's arrival, then begin generation 1.
                while arrived.load(Acquire) == 0 {
                    thread::yield_now();
                }
                generation.fetch_add(1, AcqRel);
            })
        };
        arrived.store(1, Release);
        while generation.load(Relaxed) == 0 {
            thread::yield_now();
        }
        if follower_fence {
            lab::fence(Acquire);
        }
        assert_eq!(data.load(Relaxed), 7, "released without the leader's write");
        leader.join().unwrap();
    });
}

#[test]
fn twin_with_follower_fence_sees_the_leaders_writes() {
    twin_barrier(true);
}

/// Without `fence(Acquire)` after the Relaxed spin load (in `Barrier`'s `passed`), the
/// follower leaves the barrier without a happens-before edge from the leader: it may
/// read the leader's pre-barrier write as the old value (loom: the assertion fails).
///
/// On aarch64 the follower's later `ldr` of the data may be satisfied before the `ldr`
/// that saw the new generation (loads are reordered freely; `dmb ishld` is what the
/// fence adds). x86 hides it: TSO never reorders a load with an earlier load.
#[test]
#[should_panic]
fn broken_twin_without_follower_fence_reads_stale_data() {
    twin_barrier(false);
}

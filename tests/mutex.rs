//! `fencepost::Mutex` and `RawMutex` with real threads: exclusion under stress, the
//! non-blocking and timed calls, panics, wake-ups, fairness, and the `lock_api` impl.

use fencepost::{Mutex, MutexGuard, RawMutex};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

/// Scales an iteration count down under Miri, which runs ~1000x slower.
fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 500).max(3) } else { n }
}

/// A pause long enough for another thread to reach its futex wait (not a correctness
/// requirement of any test: only what it exercises depends on it).
fn settle() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 50 }));
}

const _: () = {
    const fn send_sync<T: Send + Sync + ?Sized>() {}
    send_sync::<RawMutex>();
    send_sync::<Mutex<u64>>();
    send_sync::<Mutex<std::cell::Cell<u8>>>();
    send_sync::<MutexGuard<'static, u64>>();
    send_sync::<Mutex<[u8]>>();
};

/// Two fields that every critical section keeps equal; a torn update shows as a
/// mismatch, a lost one as a wrong total.
#[derive(Default)]
struct Pair {
    a: u64,
    b: u64,
}

fn stress(threads: usize, per_thread: usize) {
    let m = Arc::new(Mutex::new(Pair::default()));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                for _ in 0..per_thread {
                    let mut g = m.lock();
                    assert_eq!(g.a, g.b, "saw another thread's half-done update");
                    g.a += 1;
                    std::hint::black_box(&mut *g);
                    g.b += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = (threads * per_thread) as u64;
    let g = m.lock();
    assert_eq!((g.a, g.b), (total, total));
}

#[test]
fn two_threads_never_overlap_and_lose_no_update() {
    stress(2, scaled(200_000));
}

#[test]
fn eight_threads_never_overlap_and_lose_no_update() {
    stress(8, scaled(50_000));
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    let m = Mutex::new(1);
    let g = m.lock();
    assert!(m.is_locked());
    assert!(m.try_lock().is_none());
    drop(g);
    assert!(!m.is_locked());
    let mut g = m.try_lock().expect("free lock");
    *g += 1;
    drop(g);
    assert_eq!(m.into_inner(), 2);
}

#[test]
fn try_lock_from_another_thread_fails_while_held() {
    let m = Mutex::new(());
    let g = m.lock();
    thread::scope(|s| {
        s.spawn(|| assert!(m.try_lock().is_none()));
    });
    drop(g);
    thread::scope(|s| {
        s.spawn(|| assert!(m.try_lock().is_some()));
    });
}

#[test]
fn try_lock_for_times_out_never_early_and_not_grossly_late() {
    let m = Mutex::new(());
    let _g = m.lock();
    for timeout in [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_millis(30),
    ] {
        thread::scope(|s| {
            s.spawn(|| {
                let start = Instant::now();
                assert!(m.try_lock_for(timeout).is_none());
                let waited = start.elapsed();
                assert!(waited >= timeout, "gave up after {waited:?} < {timeout:?}");
                if !cfg!(miri) {
                    assert!(
                        waited < timeout + Duration::from_secs(2),
                        "gave up after {waited:?} for {timeout:?}"
                    );
                }
            });
        });
    }
}

#[test]
fn try_lock_for_succeeds_when_released_in_time() {
    let m = Mutex::new(0);
    let g = m.lock();
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            let mut g = m
                .try_lock_for(Duration::from_secs(30))
                .expect("released long before the deadline");
            *g += 1;
        });
        settle();
        drop(g);
        waiter.join().unwrap();
    });
    assert_eq!(*m.lock(), 1);
}

#[test]
fn try_lock_for_with_an_unrepresentable_timeout_waits_like_lock() {
    let m = Mutex::new(());
    assert!(m.try_lock_for(Duration::MAX).is_some());
    let g = m.lock();
    thread::scope(|s| {
        let waiter = s.spawn(|| m.try_lock_for(Duration::MAX).is_some());
        settle();
        drop(g);
        assert!(waiter.join().unwrap());
    });
}

#[test]
fn timed_out_waiter_does_not_strand_a_sleeper() {
    // A sleeps in lock(), B in try_lock_for(); B gives up, then the owner unlocks.
    // Whatever wake-up B consumed must not leave A asleep on a free lock.
    let m = Mutex::new(0);
    let g = m.lock();
    thread::scope(|s| {
        let a = s.spawn(|| *m.lock() += 1);
        let b = s.spawn(|| m.try_lock_for(Duration::from_millis(20)).is_none());
        settle();
        assert!(b.join().unwrap(), "B should time out: the lock is held");
        drop(g);
        a.join().unwrap();
    });
    assert_eq!(*m.lock(), 1);
}

#[test]
fn panic_inside_critical_section_leaves_lock_usable() {
    let m = Arc::new(Mutex::new(vec![1]));
    let m2 = Arc::clone(&m);
    let result = thread::spawn(move || {
        let mut g = m2.lock();
        g.push(2);
        panic!("inside the critical section");
    })
    .join();
    assert!(result.is_err());
    assert!(
        !m.is_locked(),
        "the guard's drop must unlock during unwinding"
    );
    let mut g = m.try_lock().expect("no poisoning: the lock is free");
    g.push(3);
    assert_eq!(*g, [1, 2, 3]);
}

#[test]
fn one_unlock_releases_many_sleepers_in_turn() {
    let sleepers = if cfg!(miri) { 3 } else { 16 };
    let m = Mutex::new(0usize);
    let started = AtomicUsize::new(0);
    let g = m.lock();
    thread::scope(|s| {
        let handles: Vec<_> = (0..sleepers)
            .map(|_| {
                s.spawn(|| {
                    started.fetch_add(1, Relaxed);
                    *m.lock() += 1;
                })
            })
            .collect();
        while started.load(Relaxed) < sleepers {
            thread::yield_now();
        }
        settle();
        drop(g);
        for h in handles {
            h.join().unwrap();
        }
    });
    assert_eq!(m.into_inner(), sleepers);
}

#[test]
fn a_waiter_is_not_starved_by_barging_threads() {
    // Two threads re-lock in a tight loop (each unlock is followed at once by a lock,
    // the pattern that starves a sleeper on a purely barging lock). A third thread's
    // lock() must still get through. The bound is for liveness, not speed.
    let m = Mutex::new(0u64);
    let stop = AtomicBool::new(false);
    let acquired = thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.load(Relaxed) {
                    let mut g = m.lock();
                    *g += 1;
                    for _ in 0..50 {
                        std::hint::black_box(&mut *g);
                    }
                }
            });
        }
        settle();
        let waiter = s.spawn(|| {
            let start = Instant::now();
            for _ in 0..scaled(1000) {
                drop(m.lock());
            }
            start.elapsed()
        });
        let took = waiter.join().unwrap();
        stop.store(true, Relaxed);
        took
    });
    assert!(acquired < Duration::from_secs(60), "took {acquired:?}");
}

#[test]
fn get_mut_and_into_inner_need_no_lock() {
    let mut m = Mutex::new(String::from("a"));
    m.get_mut().push('b');
    assert!(!m.is_locked());
    assert_eq!(m.into_inner(), "ab");
}

#[test]
fn unsized_values_can_be_locked() {
    let m: &Mutex<[u32]> = &Mutex::new([1, 2, 3]);
    m.lock()[1] = 5;
    assert_eq!(&*m.lock(), &[1, 5, 3]);
}

#[test]
fn statics_need_no_initialisation() {
    static COUNT: Mutex<u32> = Mutex::new(0);
    static RAW: RawMutex = RawMutex::new();
    *COUNT.lock() += 1;
    assert!(RAW.try_lock());
    assert!(RAW.is_locked());
    // SAFETY: locked just above by this thread.
    unsafe { RAW.unlock() };
    assert!(!RAW.is_locked());
    assert_eq!(*COUNT.lock(), 1);
}

#[test]
fn debug_shows_value_or_locked() {
    let m = Mutex::new(7);
    assert_eq!(format!("{m:?}"), "Mutex { data: 7, .. }");
    let g = m.lock();
    assert_eq!(format!("{g:?} {g}"), "7 7");
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked>, .. }");
    drop(g);
    assert_eq!(
        format!("{:?}", RawMutex::new()),
        "RawMutex { state: \"unlocked\" }"
    );
    assert_eq!(*Mutex::<u8>::default().lock(), 0);
    assert_eq!(*Mutex::from(3u8).lock(), 3);
}

#[test]
fn guard_can_be_released_on_another_thread() {
    let m = Mutex::new(1);
    let g = m.lock();
    thread::scope(|s| {
        s.spawn(move || drop(g));
    });
    assert!(m.try_lock().is_some());
}

#[cfg(feature = "lock_api")]
mod lock_api_impl {
    use super::*;

    type ApiMutex<T> = lock_api::Mutex<RawMutex, T>;

    #[test]
    fn lock_api_mutex_excludes_and_counts() {
        let m = Arc::new(ApiMutex::new(0u64));
        let per_thread = scaled(20_000);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let m = Arc::clone(&m);
                thread::spawn(move || {
                    for _ in 0..per_thread {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), 4 * per_thread as u64);
    }

    #[test]
    fn lock_api_timed_and_try_calls_follow_the_lock() {
        static M: ApiMutex<u8> = ApiMutex::const_new(<RawMutex as lock_api::RawMutex>::INIT, 0);
        let g = M.lock();
        assert!(M.is_locked());
        assert!(M.try_lock().is_none());
        thread::scope(|s| {
            s.spawn(|| {
                let start = Instant::now();
                assert!(M.try_lock_for(Duration::from_millis(10)).is_none());
                assert!(start.elapsed() >= Duration::from_millis(10));
                let deadline = Instant::now() + Duration::from_millis(5);
                assert!(M.try_lock_until(deadline).is_none());
                assert!(Instant::now() >= deadline);
            });
        });
        drop(g);
        assert!(M.try_lock_for(Duration::from_millis(10)).is_some());
        assert!(!M.is_locked());
    }
}

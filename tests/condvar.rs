//! `fencepost::Condvar` with real threads: std's own condvar tests (`std/tests/sync/
//! condvar.rs`) adapted to guards without poisoning, then what this condvar adds:
//! notify_all under stress, timed waiters among woken ones, several mutexes, huge
//! timeouts, panicking conditions.

use fencepost::{Condvar, Mutex, WaitTimeoutResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

/// Scales an iteration count down under Miri, which runs ~1000x slower.
fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 200).max(2) } else { n }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Condvar>();
    send_sync::<WaitTimeoutResult>();
};

#[test]
fn notify_with_nobody_waiting_does_nothing() {
    let cv = Condvar::new();
    cv.notify_one();
    cv.notify_all();
    assert_eq!(format!("{cv:?}"), "Condvar { waiters: 0, .. }");
}

#[test]
fn static_condvar_needs_no_initialisation() {
    static M: Mutex<u32> = Mutex::new(0);
    static CV: Condvar = Condvar::new();
    thread::scope(|s| {
        s.spawn(|| {
            *M.lock() = 1;
            CV.notify_all();
        });
        let g = CV.wait_while(M.lock(), |v| *v == 0);
        assert_eq!(*g, 1);
    });
}

/// A flag, its mutex and a condvar, shared with a thread that sets the flag and
/// notifies one waiter.
type Flag = Arc<(Mutex<bool>, Condvar)>;

fn spawn_setter(pair: &Flag) -> thread::JoinHandle<()> {
    let pair = Arc::clone(pair);
    thread::spawn(move || {
        let (m, cv) = &*pair;
        *m.lock() = true;
        cv.notify_one();
    })
}

#[test]
fn notify_one_wakes_a_waiter() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let (m, cv) = &*pair;
    let g = m.lock();
    let t = spawn_setter(&pair);
    // The flag is set only after our wait released the lock.
    let mut g = g;
    while !*g {
        g = cv.wait(g);
    }
    drop(g);
    t.join().unwrap();
}

#[test]
fn notify_all_wakes_every_waiter() {
    const N: usize = 10;
    let data = Arc::new((Mutex::new(0usize), Condvar::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..N {
        let data = Arc::clone(&data);
        let tx = tx.clone();
        thread::spawn(move || {
            let (lock, cond) = &*data;
            let mut cnt = lock.lock();
            *cnt += 1;
            if *cnt == N {
                tx.send(()).unwrap();
            }
            while *cnt != 0 {
                cnt = cond.wait(cnt);
            }
            tx.send(()).unwrap();
        });
    }
    drop(tx);
    let (lock, cond) = &*data;
    rx.recv().unwrap();
    let mut cnt = lock.lock();
    *cnt = 0;
    cond.notify_all();
    drop(cnt);
    for _ in 0..N {
        rx.recv().unwrap();
    }
}

#[test]
fn wait_while_returns_once_the_condition_is_false() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let t = spawn_setter(&pair);
    let (lock, cvar) = &*pair;
    let guard = cvar.wait_while(lock.lock(), |started| !*started);
    assert!(*guard);
    drop(guard);
    t.join().unwrap();
}

#[test]
fn wait_timeout_times_out_never_early() {
    let m = Mutex::new(());
    let c = Condvar::new();
    let timeout = Duration::from_millis(if cfg!(miri) { 2 } else { 20 });
    let start = Instant::now();
    let mut g = m.lock();
    // Spurious returns are allowed; a timeout must still come, and not early.
    loop {
        let (back, result) = c.wait_timeout(g, timeout);
        g = back;
        if result.timed_out() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never timed out");
    }
    assert!(start.elapsed() >= timeout);
}

#[test]
fn wait_timeout_while_times_out_with_the_condition_still_true() {
    let m = Mutex::new(());
    let c = Condvar::new();
    let dur = Duration::from_millis(if cfg!(miri) { 2 } else { 20 });
    let start = Instant::now();
    let (_g, wait) = c.wait_timeout_while(m.lock(), dur, |_| true);
    assert!(wait.timed_out());
    assert!(start.elapsed() >= dur);
}

#[test]
fn wait_timeout_while_with_a_false_condition_returns_at_once_not_timed_out() {
    let m = Mutex::new(());
    let c = Condvar::new();
    for dur in [Duration::ZERO, Duration::from_millis(1), Duration::MAX] {
        let (_g, wait) = c.wait_timeout_while(m.lock(), dur, |_| false);
        assert!(!wait.timed_out(), "{dur:?}");
    }
}

#[test]
fn wait_timeout_while_is_woken_before_its_deadline() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let (m, c) = &*pair;
    let g = m.lock();
    let t = spawn_setter(&pair);
    let (g, wait) = c.wait_timeout_while(g, Duration::from_secs(60), |notified| !*notified);
    assert!(!wait.timed_out());
    assert!(*g);
    drop(g);
    t.join().unwrap();
}

#[test]
fn wait_timeout_is_woken_before_its_deadline() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let (m, c) = &*pair;
    let mut g = m.lock();
    let t = spawn_setter(&pair);
    let start = Instant::now();
    while !*g {
        let (back, result) = c.wait_timeout(g, Duration::from_secs(60));
        g = back;
        assert!(!result.timed_out() || *g, "timed out before the notify");
        assert!(start.elapsed() < Duration::from_secs(30));
    }
    drop(g);
    t.join().unwrap();
}

#[test]
fn huge_timeouts_mean_forever_and_never_panic() {
    for huge in [Duration::MAX, Duration::from_secs(u64::MAX)] {
        let (m, c) = (Mutex::new(false), Condvar::new());
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(1));
                *m.lock() = true;
                c.notify_all();
            });
            let (g, r) = c.wait_timeout_while(m.lock(), huge, |set| !*set);
            assert!(*g && !r.timed_out());
        });
        let (m, c) = (Mutex::new(false), Condvar::new());
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(1));
                *m.lock() = true;
                c.notify_all();
            });
            let mut g = m.lock();
            while !*g {
                let (back, r) = c.wait_timeout(g, huge);
                assert!(!r.timed_out(), "{huge:?} timed out");
                g = back;
            }
        });
    }
}

#[test]
fn zero_timeout_with_a_true_condition_times_out_at_once() {
    let m = Mutex::new(());
    let c = Condvar::new();
    let start = Instant::now();
    let (g, r) = c.wait_timeout_while(m.lock(), Duration::ZERO, |_| true);
    assert!(r.timed_out());
    drop(g);
    let (_g, r) = c.wait_timeout(m.lock(), Duration::ZERO);
    assert!(r.timed_out());
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_panicking_condition_leaves_the_mutex_unlocked_and_both_usable() {
    let m = Mutex::new(0);
    let c = Condvar::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.wait_while(m.lock(), |_| panic!("condition failed"))
    }));
    assert!(result.is_err());
    assert!(!m.is_locked(), "the guard unlocked during unwinding");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.wait_timeout_while(m.lock(), Duration::from_secs(1), |_| panic!("again"))
    }));
    assert!(result.is_err());
    assert!(!m.is_locked());
    // Both still work together.
    thread::scope(|s| {
        s.spawn(|| {
            *m.lock() = 1;
            c.notify_one();
        });
        assert_eq!(*c.wait_while(m.lock(), |v| *v == 0), 1);
    });
}

#[test]
fn one_condvar_serves_different_mutexes_one_after_another() {
    let c = Condvar::new();
    for _ in 0..3 {
        // A fresh mutex each round, so its address differs from the first one's.
        let m = Box::new(Mutex::new(false));
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| drop(c.wait_while(m.lock(), |go| !*go)));
            }
            thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 10 }));
            *m.lock() = true;
            c.notify_all();
        });
    }
}

#[test]
fn waiters_of_two_mutexes_at_once_are_all_woken() {
    // Not "one after another": both groups wait together on the one condvar.
    let (a, b) = (Mutex::new(false), Mutex::new(false));
    let c = Condvar::new();
    thread::scope(|s| {
        for m in [&a, &b, &a, &b] {
            let c = &c;
            s.spawn(move || drop(c.wait_while(m.lock(), |go| !*go)));
        }
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 10 }));
        *a.lock() = true;
        *b.lock() = true;
        c.notify_all();
    });
}

/// A queue handed from producers to consumers through one condvar; nothing is lost
/// and nobody sleeps forever.
fn producer_consumer(producers: usize, consumers: usize, items: usize, notify_all: bool) {
    let state = Mutex::new((Vec::<usize>::new(), 0usize));
    let cv = Condvar::new();
    let taken = AtomicUsize::new(0);
    let total = producers * items;
    thread::scope(|s| {
        for _ in 0..consumers {
            s.spawn(|| {
                loop {
                    let mut g =
                        cv.wait_while(state.lock(), |(q, done)| q.is_empty() && *done < producers);
                    match g.0.pop() {
                        Some(_) => {
                            taken.fetch_add(1, Relaxed);
                        }
                        None => break,
                    }
                }
            });
        }
        for _ in 0..producers {
            s.spawn(|| {
                for i in 0..items {
                    state.lock().0.push(i);
                    if notify_all {
                        cv.notify_all();
                    } else {
                        cv.notify_one();
                    }
                }
                state.lock().1 += 1;
                cv.notify_all();
            });
        }
    });
    assert_eq!(taken.load(Relaxed), total);
}

#[test]
fn producers_and_consumers_lose_nothing_with_notify_one() {
    producer_consumer(2, 3, scaled(20_000), false);
}

#[test]
fn producers_and_consumers_lose_nothing_with_notify_all() {
    producer_consumer(2, 6, scaled(10_000), true);
}

#[test]
fn notified_waiters_all_get_the_mutex_round_after_round() {
    // Every round: N waiters sleep, the notifier bumps the round and notifies all (in
    // alternate rounds while holding the lock, so the woken find it taken and sleep on
    // the mutex); every waiter must get through in turn.
    const N: usize = 6;
    let rounds = scaled(300);
    let state = Mutex::new((0usize, 0usize)); // (round, arrived)
    let cv = Condvar::new();
    let arrived_cv = Condvar::new();
    thread::scope(|s| {
        for _ in 0..N {
            s.spawn(|| {
                for round in 1..=rounds {
                    let mut g = state.lock();
                    g.1 += 1;
                    arrived_cv.notify_one();
                    let g = cv.wait_while(g, |(r, _)| *r < round);
                    drop(g);
                }
            });
        }
        for round in 1..=rounds {
            let mut g = arrived_cv.wait_while(state.lock(), |(_, arrived)| *arrived < N);
            g.1 = 0;
            g.0 = round;
            if round % 2 == 0 {
                cv.notify_all();
                drop(g);
            } else {
                drop(g);
                cv.notify_all();
            }
        }
    });
}

#[test]
fn timed_waiters_among_notified_ones_strand_nobody() {
    // Half the waiters use short timeouts, so some time out while others are woken;
    // every one of them must still get through every round.
    let rounds = scaled(200);
    let state = Mutex::new(0usize);
    let cv = Condvar::new();
    thread::scope(|s| {
        for i in 0..6 {
            let (state, cv) = (&state, &cv);
            s.spawn(move || {
                for round in 1..=rounds {
                    if i % 2 == 0 {
                        drop(cv.wait_while(state.lock(), |r| *r < round));
                    } else {
                        let mut g = state.lock();
                        while *g < round {
                            g = cv.wait_timeout(g, Duration::from_micros(50)).0;
                        }
                    }
                }
            });
        }
        for round in 1..=rounds {
            thread::sleep(Duration::from_micros(100));
            *state.lock() = round;
            cv.notify_all();
        }
    });
}

#[test]
fn the_mutex_still_excludes_after_notify_all() {
    // Four waiters woken at once then count in a critical section that a torn update
    // would show.
    let state = Mutex::new((false, 0u64, 0u64));
    let cv = Condvar::new();
    let n = scaled(2_000) as u64;
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut g = cv.wait_while(state.lock(), |(go, _, _)| !*go);
                for _ in 0..n {
                    assert_eq!(g.1, g.2);
                    g.1 += 1;
                    g.2 += 1;
                    drop(g);
                    g = state.lock();
                }
            });
        }
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 10 }));
        state.lock().0 = true;
        cv.notify_all();
    });
    let g = state.lock();
    assert_eq!((g.1, g.2), (4 * n, 4 * n));
}

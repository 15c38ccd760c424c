//! `fencepost::Semaphore` with real threads: limits, conservation, timeouts, wake-ups.

use fencepost::{Semaphore, SemaphorePermit};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::thread;
use std::time::{Duration, Instant};

/// Operation counts, scaled down under Miri.
const fn scaled(full: usize) -> usize {
    if cfg!(miri) { full / 100 + 1 } else { full }
}

const fn assert_send_sync<T: Send + Sync>() {}
const _: () = assert_send_sync::<Semaphore>();
const _: () = assert_send_sync::<SemaphorePermit<'static>>();

/// Waits (up to 10 s) for `cond`; true if it came.
fn eventually(cond: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(10) {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
    true
}

#[test]
fn new_semaphore_offers_its_permits() {
    let sem = Semaphore::new(3);
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(Semaphore::default().available_permits(), 0);
}

#[test]
#[should_panic(expected = "Semaphore::MAX_PERMITS (1073741823)")]
fn new_beyond_max_permits_panics_naming_the_limit() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
fn max_permits_is_accepted() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
    let all = sem.acquire_many(Semaphore::MAX_PERMITS);
    assert_eq!(sem.available_permits(), 0);
    drop(all);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

#[test]
fn add_permits_beyond_max_panics_and_leaves_the_count_unchanged() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    let result = std::panic::catch_unwind(|| sem.add_permits(2));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("MAX_PERMITS"), "{message}");
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS - 1);
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

#[test]
fn add_permits_counts_held_permits_against_the_limit() {
    // All permits held: `add_permits` used to check only the available ones, and the
    // returns then wrapped the 31-bit count.
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    let all = sem.acquire_many(Semaphore::MAX_PERMITS);
    for n in [1, Semaphore::MAX_PERMITS] {
        let result = std::panic::catch_unwind(|| sem.add_permits(n));
        let message = *result.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("Semaphore::add_permits")
                && message.contains(&format!("n = {n}"))
                && message.contains("MAX_PERMITS (1073741823)"),
            "{message}"
        );
        assert_eq!(sem.available_permits(), 0, "unchanged after the panic");
    }
    drop(all);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

#[test]
fn add_permits_with_some_held_stops_at_the_limit() {
    let sem = Semaphore::new(10);
    let held = sem.acquire_many(7);
    sem.add_permits(Semaphore::MAX_PERMITS - 10);
    assert!(std::panic::catch_unwind(|| sem.add_permits(1)).is_err());
    drop(held);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
    let all = sem
        .try_acquire_many(Semaphore::MAX_PERMITS)
        .expect("all of them");
    assert!(sem.try_acquire().is_none());
    drop(all);
}

#[test]
fn forgotten_permits_make_room_under_the_limit() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    sem.acquire_many(3).forget();
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS - 3);
    sem.add_permits(3);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
    assert!(std::panic::catch_unwind(|| sem.add_permits(1)).is_err());
}

#[test]
fn concurrent_add_permits_never_pass_the_limit() {
    // Four threads race to add permits while others are held: exactly as many
    // succeed as fit, and the count is exact afterwards.
    let sem = Semaphore::new(4);
    let held = sem.acquire_many(4);
    let chunk = (Semaphore::MAX_PERMITS - 4) / 3;
    let added: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    std::panic::catch_unwind(|| sem.add_permits(chunk)).map_or(0, |()| chunk)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(added, 3 * chunk, "three chunks fit, the fourth does not");
    assert_eq!(sem.available_permits(), 3 * chunk);
    drop(held);
    assert_eq!(sem.available_permits(), 3 * chunk + 4);
}

#[test]
#[should_panic(expected = "Semaphore::acquire_many: n = 1073741824 exceeds")]
fn acquire_many_beyond_max_panics() {
    let sem = Semaphore::new(1);
    let _ = sem.acquire_many(Semaphore::MAX_PERMITS + 1);
}

#[test]
fn try_acquire_fails_when_empty_and_succeeds_after_release() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().expect("one permit");
    assert!(sem.try_acquire().is_none());
    drop(held);
    assert!(sem.try_acquire().is_some());
}

#[test]
fn forgotten_permit_is_gone_for_good() {
    let sem = Semaphore::new(2);
    sem.acquire().forget();
    assert_eq!(sem.available_permits(), 1);
    sem.acquire_many(1).forget();
    assert_eq!(sem.available_permits(), 0);
    assert!(sem.try_acquire().is_none());
}

#[test]
fn acquire_many_takes_and_returns_all_at_once() {
    let sem = Semaphore::new(5);
    let three = sem.acquire_many(3);
    assert_eq!(three.num_permits(), 3);
    assert_eq!(sem.available_permits(), 2);
    assert!(sem.try_acquire_many(3).is_none());
    assert_eq!(sem.available_permits(), 2, "a failed try takes nothing");
    drop(three);
    assert_eq!(sem.available_permits(), 5);
    let none = sem.acquire_many(0);
    assert_eq!(none.num_permits(), 0);
    drop(none);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn permit_is_returned_when_its_holder_panics() {
    let sem = Semaphore::new(1);
    let result = std::panic::catch_unwind(|| {
        let _permit = sem.acquire();
        panic!("holder fails");
    });
    assert!(result.is_err());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn never_more_holders_than_permits_under_8_threads() {
    const PERMITS: usize = 3;
    let sem = Semaphore::new(PERMITS);
    let inside = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..scaled(20_000) {
                    let _permit = sem.acquire();
                    let now = inside.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    assert!(now <= PERMITS, "{now} holders of {PERMITS} permits");
                    inside.fetch_sub(1, SeqCst);
                }
            });
        }
    });
    assert_eq!(sem.available_permits(), PERMITS);
    assert!(most.load(SeqCst) >= 1);
}

#[test]
fn mixed_sizes_never_exceed_the_permits_and_conserve_them() {
    const PERMITS: usize = 4;
    let sem = Semaphore::new(PERMITS);
    let inside = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..8 {
            let (sem, inside) = (&sem, &inside);
            s.spawn(move || {
                for i in 0..scaled(5_000) {
                    let want = 1 + (t + i) % 3;
                    let permit = match i % 4 {
                        0 => sem.acquire_many(want),
                        1 => match sem.try_acquire_many(want) {
                            Some(p) => p,
                            None => continue,
                        },
                        2 => match sem.acquire_timeout(Duration::from_micros(50)) {
                            Some(p) => p,
                            None => continue,
                        },
                        _ => sem.acquire(),
                    };
                    let n = permit.num_permits();
                    let now = inside.fetch_add(n, SeqCst) + n;
                    assert!(now <= PERMITS, "{now} permits held of {PERMITS}");
                    inside.fetch_sub(n, SeqCst);
                }
            });
        }
    });
    assert_eq!(
        sem.available_permits(),
        PERMITS,
        "no permit lost or created"
    );
    assert!(format!("{sem:?}").contains("sleepers: 0"), "{sem:?}");
}

#[test]
fn acquire_timeout_on_an_empty_semaphore_times_out_and_withdraws() {
    let sem = Semaphore::new(0);
    let timeout = Duration::from_millis(if cfg!(miri) { 5 } else { 20 });
    let start = Instant::now();
    assert!(sem.acquire_timeout(timeout).is_none());
    assert!(start.elapsed() >= timeout);
    assert_eq!(sem.available_permits(), 0);
    assert!(format!("{sem:?}").contains("sleepers: 0"), "{sem:?}");
    // Nothing was left behind: a later permit goes to a later acquirer.
    sem.add_permits(1);
    assert!(sem.try_acquire().is_some());
}

#[test]
fn zero_timeout_takes_an_available_permit() {
    let sem = Semaphore::new(1);
    assert!(sem.acquire_timeout(Duration::ZERO).is_some());
    let held = sem.acquire();
    assert!(sem.acquire_timeout(Duration::ZERO).is_none());
    drop(held);
}

#[test]
fn acquire_timeout_succeeds_when_a_permit_comes_in_time() {
    let sem = Semaphore::new(0);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            sem.acquire_timeout(Duration::from_secs(20))
                .map(|p| p.forget())
        });
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 30 }));
        sem.add_permits(1);
        assert!(waiter.join().unwrap().is_some());
    });
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn sleeper_is_woken_by_a_release() {
    let sem = Semaphore::new(1);
    let held = sem.acquire();
    thread::scope(|s| {
        let waiter = s.spawn(|| drop(sem.acquire()));
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 30 }));
        drop(held);
        waiter.join().unwrap();
    });
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn add_permits_lets_exactly_as_many_sleepers_through() {
    const SLEEPERS: usize = 4;
    let sem = Semaphore::new(0);
    let through = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..SLEEPERS {
            s.spawn(|| {
                sem.acquire().forget();
                through.fetch_add(1, SeqCst);
            });
        }
        // Let them go to sleep (not needed for correctness, only to test the wake path).
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 30 }));
        sem.add_permits(2);
        assert!(eventually(|| through.load(SeqCst) == 2));
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 30 }));
        assert_eq!(through.load(SeqCst), 2, "2 permits let more than 2 through");
        sem.add_permits(1);
        assert!(eventually(|| through.load(SeqCst) == 3));
        sem.add_permits(1);
        assert!(eventually(|| through.load(SeqCst) == 4));
    });
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn sleeping_multi_permit_waiter_does_not_strand_single_permit_waiters() {
    let sem = Semaphore::new(0);
    let done = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            sem.acquire_many(3).forget();
            done.fetch_add(10, SeqCst);
        });
        s.spawn(|| {
            sem.acquire().forget();
            done.fetch_add(1, SeqCst);
        });
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 30 }));
        // One permit: only the single-permit waiter can use it.
        sem.add_permits(1);
        assert!(eventually(|| done.load(SeqCst) == 1));
        sem.add_permits(3);
        assert!(eventually(|| done.load(SeqCst) == 11));
    });
}

#[test]
fn ping_pong_between_two_threads_loses_no_wake_up() {
    let ping = Semaphore::new(0);
    let pong = Semaphore::new(0);
    let rounds = scaled(20_000);
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..rounds {
                ping.acquire().forget();
                pong.add_permits(1);
            }
        });
        for _ in 0..rounds {
            ping.add_permits(1);
            pong.acquire().forget();
        }
    });
    assert_eq!(ping.available_permits(), 0);
    assert_eq!(pong.available_permits(), 0);
}

#[test]
fn oversubscribed_pool_conserves_permits_with_timeouts() {
    let sem = Semaphore::new(2);
    let ok = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..8 {
            let (sem, ok) = (&sem, &ok);
            s.spawn(move || {
                for i in 0..scaled(3_000) {
                    let permit = if (t + i) % 3 == 0 {
                        sem.acquire_timeout(Duration::from_micros(20))
                    } else {
                        Some(sem.acquire())
                    };
                    if permit.is_some() {
                        ok.fetch_add(1, SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(sem.available_permits(), 2);
    assert!(ok.load(SeqCst) > 0);
}

#[test]
fn debug_output_names_the_counts() {
    let sem = Semaphore::new(2);
    let p = sem.acquire();
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available_permits: 1, sleepers: 0 }"
    );
    assert!(format!("{p:?}").contains("permits: 1"));
}

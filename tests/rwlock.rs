//! `fencepost::RwLock` and `RawRwLock` with real threads: std's own RwLock tests
//! (`std/tests/sync/rwlock.rs`) adapted to guards without poisoning, then the shapes
//! users rely on (unsized values, `Debug` that never blocks, `try_read` beside
//! readers), fairness both ways, timeouts, downgrade and the `lock_api` impl.

use fencepost::{RawRwLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

/// Scales an iteration count down under Miri, which runs ~1000x slower.
fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 500).max(3) } else { n }
}

const _: () = {
    const fn send_sync<T: Send + Sync + ?Sized>() {}
    const fn send<T: Send + ?Sized>() {}
    send_sync::<RawRwLock>();
    send_sync::<RwLock<u64>>();
    send_sync::<RwLock<[u8]>>();
    send_sync::<RwLockReadGuard<'static, u64>>();
    send_sync::<RwLockWriteGuard<'static, u64>>();
    // As std's: the lock is Send with a Send value, even a !Sync one.
    send::<RwLock<std::cell::Cell<u8>>>();
};

#[test]
fn smoke() {
    let l = RwLock::new(());
    drop(l.read());
    drop(l.write());
    drop((l.read(), l.read()));
    drop(l.write());
}

#[test]
fn frob_never_lets_a_reader_see_a_half_done_write() {
    // std's `frob`: random reads and writes from several threads; here each write
    // keeps two fields equal, and readers check them.
    const N: usize = 6;
    let m = Arc::new(RwLock::new((0u64, 0u64)));
    let iters = scaled(10_000);
    let hs: Vec<_> = (0..N)
        .map(|t| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                let mut x = t as u64 * 7 + 1;
                for _ in 0..iters {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x % N as u64 == 0 {
                        let mut g = m.write();
                        g.0 += 1;
                        std::hint::black_box(&mut *g);
                        g.1 += 1;
                    } else {
                        let g = m.read();
                        assert_eq!(g.0, g.1, "a reader saw a half-done write");
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let g = m.read();
    assert_eq!(g.0, g.1);
}

#[test]
fn writers_and_readers_pass_values_like_std_rw_arc() {
    // std's `test_rw_arc`: a writer counts to 10 with a yield inside; readers never see
    // the count mid-update (the writer sets it to -1 while inside).
    let arc = Arc::new(RwLock::new(0i32));
    let writer = {
        let arc = Arc::clone(&arc);
        thread::spawn(move || {
            let mut lock = arc.write();
            for _ in 0..10 {
                let tmp = *lock;
                *lock = -1;
                thread::yield_now();
                *lock = tmp + 1;
            }
        })
    };
    let readers: Vec<_> = (0..5)
        .map(|_| {
            let arc = Arc::clone(&arc);
            thread::spawn(move || assert!(*arc.read() >= 0))
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    writer.join().unwrap();
    assert_eq!(*arc.read(), 10);
}

#[test]
fn a_panic_while_reading_or_writing_releases_the_lock() {
    let l = RwLock::new(1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = l.read();
        panic!("reader panics");
    }));
    assert!(r.is_err());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = l.write();
        panic!("writer panics");
    }));
    assert!(r.is_err());
    assert!(!l.is_locked());
    *l.write() += 1;
    assert_eq!(*l.read(), 2);
}

#[test]
fn unsized_values_coerce_as_with_std() {
    let rw: &RwLock<[i32]> = &RwLock::new([1, 2, 3]);
    {
        let b = &mut *rw.write();
        b[0] = 4;
        b[2] = 5;
    }
    assert_eq!(&*rw.read(), &[4, 2, 5]);
    let boxed: Box<RwLock<[u8]>> = Box::new(RwLock::new([7u8; 4]));
    assert_eq!(boxed.read().len(), 4);
}

#[test]
fn into_inner_and_get_mut_need_no_lock_and_drop_once() {
    struct Foo(Arc<AtomicUsize>);
    impl Drop for Foo {
        fn drop(&mut self) {
            self.0.fetch_add(1, Relaxed);
        }
    }
    let num_drops = Arc::new(AtomicUsize::new(0));
    let mut m = RwLock::new(Foo(Arc::clone(&num_drops)));
    m.get_mut().0.fetch_add(0, Relaxed);
    assert_eq!(num_drops.load(Relaxed), 0);
    let inner = m.into_inner();
    assert_eq!(num_drops.load(Relaxed), 0);
    drop(inner);
    assert_eq!(num_drops.load(Relaxed), 1);
    let m = RwLock::new(Foo(Arc::clone(&num_drops)));
    drop(m);
    assert_eq!(num_drops.load(Relaxed), 2);
}

#[test]
fn try_write_fails_while_anyone_holds_it() {
    let l = RwLock::new(0);
    let r = l.read();
    assert!(l.try_write().is_none());
    drop(r);
    let w = l.write();
    assert!(l.try_write().is_none());
    assert!(l.try_read().is_none());
    drop(w);
    assert!(l.try_write().is_some());
}

#[test]
fn try_read_succeeds_from_any_thread_while_only_readers_hold_it() {
    let l = RwLock::new(5);
    let r = l.read();
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| assert_eq!(*l.try_read().expect("only readers inside"), 5));
        }
    });
    drop(r);
}

/// Returns once a writer has claimed `l` (it then shuts new readers out).
fn wait_for_a_writer_to_claim<T: ?Sized>(l: &RwLock<T>) {
    let start = Instant::now();
    while l.try_read().is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "writer never claimed"
        );
        thread::yield_now();
    }
}

#[test]
fn try_read_fails_while_a_writer_waits() {
    let l = RwLock::new(0);
    let r = l.read();
    thread::scope(|s| {
        let writer = s.spawn(|| *l.write() = 1);
        wait_for_a_writer_to_claim(&l);
        drop(r);
        writer.join().unwrap();
    });
    assert_eq!(*l.read(), 1);
}

#[test]
fn debug_never_blocks() {
    let l = RwLock::new(7);
    assert_eq!(format!("{l:?}"), "RwLock { data: 7, .. }");
    let r = l.read();
    assert_eq!(format!("{l:?}"), "RwLock { data: 7, .. }");
    drop(r);
    let w = l.write();
    assert_eq!(format!("{l:?}"), "RwLock { data: <locked>, .. }");
    assert_eq!(format!("{w:?}"), "7");
    drop(w);
    assert!(format!("{:?}", RawRwLock::new()).starts_with("RawRwLock"));
}

#[test]
fn default_from_and_static() {
    static S: RwLock<Vec<u8>> = RwLock::new(Vec::new());
    S.write().push(1);
    assert_eq!(*S.read(), [1]);
    let d: RwLock<u32> = RwLock::default();
    assert_eq!(*d.read(), 0);
    let f = RwLock::from(3);
    assert_eq!(*f.read(), 3);
}

#[test]
fn a_writer_gets_in_while_six_readers_keep_arriving() {
    // The scenario: 6 readers, each holding the lock ~10 ms and coming straight
    // back, overlapping so that the lock is never free of readers. A writer must still
    // get in within seconds.
    let hold = Duration::from_millis(if cfg!(miri) { 2 } else { 10 });
    let l = RwLock::new(0u32);
    let stop = AtomicBool::new(false);
    let waited = thread::scope(|s| {
        for i in 0..6u64 {
            let (l, stop) = (&l, &stop);
            s.spawn(move || {
                // Staggered so the read holds overlap.
                thread::sleep(hold / 6 * i as u32);
                while !stop.load(Relaxed) {
                    let g = l.read();
                    thread::sleep(hold);
                    drop(g);
                }
            });
        }
        thread::sleep(hold * 3);
        let start = Instant::now();
        *l.write() += 1;
        let waited = start.elapsed();
        stop.store(true, Relaxed);
        waited
    });
    assert_eq!(*l.read(), 1);
    eprintln!("writer waited {waited:?} among 6 readers holding {hold:?} each");
    if !cfg!(miri) {
        assert!(waited < Duration::from_secs(5), "writer waited {waited:?}");
    }
}

#[test]
fn readers_get_in_against_a_writer_in_a_tight_loop() {
    // The other way round: a writer that re-locks at once must not starve readers.
    let l = RwLock::new(0u64);
    let stop = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let wanted = scaled(200);
    thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Relaxed) {
                *l.write() += 1;
            }
        });
        for _ in 0..2 {
            s.spawn(|| {
                while reads.load(Relaxed) < wanted {
                    std::hint::black_box(*l.read());
                    reads.fetch_add(1, Relaxed);
                }
            });
        }
        let start = Instant::now();
        while reads.load(Relaxed) < wanted {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "readers starved: {} reads",
                reads.load(Relaxed)
            );
            thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Relaxed);
    });
}

/// From another thread, `try_lock(timeout)` fails for each timeout, never before the
/// timeout has passed.
fn times_out_never_early<T: Send + Sync + ?Sized>(
    l: &RwLock<T>,
    try_lock: fn(&RwLock<T>, Duration) -> bool,
) {
    thread::scope(|s| {
        s.spawn(|| {
            for timeout in [
                Duration::ZERO,
                Duration::from_millis(1),
                Duration::from_millis(20),
            ] {
                let start = Instant::now();
                assert!(!try_lock(l, timeout));
                assert!(start.elapsed() >= timeout);
            }
        });
    });
}

#[test]
fn try_read_for_times_out_never_early_while_written() {
    let l = RwLock::new(());
    let w = l.write();
    times_out_never_early(&l, |l, t| l.try_read_for(t).is_some());
    drop(w);
    assert!(l.try_read_for(Duration::ZERO).is_some());
    assert!(l.try_read_for(Duration::MAX).is_some());
}

#[test]
fn a_timed_out_writer_lets_the_readers_behind_it_in() {
    // A writer claims the lock while a reader is inside, so newcomers queue behind it;
    // when its timeout passes it must withdraw and let them in.
    let l = RwLock::new(0);
    let r = l.read();
    thread::scope(|s| {
        let writer = s.spawn(|| l.try_write_for(Duration::from_millis(50)).is_some());
        wait_for_a_writer_to_claim(&l);
        // Queues behind the writer, then gets in when the writer gives up.
        let queued = s.spawn(|| *l.read());
        assert!(
            !writer.join().unwrap(),
            "the writer cannot get in past our reader"
        );
        assert_eq!(queued.join().unwrap(), 0);
    });
    drop(r);
    assert!(l.try_write().is_some());
}

#[test]
fn try_write_for_times_out_never_early_and_huge_means_forever() {
    let l = RwLock::new(());
    let r = l.read();
    times_out_never_early(&l, |l, t| l.try_write_for(t).is_some());
    drop(r);
    assert!(l.try_write_for(Duration::MAX).is_some());
    assert!(l.try_write_until(Instant::now()).is_some());
}

#[test]
fn downgrade_keeps_writers_out_and_lets_readers_in() {
    let l = RwLock::new(1);
    let mut w = l.write();
    *w = 2;
    let r = RwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 2);
    thread::scope(|s| {
        s.spawn(|| assert_eq!(*l.read(), 2));
        s.spawn(|| assert!(l.try_write().is_none()));
    });
    drop(r);
    *l.write() = 3;
    assert_eq!(*l.read(), 3);
}

#[test]
fn stress_with_timed_calls_and_downgrades() {
    // Every kind of call at once; the pair stays consistent and the lock ends free.
    let l = RwLock::new((0u64, 0u64));
    let n = scaled(5_000);
    thread::scope(|s| {
        for t in 0..6 {
            let l = &l;
            s.spawn(move || {
                for i in 0..n {
                    match (t + i) % 6 {
                        0 => {
                            let mut g = l.write();
                            g.0 += 1;
                            g.1 += 1;
                        }
                        1 => {
                            if let Some(mut g) = l.try_write_for(Duration::from_micros(20)) {
                                g.0 += 1;
                                g.1 += 1;
                            }
                        }
                        2 => {
                            let mut g = l.write();
                            g.0 += 1;
                            g.1 += 1;
                            let g = RwLockWriteGuard::downgrade(g);
                            assert_eq!(g.0, g.1);
                        }
                        3 => {
                            if let Some(g) = l.try_read_for(Duration::from_micros(20)) {
                                assert_eq!(g.0, g.1);
                            }
                        }
                        _ => {
                            let g = l.read();
                            assert_eq!(g.0, g.1);
                        }
                    }
                }
            });
        }
    });
    assert!(!l.is_locked());
    let g = l.read();
    assert_eq!(g.0, g.1);
}

#[cfg(feature = "lock_api")]
#[test]
fn lock_api_rwlock_works_on_the_raw_lock() {
    use lock_api::{RawRwLock as _, RawRwLockTimed};
    let l: lock_api::RwLock<RawRwLock, u32> = lock_api::RwLock::new(1);
    *l.write() += 1;
    {
        let (a, b) = (l.read(), l.read());
        assert_eq!(*a + *b, 4);
        assert!(l.try_write().is_none());
        assert!(l.is_locked());
        assert!(!l.is_locked_exclusive());
    }
    let w = l.write();
    assert!(l.is_locked_exclusive());
    let r = lock_api::RwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 2);
    drop(r);
    let raw = RawRwLock::INIT;
    let ms = Duration::from_millis(1);
    assert!(RawRwLockTimed::try_lock_exclusive_for(&raw, ms));
    assert!(!RawRwLockTimed::try_lock_shared_for(&raw, ms));
    // SAFETY: locked just above, by this thread.
    unsafe { lock_api::RawRwLock::unlock_exclusive(&raw) };
    assert!(RawRwLockTimed::try_lock_shared_until(
        &raw,
        Instant::now() + ms
    ));
    // SAFETY: read-locked just above, by this thread.
    unsafe { lock_api::RawRwLock::unlock_shared(&raw) };
}

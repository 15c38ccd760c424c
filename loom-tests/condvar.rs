//! loom models of `fencepost::Condvar` with `fencepost::Mutex`: no lost wake-up with
//! the notify inside or after the critical section, `notify_all` with two waiters (who
//! may then sleep on the mutex), timed waits, two mutexes, and a broken twin that loom
//! must reject.
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --test loom_condvar`. The flag lives in the mutex's loom `UnsafeCell`, so a read not
//! ordered after the write is a loom causality error; a waiter nobody wakes is a loom
//! deadlock (the loom futex really sleeps).
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::{Condvar, Mutex};
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

/// A flag, the mutex that guards it and the condvar to wait for it on.
type Shared = Arc<(Mutex<bool>, Condvar)>;

fn shared() -> Shared {
    Arc::new((Mutex::new(false), Condvar::new()))
}

/// Sets the flag and notifies: inside the critical section (`notify_inside`) or just
/// after it; `all` picks `notify_all`.
fn set_and_notify(s: &Shared, notify_inside: bool, all: bool) {
    let (m, cv) = &**s;
    let mut g = m.lock();
    *g = true;
    let notify = || {
        if all {
            cv.notify_all();
        } else {
            cv.notify_one();
        }
    };
    if notify_inside {
        notify();
        drop(g);
    } else {
        drop(g);
        notify();
    }
}

/// Waits until the flag is set; returns whether it saw it (always, or loom fails).
fn wait_for_flag(s: &Shared) -> bool {
    let (m, cv) = &**s;
    let g = cv.wait_while(m.lock(), |set| !*set);
    *g
}

fn one_waiter(notify_inside: bool) {
    loom::model(move || {
        let s = shared();
        let waiter = {
            let s = Arc::clone(&s);
            thread::spawn(move || wait_for_flag(&s))
        };
        set_and_notify(&s, notify_inside, false);
        assert!(waiter.join().unwrap());
    });
}

#[test]
fn notify_one_inside_the_critical_section_wakes_the_waiter() {
    one_waiter(true);
}

#[test]
fn notify_one_after_the_critical_section_wakes_the_waiter() {
    one_waiter(false);
}

fn two_waiters_notify_all(notify_inside: bool) {
    // Two waiters may both sleep on the condvar word: `notify_all` wakes both, and the
    // one that finds the mutex taken sleeps on the mutex word, where only an unlock
    // wakes it. Whatever the interleaving, both must get through.
    loom::model(move || {
        let s = shared();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let s = Arc::clone(&s);
                thread::spawn(move || wait_for_flag(&s))
            })
            .collect();
        set_and_notify(&s, notify_inside, true);
        for w in waiters {
            assert!(w.join().unwrap());
        }
    });
}

#[test]
fn notify_all_inside_the_critical_section_releases_both_waiters() {
    two_waiters_notify_all(true);
}

#[test]
fn notify_all_after_the_critical_section_releases_both_waiters() {
    two_waiters_notify_all(false);
}

#[test]
fn a_woken_waiter_gets_the_mutex_after_the_notifier_releases_it() {
    // One waiter sleeps; the notifier holds the lock across `notify_all` and a further
    // critical section, so the woken waiter must wait (and may sleep) for that unlock.
    loom::model(|| {
        let s = shared();
        let waiter = {
            let s = Arc::clone(&s);
            thread::spawn(move || wait_for_flag(&s))
        };
        let (m, cv) = &*s;
        let mut g = m.lock();
        *g = true;
        cv.notify_all();
        thread::yield_now();
        drop(g);
        // The mutex is still usable by everyone afterwards.
        drop(m.lock());
        assert!(waiter.join().unwrap());
    });
}

#[test]
fn a_timed_waiter_returns_timed_out_or_with_the_flag() {
    // Under loom a timed futex wait times out at once: the waiter either sees the flag
    // or reports a timeout with the flag unset, and the notifier never blocks.
    loom::model(|| {
        let s = shared();
        let waiter = {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                let (m, cv) = &*s;
                let (g, r) = cv.wait_timeout_while(m.lock(), Duration::from_secs(1), |set| !*set);
                assert_eq!(r.timed_out(), !*g);
            })
        };
        set_and_notify(&s, true, true);
        waiter.join().unwrap();
    });
}

#[test]
fn waiters_of_two_mutexes_are_both_released() {
    // One condvar, a waiter on each of two mutexes: `notify_all` must release both.
    loom::model(|| {
        let cv = Arc::new(Condvar::new());
        let flags: Vec<_> = (0..2).map(|_| Arc::new(Mutex::new(false))).collect();
        let waiters: Vec<_> = flags
            .iter()
            .map(|m| {
                let (m, cv) = (Arc::clone(m), Arc::clone(&cv));
                thread::spawn(move || *cv.wait_while(m.lock(), |set| !*set))
            })
            .collect();
        for m in &flags {
            *m.lock() = true;
        }
        cv.notify_all();
        for w in waiters {
            assert!(w.join().unwrap());
        }
    });
}

/// The broken twin: a condvar on the crate's loom futex and `RawMutex`, whose wait
/// unlocks the mutex *before* it reads the sequence word (registers).
mod twin {
    use super::lab;
    use fencepost::RawMutex;
    use loom::sync::atomic::Ordering::Relaxed;
    // std's `Arc`: loom's panics when dropped during the unwinding that follows loom's
    // deadlock report, which aborts the process instead of failing the test.
    use std::sync::Arc;

    /// The condition variable's protocol in miniature: a flag guarded by the crate's
    /// mutex, and the sequence word a waiter sleeps on.
    struct Twin {
        mutex: RawMutex,
        flag: lab::Cell<bool>,
        seq: lab::AtomicU32,
        register_first: bool,
    }

    // SAFETY: `flag` is only touched with `mutex` held (loom checks the ordering).
    unsafe impl Sync for Twin {}

    impl Twin {
        fn lock(&self) {
            self.mutex.lock();
            lab::step("lock", "mutex");
        }

        fn unlock(&self) {
            lab::step("unlock", "mutex");
            // SAFETY: every caller locked `mutex` on this thread before.
            unsafe { self.mutex.unlock() };
        }

        /// Waits (with `mutex` held) until the flag is set.
        fn wait_for_flag(&self) {
            self.lock();
            // SAFETY (both reads): `mutex` is held.
            while !unsafe { self.flag.read() } {
                let seq;
                if self.register_first {
                    seq = self.seq.load(Relaxed);
                    self.unlock();
                } else {
                    self.unlock();
                    seq = self.seq.load(Relaxed);
                }
                lab::futex_wait(&self.seq, seq);
                self.lock();
            }
            self.unlock();
        }

        fn set_and_notify(&self) {
            self.lock();
            // SAFETY: `mutex` is held.
            unsafe { self.flag.write(true) };
            self.unlock();
            self.seq.fetch_add(1, Relaxed);
            lab::futex_wake_one(&self.seq);
        }
    }

    fn run(register_first: bool) {
        lab::model("notifier", move || {
            let twin = Arc::new(Twin {
                mutex: RawMutex::new(),
                flag: lab::Cell::new("flag", false),
                seq: lab::AtomicU32::new("seq", 0),
                register_first,
            });
            let waiter = {
                let twin = Arc::clone(&twin);
                lab::spawn("waiter", move || twin.wait_for_flag())
            };
            twin.set_and_notify();
            waiter.join().unwrap();
        });
    }

    #[test]
    fn twin_condvar_that_registers_before_unlocking_never_loses_the_wake_up() {
        run(true);
    }

    /// Unlock, then read the sequence word: the notifier can set the flag and bump
    /// the word in that gap, the waiter then reads the bumped value and sleeps on it
    /// with nobody left to wake it. A lost wake-up on every architecture (the window
    /// is a preemption, not a reordering); loom reports the deadlock.
    #[test]
    #[should_panic]
    fn broken_twin_condvar_wait_that_unlocks_before_registering_loses_the_wake_up() {
        run(false);
    }
}

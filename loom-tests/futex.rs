//! loom models of the futex layer's loom model: a waiter really sleeps, so a wake-up
//! that never comes is a loom deadlock, and a correct wait/wake pair never deadlocks.
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::__loom_futex::{wait, wake_n, wake_one};
use loom::sync::Arc;
use loom::sync::atomic::AtomicU32;
use loom::sync::atomic::Ordering::Relaxed;
use loom::thread;

/// The waiter sleeps only while the word is 0; the waker sets it to 1 and then wakes.
/// In every interleaving the waiter returns: `wait` re-checks the word under the
/// futex's lock, so a wake that lands between its check and its sleep is not lost.
#[test]
fn wait_returns_after_the_word_changes_and_a_wake() {
    loom::model(|| {
        let word = Arc::new(AtomicU32::new(0));
        let waker = {
            let word = Arc::clone(&word);
            thread::spawn(move || {
                word.store(1, Relaxed);
                wake_one(&word);
            })
        };
        while word.load(Relaxed) == 0 {
            wait(&word, 0);
        }
        waker.join().unwrap();
    });
}

/// A wait on a word that already differs returns at once, and a wake with nobody
/// asleep reports that it woke no one.
#[test]
fn mismatch_returns_at_once_and_a_lonely_wake_wakes_nobody() {
    loom::model(|| {
        let word = AtomicU32::new(1);
        wait(&word, 0);
        assert!(!wake_one(&word));
    });
}

/// A twin of a waker: it changes the word, then wakes (`wake`) or forgets to.
fn twin_change_then_wake(wake: bool) {
    // The sleeper is a spawned thread, and the word is shared through std's `Arc`
    // (whose drop does not call into loom), so that loom's deadlock panic unwinds
    // cleanly instead of aborting in a destructor.
    lab::model("waker", move || {
        let word = std::sync::Arc::new(lab::AtomicU32::new("word", 0));
        let waiter = {
            let word = std::sync::Arc::clone(&word);
            lab::spawn("waiter", move || {
                while word.load(Relaxed) == 0 {
                    lab::futex_wait(&word, 0);
                }
            })
        };
        word.store(1, Relaxed);
        if wake {
            lab::futex_wake_one(&word);
        }
        waiter.join().unwrap();
    });
}

#[test]
fn twin_change_then_wake_never_strands_the_waiter() {
    twin_change_then_wake(true);
}

/// Broken twin: the waker changes the word but forgets to wake. The waiter sleeps
/// forever in the interleavings where it checked the word before the store; loom
/// reports the deadlock. On real hardware this is the classic lost wake-up: a thread
/// asleep in the kernel with nobody left to call `futex_wake`.
#[test]
#[should_panic]
fn broken_twin_change_without_wake_deadlocks() {
    twin_change_then_wake(false);
}

/// Two sleepers, one `wake_n(2)` after the store: both return in every interleaving
/// (a sleeper that had not yet gone to sleep sees the new value instead).
#[test]
fn wake_n_two_releases_two_sleepers() {
    loom::model(|| {
        let word = Arc::new(AtomicU32::new(0));
        let sleepers: Vec<_> = (0..2)
            .map(|_| {
                let word = Arc::clone(&word);
                thread::spawn(move || {
                    while word.load(Relaxed) == 0 {
                        wait(&word, 0);
                    }
                })
            })
            .collect();
        word.store(1, Relaxed);
        assert!(wake_n(&word, 2) <= 2, "woke more than asked");
        for s in sleepers {
            s.join().unwrap();
        }
    });
}

/// A twin of a releaser of two sleepers: it changes the word, then `wake_n(n)`.
fn twin_wake_n(n: u32) {
    lab::model("waker", move || {
        let word = std::sync::Arc::new(lab::AtomicU32::new("word", 0));
        let sleepers: Vec<_> = ["sleeper 1", "sleeper 2"]
            .into_iter()
            .map(|name| {
                let word = std::sync::Arc::clone(&word);
                lab::spawn(name, move || {
                    while word.load(Relaxed) == 0 {
                        lab::futex_wait(&word, 0);
                    }
                })
            })
            .collect();
        word.store(1, Relaxed);
        lab::futex_wake_n(&word, n);
        for s in sleepers {
            s.join().unwrap();
        }
    });
}

#[test]
fn twin_wake_n_as_many_as_sleep_releases_both() {
    twin_wake_n(2);
}

/// Broken twin: two sleepers but `wake_n(1)`. In the interleavings where both sleep
/// before the store, one is never woken and loom reports the deadlock: `wake_n` wakes
/// at most `n`, so a caller that releases k waiters must ask for k (the semaphore's
/// `add_permits` asks for as many as it can satisfy).
#[test]
#[should_panic]
fn broken_twin_wake_n_too_few_deadlocks() {
    twin_wake_n(1);
}

//! Portable fallback: waiters sleep on one of 64 `Condvar`s chosen by the word's
//! address. A bucket is shared by unrelated words, so a wake notifies the whole bucket
//! (spurious wake-ups are allowed by the contract); `wait` re-checks the word under the
//! bucket's lock, so a wake that lands between the check and the sleep is never lost.

use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::Relaxed;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

const BUCKETS: usize = 64;

struct Bucket {
    lock: Mutex<()>,
    cond: Condvar,
}

static TABLE: [Bucket; BUCKETS] = [const {
    Bucket {
        lock: Mutex::new(()),
        cond: Condvar::new(),
    }
}; BUCKETS];

fn bucket(word: &AtomicU32) -> &'static Bucket {
    // Words are 4-byte aligned; mix the address so neighbours land apart.
    let addr = word as *const AtomicU32 as usize;
    let hash = (addr >> 2).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize);
    &TABLE[hash >> (usize::BITS - BUCKETS.trailing_zeros())]
}

pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let b = bucket(word);
    let guard = b.lock.lock().unwrap_or_else(PoisonError::into_inner);
    // A waker changes the word, then takes this lock to notify: checking under the lock
    // means its notify cannot fall between our check and our sleep.
    if word.load(Relaxed) != expected {
        return true;
    }
    match deadline {
        None => {
            drop(b.cond.wait(guard).unwrap_or_else(PoisonError::into_inner));
            true
        }
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            let (_guard, result) = b
                .cond
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner);
            !result.timed_out()
        }
    }
}

pub(super) fn wake_one(word: &AtomicU32) -> bool {
    wake_all(word);
    true
}

#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    // The bucket is shared: waking it all is a spurious wake-up for the others.
    wake_all(word);
    n
}

pub(super) fn wake_all(word: &AtomicU32) {
    let b = bucket(word);
    drop(b.lock.lock().unwrap_or_else(PoisonError::into_inner));
    b.cond.notify_all();
}

//! The futex under loom: a waiter re-checks the word under a loom `Mutex` and then
//! really sleeps on a loom `Condvar` of its own, so a wake-up that never comes is
//! reported by loom as a deadlock.
//!
//! Sleepers are kept in one FIFO list, each with the address of the word it sleeps on,
//! as the kernel keeps them: a wake takes the oldest sleepers of that address out of
//! the list and notifies each one's own condvar, so `wake_one` and `wake_n` say exactly
//! how many they woke.
//!
//! loom has no clock: a timed wait re-checks the word and then times out at once. That
//! explores every "the timeout fired" interleaving; "woken before the timeout" is
//! covered by the untimed waits.
//!
//! A limit of the model: the loom `Mutex` that a waker and a woken thread both take
//! creates a happens-before edge between them that a real futex does not (the contract
//! in `futex/mod.rs` promises no ordering). A missing Release/Acquire pair is therefore
//! only caught in the interleavings where the waiter did *not* sleep, which is why
//! each primitive's loom tests include runs where the wait is skipped (the word already
//! changed) as well as runs where it sleeps; `scripts/ordering-mutants` confirms that
//! every ordering is still caught that way.

use loom::sync::atomic::AtomicU32;
use loom::sync::atomic::Ordering::{Relaxed, SeqCst};
use loom::sync::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Duration;

/// One thread asleep in `wait`.
struct Sleeper {
    /// Distinguishes sleepers, so a woken one finds itself gone from the list.
    id: usize,
    /// The address of the word it sleeps on.
    key: usize,
    /// Its own condvar, notified only when it is woken. Held in std's `Arc`, whose
    /// drop does not call into loom, so that a thread unwinding out of a wait (loom's
    /// deadlock report) does not abort.
    cond: Arc<Condvar>,
}

#[derive(Default)]
struct Sleepers {
    next_id: usize,
    /// Oldest first; a woken sleeper is removed by its waker.
    list: Vec<Sleeper>,
}

impl Sleepers {
    /// Removes and notifies up to `n` of the oldest sleepers on `key`; how many.
    fn wake(&mut self, key: usize, n: u32) -> u32 {
        let mut woken = 0;
        while woken < n {
            let Some(i) = self.list.iter().position(|s| s.key == key) else {
                break;
            };
            self.list.remove(i).cond.notify_one();
            woken += 1;
        }
        woken
    }
}

loom::lazy_static! {
    static ref TABLE: Mutex<Sleepers> = Mutex::new(Sleepers::default());
}

fn key(word: &AtomicU32) -> usize {
    word as *const AtomicU32 as usize
}

pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let mut table = TABLE.lock().unwrap();
    if word.load(Relaxed) != expected {
        return true;
    }
    if timeout.is_some() {
        return false;
    }
    let id = table.next_id;
    table.next_id += 1;
    let cond = Arc::new(Condvar::new());
    table.list.push(Sleeper {
        id,
        key: key(word),
        cond: Arc::clone(&cond),
    });
    // A waker removes us from the list before it notifies; anything else is spurious.
    while table.list.iter().any(|s| s.id == id) {
        table = cond.wait(table).unwrap();
    }
    true
}

pub(super) fn wake_one(word: &AtomicU32) -> bool {
    TABLE.lock().unwrap().wake(key(word), 1) == 1
}

pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    TABLE.lock().unwrap().wake(key(word), n)
}

pub(super) fn wake_all(word: &AtomicU32) {
    TABLE.lock().unwrap().wake(key(word), u32::MAX);
}

pub(super) fn online_cpus() -> usize {
    usize::MAX
}

pub(super) fn light_fence() {
    // Ordering: loom models the membarrier/compiler-fence pair as what it guarantees,
    // a SeqCst fence on each side (store→load ordering needs nothing weaker).
    loom::sync::atomic::fence(SeqCst);
}

pub(super) fn fast_light_fence_ok() -> bool {
    true
}

pub(super) fn fast_light_fence() {
    light_fence();
}

pub(super) fn heavy_fence() {
    // Ordering: see `light_fence`.
    loom::sync::atomic::fence(SeqCst);
}

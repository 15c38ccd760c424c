//! The futex under loom: a waiter re-checks the word under a loom `Mutex` and then
//! really sleeps on a loom `Condvar` (one per word address), so a wake-up that never
//! comes is reported by loom as a deadlock.
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
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The condvars are held in std's `Arc`, whose drop does not call into loom, so that a
/// thread unwinding out of a wait (loom's deadlock report) does not abort.
#[derive(Default)]
struct Waiters {
    /// Per word address: how many sleep there, and the condvar they sleep on.
    words: HashMap<usize, (usize, Arc<Condvar>)>,
}

loom::lazy_static! {
    static ref TABLE: Mutex<Waiters> = Mutex::new(Waiters::default());
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
    let cond = {
        let entry = table
            .words
            .entry(key(word))
            .or_insert_with(|| (0, Arc::new(Condvar::new())));
        entry.0 += 1;
        Arc::clone(&entry.1)
    };
    table = cond.wait(table).unwrap();
    if let Some(entry) = table.words.get_mut(&key(word)) {
        entry.0 -= 1;
    }
    true
}

pub(super) fn wake_one(word: &AtomicU32) -> bool {
    let table = TABLE.lock().unwrap();
    match table.words.get(&key(word)) {
        Some((n, cond)) if *n > 0 => {
            cond.notify_one();
            true
        }
        _ => false,
    }
}

pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    let table = TABLE.lock().unwrap();
    match table.words.get(&key(word)) {
        Some((sleeping, cond)) => {
            // loom's `notify_one` pops a distinct waiter each time.
            let woken = n.min(u32::try_from(*sleeping).unwrap_or(u32::MAX));
            for _ in 0..woken {
                cond.notify_one();
            }
            woken
        }
        None => 0,
    }
}

pub(super) fn online_cpus() -> usize {
    usize::MAX
}

pub(super) fn wake_all(word: &AtomicU32) {
    let table = TABLE.lock().unwrap();
    if let Some((_, cond)) = table.words.get(&key(word)) {
        cond.notify_all();
    }
}

pub(super) fn init_asymmetric_fences() {}

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

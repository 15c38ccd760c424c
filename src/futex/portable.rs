//! Off Linux: the CPU count from std, and both halves of the asymmetric fence as
//! `fence(SeqCst)` (no `membarrier` to make one side cheap).

use core::sync::atomic::Ordering::Relaxed;
use core::sync::atomic::{AtomicU32, Ordering, fence};
use std::time::{Duration, Instant};

pub(super) fn online_cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[inline(always)]
pub(super) fn light_fence() {
    // Ordering: without membarrier, store→load (Dekker) needs a SeqCst fence on both
    // sides; Acquire/Release never orders a store before a later load.
    // mutants: skip (not built under loom; futex/loom.rs models this pair, caught there)
    fence(Ordering::SeqCst);
}

pub(super) fn fast_light_fence_ok() -> bool {
    true
}

#[inline(always)]
pub(super) fn fast_light_fence() {
    light_fence();
}

pub(super) fn heavy_fence() {
    // Ordering: without membarrier, store→load (Dekker) needs a SeqCst fence on both
    // sides; Acquire/Release never orders a store before a later load.
    // mutants: skip (not built under loom; futex/loom.rs models this pair, caught there)
    fence(Ordering::SeqCst);
}

/// A wait built on an OS call with a relative timeout that may return early: re-checks
/// the word, then calls `sleep_once(left)` (`None`: no timeout) until the word differs,
/// `sleep_once` returns `true` (woken, or a spurious return), or the deadline passes.
/// `sleep_once` returns `false` when it was interrupted or its round timed out, and
/// only then is the deadline consulted, so a timeout is reported only once it has
/// really passed.
#[cfg_attr(
    not(any(windows, target_vendor = "apple", target_os = "openbsd")),
    allow(dead_code)
)]
pub(super) fn wait_in_rounds(
    word: &AtomicU32,
    expected: u32,
    timeout: Option<Duration>,
    mut sleep_once: impl FnMut(Option<Duration>) -> bool,
) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        if word.load(Relaxed) != expected {
            return true;
        }
        let left = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return false,
            },
        };
        if sleep_once(left) {
            return true;
        }
    }
}

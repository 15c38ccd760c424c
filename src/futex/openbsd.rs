//! OpenBSD: `futex(FUTEX_WAIT / FUTEX_WAKE | FUTEX_PRIVATE_FLAG)`, with a relative
//! timeout recomputed from the deadline on every round. The wake says how many it woke.

use super::portable::wait_in_rounds;
use super::unix::errno;
use core::sync::atomic::AtomicU32;
use std::time::Duration;

pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    wait_in_rounds(word, expected, timeout, |left| {
        let left = left.map(|left| libc::timespec {
            tv_sec: libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
        });
        let left_ptr = left
            .as_ref()
            .map_or(core::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word.as_ptr()` is a live, aligned u32 for the whole call (the caller
        // borrows it); `left_ptr` is null or points to `left`, alive during the call.
        let r = unsafe {
            libc::futex(
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected as libc::c_int,
                left_ptr,
                core::ptr::null_mut(),
            )
        };
        // Interrupted, or a round timed out: go round again. Otherwise woken, the word
        // differed (EAGAIN), or a spurious return.
        r == 0 || !matches!(errno(), libc::EINTR | libc::ETIMEDOUT)
    })
}

/// Wakes up to `n` sleepers; how many it woke.
fn wake(word: &AtomicU32, n: u32) -> u32 {
    // SAFETY: the address is only a key, of a word borrowed for the call.
    let r = unsafe {
        libc::futex(
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::try_from(n).unwrap_or(i32::MAX),
            core::ptr::null(),
            core::ptr::null_mut(),
        )
    };
    u32::try_from(r).unwrap_or(0)
}

pub(super) fn wake_one(word: &AtomicU32) -> bool {
    wake(word, 1) > 0
}

pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    wake(word, n)
}

pub(super) fn wake_all(word: &AtomicU32) {
    wake(word, u32::MAX);
}

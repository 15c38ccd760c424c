//! FreeBSD: `_umtx_op(UMTX_OP_WAIT_UINT_PRIVATE / UMTX_OP_WAKE_PRIVATE)`, FreeBSD's
//! futex, with an absolute `CLOCK_MONOTONIC` deadline (`UMTX_ABSTIME`) as on Linux.
//! The wake does not say whether it woke anyone.

use super::unix::{deadline_after, errno};
use core::ffi::c_void;
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    // An overflowing deadline is as good as none.
    let deadline = timeout
        .and_then(deadline_after)
        .map(|timeout| libc::_umtx_time {
            _timeout: timeout,
            _flags: libc::UMTX_ABSTIME,
            _clockid: libc::CLOCK_MONOTONIC as u32,
        });
    // With a timeout, `uaddr` carries the size of the `_umtx_time` that `uaddr2`
    // points to (the kernel's convention for this operation).
    let (size, time) = match &deadline {
        Some(t) => (
            size_of::<libc::_umtx_time>(),
            t as *const libc::_umtx_time as *mut c_void,
        ),
        None => (0, core::ptr::null_mut()),
    };
    loop {
        if word.load(Relaxed) != expected {
            return true;
        }
        // SAFETY: `word.as_ptr()` is a live, aligned u32 for the whole call (the caller
        // borrows it); `time` is null or points to `deadline`, alive until we return.
        let r = unsafe {
            libc::_umtx_op(
                word.as_ptr().cast(),
                libc::UMTX_OP_WAIT_UINT_PRIVATE,
                libc::c_ulong::from(expected),
                size as *mut c_void,
                time,
            )
        };
        if r == 0 {
            return true;
        }
        match errno() {
            libc::EINTR => continue,
            libc::ETIMEDOUT => return false,
            _ => return true,
        }
    }
}

/// Wakes up to `n` sleepers.
fn wake(word: &AtomicU32, n: libc::c_ulong) {
    // SAFETY: the address is only a key, of a word borrowed for the call; the wake
    // reads no other argument.
    unsafe {
        libc::_umtx_op(
            word.as_ptr().cast(),
            libc::UMTX_OP_WAKE_PRIVATE,
            n,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        );
    }
}

pub(super) fn wake_one(word: &AtomicU32) -> bool {
    wake(word, 1);
    true
}

pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    wake(word, libc::c_ulong::from(n));
    n
}

pub(super) fn wake_all(word: &AtomicU32) {
    wake(word, libc::c_ulong::from(i32::MAX as u32));
}

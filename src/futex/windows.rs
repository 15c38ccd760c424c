//! Windows 8+: `WaitOnAddress` and `WakeByAddress{Single,All}` (kernel32 / the
//! `api-ms-win-core-synch-l1-2-0` API set, through `windows-sys`).
//!
//! `WaitOnAddress` takes a relative timeout in milliseconds and may return early or
//! spuriously, so a timed wait recomputes what is left of its deadline on every round
//! and reports a timeout only once the deadline has really passed. The wakes do not
//! say whether they woke anyone.

use super::portable::wait_in_rounds;
use core::sync::atomic::AtomicU32;
use std::time::Duration;
use windows_sys::Win32::Foundation::{ERROR_TIMEOUT, GetLastError};
use windows_sys::Win32::System::Threading::{
    INFINITE, WaitOnAddress, WakeByAddressAll, WakeByAddressSingle,
};

pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    wait_in_rounds(word, expected, timeout, |left| {
        // Rounded up, so a round never ends before the deadline; below INFINITE,
        // which would mean no timeout at all.
        let ms = left.map_or(INFINITE, |left| {
            u32::try_from(left.as_nanos().div_ceil(1_000_000))
                .unwrap_or(INFINITE - 1)
                .min(INFINITE - 1)
        });
        // SAFETY: `word.as_ptr()` is a live, aligned 4-byte location for the whole call
        // (the caller borrows it) and `expected` is a 4-byte local it is compared with.
        let woken = unsafe {
            WaitOnAddress(
                word.as_ptr().cast(),
                (&raw const expected).cast(),
                size_of::<u32>(),
                ms,
            )
        };
        // SAFETY: GetLastError has no preconditions.
        // A round that timed out goes round again; anything else (woken, or returned
        // for another reason: a spurious wake-up is allowed) returns.
        woken != 0 || unsafe { GetLastError() } != ERROR_TIMEOUT
    })
}

pub(super) fn wake_one(word: &AtomicU32) -> bool {
    // SAFETY: the address is only a key; `word` is borrowed for the call.
    unsafe { WakeByAddressSingle(word.as_ptr().cast()) };
    true
}

pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    for _ in 0..n {
        wake_one(word);
    }
    n
}

pub(super) fn wake_all(word: &AtomicU32) {
    // SAFETY: as in `wake_one`.
    unsafe { WakeByAddressAll(word.as_ptr().cast()) };
}

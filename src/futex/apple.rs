//! Apple platforms: `os_sync_wait_on_address` (macOS 14.4, iOS 17.4 and later), looked
//! up at run time so that the binary still starts on older systems, which fall back
//! to the private but long-stable `__ulock_wait`/`__ulock_wake` (macOS 10.12+, what
//! libc++'s `std::atomic::wait` used before `os_sync` existed).
//!
//! Both take a relative timeout (nanoseconds for `os_sync`, microseconds for
//! `__ulock`), so a timed wait recomputes what is left of its deadline on every round
//! and reports a timeout only once the deadline has really passed. Both wakes say
//! whether they woke anyone (`ENOENT` when nobody waits).

use super::portable::wait_in_rounds;
use super::unix::errno;
use core::ffi::{c_int, c_void};
use core::sync::atomic::AtomicU32;
use std::sync::OnceLock;
use std::time::Duration;

type WaitFn = unsafe extern "C" fn(*mut c_void, u64, libc::size_t, u32) -> c_int;
type WaitTimeoutFn =
    unsafe extern "C" fn(*mut c_void, u64, libc::size_t, u32, libc::os_clockid_t, u64) -> c_int;
type WakeFn = unsafe extern "C" fn(*mut c_void, libc::size_t, u32) -> c_int;

/// The `os_sync` entry points, if this system has them.
struct OsSync {
    wait: WaitFn,
    wait_with_timeout: WaitTimeoutFn,
    wake_any: WakeFn,
    wake_all: WakeFn,
}

fn os_sync() -> Option<&'static OsSync> {
    static OS_SYNC: OnceLock<Option<OsSync>> = OnceLock::new();
    OS_SYNC
        .get_or_init(|| {
            /// The address of `name` (NUL-terminated) in the loaded images, or null.
            fn sym(name: &[u8]) -> *mut c_void {
                // SAFETY: `name` is NUL-terminated (every caller passes a literal
                // ending in `\0`); RTLD_DEFAULT searches the images already loaded.
                unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr().cast()) }
            }
            let wait = sym(b"os_sync_wait_on_address\0");
            let wait_with_timeout = sym(b"os_sync_wait_on_address_with_timeout\0");
            let wake_any = sym(b"os_sync_wake_by_address_any\0");
            let wake_all = sym(b"os_sync_wake_by_address_all\0");
            if [wait, wait_with_timeout, wake_any, wake_all].contains(&core::ptr::null_mut()) {
                return None;
            }
            // SAFETY: each symbol is the libSystem function of that name, whose C
            // signature (`os/os_sync_wait_on_address.h`) the matching type spells out.
            unsafe {
                Some(OsSync {
                    wait: core::mem::transmute::<*mut c_void, WaitFn>(wait),
                    wait_with_timeout: core::mem::transmute::<*mut c_void, WaitTimeoutFn>(
                        wait_with_timeout,
                    ),
                    wake_any: core::mem::transmute::<*mut c_void, WakeFn>(wake_any),
                    wake_all: core::mem::transmute::<*mut c_void, WakeFn>(wake_all),
                })
            }
        })
        .as_ref()
}

// `sys/ulock.h` (xnu): not in the SDK headers, exported by libSystem since 10.12.
const UL_COMPARE_AND_WAIT: u32 = 1;
const ULF_WAKE_ALL: u32 = 0x0000_0100;
/// Return `-errno` instead of setting `errno`.
const ULF_NO_ERRNO: u32 = 0x0100_0000;

unsafe extern "C" {
    fn __ulock_wait(operation: u32, addr: *mut c_void, value: u64, timeout_us: u32) -> c_int;
    fn __ulock_wake(operation: u32, addr: *mut c_void, wake_value: u64) -> c_int;
}

pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let addr = word.as_ptr().cast::<c_void>();
    wait_in_rounds(word, expected, timeout, |left| {
        let err = match os_sync() {
            Some(f) => {
                // SAFETY: `addr` is a live, aligned 4-byte word for the whole call (the
                // caller borrows it); the size says 4 bytes; no flags.
                let r = unsafe {
                    match left {
                        None => (f.wait)(addr, u64::from(expected), 4, 0),
                        Some(left) => (f.wait_with_timeout)(
                            addr,
                            u64::from(expected),
                            4,
                            0,
                            libc::OS_CLOCK_MACH_ABSOLUTE_TIME,
                            u64::try_from(left.as_nanos()).unwrap_or(u64::MAX),
                        ),
                    }
                };
                if r >= 0 { 0 } else { errno() }
            }
            None => {
                // 0 means no timeout, so a timed round waits at least 1 µs; rounded up,
                // so a round never ends before the deadline.
                let us = left.map_or(0, |left| {
                    u32::try_from(left.as_nanos().div_ceil(1_000))
                        .unwrap_or(u32::MAX)
                        .max(1)
                });
                // SAFETY: as above; `__ulock_wait` compares the 4-byte word at `addr`
                // with the low 32 bits of `value`.
                let r = unsafe {
                    __ulock_wait(
                        UL_COMPARE_AND_WAIT | ULF_NO_ERRNO,
                        addr,
                        u64::from(expected),
                        us,
                    )
                };
                if r >= 0 { 0 } else { -r }
            }
        };
        // Interrupted, or a round timed out: go round again. Otherwise woken, the word
        // differed, or a spurious return.
        !matches!(err, libc::EINTR | libc::ETIMEDOUT)
    })
}

/// Wakes one or all sleepers; whether anyone was woken.
fn wake(word: &AtomicU32, all: bool) -> bool {
    let addr = word.as_ptr().cast::<c_void>();
    loop {
        let err = match os_sync() {
            Some(f) => {
                let wake = if all { f.wake_all } else { f.wake_any };
                // SAFETY: the address is only a key, of a 4-byte word borrowed for the
                // call; no flags.
                if unsafe { wake(addr, 4, 0) } == 0 {
                    0
                } else {
                    errno()
                }
            }
            None => {
                let op = UL_COMPARE_AND_WAIT | ULF_NO_ERRNO | if all { ULF_WAKE_ALL } else { 0 };
                // SAFETY: as above.
                let r = unsafe { __ulock_wake(op, addr, 0) };
                if r >= 0 { 0 } else { -r }
            }
        };
        match err {
            0 => return true,
            libc::EINTR => continue,
            // ENOENT: nobody was waiting.
            _ => return false,
        }
    }
}

pub(super) fn wake_one(word: &AtomicU32) -> bool {
    wake(word, false)
}

pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    let mut woken = 0;
    while woken < n && wake(word, false) {
        woken += 1;
    }
    woken
}

pub(super) fn wake_all(word: &AtomicU32) {
    wake(word, true);
}

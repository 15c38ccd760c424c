//! Linux: the `futex` and `membarrier` system calls.

use super::unix::{deadline_after, errno};
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering, compiler_fence, fence};
use std::time::Duration;

/// Sleeps while `*word == expected`, up to an absolute monotonic deadline.
pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    // An overflowing deadline is as good as none.
    let deadline = timeout.and_then(deadline_after);
    let deadline_ptr = deadline
        .as_ref()
        .map_or(core::ptr::null(), |d| d as *const libc::timespec);
    loop {
        // No need to enter the kernel for a word that already moved on.
        if word.load(Relaxed) != expected {
            return true;
        }
        // SAFETY: `word.as_ptr()` points to a live, aligned u32 for the whole call (the
        // caller borrows it); `deadline_ptr` is null or points to `deadline`, which lives
        // to the end of this function; the unused `uaddr2` is null. FUTEX_WAIT_BITSET
        // reads the timespec as an absolute CLOCK_MONOTONIC time.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
                expected,
                deadline_ptr,
                core::ptr::null::<u32>(),
                libc::FUTEX_BITSET_MATCH_ANY,
            )
        };
        if r >= 0 {
            return true;
        }
        match errno() {
            libc::EINTR => continue,
            libc::ETIMEDOUT => return false,
            // EAGAIN: the word was not `expected` when the kernel looked.
            _ => return true,
        }
    }
}

/// Wakes one waiter; `true` if the kernel woke one.
pub(super) fn wake_one(word: &AtomicU32) -> bool {
    wake(word, 1) > 0
}

/// Wakes up to `n` waiters; how many the kernel woke.
pub(super) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    let woken = wake(word, i32::try_from(n).unwrap_or(i32::MAX));
    u32::try_from(woken).unwrap_or(0)
}

/// Online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`), read once; 0 means not read yet.
static ONLINE_CPUS: AtomicUsize = AtomicUsize::new(0);

pub(super) fn online_cpus() -> usize {
    // Relaxed: every thread computes the same value; a race only repeats the sysconf.
    match ONLINE_CPUS.load(Relaxed) {
        0 => {
            // SAFETY: sysconf has no memory-safety preconditions.
            let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
            let n = usize::try_from(n).unwrap_or(1).max(1);
            ONLINE_CPUS.store(n, Relaxed);
            n
        }
        n => n,
    }
}

/// Wakes all waiters.
pub(super) fn wake_all(word: &AtomicU32) {
    wake(word, i32::MAX);
}

fn wake(word: &AtomicU32, count: i32) -> libc::c_long {
    // SAFETY: `word.as_ptr()` is a live, aligned u32 borrowed for the call; FUTEX_WAKE
    // reads no other argument. A futex wake never dereferences memory beyond the key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            count,
        )
    }
}

// --- asymmetric fences --------------------------------------------------------------

const UNKNOWN: u8 = 0;
const EXPEDITED: u8 = 1;
/// `FenceMode::Fences`: chosen, or `membarrier` is unavailable (kernels before 4.14,
/// seccomp filters, Miri).
const FENCES: u8 = 2;

/// Whether this process uses `MEMBARRIER_CMD_PRIVATE_EXPEDITED` for the heavy half.
/// Moves once from `UNKNOWN` to its final value (the first `decide_fences` wins the
/// compare-exchange); every reader of a non-`UNKNOWN` value got it through the
/// happens-before edge that handed it the object it synchronizes (thread spawn, a
/// channel), or decided it itself, so Relaxed is enough to pick the light half; only
/// `heavy_fence`, which calls `membarrier`, loads it with Acquire (see there).
static MEMBARRIER: AtomicU8 = AtomicU8::new(UNKNOWN);

const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

fn membarrier(cmd: libc::c_int) -> bool {
    if cfg!(miri) {
        // Miri has no membarrier; both sides use fence(SeqCst) there.
        return false;
    }
    // SAFETY: membarrier takes two integer arguments (cmd, flags) and touches no memory
    // of ours; an unknown command fails with EINVAL/ENOSYS, which we treat as "absent".
    unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_uint) == 0 }
}

/// The mode already fixed: `Some(true)` for membarrier, `None` while undecided.
pub(super) fn fences_decided() -> Option<bool> {
    match MEMBARRIER.load(Relaxed) {
        UNKNOWN => None,
        state => Some(state == EXPEDITED),
    }
}

/// Fixes the mode unless it is fixed already: membarrier if `want_membarrier` and the
/// kernel registers this process, else plain fences. Returns whether membarrier is in
/// effect (the first decision, whoever made it).
pub(super) fn decide_fences(want_membarrier: bool) -> bool {
    if let Some(decided) = fences_decided() {
        return decided;
    }
    // Registering is harmless if another thread fixes `FENCES` meanwhile: the kernel
    // then only keeps a flag that nobody uses.
    let state = if want_membarrier && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) {
        EXPEDITED
    } else {
        FENCES
    };
    // mutants: skip (kernel state: no checker here sees the registration's visibility)
    // Release makes the registration above happen before any thread's
    // `membarrier(PRIVATE_EXPEDITED)`, which the kernel refuses (EPERM) from a process
    // it has not seen registered. The failure needs nothing: the value read is the
    // winner's, re-read by `heavy_fence`.
    // Ordering: Release on success pairs with the Acquire load in `heavy_fence`.
    match MEMBARRIER.compare_exchange(UNKNOWN, state, Release, Relaxed) {
        Ok(_) => state == EXPEDITED,
        Err(first) => first == EXPEDITED,
    }
}

#[inline(always)]
pub(super) fn light_fence() {
    if MEMBARRIER.load(Relaxed) == EXPEDITED {
        // The heavy side's membarrier runs a full barrier on this CPU between our
        // earlier store and later load, whichever instant it lands; the compiler must not
        // move them across each other itself.
        compiler_fence(Ordering::SeqCst);
    } else {
        seq_cst_fence();
    }
}

pub(super) fn fast_light_fence_ok() -> bool {
    // Under Miri `fast_light_fence` is a real fence, which pairs with any heavy half.
    cfg!(miri) || MEMBARRIER.load(Relaxed) == EXPEDITED
}

#[inline(always)]
pub(super) fn fast_light_fence() {
    if cfg!(miri) {
        // Ordering: without membarrier, store→load (Dekker) needs a SeqCst fence on both
        // sides; Acquire/Release never orders a store before a later load.
        // mutants: skip (not built under loom; futex/loom.rs models this pair, caught there)
        fence(Ordering::SeqCst);
    } else {
        // Only called where `fast_light_fence_ok()` held: the heavy side's membarrier
        // supplies the barrier; the compiler must not reorder the store and the load.
        compiler_fence(Ordering::SeqCst);
    }
}

/// The fallback fence, out of line so that the fast paths that call `light_fence`
/// contain no `mfence`/`dmb` of their own (`scripts/check` disassembles them).
#[cold]
#[inline(never)]
fn seq_cst_fence() {
    // Ordering: without membarrier, store→load (Dekker) needs a SeqCst fence on both
    // sides; Acquire/Release never orders a store before a later load.
    // mutants: skip (not built under loom; futex/loom.rs models this pair, caught there)
    fence(Ordering::SeqCst);
}

pub(super) fn heavy_fence() {
    // Ordering: Acquire pairs with the Release compare-exchange in `decide_fences`
    // that stored EXPEDITED, so the registration happens before the call below.
    // mutants: skip (kernel state: no checker here sees the registration's visibility)
    if MEMBARRIER.load(Acquire) == EXPEDITED {
        // An IPI to every CPU that runs a thread of this process: the jitter that
        // `FenceMode::Fences` avoids.
        let ok = membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
        assert!(
            ok,
            "membarrier(PRIVATE_EXPEDITED) failed after registration"
        );
    } else {
        seq_cst_fence();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_honours_the_futex_contract_too() {
        crate::futex::tests::check_contract(
            crate::futex::fallback::wait,
            crate::futex::fallback::wake_one,
        );
    }

    #[test]
    fn huge_timeouts_mean_no_deadline() {
        assert!(deadline_after(Duration::MAX).is_none());
        assert!(deadline_after(Duration::from_millis(1)).is_some());
    }
}

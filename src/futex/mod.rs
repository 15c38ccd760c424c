//! Sleeping on a 32-bit word: the OS layer under every blocking primitive.
//!
//! # Contract
//!
//! - [`wait`]`(word, expected, timeout)` sleeps while `*word == expected`. It returns at
//!   once if the word already differs, may return spuriously, returns `false` only when
//!   `timeout` has elapsed, and retries `EINTR` itself. A timeout is turned into an
//!   absolute `CLOCK_MONOTONIC` deadline once, so retries never extend it.
//! - [`wake_one`] wakes at most one waiter and says whether it woke someone (where the
//!   OS tells); [`wake_n`] wakes at most `n` in one call; [`wake_all`] wakes every waiter.
//! - **No memory ordering.** `wait` and `wake` order nothing. Every happens-before edge a
//!   primitive relies on comes from atomic operations on the word (or on other atomics)
//!   made by the primitive itself; a woken thread re-reads the state it waits on.
//! - The caller keeps `word` alive across `wake_*`: never wake through a pointer to memory
//!   that the woken thread may already have freed.
//!
//! # Asymmetric fences
//!
//! [`light_fence`] and [`heavy_fence`] together give the store→load ordering of a
//! Dekker handshake ("I published, then I check whether you sleep" against "I announced
//! that I sleep, then I re-check what you publish"). What each half executes is the
//! process-wide [`FenceMode`], fixed once (by [`set_fence_mode`], or at
//! [`DEFAULT_FENCE_MODE`] by the first [`init_asymmetric_fences`]):
//!
//! | mode | light half | `fast_light_fence_ok()` | heavy half |
//! |---|---|---|---|
//! | `Fences` (default), and wherever `membarrier` is missing (old kernels, seccomp, other OSes) | `fence(SeqCst)`, out of line | false: the queue takes its slow path, the map pins with `light_fence` | `fence(SeqCst)` |
//! | `Membarrier` (Linux) | compiler fence | true | `membarrier(PRIVATE_EXPEDITED)`: a full barrier on every CPU currently running a thread of this process (one that is not running passed one in its context switch), as folly's `asymmetricHeavyBarrier` and liburcu do; an IPI to each of those CPUs |
//! | Miri (either mode; `membarrier` is refused, so `Fences`) | `fence(SeqCst)` | true: `fast_light_fence` is a real fence there | `fence(SeqCst)` |
//! | loom | `fence(SeqCst)` | true (`fast_light_fence` is the same fence) | `fence(SeqCst)`: exactly the guarantee the pair provides |
//!
//! Either way every light half pairs with a heavy half that completes it: a compiler
//! fence only ever meets `membarrier`, because the mode never changes after the first
//! [`init_asymmetric_fences`], which every object that uses the fences calls before it
//! reaches another thread (the thread that receives it inherits the fixed mode through
//! that hand-over). The measured cost of each mode is in the crate docs (`# Fence
//! modes`).
//!
//! # Platforms
//!
//! Each file implements the waits (`wait`, `wake_*`); the CPU count and the
//! asymmetric fences come from `linux.rs` on Linux, `loom.rs` under loom and
//! `portable.rs` everywhere else.
//!
//! | file | where | sleeps with | timeouts | `wake_one` tells? |
//! |---|---|---|---|---|
//! | `linux.rs` | Linux | `futex(FUTEX_WAIT_BITSET \| FUTEX_PRIVATE_FLAG)`; `membarrier` | absolute `CLOCK_MONOTONIC` deadline | yes |
//! | `windows.rs` | Windows 8+ | `WaitOnAddress` / `WakeByAddress{Single,All}` | milliseconds, recomputed from the deadline | no |
//! | `apple.rs` | macOS, iOS, … | `os_sync_wait_on_address_with_timeout` (macOS 14.4+, looked up at run time), else `__ulock_wait` (10.12+) | nanoseconds / microseconds, recomputed | yes |
//! | `freebsd.rs` | FreeBSD | `_umtx_op(UMTX_OP_WAIT_UINT_PRIVATE)` | absolute `CLOCK_MONOTONIC` deadline | no |
//! | `openbsd.rs` | OpenBSD | `futex(FUTEX_WAIT \| FUTEX_PRIVATE_FLAG)` | relative, recomputed | yes |
//! | `fallback.rs` | anything else (NetBSD, illumos, …) | 64 address-hashed buckets of `std::sync::{Mutex, Condvar}`; a wake wakes the whole bucket | `Condvar::wait_timeout` | no |
//! | `loom.rs` | `cfg(fencepost_loom)` | a loom `Condvar` per sleeper, after re-checking the word under a loom `Mutex`, so a missing wake is a loom deadlock rather than a silent spin | time out at once | yes |
//!
//! Where it is checked: `linux.rs` runs the whole test suite on x86_64 (debug, release,
//! and under Miri, which has its own futex shim) and on aarch64 under qemu, and
//! `fallback.rs` passes the same contract test on Linux (`tests` below). The other
//! platform files are only compiled, by `scripts/check cross` (`cargo check` for
//! x86_64-pc-windows-gnu, x86_64-apple-darwin and x86_64-unknown-freebsd): nothing
//! here runs on those systems.

#[cfg(all(not(fencepost_loom), target_vendor = "apple"))]
mod apple;
#[cfg(all(
    not(fencepost_loom),
    any(
        test,
        not(any(
            target_os = "linux",
            windows,
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "openbsd"
        ))
    )
))]
mod fallback;
#[cfg(all(not(fencepost_loom), target_os = "freebsd"))]
mod freebsd;
#[cfg(all(not(fencepost_loom), target_os = "linux"))]
mod linux;
#[cfg(fencepost_loom)]
mod loom;
#[cfg(all(not(fencepost_loom), target_os = "openbsd"))]
mod openbsd;
#[cfg(all(not(fencepost_loom), not(target_os = "linux")))]
mod portable;
#[cfg(all(
    not(fencepost_loom),
    any(
        target_os = "linux",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "openbsd"
    )
))]
mod unix;
#[cfg(all(not(fencepost_loom), windows))]
mod windows;

#[cfg(all(not(fencepost_loom), target_vendor = "apple"))]
use apple as waits;
#[cfg(all(
    not(fencepost_loom),
    not(any(
        target_os = "linux",
        windows,
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "openbsd"
    ))
))]
use fallback as waits;
#[cfg(all(not(fencepost_loom), target_os = "freebsd"))]
use freebsd as waits;
#[cfg(all(not(fencepost_loom), target_os = "linux"))]
use linux as waits;
#[cfg(fencepost_loom)]
use loom as waits;
#[cfg(all(not(fencepost_loom), target_os = "openbsd"))]
use openbsd as waits;
#[cfg(all(not(fencepost_loom), windows))]
use windows as waits;

#[cfg(all(not(fencepost_loom), target_os = "linux"))]
use linux as cpu;
#[cfg(fencepost_loom)]
use loom as cpu;
#[cfg(all(not(fencepost_loom), not(target_os = "linux")))]
use portable as cpu;

#[cfg(all(not(fencepost_loom), target_os = "linux"))]
use linux as mode_state;
#[cfg(any(fencepost_loom, not(target_os = "linux")))]
use no_membarrier as mode_state;

use crate::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout` (forever if `None`).
///
/// Returns `false` only on timeout; `true` on a wake-up, a mismatch or a spurious return.
#[inline]
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    waits::wait(word, expected, timeout)
}

/// Wakes at most one thread sleeping on `word`; `true` if one was woken (as far as the
/// OS says: the fallback and loom report `true` whenever they cannot tell).
#[inline]
pub(crate) fn wake_one(word: &AtomicU32) -> bool {
    waits::wake_one(word)
}

/// Wakes at most `n` threads sleeping on `word`, in one call; returns how many it woke
/// (as far as the OS says: the fallback wakes its whole bucket and reports `n`; loom
/// reports how many it notified).
#[inline]
pub(crate) fn wake_n(word: &AtomicU32, n: u32) -> u32 {
    waits::wake_n(word, n)
}

/// Wakes every thread sleeping on `word`.
#[inline]
pub(crate) fn wake_all(word: &AtomicU32) {
    waits::wake_all(word)
}

/// The number of online CPUs, read once per process (loom: unbounded, so that every
/// spin path is explored).
///
/// Deliberately not the calling thread's affinity mask (`available_parallelism` on
/// Linux): threads that share a primitive are often pinned one per CPU, and each one's
/// mask would then say 1. Where this overcounts (a cpuset- or quota-limited container),
/// a caller that spins only when its threads fit on the CPUs spins when it should not:
/// a bounded loss. Undercounting would forbid spinning where it pays most.
#[inline]
pub(crate) fn online_cpus() -> usize {
    cpu::online_cpus()
}

/// How the heavy half of the asymmetric fences is paid for, process-wide: the choice
/// between interrupting other threads and paying a fence on every operation.
///
/// fencepost's handshakes between a thread that goes to sleep and one that publishes
/// (the [`spsc`](crate::spsc) blocking layer, every `push_blocking`/`pop_blocking`
/// that sleeps) and between [`HashMap`](crate::HashMap) readers and its reclaimer
/// (every 1,024 removes per shard) need a store→load fence on both sides. The mode
/// decides who pays:
///
/// | | `Membarrier` | `Fences` |
/// |---|---|---|
/// | spsc `push`/`pop` | a compiler fence: no instruction | a `fence(SeqCst)` (`mfence` / `dmb ish`) out of line, on the slow path |
/// | `HashMap` read pin | a compiler fence | a `fence(SeqCst)` |
/// | a side that goes to sleep, a map reclaimer | `membarrier(PRIVATE_EXPEDITED)`: an **IPI to every CPU running a thread of this process**, including a busy-polling real-time thread that has nothing to do with the queue | a `fence(SeqCst)` |
///
/// Measured costs (hot path and jitter injected into other threads) are in the table
/// under [fence modes](crate#fence-modes). `Membarrier` needs Linux 4.14 or later;
/// elsewhere (other systems, Miri, a kernel or seccomp filter that refuses it) the
/// mode is always `Fences`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FenceMode {
    /// The light half is a compiler fence; the heavy half calls
    /// `membarrier(PRIVATE_EXPEDITED)`, which interrupts every CPU that currently runs a
    /// thread of this process.
    Membarrier,
    /// Both halves are `fence(SeqCst)`: no system call and no interrupt of other
    /// threads, for a fence on every operation that may have to wake a sleeper.
    Fences,
}

/// The mode a process gets if nothing calls [`set_fence_mode`] before the first use.
pub const DEFAULT_FENCE_MODE: FenceMode = FenceMode::Fences;

/// Why [`set_fence_mode`] did not give the mode asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FenceModeError {
    requested: FenceMode,
    in_effect: FenceMode,
    already_fixed: bool,
}

impl FenceModeError {
    /// The mode that was asked for.
    #[must_use]
    pub fn requested(&self) -> FenceMode {
        self.requested
    }

    /// The mode in effect, for the rest of the process.
    #[must_use]
    pub fn in_effect(&self) -> FenceMode {
        self.in_effect
    }

    /// `true` if the mode was already fixed (by a first use or an earlier call);
    /// `false` if `Membarrier` was asked for where the system does not provide it.
    #[must_use]
    pub fn already_fixed(&self) -> bool {
        self.already_fixed
    }
}

impl core::fmt::Display for FenceModeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.already_fixed {
            write!(
                f,
                "fencepost::set_fence_mode({:?}): the fence mode is already fixed at {:?} \
                 (by the first queue, hash map or fence_mode() call, or an earlier \
                 set_fence_mode); set it before any of them",
                self.requested, self.in_effect
            )
        } else {
            write!(
                f,
                "fencepost::set_fence_mode({:?}): membarrier(PRIVATE_EXPEDITED) is not \
                 available here (not Linux 4.14+, Miri, or refused by the kernel); the \
                 mode is {:?}",
                self.requested, self.in_effect
            )
        }
    }
}

impl std::error::Error for FenceModeError {}

fn mode_of(membarrier: bool) -> FenceMode {
    if membarrier {
        FenceMode::Membarrier
    } else {
        FenceMode::Fences
    }
}

/// Chooses the [`FenceMode`] for the whole process. It can be set only before its first
/// use: the first [`spsc::channel`](crate::spsc::channel), [`HashMap`](crate::HashMap)
/// or [`fence_mode`] call fixes it (at [`DEFAULT_FENCE_MODE`] if nothing was set).
///
/// Why not later: in `Membarrier` mode a queue's `push` relies on the sleeper's
/// `membarrier` for its half of the fence and executes none itself. Switching to
/// `Fences` while such a `push` runs, or while an old queue's handles still take the
/// compiler-fence path, would pair a compiler fence with a plain fence, which orders
/// nothing across CPUs: a sleeper could miss its wake-up forever. Fixing the mode once
/// makes every light half and every heavy half in the process agree.
///
/// # Errors
///
/// [`FenceModeError`] if the mode is already fixed at a different mode (calling it
/// again with the mode in effect is `Ok`), or if `Membarrier` is asked for where the
/// system has no `membarrier`; either way [`fence_mode`] tells the mode in effect.
///
/// # Examples
///
/// ```
/// use fencepost::{FenceMode, fence_mode, set_fence_mode};
///
/// // First thing in `main`, before any queue or map exists:
/// set_fence_mode(FenceMode::Fences).unwrap();
/// assert_eq!(fence_mode(), FenceMode::Fences);
/// let (mut tx, mut rx) = fencepost::spsc::channel::<u32>(4);
/// tx.push(1).unwrap();
/// assert_eq!(rx.pop(), Some(1));
/// // Too late to change it now.
/// let err = set_fence_mode(FenceMode::Membarrier).unwrap_err();
/// assert!(err.already_fixed());
/// ```
pub fn set_fence_mode(mode: FenceMode) -> Result<(), FenceModeError> {
    let already_fixed = mode_state::fences_decided().is_some();
    let in_effect = mode_of(mode_state::decide_fences(mode == FenceMode::Membarrier));
    if in_effect == mode {
        Ok(())
    } else {
        Err(FenceModeError {
            requested: mode,
            in_effect,
            already_fixed,
        })
    }
}

/// The process's [`FenceMode`], fixing it at [`DEFAULT_FENCE_MODE`] if nothing chose it
/// yet (see [`set_fence_mode`]).
///
/// # Examples
///
/// ```
/// let mode = fencepost::fence_mode();
/// assert!(fencepost::set_fence_mode(mode).is_ok());
/// ```
#[must_use]
pub fn fence_mode() -> FenceMode {
    init_asymmetric_fences();
    mode_of(mode_state::fences_decided().unwrap_or(false))
}

/// Fixes the [`FenceMode`] (at [`DEFAULT_FENCE_MODE`] unless already chosen). Called
/// before an object that uses the fences reaches another thread, so every light half
/// sees the final choice.
#[inline]
pub(crate) fn init_asymmetric_fences() {
    mode_state::decide_fences(DEFAULT_FENCE_MODE == FenceMode::Membarrier);
}

/// Where there is no `membarrier` (other systems, loom): the mode is `Fences` once
/// anything asked. A plain flag: nothing but the answer depends on it.
#[cfg(any(fencepost_loom, not(target_os = "linux")))]
mod no_membarrier {
    use core::sync::atomic::AtomicBool;
    use core::sync::atomic::Ordering::Relaxed;

    static DECIDED: AtomicBool = AtomicBool::new(false);

    pub(super) fn fences_decided() -> Option<bool> {
        DECIDED.load(Relaxed).then_some(false)
    }

    pub(super) fn decide_fences(_want_membarrier: bool) -> bool {
        DECIDED.store(true, Relaxed);
        false
    }
}

/// The cheap half of an asymmetric store→load fence (see the module docs).
#[inline(always)]
pub(crate) fn light_fence() {
    cpu::light_fence()
}

/// Whether [`fast_light_fence`] is a valid light half on this machine: it is wherever
/// the heavy half is a real cross-CPU barrier (or both halves are real fences). Callers
/// that find it false route every operation through [`light_fence`] instead.
#[inline]
pub(crate) fn fast_light_fence_ok() -> bool {
    cpu::fast_light_fence_ok()
}

/// The light half without the run-time check of [`light_fence`]: a compiler fence on
/// Linux (valid only where [`fast_light_fence_ok`] returned true), `fence(SeqCst)`
/// under Miri, loom and on other OSes.
#[inline(always)]
pub(crate) fn fast_light_fence() {
    cpu::fast_light_fence()
}

/// The expensive half of an asymmetric store→load fence (see the module docs).
#[inline]
pub(crate) fn heavy_fence() {
    cpu::heavy_fence()
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;
    use crate::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;
    use std::time::Instant;

    /// The contract, checked against one implementation's `wait` and `wake_one`.
    pub(super) fn check_contract(
        wait: fn(&AtomicU32, u32, Option<Duration>) -> bool,
        wake_one: fn(&AtomicU32) -> bool,
    ) {
        // A mismatch returns at once, without a timeout.
        let word = AtomicU32::new(1);
        let start = Instant::now();
        assert!(wait(&word, 0, None));
        assert!(start.elapsed() < Duration::from_secs(5));

        // A timeout returns false, not before the deadline and not grossly after it.
        let timeout = Duration::from_millis(if cfg!(miri) { 5 } else { 30 });
        let start = Instant::now();
        while wait(&word, 1, Some(timeout)) {
            // A spurious wake-up is allowed; a timeout must still come.
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timeout never came"
            );
        }
        let waited = start.elapsed();
        assert!(
            waited >= timeout,
            "returned after {waited:?}, before {timeout:?}"
        );
        if !cfg!(miri) {
            assert!(
                waited < timeout + Duration::from_secs(2),
                "returned after {waited:?}"
            );
        }

        // wake_one wakes a sleeper.
        let word = Arc::new(AtomicU32::new(0));
        let sleeper = {
            let word = Arc::clone(&word);
            std::thread::spawn(move || {
                while word.load(Relaxed) == 0 {
                    wait(&word, 0, None);
                }
            })
        };
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
        word.store(1, Relaxed);
        wake_one(&word);
        sleeper.join().unwrap();
    }

    #[test]
    fn futex_honours_its_contract() {
        check_contract(wait, wake_one);
    }

    #[test]
    fn wake_all_wakes_every_sleeper() {
        let word = Arc::new(AtomicU32::new(0));
        let sleepers: Vec<_> = (0..3)
            .map(|_| {
                let word = Arc::clone(&word);
                std::thread::spawn(move || {
                    while word.load(Relaxed) == 0 {
                        wait(&word, 0, None);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
        word.store(1, Relaxed);
        wake_all(&word);
        for s in sleepers {
            s.join().unwrap();
        }
    }

    #[test]
    fn wake_n_wakes_at_most_n_and_all_leave_once_the_word_changes() {
        let word = Arc::new(AtomicU32::new(0));
        let sleepers: Vec<_> = (0..3)
            .map(|_| {
                let word = Arc::clone(&word);
                std::thread::spawn(move || {
                    while word.load(Relaxed) == 0 {
                        wait(&word, 0, None);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
        // The word has not changed: whoever is woken goes back to sleep.
        let woken = wake_n(&word, 2);
        if cfg!(target_os = "linux") {
            assert!(woken <= 2, "woke {woken}");
        }
        word.store(1, Relaxed);
        wake_n(&word, 3);
        for s in sleepers {
            s.join().unwrap();
        }
        if cfg!(target_os = "linux") {
            assert_eq!(wake_n(&word, 5), 0, "nobody left asleep");
        }
    }

    #[test]
    fn online_cpus_is_at_least_one() {
        assert!(online_cpus() >= 1);
    }

    #[test]
    fn wake_without_sleepers_reports_none_woken() {
        let word = AtomicU32::new(0);
        if cfg!(target_os = "linux") {
            assert!(!wake_one(&word));
        }
    }

    #[test]
    fn fence_mode_errors_say_why_and_what_is_in_effect() {
        let refused = FenceModeError {
            requested: FenceMode::Membarrier,
            in_effect: FenceMode::Fences,
            already_fixed: false,
        };
        assert_eq!(
            refused.to_string(),
            "fencepost::set_fence_mode(Membarrier): membarrier(PRIVATE_EXPEDITED) is not \
             available here (not Linux 4.14+, Miri, or refused by the kernel); the mode is \
             Fences"
        );
        let late = FenceModeError {
            requested: FenceMode::Fences,
            in_effect: FenceMode::Membarrier,
            already_fixed: true,
        };
        assert!(late.to_string().starts_with(
            "fencepost::set_fence_mode(Fences): the fence mode is already fixed at Membarrier"
        ));
        assert_eq!(mode_of(true), FenceMode::Membarrier);
        assert_eq!(mode_of(false), FenceMode::Fences);
    }

    #[test]
    fn the_mode_once_fixed_never_changes() {
        let first = fence_mode();
        for want in [FenceMode::Membarrier, FenceMode::Fences] {
            let result = set_fence_mode(want);
            assert_eq!(result.is_ok(), want == first, "{result:?}");
            assert_eq!(fence_mode(), first);
        }
        // On Linux the fast light fence is a compiler fence, valid only with membarrier
        // (under Miri, and on other systems, it is a real fence: valid in any mode).
        assert_eq!(
            fast_light_fence_ok(),
            cfg!(miri) || !cfg!(target_os = "linux") || first == FenceMode::Membarrier
        );
    }

    #[test]
    fn asymmetric_fences_can_be_called_from_any_thread() {
        init_asymmetric_fences();
        light_fence();
        heavy_fence();
        std::thread::spawn(heavy_fence).join().unwrap();
    }
}

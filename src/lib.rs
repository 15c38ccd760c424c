//! # fencepost
//!
//! Lock-free and futex-backed concurrency primitives for low-latency programs, each one
//! model-checked with [loom](https://docs.rs/loom), run under Miri, tested on aarch64 and
//! benchmarked against `std` and the best crates.io peers.
//!
//! | module | primitive | core idea |
//! |---|---|---|
//! | [`spsc`] | bounded single-producer single-consumer queue | Yodaiken's wrap bit: all `n` slots used, any `n >= 1`; no fence or locked instruction on `push`/`pop` ([memory ordering](spsc#memory-ordering)) |
//!
//! Every module documents its protocol in a `# Memory ordering` section, and every
//! ordering in the crate is justified in a comment and shown necessary by a loom test
//! (`loom-tests/`) that fails when it is weakened. Each loom file also holds a *broken
//! twin*: the same protocol with one ordering weakened or one step removed, and a test,
//! marked `#[should_panic]`, in which loom finds the bug.
//!
//! No primitive poisons: a panic while holding or using one leaves it usable.

#![warn(missing_docs)]

mod backoff;
mod futex;
pub mod spsc;
mod sync;

/// The futex layer, exposed only to the loom tests in `loom-tests/futex.rs`.
#[cfg(fencepost_loom)]
#[doc(hidden)]
pub mod __loom_futex {
    use crate::sync::atomic::AtomicU32;

    /// See `futex::wait`.
    pub fn wait(word: &AtomicU32, expected: u32) {
        crate::futex::wait(word, expected, None);
    }

    /// See `futex::wake_one`.
    pub fn wake_one(word: &AtomicU32) -> bool {
        crate::futex::wake_one(word)
    }
}

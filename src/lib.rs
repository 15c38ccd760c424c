//! # fencepost
//!
//! Lock-free and futex-backed concurrency primitives for low-latency programs, each one
//! model-checked with [loom](https://docs.rs/loom), run under Miri, tested on aarch64 and
//! benchmarked against `std` and the best crates.io peers.
//!
//! # Quick start
//!
//! ```
//! use fencepost::{HashMap, Mutex, SeqLock, spsc};
//! use std::thread;
//!
//! // A bounded queue from one thread to another: exactly 3 slots.
//! let (mut tx, mut rx) = spsc::channel::<u64>(3);
//! // A lock, a value many threads read while one writes, a concurrent map.
//! let total = Mutex::new(0u64);
//! let latest = SeqLock::new(0u64);
//! let seen: HashMap<u64, ()> = HashMap::new();
//!
//! thread::scope(|s| {
//!     s.spawn(move || {
//!         for i in 1..=100 {
//!             tx.push_blocking(i).unwrap(); // sleeps while the queue is full
//!         }
//!     });
//!     while let Some(i) = rx.pop_blocking() {
//!         // `None` once the producer is gone and the queue is empty
//!         *total.lock() += i;
//!         latest.write(i);
//!         seen.pin().insert(i, ());
//!     }
//! });
//! assert_eq!(*total.lock(), 5050);
//! assert_eq!(latest.read(), 100);
//! assert_eq!(seen.len(), 100);
//! ```
//!
//! # Primitives
//!
//! | module | primitive | core idea |
//! |---|---|---|
//! | [`spsc`] | bounded single-producer single-consumer queue | Yodaiken's wrap bit: all `n` slots used, any `n >= 1`; no locked instruction on `push`/`pop`, and no fence either in [`FenceMode::Membarrier`] ([memory ordering](spsc#memory-ordering), [fence modes](#fence-modes)); blocking, deadline, slice and zero-copy chunk forms; a [real-time side](spsc#real-time-sides) that never makes a system call, with a blocking side that polls it by timed waits |
//! | [`mutex`] | [`Mutex<T>`], [`RawMutex`] | Drepper's three-state futex word (unlocked / locked / contended), one CAS to lock and one swap to unlock when uncontended, a bounded spin only while nobody sleeps; a waiter that slept 1 ms gets the lock handed to it ([memory ordering](Mutex#memory-ordering)) |
//! | [`condvar`] | [`Condvar`] for [`Mutex`] | std's futex sequence word plus a waiter count: a notify with nobody waiting is one load; `notify_all` wakes all with one call (a requeue onto the mutex was built and measured slower here: [why](condvar#why-notify_all-wakes-everyone-rather-than-requeueing)) ([memory ordering](condvar#memory-ordering)) |
//! | [`rwlock`] | [`RwLock<T>`], [`RawRwLock`] | a 64-bit futex state: readers take it with one `fetch_add` (no CAS loop), a waiting writer shuts out newcomers and waits only for the readers inside, and its release admits every reader that waited (phase-fair: neither side starves) ([memory ordering](rwlock#memory-ordering)) |
//! | [`semaphore`] | counting [`Semaphore`] | permits and a sleepers bit in one 32-bit futex word: returning a permit and learning whether anyone sleeps is one `fetch_add`; bounded spin, then sleep; timed-out waiters withdraw ([memory ordering](semaphore#memory-ordering)) |
//! | [`barrier`] | reusable [`Barrier`] | arrival count, sleepers bit and generation in one word, so arriving, withdrawing on timeout and releasing a generation are each one CAS; spin, then futex; wrap-around cannot release early ([memory ordering](barrier#memory-ordering)) |
//! | [`hash_map`] | concurrent [`HashMap<K, V, S>`] and [`HashSet<T, S>`] | sharded single-writer tables of dense metadata (32-byte groups of tags and slot handles matched SWAR-style); keys and values inline in slabs that never move, slots reused after the grace period, so no allocation per insert or remove; wait-free readers that never lock, retry or write beyond an epoch pin; an epoch domain per map in which only writers reclaim, dropping values outside the lock; closures run exactly once under the shard lock ([memory ordering](hash_map#memory-ordering)) |
//! | [`seqlock`] | [`SeqLock<T>`]: a `Copy` value read by many, written by one at a time | Boehm's fences over `Relaxed` atomic chunks: readers never write shared memory and no read races a write non-atomically, so it is sound where the classic `read_volatile` seqlock is UB ([memory ordering](seqlock#memory-ordering)) |
//!
//! Every module documents its protocol in a `# Memory ordering` section, and every
//! ordering in the crate is justified in a comment and shown necessary by a loom test
//! (`loom-tests/`) that fails when it is weakened. Each loom file also holds a *broken
//! twin*: the same protocol with one ordering weakened or one step removed, and a test,
//! marked `#[should_panic]`, in which loom finds the bug.
//!
//! No primitive poisons: a panic while holding or using one leaves it usable. Errors
//! that hand a value back keep it in a private field: `into_inner()` returns it
//! ([`spsc::Full`], [`spsc::Abandoned`]), `into_pair()` a key and a value
//! ([`hash_map::ShardFull`], [`hash_map::OccupiedError`]).
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `lock_api` | off | [`RawMutex`] implements [`lock_api::RawMutex`](https://docs.rs/lock_api/0.4/lock_api/trait.RawMutex.html) and `RawMutexTimed`, so `lock_api::Mutex<fencepost::RawMutex, T>` works (with mapped guards and the rest of `lock_api`'s API) |
//!
//! [`SeqLock<T>`] requires `T:` [`bytemuck::NoUninit`]; the crate re-exports
//! [`bytemuck`] so the version always matches, and leaves bytemuck's `derive` feature to
//! you (add `bytemuck = { version = "1", features = ["derive"] }` to derive it; the
//! [`seqlock`] module shows what to do with a struct that has padding).
//!
//! # Platforms
//!
//! Linux is the primary target: the futex system call for sleeping, and, if you choose
//! [`FenceMode::Membarrier`], `membarrier` for the asymmetric fences (see [fence
//! modes](#fence-modes)). Where `membarrier` is missing (other operating systems,
//! kernels before 4.14, Miri) the mode is always [`FenceMode::Fences`]: the same code
//! keeps every guarantee. How threads sleep off Linux is described in the crate's
//! `src/futex/mod.rs`.
//!
//! # Fence modes
//!
//! Two handshakes need a store→load fence on both sides: a thread that goes to sleep
//! in an [`spsc`] blocking call against the side that publishes (`push`/`pop`), and a
//! [`HashMap`] reclaimer against its readers' epoch pins. [`FenceMode`] says who pays,
//! for the whole process ([`set_fence_mode`] before the first queue or map;
//! [`fence_mode`] tells):
//!
//! - [`FenceMode::Fences`] (**the default**): both sides run `fence(SeqCst)`. Nothing
//!   interrupts other threads; `push`/`pop` each pay a fence (`mfence` on x86_64,
//!   `dmb ish` on aarch64) and take the queue's slow path, and a map reader's pin pays
//!   a fence.
//! - [`FenceMode::Membarrier`] (Linux 4.14+): `push`, `pop` and the pin run a compiler
//!   fence only, and the rare side (a thread about to sleep; a map writer once every
//!   1,024 removes) calls `membarrier(PRIVATE_EXPEDITED)`, which sends an
//!   inter-processor interrupt to **every CPU running a thread of this process**,
//!   whether or not that thread uses fencepost.
//!
//! Measured with `cargo run --release --example jitter` on a 2-vCPU KVM guest (shared
//! with other builds, load 4-5 during the run): a thread pinned to CPU 0 reads the
//! clock in a tight loop for 3 s and records every gap, while threads on CPU 1 run the
//! workload. Two rounds each, *gaps over 5 us / over 10 us / p99.99 of the gaps*:
//!
//! | workload on CPU 1 | `Membarrier` | `Fences` |
//! |---|---|---|
//! | idle (the machine's own noise) | 894 / 839 / 0.34 us; 804 / 784 / 0.20 us | 841 / 820 / 0.20 us; 866 / 833 / 0.15 us |
//! | blocking SPSC (`channel`), one item every ~50 us, the consumer sleeping between items | **14,769** / 828 / **7.07 us**; **12,646** / 975 / **7.17 us** | 655 / 626 / 0.16 us; 726 / 671 / 0.17 us |
//! | the same through `channel_real_time_consumer`: a real-time consumer draining every ~50 us, the producer in `push_blocking` waiting by timed polls | 750 / 680 / 0.17 us; 833 / 790 / 0.16 us | 939 / 881 / 0.20 us; 809 / 772 / 0.16 us |
//! | `HashMap` insert + remove flat out (epoch collections) | **4,842** / 560 / **6.84 us**; **5,342** / 446 / **5.46 us** | 430 / 400 / 0.20 us; 407 / 388 / 0.25 us |
//! | the heavy half alone, every ~50 us | **16,573** / 1,843 / **7.44 us**; **18,093** / 1,164 / **7.12 us** | 817 / 770 / 0.29 us; 824 / 778 / 0.24 us |
//!
//! The largest gap (5-90 ms) is the host or another process taking the CPU, in every
//! mode, and says nothing about either. Each `membarrier` stalls the polling thread for
//! 5-8 us, so its gaps over 5 us follow the rate of sleeps or collections (the poller
//! ran about half the time on the shared machine, so about half the ~17,000 calls per
//! run landed on it); with `Fences`, and with a real-time side in either mode, they
//! stay at the idle level. An earlier run at load 2-4 gave the same picture with twice
//! the counts (blocking SPSC with `Membarrier`: 25,334 and 22,468 gaps over 5 us;
//! idle: 1,935 and 1,739).
//!
//! What `Fences` costs on the hot path, from the same run of the example (`costs`:
//! medians of 6 alternating runs of each mode, ns per operation, and the ratio against
//! the default in the same run), and in instructions under `valgrind --tool=callgrind`
//! (`examples/icount.rs`, 16 M push+pop pairs on one thread). The queue pays most:
//! with `Fences` every `push` and `pop` takes its slow path and runs an out-of-line
//! `mfence`, which also waits for the store of the index to reach the other core's
//! cache when both sides stream flat out (2.2-3x slower here across runs, one thread
//! or two; in the comparison runner's streaming row, 20.2 M items/s against 47.6 for
//! rtrb and for fencepost's real-time channel, which runs no fence in either mode); the
//! map's pin fence is lost in its hashing and probing:
//!
//! | operation | `Fences` (default) | `Membarrier` |
//! |---|---|---|
//! | `spsc` push+pop, one thread | 6.1 ns (1.00x) | 2.3 ns (0.38x) |
//! | `spsc` push→pop, two threads pinned apart, flat out | 114 ns (1.00x) | 52.5 ns (0.46x) |
//! | `HashMap::remove` (64 K keys) | 25.5 ns (1.00x) | 24.9 ns (0.98x) |
//! | `HashMap::get_cloned` (64 K keys) | 19.8 ns (1.00x) | 18.2 ns (0.92x) |
//! | `spsc` push+pop, instructions per pair | 92.9 | 43.4 (rtrb: 35.6) |
//!
//! Why `Fences` is the default: a fence costs the thread that uses the primitive
//! nanoseconds per operation (up to three times the queue's cost, see above), and that
//! thread can measure it and choose (or use a real-time channel, which needs no fence
//! in either mode); `membarrier` costs 5-8 us
//! to *every other running thread of the process*, at a rate set by whoever sleeps or
//! removes, and the thread that suffers it (an audio callback, a busy-polling core)
//! cannot tell where it came from. A latency-sensitive program must not get that
//! from a dependency by default. Throughput-bound programs with no such thread opt in
//! with `set_fence_mode(FenceMode::Membarrier)` first thing in `main`. The mode
//! cannot change once a queue or map exists: [`set_fence_mode`] says why.
//!
//! [`Barrier`], [`rwlock`] and [`hash_map`] need 64-bit atomics and do not exist on
//! targets without them (`powerpc-unknown-linux-gnu`, say), where the compiler names the
//! `cfg` that removed them; everything else builds there.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// docs.rs: the loom switch is an implementation detail, not a platform to badge.
#![cfg_attr(docsrs, doc(auto_cfg(hide(fencepost_loom))))]
// Without 64-bit atomics the hash map, the rwlock and the barrier are left out (see
// "Platforms"), and the helpers only they use (in `sync` and `futex`) go unused; every
// other target still reports dead code.
#![cfg_attr(not(target_has_atomic = "64"), allow(dead_code, unused_imports))]

mod backoff;
#[cfg(target_has_atomic = "64")]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub mod barrier;
pub mod condvar;
mod futex;
#[cfg(target_has_atomic = "64")]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub mod hash_map;
pub mod mutex;
#[cfg(target_has_atomic = "64")]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub mod rwlock;
pub mod semaphore;
pub mod seqlock;
pub mod spsc;
mod sync;

/// The crate [`SeqLock`] builds on: `T: bytemuck::NoUninit` (re-exported so that the
/// version you implement or derive always matches this crate's).
pub use bytemuck;

#[cfg(target_has_atomic = "64")]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub use barrier::{Barrier, BarrierTimeout, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use futex::{DEFAULT_FENCE_MODE, FenceMode, FenceModeError, fence_mode, set_fence_mode};
#[cfg(target_has_atomic = "64")]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub use hash_map::{HashMap, HashSet};
pub use mutex::{Mutex, MutexGuard, RawMutex};
#[cfg(target_has_atomic = "64")]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub use rwlock::{RawRwLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{Semaphore, SemaphorePermit};
pub use seqlock::SeqLock;

// The README's examples are compiled and run with the doctests, so it cannot drift
// from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

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

    /// See `futex::wake_n`.
    pub fn wake_n(word: &AtomicU32, n: u32) -> u32 {
        crate::futex::wake_n(word, n)
    }
}

//! Instruction counts of the SPSC hot paths, fencepost against rtrb, on one thread.
//!
//! Wall-clock timings on a shared VM move by several times between runs; instruction
//! counts under `valgrind --tool=callgrind` do not. Each mode pushes 16 `u64`s, pops
//! them, and repeats (16 M pushes and pops in all; slices: batches of 64), through the
//! same `Queue`/`BatchQueue` adapters as the benchmarks (`benches/workloads/spsc.rs`):
//!
//! ```text
//! cargo build --release --example icount
//! for m in fencepost fencepost-real-time rtrb fencepost-slices rtrb-slices; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!         target/release/examples/icount $m 2>&1 | grep Collected
//! done
//! ```
//!
//! A second argument, `membarrier` or `fences`, fixes the fence mode first
//! (`fencepost::set_fence_mode`); without it the run uses the default mode.
//!
//! Divide the totals by 16 M for instructions per push+pop pair (by 4 M batches for
//! the slice modes); `src/spsc/mod.rs` cites the result.
#![allow(
    unreachable_pub,
    reason = "a binary: `pub` marks the shared workload interface"
)]

#[allow(dead_code)]
#[path = "../benches/workloads/pin.rs"]
mod pin;
#[allow(dead_code)]
#[path = "../benches/workloads/spsc.rs"]
mod spsc;

use spsc::{BatchQueue, Fencepost, FencepostNoBlockingLayer, Queue, Rtrb};
use std::hint::black_box;

const ROUNDS: u64 = 1_000_000;

/// Runs of 16 single pushes, then 16 single pops.
fn pairs<Q: Queue>() -> u64 {
    let (mut tx, mut rx) = Q::channel(4096);
    let mut sum = 0;
    for i in 0..ROUNDS {
        for k in 0..16 {
            assert!(Q::push(&mut tx, black_box(i + k)));
        }
        for _ in 0..16 {
            sum += Q::pop(&mut rx).unwrap();
        }
    }
    sum
}

/// Runs of 16 batches of 64 pushed, then 16 popped.
fn batches<Q: BatchQueue>() -> u64 {
    let (mut tx, mut rx) = Q::channel(4096);
    let (src, mut dst, mut sum) = ([7u64; 64], [0u64; 64], 0);
    for _ in 0..ROUNDS / 8 {
        for _ in 0..16 {
            assert_eq!(Q::push_slice(&mut tx, black_box(&src)), 64);
        }
        for _ in 0..16 {
            assert_eq!(Q::pop_slice(&mut rx, black_box(&mut dst)), 64);
            sum += dst[3];
        }
    }
    sum
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    // An optional second argument fixes the fence mode (default: `DEFAULT_FENCE_MODE`).
    match std::env::args().nth(2).as_deref() {
        None => {}
        Some("membarrier") => fencepost::set_fence_mode(fencepost::FenceMode::Membarrier)
            .unwrap_or_else(|e| panic!("icount: {e}")),
        Some("fences") => fencepost::set_fence_mode(fencepost::FenceMode::Fences)
            .unwrap_or_else(|e| panic!("icount: {e}")),
        Some(other) => panic!("icount: unknown fence mode {other:?} (membarrier or fences)"),
    }
    let checksum = match mode.as_str() {
        "fencepost" => pairs::<Fencepost>(),
        // Both sides real-time (`channel_real_time`): no sleeper check.
        "fencepost-real-time" => pairs::<FencepostNoBlockingLayer>(),
        "rtrb" => pairs::<Rtrb>(),
        "fencepost-slices" => batches::<Fencepost>(),
        "rtrb-slices" => batches::<Rtrb>(),
        _ => {
            eprintln!(
                "usage: icount fencepost|fencepost-real-time|rtrb|fencepost-slices|rtrb-slices \
                 [membarrier|fences]"
            );
            std::process::exit(2);
        }
    };
    black_box(checksum);
}

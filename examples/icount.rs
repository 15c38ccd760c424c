//! Instruction counts of the SPSC hot paths, fencepost against rtrb, on one thread.
//!
//! Wall-clock timings on a shared VM move by several times between runs; instruction
//! counts under `valgrind --tool=callgrind` do not. Each mode pushes 16 `u64`s, pops
//! them, and repeats (16 M pushes and pops in all; slices: batches of 64):
//!
//! ```text
//! cargo build --release --example icount
//! for m in fencepost rtrb fencepost-slices rtrb-slices; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!         target/release/examples/icount $m 2>&1 | grep Collected
//! done
//! ```
//!
//! Divide the totals by 16 M for instructions per push+pop pair (by 4 M batches for
//! the slice modes); `src/spsc/mod.rs` cites the result.

use std::hint::black_box;

const ROUNDS: u64 = 1_000_000;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let checksum = match mode.as_str() {
        "fencepost" => {
            let (mut tx, mut rx) = fencepost::spsc::channel::<u64>(4096);
            let mut sum = 0;
            for i in 0..ROUNDS {
                for k in 0..16 {
                    assert!(tx.push(black_box(i + k)).is_ok());
                }
                for _ in 0..16 {
                    sum += rx.pop().unwrap();
                }
            }
            sum
        }
        "rtrb" => {
            let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(4096);
            let mut sum = 0;
            for i in 0..ROUNDS {
                for k in 0..16 {
                    assert!(tx.push(black_box(i + k)).is_ok());
                }
                for _ in 0..16 {
                    sum += rx.pop().unwrap();
                }
            }
            sum
        }
        "fencepost-slices" => {
            let (mut tx, mut rx) = fencepost::spsc::channel::<u64>(4096);
            let (src, mut dst, mut sum) = ([7u64; 64], [0u64; 64], 0);
            for _ in 0..ROUNDS / 8 {
                for _ in 0..16 {
                    assert_eq!(tx.push_slice(black_box(&src)), 64);
                }
                for _ in 0..16 {
                    assert_eq!(rx.pop_slice(black_box(&mut dst)), 64);
                    sum += dst[3];
                }
            }
            sum
        }
        "rtrb-slices" => {
            let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(4096);
            let (src, mut dst, mut sum) = ([7u64; 64], [0u64; 64], 0);
            for _ in 0..ROUNDS / 8 {
                for _ in 0..16 {
                    assert_eq!(tx.push_partial_slice(black_box(&src)).0.len(), 64);
                }
                for _ in 0..16 {
                    assert_eq!(rx.pop_partial_slice(black_box(&mut dst)).0.len(), 64);
                    sum += dst[3];
                }
            }
            sum
        }
        _ => {
            eprintln!("usage: icount fencepost|rtrb|fencepost-slices|rtrb-slices");
            std::process::exit(2);
        }
    };
    black_box(checksum);
}

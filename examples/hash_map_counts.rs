//! Instructions and cache misses per operation of the hash-map loops, fencepost against
//! papaya, dashmap, scc and `RwLock<std HashMap>`, through the adapters of the
//! benchmarks (`benches/workloads/hash_map.rs`), on one thread.
//!
//! Wall-clock timings on a shared VM move by several times between runs; counts under
//! `valgrind --tool=callgrind --cache-sim=yes` do not. Only the timed loop
//! (`measured`) is counted: the prefill is not. `scripts/hash-map-counts` runs every
//! map and operation and prints the table; one by hand:
//!
//! ```text
//! cargo build --release --example hash_map_counts
//! valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=33554432,16,64 \
//!     --toggle-collect='*measured*' --callgrind-out-file=/dev/null \
//!     target/release/examples/hash_map_counts fencepost get-hit sip
//! ```
//!
//! Operations (as the comparison's single-thread rows, which it mirrors):
//! - `get-hit`, `get-miss`: lookups over a map of 2^20 keys, in shuffled order;
//! - `insert`: 2^19 new keys into a map sized for them;
//! - `remove`: every key of a map of 2^19 keys, in shuffled order.
//!
//! Divide the counts by the operation count it prints on stderr.
#![allow(
    unreachable_pub,
    dead_code,
    reason = "a binary: `pub` marks the shared workload interface, not every part is used"
)]

#[path = "../benches/workloads/hash_map.rs"]
mod workload;

use std::hash::BuildHasher;
use std::hint::black_box;
use workload::{
    ConcurrentMap, DashMap, Fencepost, FoldHash, KEYS, Papaya, Scc, StdRwLock, WRITE_KEYS,
};

#[derive(Clone, Copy)]
enum Op {
    GetHit,
    GetMiss,
    Insert,
    Remove,
}

/// The counted loop: never inlined, so callgrind's `--toggle-collect` finds it.
#[inline(never)]
fn measured<M: ConcurrentMap>(map: &M, op: Op, keys: &[u64]) -> u64 {
    let mut n = 0u64;
    for (i, &k) in keys.iter().enumerate() {
        n += u64::from(match op {
            Op::GetHit | Op::GetMiss => map.get(k),
            Op::Insert => map.insert(k, i as u64),
            Op::Remove => map.remove(k),
        });
    }
    n
}

fn run<M: ConcurrentMap>(op: Op) -> (u64, u64) {
    let (map, keys): (M, Vec<u64>) = match op {
        Op::GetHit => (workload::prefilled(KEYS), workload::shuffled_keys(KEYS)),
        Op::GetMiss => (
            workload::prefilled(KEYS),
            (0..KEYS).map(|i| workload::miss_key(0, i)).collect(),
        ),
        Op::Insert => (
            M::with_capacity(WRITE_KEYS as usize),
            workload::shuffled_keys(WRITE_KEYS),
        ),
        Op::Remove => (
            workload::prefilled(WRITE_KEYS),
            workload::shuffled_keys(WRITE_KEYS),
        ),
    };
    let start = std::time::Instant::now();
    let done = measured(&map, op, black_box(&keys));
    let elapsed = start.elapsed();
    eprintln!(
        "ns/op {:.1} (wall clock, not counts: noisy)",
        elapsed.as_nanos() as f64 / keys.len() as f64
    );
    (done, keys.len() as u64)
}

fn by_map<S: BuildHasher + Default + Clone + Send + Sync>(map: &str, op: Op) -> Option<(u64, u64)> {
    Some(match map {
        "fencepost" => run::<Fencepost<S>>(op),
        "papaya" => run::<Papaya<S>>(op),
        "dashmap" => run::<DashMap<S>>(op),
        "scc" => run::<Scc<S>>(op),
        "std" => run::<StdRwLock<S>>(op),
        _ => return None,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: hash_map_counts fencepost|papaya|dashmap|scc|std \
                 get-hit|get-miss|insert|remove sip|fold";
    let [map, op, hasher] = args.as_slice() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let op = match op.as_str() {
        "get-hit" => Op::GetHit,
        "get-miss" => Op::GetMiss,
        "insert" => Op::Insert,
        "remove" => Op::Remove,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let result = match hasher.as_str() {
        "sip" => by_map::<std::collections::hash_map::RandomState>(map, op),
        "fold" => by_map::<FoldHash>(map, op),
        _ => None,
    };
    let Some((done, ops)) = result else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let expected = match op {
        Op::GetMiss => 0,
        _ => ops,
    };
    assert_eq!(done, expected, "every hit hits, every miss misses");
    eprintln!("ops {ops}");
}

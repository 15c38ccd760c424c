//! `cargo run --release --example compare [-- --quick] [-- --only NAME]`
//!
//! Every fencepost primitive against std and the best crates.io peers, measured side by
//! side in one run; prints a table, writes `target/fencepost-compare/report.md` and a bar
//! chart `report.svg`. See `harness.rs` for how figures are taken.

#![allow(
    unreachable_pub,
    reason = "a binary: `pub` marks each file's interface"
)]

mod barrier;
mod condvar;
mod harness;
mod hash_map;
mod mutex;
mod rwlock;
mod semaphore;
mod seqlock;
mod spsc;

#[allow(dead_code)]
mod workloads;

fn main() {
    let mut h = harness::Harness::from_args();
    if h.wants("spsc") {
        spsc::run(&mut h);
    }
    if h.wants("mutex") {
        mutex::run(&mut h);
    }
    if h.wants("condvar") {
        condvar::run(&mut h);
    }
    if h.wants("rwlock") {
        rwlock::run(&mut h);
    }
    if h.wants("seqlock") {
        seqlock::run(&mut h);
    }
    if h.wants("semaphore") {
        semaphore::run(&mut h);
    }
    if h.wants("barrier") {
        barrier::run(&mut h);
    }
    if h.wants("hash_map") {
        hash_map::run(&mut h);
    }
    h.finish();
}

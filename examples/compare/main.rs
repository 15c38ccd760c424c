//! `cargo run --release --example compare [-- --quick] [-- --only NAME]`
//!
//! Every fencepost primitive against std and the best crates.io peers, measured side by
//! side in one run; prints a table, writes `target/fencepost-compare/report.md` and a bar
//! chart `report.svg`. See `harness.rs` for how figures are taken.

mod harness;
mod spsc;

fn main() {
    let mut h = harness::Harness::from_args();
    if h.wants("spsc") {
        spsc::run(&mut h);
    }
    h.finish();
}

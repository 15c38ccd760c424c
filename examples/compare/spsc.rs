//! SPSC rows: fencepost against rtrb, crossbeam's `ArrayQueue` and std's
//! `sync_channel`, with the loops of `benches/workloads/spsc.rs`; then the one-way
//! latency rows (`latency.rs`).

use crate::harness::{Candidate, Harness, Sample, Unit};
use crate::workloads::spsc::*;

fn streaming<'a, Q: Queue>(name: &'a str, capacity: usize, items: u64) -> Candidate<'a> {
    (
        name,
        Box::new(move |scale| {
            let n = scale.ops(items);
            Sample {
                ops: n,
                elapsed: stream::<Q>(capacity, n),
            }
        }),
    )
}

fn batched<'a, Q: BatchQueue>(name: &'a str, items: u64) -> Candidate<'a> {
    (
        name,
        Box::new(move |scale| {
            let n = scale.ops(items);
            Sample {
                ops: n,
                elapsed: batches::<Q>(4096, 64, n),
            }
        }),
    )
}

fn trips<'a>(name: &'a str, run: fn(u64) -> std::time::Duration, n: u64) -> Candidate<'a> {
    (
        name,
        Box::new(move |scale| {
            let n = scale.ops(n);
            Sample {
                ops: n,
                elapsed: run(n),
            }
        }),
    )
}

pub fn run(h: &mut Harness) {
    h.group(
        "spsc",
        "streaming, capacity 4096",
        Unit::MopsPerSec,
        vec![
            streaming::<Fencepost>("fencepost", 4096, 20_000_000),
            streaming::<FencepostNoBlockingLayer>("fencepost, no blocking layer", 4096, 20_000_000),
            streaming::<Rtrb>("rtrb", 4096, 20_000_000),
            streaming::<CrossbeamArrayQueue>("crossbeam ArrayQueue", 4096, 2_000_000),
            streaming::<StdSyncChannel>("std sync_channel", 4096, 2_000_000),
        ],
    );
    h.group(
        "spsc",
        "contended, capacity 2",
        Unit::MopsPerSec,
        vec![
            streaming::<Fencepost>("fencepost", 2, 1_000_000),
            streaming::<FencepostNoBlockingLayer>("fencepost, no blocking layer", 2, 1_000_000),
            streaming::<Rtrb>("rtrb", 2, 1_000_000),
            streaming::<CrossbeamArrayQueue>("crossbeam ArrayQueue", 2, 1_000_000),
            streaming::<StdSyncChannel>("std sync_channel", 2, 1_000_000),
        ],
    );
    h.group(
        "spsc",
        "round trip, two queues + echo thread",
        Unit::NsPerOp,
        vec![
            trips("fencepost", round_trip::<Fencepost>, 200_000),
            trips("ping-pong floor (two atomics)", ping_pong_floor, 200_000),
            trips("rtrb", round_trip::<Rtrb>, 200_000),
            trips(
                "crossbeam ArrayQueue",
                round_trip::<CrossbeamArrayQueue>,
                200_000,
            ),
            trips("std sync_channel", round_trip::<StdSyncChannel>, 100_000),
        ],
    );
    h.group(
        "spsc",
        "push_slice/pop_slice, batches of 64, capacity 4096",
        Unit::MopsPerSec,
        vec![
            batched::<Fencepost>("fencepost push_slice/pop_slice", 40_000_000),
            batched::<Rtrb>("rtrb push/pop_partial_slice", 40_000_000),
            batched::<PerItem<Rtrb>>("rtrb push/pop per item", 20_000_000),
        ],
    );
    crate::latency::run(h);
}

//! `fencepost::Condvar` (with `fencepost::Mutex`) against std's and parking_lot's
//! mutex + condvar pairs.
//!
//! Regimes: `notify_one` with nobody waiting (ns/op); a token handed back and forth
//! between two pinned threads (ns per round trip); a barrier built on the pair as std's
//! `Barrier` is (every generation's last arrival calls `notify_all` on the others), 4
//! and 8 threads (oversubscribed on 2 cores), with the notify after the unlock (std's
//! way) and under the lock, then 0 or ~20 µs more inside (the herd rows: the woken find
//! the mutex taken), ns per generation; a queue with 2 producers and 2 consumers,
//! `notify_one` per item (M items/s). The loops live
//! in `benches/workloads/condvar.rs`, shared with the criterion bench.

use crate::harness::{Candidate, Harness, Unit, pin_to_cpu};
use crate::semaphore::adaptive;
use std::time::Duration;

#[path = "../../benches/workloads/condvar.rs"]
mod workload;

use workload::Notify;

/// The three pairs running `job`, ours first, each calibrated to ~30 ms a sample.
fn candidates<'a>(job: impl Fn(&str, u64) -> Duration + Copy + 'a) -> Vec<Candidate<'a>> {
    vec![
        adaptive("fencepost", move |ops| job("fencepost", ops)),
        adaptive("std Mutex+Condvar", move |ops| job("std", ops)),
        adaptive("parking_lot Mutex+Condvar", move |ops| {
            job("parking_lot", ops)
        }),
    ]
}

/// Runs `f::<Pair>` for the pair called `peer`.
macro_rules! dispatch {
    ($peer:expr, $f:ident ($($arg:expr),*)) => {
        match $peer {
            "fencepost" => workload::$f::<workload::Fencepost>($($arg),*),
            "std" => workload::$f::<workload::Std>($($arg),*),
            "parking_lot" => workload::$f::<workload::ParkingLot>($($arg),*),
            other => unreachable!("no peer {other}"),
        }
    };
}

pub fn run(h: &mut Harness) {
    h.group(
        "condvar",
        "notify_one, nobody waiting",
        Unit::NsPerOp,
        candidates(|peer, ops| dispatch!(peer, notify_nobody(ops))),
    );
    h.group(
        "condvar",
        "hand-off ping-pong, 2 threads (ns per round trip)",
        Unit::NsPerOp,
        candidates(|peer, ops| dispatch!(peer, ping_pong(ops, pin_to_cpu))),
    );
    for (threads, notify, label) in [
        (4, Notify::AfterUnlock, "notify after unlock"),
        (8, Notify::AfterUnlock, "notify after unlock"),
        (8, Notify::InsideThenWork(0), "notify under the lock"),
        (
            8,
            Notify::InsideThenWork(20_000),
            "notify under the lock, then ~20 us held",
        ),
    ] {
        h.group(
            "condvar",
            &format!(
                "notify_all barrier, {threads} threads (oversubscribed), {label}, ns per generation"
            ),
            Unit::NsPerOp,
            candidates(move |peer, ops| {
                dispatch!(peer, generations(threads, notify, ops, pin_to_cpu))
            }),
        );
    }
    h.group(
        "condvar",
        "queue, 2 producers + 2 consumers, notify_one per item (M items/s)",
        Unit::MopsPerSec,
        candidates(|peer, ops| dispatch!(peer, queue(2, 2, (ops / 2).max(1), pin_to_cpu))),
    );
}

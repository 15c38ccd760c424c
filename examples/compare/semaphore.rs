//! `fencepost::Semaphore` against glibc `sem_t`, a `Mutex` + `Condvar` semaphore and
//! `async-lock`'s `acquire_blocking`.
//!
//! Regimes: uncontended acquire+release (ns/op); wait/post ping-pong between two pinned
//! threads (ns per round trip); 4 threads on 2 permits and 8 threads on 2 permits
//! (oversubscribed on 2 cores), in M acquisitions/s, all threads together. The loops
//! live in `benches/workloads/semaphore.rs`, shared with the criterion bench.

use crate::harness::{Candidate, Harness, Sample, Scale, Unit, pin_to_cpu};
use std::time::Duration;

#[path = "../../benches/workloads/semaphore.rs"]
mod workload;

/// A candidate whose op count is calibrated on its first (warm-up) call, so that a
/// sample takes about 30 ms (3 ms under `--quick`) whatever its speed: peers here differ
/// by up to 1000x (spinning vs. sleeping every round trip).
pub(crate) fn adaptive<'a>(name: &'a str, run: impl Fn(u64) -> Duration + 'a) -> Candidate<'a> {
    let mut ops = 0u64;
    (
        name,
        Box::new(move |scale: Scale| {
            let target = Duration::from_millis(3 * scale.ops(10));
            if ops == 0 {
                ops = 4;
                while run(ops) < target / 2 && ops < 1 << 32 {
                    ops *= 2;
                }
            }
            let elapsed = run(ops);
            Sample { ops, elapsed }
        }),
    )
}

fn candidates<'a>(job: impl Fn(&str, u64) -> Duration + Copy + 'a) -> Vec<Candidate<'a>> {
    let mut c = vec![adaptive("fencepost", move |ops| job("fencepost", ops))];
    if cfg!(target_os = "linux") {
        c.push(adaptive("glibc sem_t", move |ops| job("glibc", ops)));
    }
    c.push(adaptive("Mutex+Condvar", move |ops| job("condvar", ops)));
    c.push(adaptive("async-lock", move |ops| job("async-lock", ops)));
    c
}

/// Runs `f::<Peer>` for the peer called `peer`.
macro_rules! dispatch {
    ($peer:expr, $f:ident ($($arg:expr),*)) => {
        match $peer {
            "fencepost" => workload::$f::<workload::Fencepost>($($arg),*),
            #[cfg(target_os = "linux")]
            "glibc" => workload::$f::<workload::Glibc>($($arg),*),
            "condvar" => workload::$f::<workload::MutexCondvar>($($arg),*),
            "async-lock" => workload::$f::<workload::AsyncLock>($($arg),*),
            other => unreachable!("no peer {other}"),
        }
    };
}

pub fn run(h: &mut Harness) {
    h.group(
        "semaphore",
        "uncontended acquire+release",
        Unit::NsPerOp,
        candidates(|peer, ops| dispatch!(peer, uncontended(ops))),
    );
    h.group(
        "semaphore",
        "ping-pong wait/post, 2 threads (ns per round trip)",
        Unit::NsPerOp,
        candidates(|peer, ops| dispatch!(peer, ping_pong(ops, pin_to_cpu))),
    );
    h.group(
        "semaphore",
        "4 threads on 2 permits",
        Unit::MopsPerSec,
        candidates(|peer, ops| dispatch!(peer, contended(4, 2, ops.max(4)))),
    );
    h.group(
        "semaphore",
        "8 threads on 2 permits (oversubscribed)",
        Unit::MopsPerSec,
        candidates(|peer, ops| dispatch!(peer, contended(8, 2, ops.max(8)))),
    );
}

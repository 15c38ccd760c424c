//! `fencepost::Barrier` against `std::sync::Barrier`, glibc `pthread_barrier_t` and a
//! spinning sense-reversing barrier: ns per generation with 2 threads (one per core on
//! a 2-core machine) and with 4 and 8 threads (oversubscribed there). The loop lives in
//! `benches/workloads/barrier.rs`, shared with the criterion bench.

use crate::harness::{Candidate, Harness, Unit, pin_to_cpu};
use crate::semaphore::adaptive;

#[path = "../../benches/workloads/barrier.rs"]
mod workload;

use workload::generations;

pub fn run(h: &mut Harness) {
    for threads in [2, 4, 8] {
        let mut c: Vec<Candidate<'_>> = vec![
            adaptive("fencepost", move |ops| {
                generations::<workload::Fencepost>(threads, ops, pin_to_cpu)
            }),
            adaptive("std", move |ops| {
                generations::<workload::Std>(threads, ops, pin_to_cpu)
            }),
        ];
        #[cfg(target_os = "linux")]
        c.push(adaptive("pthread", move |ops| {
            generations::<workload::Pthread>(threads, ops, pin_to_cpu)
        }));
        c.push(adaptive("spinning", move |ops| {
            generations::<workload::Spinning>(threads, ops, pin_to_cpu)
        }));
        let regime = match threads {
            2 => "2 threads, ns per generation".to_string(),
            n => format!("{n} threads (oversubscribed on 2 cores), ns per generation"),
        };
        h.group("barrier", &regime, Unit::NsPerOp, c);
    }
}

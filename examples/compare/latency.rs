//! One-way latency through an SPSC queue at a steady offered rate: the producer paces
//! itself by spinning on the clock (one item per microsecond, 1 M items/s), stamps
//! each `u64` item with the time it pushes it, and the consumer records receipt minus
//! stamp. Rows: p50, p99, p99.9 and the maximum, in ns (lower is better), every
//! implementation with the same item type and capacity, measured in the same
//! interleaved rounds as the floor (one atomic that the producer overwrites with the
//! stamp and the consumer polls: the cost of moving one cache line and reading the
//! clock twice, which no queue can beat).
//!
//! The stamp is the time of the push that succeeded first time, or of the first try
//! when the queue was full (so waiting for room counts as latency); a producer that is
//! descheduled sends late rather than in a burst, so the host's pauses do not pile up
//! as queueing delay. Both clocks read `CLOCK_MONOTONIC` (through `Instant`), which
//! Linux keeps consistent across CPUs.
//!
//! Reading the rows: at 1 M items/s a consumer that loses its CPU for a scheduler tick
//! (4 ms) finds thousands of items waiting, and all of them count. On a machine shared
//! with other work, p99 and beyond therefore measure the scheduler (every queue alike,
//! in multiples of 4 ms), and only p50 compares the queues; the floor drops the items
//! it overwrites and so hides such stalls. The `pop_blocking` row adds the consumer's
//! wake-up: at one item per microsecond it mostly spins, but a sleep costs a futex wake.

use crate::harness::{Harness, MultiCandidate, Sample, Unit};
use crate::workloads::pin::pin_to_cpu;
use crate::workloads::spsc::{CrossbeamArrayQueue, Fencepost, Queue, Rtrb};
use crossbeam_utils::CachePadded;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// One item per microsecond.
const PERIOD_NS: u64 = 1_000;
/// The same capacity for every queue.
const CAPACITY: usize = 1024;
/// Items per sample in a full run: half a second at 1 M items/s.
const ITEMS: u64 = 500_000;
/// The percentiles reported, as (regime suffix, quantile); `1.0` is the maximum.
const QUANTILES: [(&str, f64); 4] = [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999), ("max", 1.0)];

/// The nearest-rank quantile `q` (0 < q <= 1) of `sorted` (ascending, not empty): the
/// smallest value with at least `q` of the values at or below it.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    assert!(!sorted.is_empty(), "quantile of no values");
    assert!(q > 0.0 && q <= 1.0, "quantile {q} outside (0, 1]");
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sorts `latencies` and returns [`QUANTILES`] of them.
pub fn percentiles(latencies: &mut [u64]) -> [u64; QUANTILES.len()] {
    latencies.sort_unstable();
    QUANTILES.map(|(_, q)| quantile(latencies, q))
}

/// Nanoseconds since `base`.
#[inline(always)]
fn now_ns(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

/// Runs the paced producer on CPU 1 and `consume` (which must record `n` latencies) on
/// CPU 0; returns the latencies. `send(stamp)` pushes one stamped item, retrying while
/// the queue is full.
fn paced(
    n: u64,
    mut send: impl FnMut(u64) + Send,
    consume: impl FnOnce(Instant, &mut Vec<u64>) + Send,
) -> Vec<u64> {
    let base = Instant::now();
    let ready = Barrier::new(2);
    let mut latencies = Vec::with_capacity(n as usize);
    thread::scope(|s| {
        s.spawn(|| {
            pin_to_cpu(1);
            ready.wait();
            let start = now_ns(base);
            for i in 0..n {
                let due = start + i * PERIOD_NS;
                let mut now = now_ns(base);
                while now < due {
                    spin_loop();
                    now = now_ns(base);
                }
                send(now);
            }
        });
        pin_to_cpu(0);
        ready.wait();
        consume(base, &mut latencies);
    });
    latencies
}

/// Latencies of `n` items through queue `Q`.
fn through<Q: Queue>(n: u64) -> Vec<u64> {
    let (mut tx, mut rx) = Q::channel(CAPACITY);
    paced(
        n,
        move |stamp| {
            while !Q::push(&mut tx, stamp) {
                spin_loop();
            }
        },
        move |base, out| {
            while (out.len() as u64) < n {
                match Q::pop(&mut rx) {
                    Some(stamp) => out.push(now_ns(base).saturating_sub(stamp)),
                    None => spin_loop(),
                }
            }
        },
    )
}

/// fencepost's default queue with a consumer in `pop_blocking` (it spins, then sleeps
/// when the gap between items is long enough).
struct FencepostPopBlocking;
impl Queue for FencepostPopBlocking {
    type Tx = fencepost::spsc::Producer<u64>;
    type Rx = fencepost::spsc::Consumer<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        fencepost::spsc::channel(capacity)
    }
    #[inline(always)]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.push(v).is_ok()
    }
    #[inline(always)]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop_blocking()
    }
}

/// fencepost's real-time consumer (`channel_real_time_consumer`): the consumer's `pop`
/// makes no wake check, no system call and no fence; the producer, which could block,
/// only polls.
struct FencepostRealTimeConsumer;
impl Queue for FencepostRealTimeConsumer {
    type Tx = fencepost::spsc::Producer<u64>;
    type Rx = fencepost::spsc::RealTimeConsumer<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        fencepost::spsc::channel_real_time_consumer(capacity)
    }
    #[inline(always)]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.push(v).is_ok()
    }
    #[inline(always)]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop()
    }
}

/// The floor: one atomic that the producer overwrites with each stamp and the consumer
/// polls (no slots, no indices; an item overwritten before it is seen is not counted).
fn floor(n: u64) -> Vec<u64> {
    let line = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let seen = Arc::clone(&line);
    paced(
        n,
        move |stamp| line.store(stamp, Ordering::Release),
        move |base, out| {
            let mut last = 0;
            // The producer stops after `n` stamps; stop polling once none came for
            // 100 ms (the clock is read only every 4,096 empty polls, so that the loop
            // polls as tightly as the queues' consumers do).
            let mut last_seen = now_ns(base);
            let mut empty_polls = 0u32;
            while (out.len() as u64) < n {
                let stamp = seen.load(Ordering::Acquire);
                if stamp != last {
                    let now = now_ns(base);
                    out.push(now.saturating_sub(stamp));
                    last = stamp;
                    last_seen = now;
                    empty_polls = 0;
                } else {
                    spin_loop();
                    empty_polls += 1;
                    if empty_polls % 4096 == 0 && now_ns(base) - last_seen > 100_000_000 {
                        break;
                    }
                }
            }
        },
    )
}

fn candidate<'a>(name: &'a str, run: fn(u64) -> Vec<u64>) -> MultiCandidate<'a> {
    (
        name,
        Box::new(move |scale| {
            let n = scale.ops(ITEMS);
            let mut latencies = run(n);
            let ops = latencies.len().max(1) as u64;
            percentiles(&mut latencies)
                .into_iter()
                .map(|ns| Sample {
                    ops,
                    elapsed: Duration::from_nanos(ns.saturating_mul(ops)),
                })
                .collect()
        }),
    )
}

pub fn run(h: &mut Harness) {
    let regimes: Vec<String> = QUANTILES
        .iter()
        .map(|(p, _)| format!("one-way latency at 1 M items/s, capacity {CAPACITY}: {p}"))
        .collect();
    let regimes: Vec<&str> = regimes.iter().map(String::as_str).collect();
    // Half-second samples: 5 rounds keep the group near 15 s.
    let rounds = h.set_rounds(5);
    h.group_multi(
        "spsc",
        &regimes,
        Unit::NsPerOp,
        vec![
            candidate("fencepost", through::<Fencepost>),
            candidate(
                "fencepost, pop_blocking consumer",
                through::<FencepostPopBlocking>,
            ),
            candidate(
                "fencepost, real-time consumer",
                through::<FencepostRealTimeConsumer>,
            ),
            candidate("floor (one atomic, polled)", floor),
            candidate("rtrb", through::<Rtrb>),
            candidate("crossbeam ArrayQueue", through::<CrossbeamArrayQueue>),
        ],
    );
    h.set_rounds(rounds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(quantile(&v, 0.5), 500);
        assert_eq!(quantile(&v, 0.99), 990);
        assert_eq!(quantile(&v, 0.999), 999);
        assert_eq!(quantile(&v, 1.0), 1000);
        assert_eq!(quantile(&[7], 0.5), 7);
        assert_eq!(quantile(&[7], 1.0), 7);
        // Two values: the median is the lower one, p99 the upper.
        assert_eq!(quantile(&[1, 9], 0.5), 1);
        assert_eq!(quantile(&[1, 9], 0.99), 9);
    }

    #[test]
    fn percentiles_sort_first_and_report_the_maximum() {
        let mut v = vec![5, 1, 4, 2, 3, 100];
        assert_eq!(percentiles(&mut v), [3, 100, 100, 100]);
        assert_eq!(v, [1, 2, 3, 4, 5, 100]);
        let mut many: Vec<u64> = (0..10_000).rev().collect();
        assert_eq!(percentiles(&mut many), [4_999, 9_899, 9_989, 9_999]);
    }

    #[test]
    #[should_panic(expected = "quantile of no values")]
    fn no_values_have_no_quantile() {
        quantile(&[], 0.5);
    }

    #[test]
    fn a_paced_run_delivers_every_item_once() {
        let latencies = through::<Fencepost>(2_000);
        assert_eq!(latencies.len(), 2_000);
        let real_time = through::<FencepostRealTimeConsumer>(2_000);
        assert_eq!(real_time.len(), 2_000);
        let floor = floor(2_000);
        assert!(!floor.is_empty() && floor.len() <= 2_000);
    }
}

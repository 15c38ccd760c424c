//! The SPSC workloads, shared by `benches/spsc.rs` (criterion) and
//! `examples/compare/spsc.rs`: one definition of each loop, so both measure the same
//! thing. u64 items; producer on CPU 1, consumer (and the timer) on CPU 0; both sides
//! spin with `spin_loop` when full/empty, for every implementation alike.

use super::pin::pin_to_cpu;
use crossbeam_utils::CachePadded;
use std::hint::{black_box, spin_loop};
use std::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Release},
};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// A queue under test: its two ends and non-blocking push/pop.
pub trait Queue {
    type Tx: Send;
    type Rx: Send;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx);
    /// `false` when full.
    fn push(tx: &mut Self::Tx, v: u64) -> bool;
    fn pop(rx: &mut Self::Rx) -> Option<u64>;
}

/// A queue with batch operations (`T: Copy` slices).
pub trait BatchQueue: Queue {
    fn push_slice(tx: &mut Self::Tx, vs: &[u64]) -> usize;
    fn pop_slice(rx: &mut Self::Rx, out: &mut [u64]) -> usize;
}

pub struct Fencepost;
impl Queue for Fencepost {
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
        rx.pop()
    }
}
impl BatchQueue for Fencepost {
    #[inline(always)]
    fn push_slice(tx: &mut Self::Tx, vs: &[u64]) -> usize {
        tx.push_slice(vs)
    }
    #[inline(always)]
    fn pop_slice(rx: &mut Self::Rx, out: &mut [u64]) -> usize {
        rx.pop_slice(out)
    }
}

/// fencepost with both sides real-time (`channel_real_time`): no sleeper check in
/// push/pop, so the difference to `Fencepost` is what the blocking layer costs the
/// non-blocking path.
pub struct FencepostNoBlockingLayer;
impl Queue for FencepostNoBlockingLayer {
    type Tx = fencepost::spsc::RealTimeProducer<u64>;
    type Rx = fencepost::spsc::RealTimeConsumer<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        fencepost::spsc::channel_real_time(capacity)
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

pub struct Rtrb;
impl Queue for Rtrb {
    type Tx = rtrb::Producer<u64>;
    type Rx = rtrb::Consumer<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        rtrb::RingBuffer::new(capacity)
    }
    #[inline(always)]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.push(v).is_ok()
    }
    #[inline(always)]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop().ok()
    }
}
impl BatchQueue for Rtrb {
    #[inline(always)]
    fn push_slice(tx: &mut Self::Tx, vs: &[u64]) -> usize {
        let (pushed, _) = tx.push_partial_slice(vs);
        pushed.len()
    }
    #[inline(always)]
    fn pop_slice(rx: &mut Self::Rx, out: &mut [u64]) -> usize {
        let (popped, _) = rx.pop_partial_slice(out);
        popped.len()
    }
}

/// Any queue moving a batch one item at a time: its per-item throughput in the batch
/// workload (`PerItem<Rtrb>`).
pub struct PerItem<Q>(std::marker::PhantomData<Q>);
impl<Q: Queue> Queue for PerItem<Q> {
    type Tx = Q::Tx;
    type Rx = Q::Rx;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        Q::channel(capacity)
    }
    #[inline(always)]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        Q::push(tx, v)
    }
    #[inline(always)]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        Q::pop(rx)
    }
}
impl<Q: Queue> BatchQueue for PerItem<Q> {
    #[inline(always)]
    fn push_slice(tx: &mut Self::Tx, vs: &[u64]) -> usize {
        vs.iter().take_while(|&&v| Q::push(tx, v)).count()
    }
    #[inline(always)]
    fn pop_slice(rx: &mut Self::Rx, out: &mut [u64]) -> usize {
        let mut n = 0;
        while n < out.len() {
            match Q::pop(rx) {
                Some(v) => out[n] = v,
                None => break,
            }
            n += 1;
        }
        n
    }
}

pub struct CrossbeamArrayQueue;
impl Queue for CrossbeamArrayQueue {
    type Tx = Arc<crossbeam_queue::ArrayQueue<u64>>;
    type Rx = Arc<crossbeam_queue::ArrayQueue<u64>>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        let q = Arc::new(crossbeam_queue::ArrayQueue::new(capacity));
        (Arc::clone(&q), q)
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

pub struct StdSyncChannel;
impl Queue for StdSyncChannel {
    type Tx = std::sync::mpsc::SyncSender<u64>;
    type Rx = std::sync::mpsc::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        std::sync::mpsc::sync_channel(capacity)
    }
    #[inline(always)]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.try_send(v).is_ok()
    }
    #[inline(always)]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_recv().ok()
    }
}

/// Runs `producer` on CPU 1 and `consumer` on CPU 0, released together; returns the
/// time from the release to the consumer's return.
///
/// The two closures' environments are heap blocks allocated back to back, so the
/// workloads move the queue handles onto each thread's stack first: otherwise the
/// handles' per-operation writes (own index, caches) may share a cache line between the
/// two threads, which made every implementation's streaming figure swing several-fold
/// with the allocation layout.
fn two_threads<P, C>(producer: P, consumer: C) -> Duration
where
    P: FnOnce() + Send,
    C: FnOnce() + Send,
{
    let start = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            pin_to_cpu(1);
            start.wait();
            producer();
        });
        let timed = s.spawn(|| {
            pin_to_cpu(0);
            start.wait();
            let t = Instant::now();
            consumer();
            t.elapsed()
        });
        timed.join().unwrap()
    })
}

/// `n` items from one thread to the other through a queue of `capacity`.
pub fn stream<Q: Queue>(capacity: usize, n: u64) -> Duration {
    let (tx, rx) = Q::channel(capacity);
    two_threads(
        move || {
            // Own copy on this thread's stack: the closure's environment is a heap
            // block next to the other thread's, and per-operation writes to the handle
            // would false-share with it (see `two_threads`).
            let mut tx = tx;
            for i in 0..n {
                while !Q::push(&mut tx, i) {
                    spin_loop();
                }
            }
        },
        move || {
            // Own copy on this thread's stack: the closure's environment is a heap
            // block next to the other thread's, and per-operation writes to the handle
            // would false-share with it (see `two_threads`).
            let mut rx = rx;
            let mut sum = 0u64;
            for _ in 0..n {
                loop {
                    if let Some(v) = Q::pop(&mut rx) {
                        sum = sum.wrapping_add(v);
                        break;
                    }
                    spin_loop();
                }
            }
            assert_eq!(
                sum,
                n.wrapping_mul(n.wrapping_sub(1)) / 2,
                "lost or duplicated items"
            );
            black_box(sum);
        },
    )
}

/// `n` items in batches of `batch` through a queue of `capacity`.
pub fn batches<Q: BatchQueue>(capacity: usize, batch: usize, n: u64) -> Duration {
    let (tx, rx) = Q::channel(capacity);
    two_threads(
        move || {
            // Own copy on this thread's stack: the closure's environment is a heap
            // block next to the other thread's, and per-operation writes to the handle
            // would false-share with it (see `two_threads`).
            let mut tx = tx;
            let mut buf = vec![0u64; batch];
            let mut next = 0u64;
            while next < n {
                let len = (batch as u64).min(n - next) as usize;
                for (k, slot) in buf[..len].iter_mut().enumerate() {
                    *slot = next + k as u64;
                }
                let mut sent = 0;
                while sent < len {
                    let k = Q::push_slice(&mut tx, &buf[sent..len]);
                    if k == 0 {
                        spin_loop();
                    }
                    sent += k;
                }
                next += len as u64;
            }
        },
        move || {
            // Own copy on this thread's stack: the closure's environment is a heap
            // block next to the other thread's, and per-operation writes to the handle
            // would false-share with it (see `two_threads`).
            let mut rx = rx;
            let mut buf = vec![0u64; batch];
            let mut got = 0u64;
            let mut sum = 0u64;
            while got < n {
                let k = Q::pop_slice(&mut rx, &mut buf);
                if k == 0 {
                    spin_loop();
                }
                for &v in &buf[..k] {
                    sum = sum.wrapping_add(v);
                }
                got += k as u64;
            }
            assert_eq!(
                sum,
                n.wrapping_mul(n.wrapping_sub(1)) / 2,
                "lost or duplicated items"
            );
        },
    )
}

/// `n` round trips: CPU 0 pushes into one queue, an echo thread on CPU 1 pops it and
/// pushes it back through a second queue, CPU 0 waits for it. Returns the total time.
pub fn round_trip<Q: Queue>(n: u64) -> Duration {
    let (ping_tx, ping_rx) = Q::channel(64);
    let (pong_tx, pong_rx) = Q::channel(64);
    two_threads(
        move || {
            // Own copy on this thread's stack: the closure's environment is a heap
            // block next to the other thread's, and per-operation writes to the handle
            // would false-share with it (see `two_threads`).
            let (mut ping_rx, mut pong_tx) = (ping_rx, pong_tx);
            for _ in 0..n {
                let v = loop {
                    if let Some(v) = Q::pop(&mut ping_rx) {
                        break v;
                    }
                    spin_loop();
                };
                while !Q::push(&mut pong_tx, v) {
                    spin_loop();
                }
            }
        },
        move || {
            // Own copy on this thread's stack: the closure's environment is a heap
            // block next to the other thread's, and per-operation writes to the handle
            // would false-share with it (see `two_threads`).
            let (mut ping_tx, mut pong_rx) = (ping_tx, pong_rx);
            for i in 0..n {
                while !Q::push(&mut ping_tx, i) {
                    spin_loop();
                }
                loop {
                    if let Some(v) = Q::pop(&mut pong_rx) {
                        assert_eq!(v, i);
                        break;
                    }
                    spin_loop();
                }
            }
        },
    )
}

/// The floor for `round_trip`: the same two threads bounce a counter through two
/// cache lines with plain atomic stores and loads, no queue at all.
pub fn ping_pong_floor(n: u64) -> Duration {
    let lines = [
        CachePadded::new(AtomicU64::new(u64::MAX)),
        CachePadded::new(AtomicU64::new(u64::MAX)),
    ];
    let lines = &lines;
    two_threads(
        move || {
            for i in 0..n {
                while lines[0].load(Acquire) != i {
                    spin_loop();
                }
                lines[1].store(i, Release);
            }
        },
        move || {
            for i in 0..n {
                lines[0].store(i, Release);
                while lines[1].load(Acquire) != i {
                    spin_loop();
                }
            }
        },
    )
}

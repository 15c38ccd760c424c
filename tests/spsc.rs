//! The SPSC queue, from the outside: capacities, wrap-around, two-thread stress, slices,
//! drops, zero-sized items, abandonment, blocking, and a model against `VecDeque`.

use fencepost::spsc::{self, Consumer, Full, Producer, RealTimeConsumer, RealTimeProducer};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

/// Scales a loop count down under Miri, which interprets every step (~1000x slower)
/// and explores many interleavings of the spinning threads.
fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 2000).max(8) } else { n }
}

const _: () = {
    const fn send<T: Send>() {}
    send::<Producer<String>>();
    send::<Consumer<String>>();
    send::<RealTimeProducer<String>>();
    send::<RealTimeConsumer<String>>();
};

/// The handles (real-time ones included) must not be `Sync`: two threads pushing through `&Producer`
/// would break the single-producer protocol. A trait with a blanket impl for `Sync`
/// types and one for all types is ambiguous exactly when the type is `Sync`.
#[test]
fn handles_are_send_but_not_sync() {
    trait AmbiguousIfSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    #[allow(dead_code)]
    struct IsSync;
    impl<T: ?Sized + Sync> AmbiguousIfSync<IsSync> for T {}
    // These compile only because `Producer`/`Consumer` are not `Sync`.
    <Producer<u8> as AmbiguousIfSync<_>>::check();
    <Consumer<u8> as AmbiguousIfSync<_>>::check();
    <RealTimeProducer<u8> as AmbiguousIfSync<_>>::check();
    <RealTimeConsumer<u8> as AmbiguousIfSync<_>>::check();
}

/// Fills and drains a queue of `cap` slots `laps` times, checking order, `len`,
/// `is_full`, `is_empty` and that exactly `cap` items fit.
fn fill_and_drain(cap: usize, laps: usize) {
    let (mut tx, mut rx) = spsc::channel::<usize>(cap);
    let mut next_in = 0;
    let mut next_out = 0;
    for lap in 0..laps {
        // Vary the fill level so that head and tail meet at every index.
        let fill = if lap % 2 == 0 { cap } else { 1 + lap % cap };
        for _ in 0..fill {
            tx.push(next_in).unwrap();
            next_in += 1;
        }
        assert_eq!(tx.len(), fill);
        assert_eq!(rx.len(), fill);
        if fill == cap {
            assert!(tx.is_full() && rx.is_full());
            assert_eq!(
                tx.push(usize::MAX).map_err(Full::into_inner),
                Err(usize::MAX)
            );
        }
        for _ in 0..fill {
            assert_eq!(rx.pop(), Some(next_out));
            next_out += 1;
        }
        assert!(rx.is_empty() && tx.is_empty());
        assert_eq!(rx.pop(), None);
    }
}

#[test]
fn every_small_capacity_holds_exactly_capacity_items_across_wraps() {
    for cap in (1..=9).chain([63, 64, 65]) {
        fill_and_drain(cap, scaled(3 * cap + 20));
    }
}

#[test]
fn capacity_1000_holds_1000_items_across_wraps() {
    fill_and_drain(1000, if cfg!(miri) { 3 } else { 12 });
}

#[test]
fn interleaved_push_pop_walks_every_offset() {
    // One item in flight, then two, …: head and tail cross every slot at every lag.
    for cap in [1, 2, 3, 5, 8] {
        let (mut tx, mut rx) = spsc::channel::<u32>(cap);
        let mut expected = 0;
        let mut n = 0;
        for lag in 0..cap {
            for _ in 0..lag {
                tx.push(n).unwrap();
                n += 1;
            }
            for _ in 0..scaled(4 * cap) {
                tx.push(n).unwrap();
                n += 1;
                assert_eq!(rx.pop(), Some(expected));
                expected += 1;
            }
            for _ in 0..lag {
                assert_eq!(rx.pop(), Some(expected));
                expected += 1;
            }
            assert_eq!(rx.pop(), None);
        }
    }
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn capacity_zero_panics() {
    let _ = spsc::channel::<u8>(0);
}

#[test]
#[should_panic(expected = "exceeds MAX_CAPACITY")]
fn capacity_beyond_the_index_bits_panics_even_for_zsts() {
    let _ = spsc::channel::<()>(spsc::MAX_CAPACITY + 1);
}

#[test]
#[should_panic(expected = "exceeds isize::MAX bytes")]
fn capacity_beyond_the_allocation_limit_panics() {
    let _ = spsc::channel::<u64>(usize::MAX / 8 + 1);
}

#[test]
fn zero_sized_items_work_at_the_largest_capacity() {
    let (mut tx, mut rx) = spsc::channel::<()>(spsc::MAX_CAPACITY);
    assert_eq!(tx.capacity(), spsc::MAX_CAPACITY);
    for _ in 0..10 {
        tx.push(()).unwrap();
    }
    assert_eq!(rx.len(), 10);
    for _ in 0..10 {
        assert_eq!(rx.pop(), Some(()));
    }
    assert_eq!(rx.pop(), None);

    let (mut tx, mut rx) = spsc::channel::<()>(3);
    for _ in 0..3 {
        tx.push(()).unwrap();
    }
    assert!(tx.push(()).is_err());
    assert_eq!(rx.pop_slice(&mut [(); 5]), 3);
}

/// Two threads, `n` items, exactly once and in order, for a given capacity.
fn stress_in_order(cap: usize, n: u64) {
    let (mut tx, mut rx) = spsc::channel::<u64>(cap);
    thread::scope(|s| {
        s.spawn(move || {
            for i in 0..n {
                let mut v = i;
                while let Err(full) = tx.push(v) {
                    v = full.into_inner();
                    thread::yield_now();
                }
            }
        });
        let mut expected = 0;
        while expected < n {
            match rx.pop() {
                Some(v) => {
                    assert_eq!(v, expected, "out of order or duplicated");
                    expected += 1;
                }
                None => thread::yield_now(),
            }
        }
        assert_eq!(rx.pop(), None, "an item arrived that was never pushed");
    });
}

#[test]
fn two_threads_exactly_once_in_order_capacity_1() {
    stress_in_order(1, scaled(100_000) as u64);
}

#[test]
fn two_threads_exactly_once_in_order_capacity_2() {
    stress_in_order(2, scaled(100_000) as u64);
}

#[test]
fn two_threads_exactly_once_in_order_capacity_3() {
    stress_in_order(3, scaled(100_000) as u64);
}

#[test]
fn two_threads_exactly_once_in_order_large_capacity() {
    stress_in_order(4096, scaled(1_000_000) as u64);
}

#[test]
fn two_threads_slices_exactly_once_in_order() {
    for cap in [1, 3, 7, 64] {
        let n = scaled(50_000) as u32;
        let (mut tx, mut rx) = spsc::channel::<u32>(cap);
        thread::scope(|s| {
            s.spawn(move || {
                let data: Vec<u32> = (0..n).collect();
                let mut sent = 0;
                let mut batch = 1;
                while sent < data.len() {
                    let end = (sent + batch).min(data.len());
                    sent += tx.push_slice(&data[sent..end]);
                    batch = batch % 13 + 1;
                    thread::yield_now();
                }
            });
            let mut buf = [0u32; 11];
            let mut expected = 0;
            while expected < n {
                let got = rx.pop_slice(&mut buf);
                for &v in &buf[..got] {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                if got == 0 {
                    thread::yield_now();
                }
            }
        });
    }
}

#[test]
fn slices_cross_the_wrap_in_both_directions() {
    let (mut tx, mut rx) = spsc::channel::<u16>(5);
    let mut out = [0u16; 8];
    // Move both words to index 3, so the next runs wrap.
    assert_eq!(tx.push_slice(&[0, 1, 2]), 3);
    assert_eq!(rx.pop_slice(&mut out[..3]), 3);
    // Four items: slots 3, 4, then 0, 1.
    assert_eq!(tx.push_slice(&[10, 11, 12, 13, 14, 15]), 5);
    assert!(tx.is_full());
    assert_eq!(tx.push_slice(&[99]), 0);
    assert_eq!(rx.pop_slice(&mut out), 5);
    assert_eq!(out[..5], [10, 11, 12, 13, 14]);
    assert_eq!(rx.pop_slice(&mut out), 0);
    // Single pushes and slices interleave correctly after the wrap.
    tx.push(20).unwrap();
    assert_eq!(tx.push_slice(&[21, 22]), 2);
    assert_eq!(rx.pop(), Some(20));
    assert_eq!(rx.pop_slice(&mut out[..1]), 1);
    assert_eq!(out[0], 21);
    assert_eq!(rx.pop(), Some(22));
    assert_eq!(rx.pop(), None);
}

#[test]
fn empty_slices_push_and_pop_nothing() {
    let (mut tx, mut rx) = spsc::channel::<u8>(2);
    assert_eq!(tx.push_slice(&[]), 0);
    assert_eq!(rx.pop_slice(&mut []), 0);
    tx.push(1).unwrap();
    assert_eq!(rx.pop_slice(&mut []), 0);
    assert_eq!(rx.pop(), Some(1));
}

#[test]
fn peek_shows_the_oldest_item_without_removing_it() {
    let (mut tx, mut rx) = spsc::channel(3);
    assert_eq!(rx.peek(), None);
    tx.push(String::from("a")).unwrap();
    tx.push(String::from("b")).unwrap();
    assert_eq!(rx.peek().map(String::as_str), Some("a"));
    assert_eq!(rx.peek().map(String::as_str), Some("a"));
    assert_eq!(rx.pop().as_deref(), Some("a"));
    assert_eq!(rx.peek().map(String::as_str), Some("b"));
}

/// Counts drops; panics in `drop` when asked to.
#[derive(Debug)]
struct Tracked {
    drops: Arc<AtomicUsize>,
    panic_on_drop: bool,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
        if self.panic_on_drop {
            panic!("Tracked::drop asked to panic");
        }
    }
}

fn tracked(drops: &Arc<AtomicUsize>) -> Tracked {
    Tracked {
        drops: Arc::clone(drops),
        panic_on_drop: false,
    }
}

#[test]
fn items_left_in_the_ring_are_dropped_exactly_once() {
    for (pushed, popped) in [(0, 0), (3, 0), (5, 2), (5, 5), (4, 1)] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = spsc::channel(5);
        // Start mid-ring so the leftovers wrap around.
        for _ in 0..3 {
            tx.push(tracked(&drops)).unwrap();
            drop(rx.pop());
        }
        for _ in 0..pushed {
            tx.push(tracked(&drops)).unwrap();
        }
        for _ in 0..popped {
            drop(rx.pop().unwrap());
        }
        let rejected = tx.push(tracked(&drops)).err();
        drop(rejected);
        assert_eq!(
            drops.load(Relaxed),
            3 + popped + usize::from(pushed - popped == 5)
        );
        drop(tx);
        assert_eq!(
            drops.load(Relaxed),
            3 + popped + usize::from(pushed - popped == 5)
        );
        drop(rx);
        assert_eq!(
            drops.load(Relaxed),
            3 + pushed + 1,
            "pushed {pushed}, popped {popped}"
        );
    }
}

#[test]
fn a_panicking_drop_of_a_leftover_drops_the_rest_once_and_none_twice() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, rx) = spsc::channel(4);
    tx.push(tracked(&drops)).unwrap();
    tx.push(Tracked {
        drops: Arc::clone(&drops),
        panic_on_drop: true,
    })
    .unwrap();
    tx.push(tracked(&drops)).unwrap();
    tx.push(tracked(&drops)).unwrap();
    drop(tx);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rx)));
    assert!(result.is_err(), "the panic must propagate");
    assert_eq!(drops.load(Relaxed), 4, "each item dropped exactly once");
}

#[test]
fn items_are_dropped_once_when_the_consumer_outlives_the_producer_on_another_thread() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, rx) = spsc::channel(8);
    for _ in 0..6 {
        tx.push(tracked(&drops)).unwrap();
    }
    let t = thread::spawn(move || drop(tx));
    t.join().unwrap();
    assert_eq!(drops.load(Relaxed), 0);
    thread::spawn(move || drop(rx)).join().unwrap();
    assert_eq!(drops.load(Relaxed), 6);
}

#[test]
fn abandonment_is_seen_by_both_sides() {
    let (tx, mut rx) = spsc::channel::<u8>(2);
    assert!(!tx.is_abandoned() && !rx.is_abandoned());
    drop(tx);
    assert!(rx.is_abandoned());
    assert_eq!(rx.pop_blocking(), None);

    let (mut tx, rx) = spsc::channel::<u8>(1);
    drop(rx);
    assert!(tx.is_abandoned());
    tx.push_blocking(1).unwrap(); // room: accepted, then dropped with the ring
    assert_eq!(tx.push_blocking(2).unwrap_err().into_inner(), 2);
}

#[test]
fn pop_blocking_drains_everything_before_reporting_the_producer_gone() {
    let (mut tx, mut rx) = spsc::channel(4);
    let producer = thread::spawn(move || {
        for i in 0..scaled(10_000) {
            tx.push_blocking(i).unwrap();
        }
    });
    let mut expected = 0;
    while let Some(v) = rx.pop_blocking() {
        assert_eq!(v, expected);
        expected += 1;
    }
    assert_eq!(expected, scaled(10_000));
    producer.join().unwrap();
}

#[test]
fn blocking_pairs_deliver_in_order_at_capacity_1_and_2() {
    for cap in [1, 2] {
        let n = scaled(20_000) as u64;
        let (mut tx, mut rx) = spsc::channel(cap);
        let producer = thread::spawn(move || {
            for i in 0..n {
                tx.push_blocking(i).unwrap();
            }
        });
        for i in 0..n {
            assert_eq!(rx.pop_blocking(), Some(i));
        }
        producer.join().unwrap();
        assert_eq!(rx.pop_blocking(), None);
    }
}

#[test]
fn a_sleeping_consumer_wakes_when_the_producer_is_dropped() {
    let (tx, mut rx) = spsc::channel::<u8>(1);
    let consumer = thread::spawn(move || rx.pop_blocking());
    // Long enough for the consumer to pass its spin and sleep on the futex.
    thread::sleep(Duration::from_millis(if cfg!(miri) { 10 } else { 50 }));
    drop(tx);
    assert_eq!(consumer.join().unwrap(), None);
}

#[test]
fn a_sleeping_producer_wakes_when_the_consumer_is_dropped() {
    let (mut tx, rx) = spsc::channel::<u8>(1);
    tx.push(1).unwrap();
    let producer = thread::spawn(move || tx.push_blocking(2));
    thread::sleep(Duration::from_millis(if cfg!(miri) { 10 } else { 50 }));
    drop(rx);
    assert_eq!(producer.join().unwrap().unwrap_err().into_inner(), 2);
}

#[test]
fn a_sleeping_producer_wakes_when_a_slot_frees() {
    let (mut tx, mut rx) = spsc::channel::<u8>(1);
    tx.push(1).unwrap();
    let producer = thread::spawn(move || {
        tx.push_blocking(2).unwrap();
        tx
    });
    thread::sleep(Duration::from_millis(if cfg!(miri) { 10 } else { 50 }));
    assert_eq!(rx.pop(), Some(1));
    let _tx = producer.join().unwrap();
    assert_eq!(rx.pop(), Some(2));
}

#[test]
fn debug_and_error_messages_are_helpful() {
    let (tx, rx) = spsc::channel::<String>(3);
    assert_eq!(
        format!("{tx:?}"),
        "Producer { capacity: 3, len: 0, abandoned: false, poll_interval: None }"
    );
    assert_eq!(
        format!("{rx:?}"),
        "Consumer { capacity: 3, len: 0, abandoned: false, poll_interval: None }"
    );
    let (mut tx, rx) = spsc::channel::<String>(1);
    tx.push(String::new()).unwrap();
    let full: Full<String> = tx.push("x".into()).unwrap_err();
    assert_eq!(full.to_string(), "the queue is full");
    let e: Box<dyn std::error::Error> = Box::new(full);
    assert_eq!(format!("{e:?}"), "Full(..)");
    drop(rx);
    let abandoned = tx.push_blocking("y".into()).unwrap_err();
    assert_eq!(abandoned.to_string(), "the consumer is gone");
    assert_eq!(format!("{abandoned:?}"), "Abandoned(..)");
    assert_eq!(abandoned.into_inner(), "y");
}

/// One step of the model.
#[derive(Clone, Debug)]
enum Op {
    Push(u32),
    Pop,
    PushSlice(Vec<u32>),
    PopSlice(usize),
    Peek,
    Len,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u32>().prop_map(Op::Push),
        Just(Op::Pop),
        proptest::collection::vec(any::<u32>(), 0..12).prop_map(Op::PushSlice),
        (0usize..12).prop_map(Op::PopSlice),
        Just(Op::Peek),
        Just(Op::Len),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 512 },
        // Miri's isolation forbids the file system that failure persistence uses.
        failure_persistence: if cfg!(miri) { None } else { ProptestConfig::default().failure_persistence },
        ..ProptestConfig::default()
    })]

    /// Any sequence of operations on one thread behaves like a `VecDeque` bounded to
    /// the capacity.
    #[test]
    fn behaves_like_a_bounded_vecdeque(
        cap in 1usize..12,
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 20 } else { 200 }),
    ) {
        let (mut tx, mut rx) = spsc::channel::<u32>(cap);
        let mut model = VecDeque::new();
        for op in ops {
            match op {
                Op::Push(v) => {
                    let fits = model.len() < cap;
                    prop_assert_eq!(tx.push(v).is_ok(), fits);
                    if fits {
                        model.push_back(v);
                    }
                }
                Op::Pop => prop_assert_eq!(rx.pop(), model.pop_front()),
                Op::PushSlice(vs) => {
                    let n = tx.push_slice(&vs);
                    prop_assert_eq!(n, vs.len().min(cap - model.len()));
                    model.extend(&vs[..n]);
                }
                Op::PopSlice(k) => {
                    let mut out = vec![0; k];
                    let n = rx.pop_slice(&mut out);
                    prop_assert_eq!(n, k.min(model.len()));
                    let expected: Vec<u32> = model.drain(..n).collect();
                    prop_assert_eq!(&out[..n], &expected[..]);
                }
                Op::Peek => prop_assert_eq!(rx.peek(), model.front()),
                Op::Len => {
                    prop_assert_eq!(tx.len(), model.len());
                    prop_assert_eq!(rx.len(), model.len());
                    prop_assert_eq!(rx.is_empty(), model.is_empty());
                    prop_assert_eq!(tx.is_full(), model.len() == cap);
                }
            }
        }
    }
}

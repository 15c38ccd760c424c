//! The SPSC queue's real-time sides: a blocking side facing a real-time one sees every
//! item in order and sees the real-time side leave, by timed polls alone; the
//! constructors' limits; the handles' `Debug` (their `Send`/not-`Sync` is checked
//! with the others' in `tests/spsc.rs`).

use fencepost::spsc;
use std::thread;
use std::time::Duration;

fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 2000).max(8) } else { n }
}

/// Short enough to keep the tests quick; the default (1 ms) is for audio.
const POLL: Duration = Duration::from_micros(100);

#[test]
fn a_blocking_producer_feeds_a_real_time_consumer_in_order() {
    for cap in [1, 2, 5, 64] {
        // Small queues make the producer wait often, each wait a 100 us poll.
        let n = scaled(if cap < 5 { 5_000 } else { 50_000 }) as u64;
        let (mut tx, mut rx) = spsc::channel_real_time_consumer_with_poll::<u64>(cap, POLL);
        let producer = thread::spawn(move || {
            for i in 0..n {
                tx.push_blocking(i).unwrap();
            }
        });
        let mut next = 0;
        let mut buf = [0u64; 8];
        while next < n {
            // Alternate the real-time forms: pop, pop_slice, the iterator.
            match next % 3 {
                0 => {
                    if let Some(v) = rx.pop() {
                        assert_eq!(v, next);
                        next += 1;
                    }
                }
                1 => {
                    let got = rx.pop_slice(&mut buf);
                    for &v in &buf[..got] {
                        assert_eq!(v, next);
                        next += 1;
                    }
                }
                _ => {
                    for v in rx.by_ref().take(5) {
                        assert_eq!(v, next);
                        next += 1;
                    }
                }
            }
            if cfg!(miri) {
                thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert!(rx.is_abandoned());
        assert_eq!(rx.pop(), None);
    }
}

#[test]
fn a_real_time_producer_feeds_a_blocking_consumer_that_sees_it_leave() {
    for cap in [1, 3, 64] {
        let n = scaled(if cap < 5 { 5_000 } else { 50_000 }) as u32;
        let (mut tx, mut rx) = spsc::channel_real_time_producer_with_poll::<u32>(cap, POLL);
        let consumer = thread::spawn(move || {
            let mut expected = 0;
            // Ends only if the producer's drop is seen, though nothing wakes us.
            while let Some(v) = rx.pop_blocking() {
                assert_eq!(v, expected);
                expected += 1;
            }
            expected
        });
        let mut i = 0;
        while i < n {
            if i % 2 == 0 {
                if tx.push(i).is_ok() {
                    i += 1;
                }
            } else {
                let block = [i, i + 1, i + 2];
                let end = (n - i).min(3) as usize;
                i += tx.push_slice(&block[..end]) as u32;
            }
            if cfg!(miri) {
                thread::yield_now();
            }
        }
        drop(tx);
        assert_eq!(consumer.join().unwrap(), n);
    }
}

#[test]
fn a_producer_sleeping_on_a_full_queue_sees_the_real_time_consumer_leave() {
    let (mut tx, rx) = spsc::channel_real_time_consumer_with_poll::<u8>(1, POLL);
    tx.push(1).unwrap();
    let producer = thread::spawn(move || tx.push_blocking(2));
    thread::sleep(Duration::from_millis(if cfg!(miri) { 2 } else { 20 }));
    drop(rx);
    assert_eq!(producer.join().unwrap().unwrap_err().into_inner(), 2);
}

#[test]
fn the_default_poll_interval_also_ends_waits() {
    let (tx, mut rx) = spsc::channel_real_time_producer::<u8>(4);
    assert_eq!(rx.poll_interval(), Some(spsc::DEFAULT_POLL_INTERVAL));
    let consumer = thread::spawn(move || rx.pop_blocking());
    thread::sleep(Duration::from_millis(if cfg!(miri) { 2 } else { 5 }));
    drop(tx);
    assert_eq!(consumer.join().unwrap(), None);
}

#[test]
fn both_sides_real_time_is_a_plain_ring() {
    let (mut tx, mut rx) = spsc::channel_real_time::<u64>(3);
    let n = scaled(20_000) as u64;
    // Both threads poll; each yields when it cannot move, so that two spinning threads
    // on an oversubscribed machine do not wait out each other's time slices.
    let producer = thread::spawn(move || {
        let mut i = 0;
        while i < n {
            if tx.push(i).is_ok() {
                i += 1;
            } else {
                thread::yield_now();
            }
        }
    });
    let mut next = 0;
    while next < n {
        if let Some(v) = rx.pop() {
            assert_eq!(v, next);
            next += 1;
        } else {
            thread::yield_now();
        }
    }
    producer.join().unwrap();
}

#[test]
fn real_time_peek_and_len_see_published_items() {
    let (mut tx, mut rx) = spsc::channel_real_time_consumer::<String>(2);
    assert_eq!(rx.peek(), None);
    tx.push("x".into()).unwrap();
    assert_eq!(rx.peek().map(String::as_str), Some("x"));
    assert_eq!((rx.len(), rx.is_empty(), rx.is_full()), (1, false, false));
    tx.push("y".into()).unwrap();
    assert!(rx.is_full() && tx.is_full());
    assert_eq!(rx.pop().as_deref(), Some("x"));
    drop(tx);
    assert!(rx.is_abandoned());
    // Items left when both handles are gone are dropped with the queue (Miri checks
    // for the leak).
}

#[test]
#[should_panic(expected = "poll_interval must be greater than zero")]
fn a_zero_poll_interval_panics() {
    let _ = spsc::channel_real_time_consumer_with_poll::<u8>(1, Duration::ZERO);
}

#[test]
#[should_panic(expected = "exceeds MAX_POLL_INTERVAL (1s)")]
fn an_absurd_poll_interval_panics() {
    let _ = spsc::channel_real_time_producer_with_poll::<u8>(1, Duration::from_secs(2));
}

#[test]
#[should_panic(expected = "spsc::channel_real_time: capacity must be at least 1")]
fn real_time_capacity_zero_panics_naming_the_constructor() {
    let _ = spsc::channel_real_time::<u8>(0);
}

#[test]
fn the_largest_poll_interval_is_accepted() {
    let (tx, _rx) = spsc::channel_real_time_consumer_with_poll::<u8>(1, spsc::MAX_POLL_INTERVAL);
    assert_eq!(tx.poll_interval(), Some(spsc::MAX_POLL_INTERVAL));
}

#[test]
fn debug_shows_the_side_and_the_poll_interval() {
    let (tx, rx) = spsc::channel_real_time_consumer_with_poll::<u8>(3, POLL);
    assert_eq!(
        format!("{tx:?}"),
        "Producer { capacity: 3, len: 0, abandoned: false, poll_interval: Some(100µs) }"
    );
    assert_eq!(
        format!("{rx:?}"),
        "RealTimeConsumer { capacity: 3, len: 0, abandoned: false }"
    );
    let (tx, rx) = spsc::channel_real_time_producer::<u8>(2);
    assert_eq!(
        format!("{tx:?}"),
        "RealTimeProducer { capacity: 2, len: 0, abandoned: false }"
    );
    assert!(format!("{rx:?}").ends_with("poll_interval: Some(1ms) }"));
}

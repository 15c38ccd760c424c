//! The SPSC queue's deadline-based waits: `push_blocking_timeout`/`_until`,
//! `pop_blocking_timeout`/`_until` and the blocking slice variants. Every timeout case:
//! expiry with nothing moved, partial slice moves, a deadline in the past,
//! `Duration::MAX` (no deadline, no overflow), and abandonment while waiting; on the
//! default queue and facing a real-time side (timed polls).

use fencepost::spsc::{self, PopTimeoutError, PushTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Short waits: the tests assert only that a deadline was honoured (never returned
/// before it), never how late.
const SHORT: Duration = Duration::from_millis(if cfg!(miri) { 2 } else { 10 });

fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 500).max(8) } else { n }
}

#[test]
fn push_timeout_expires_with_nothing_moved() {
    let (mut tx, mut rx) = spsc::channel::<String>(2);
    tx.push("a".into()).unwrap();
    tx.push("b".into()).unwrap();
    let start = Instant::now();
    let err = tx.push_blocking_timeout("c".into(), SHORT).unwrap_err();
    assert!(start.elapsed() >= SHORT, "returned before the deadline");
    assert!(matches!(&err, PushTimeoutError::Timeout(v) if v == "c"));
    assert_eq!(err.into_inner(), "c");
    assert_eq!(tx.len(), 2);
    assert_eq!(rx.pop().as_deref(), Some("a"));
    assert_eq!(rx.pop().as_deref(), Some("b"));
    assert_eq!(rx.pop(), None);
}

#[test]
fn pop_timeout_expires_with_nothing_moved() {
    let (tx, mut rx) = spsc::channel::<u32>(2);
    let start = Instant::now();
    assert_eq!(
        rx.pop_blocking_timeout(SHORT),
        Err(PopTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= SHORT);
    assert!(rx.is_empty() && !rx.is_abandoned());
    drop(tx);
}

#[test]
fn deadlines_in_the_past_try_once_and_time_out_at_once() {
    let (mut tx, mut rx) = spsc::channel::<u8>(1);
    let past = Instant::now();
    thread::sleep(Duration::from_millis(1));
    // Room: the push succeeds without waiting, even though the deadline has passed.
    assert_eq!(tx.push_blocking_until(1, past), Ok(()));
    assert_eq!(
        tx.push_blocking_until(2, past),
        Err(PushTimeoutError::Timeout(2))
    );
    assert_eq!(tx.push_slice_blocking_until(&[3, 4], past), 0);
    assert_eq!(rx.pop_blocking_until(past), Ok(1));
    assert_eq!(rx.pop_blocking_until(past), Err(PopTimeoutError::Timeout));
    let mut out = [0; 2];
    assert_eq!(rx.pop_slice_blocking_until(&mut out, past), 0);
    // A zero timeout is a deadline of now: the same.
    assert_eq!(
        rx.pop_blocking_timeout(Duration::ZERO),
        Err(PopTimeoutError::Timeout)
    );
}

#[test]
fn duration_max_means_no_deadline_and_does_not_overflow() {
    let (mut tx, mut rx) = spsc::channel::<u64>(1);
    let n = scaled(2_000) as u64;
    let consumer = thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            match rx.pop_blocking_timeout(Duration::MAX) {
                Ok(v) => got.push(v),
                Err(e) => {
                    assert_eq!(e, PopTimeoutError::Abandoned);
                    return got;
                }
            }
        }
    });
    for i in 0..n {
        tx.push_blocking_timeout(i, Duration::MAX).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), (0..n).collect::<Vec<_>>());
}

#[test]
fn slice_timeouts_report_partial_moves() {
    let (mut tx, mut rx) = spsc::channel::<u16>(4);
    // Four of six fit; the other two wait until the deadline.
    let start = Instant::now();
    assert_eq!(
        tx.push_slice_blocking_timeout(&[1, 2, 3, 4, 5, 6], SHORT),
        4
    );
    assert!(start.elapsed() >= SHORT);
    let mut out = [0; 6];
    // Four of six are there; the other two never come.
    let start = Instant::now();
    assert_eq!(rx.pop_slice_blocking_timeout(&mut out, SHORT), 4);
    assert!(start.elapsed() >= SHORT);
    assert_eq!(out[..4], [1, 2, 3, 4]);
    // Duration::MAX with everything available moves everything at once.
    assert_eq!(tx.push_slice_blocking_timeout(&[7, 8], Duration::MAX), 2);
    assert_eq!(
        rx.pop_slice_blocking_timeout(&mut out[..2], Duration::MAX),
        2
    );
    assert_eq!(out[..2], [7, 8]);
}

#[test]
fn blocking_slices_move_everything_across_threads_in_order() {
    let n = scaled(20_000);
    let data: Vec<u32> = (0..n as u32).collect();
    let (mut tx, mut rx) = spsc::channel::<u32>(7);
    let expected = data.clone();
    let consumer = thread::spawn(move || {
        let mut got = vec![0; n];
        let mut at = 0;
        while at < n {
            let len = (at % 13 + 1).min(n - at);
            assert_eq!(rx.pop_slice_blocking(&mut got[at..at + len]), len);
            at += len;
        }
        // The producer is gone: a blocking slice pop returns what is left (nothing).
        assert_eq!(rx.pop_slice_blocking(&mut [0; 3]), 0);
        got
    });
    for chunk in data.chunks(11) {
        assert_eq!(tx.push_slice_blocking(chunk), chunk.len());
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), expected);
}

#[test]
fn abandonment_ends_every_wait_and_keeps_what_moved() {
    let (mut tx, rx) = spsc::channel::<u8>(2);
    drop(rx);
    // Room for two: they move, the rest cannot ever be received.
    assert_eq!(tx.push_slice_blocking(&[1, 2, 3]), 2);
    assert_eq!(
        tx.push_blocking_timeout(4, Duration::MAX),
        Err(PushTimeoutError::Abandoned(4))
    );
    let (tx, mut rx) = spsc::channel::<u8>(2);
    drop(tx);
    assert_eq!(
        rx.pop_blocking_timeout(Duration::MAX),
        Err(PopTimeoutError::Abandoned)
    );
    assert_eq!(rx.pop_slice_blocking_timeout(&mut [0; 2], Duration::MAX), 0);
}

#[test]
fn a_timed_wait_is_cut_short_by_progress() {
    // Duration::MAX would hang if the pop did not wake the producer: the wake is
    // what ends the wait.
    let (mut tx, mut rx) = spsc::channel::<u8>(1);
    tx.push(1).unwrap();
    let producer = thread::spawn(move || {
        tx.push_blocking_timeout(2, Duration::MAX).unwrap();
        tx
    });
    thread::sleep(SHORT);
    assert_eq!(rx.pop(), Some(1));
    let _tx = producer.join().unwrap();
    assert_eq!(rx.pop(), Some(2));
}

#[test]
fn timeouts_facing_a_real_time_side_expire_by_polling() {
    let poll = Duration::from_micros(200);
    let (mut tx, rx) = spsc::channel_real_time_consumer_with_poll::<u8>(1, poll);
    tx.push(1).unwrap();
    let start = Instant::now();
    assert_eq!(
        tx.push_blocking_timeout(2, SHORT),
        Err(PushTimeoutError::Timeout(2))
    );
    assert!(start.elapsed() >= SHORT);
    drop(rx);
    assert_eq!(
        tx.push_blocking_timeout(3, Duration::MAX),
        Err(PushTimeoutError::Abandoned(3))
    );

    let (rt_tx, mut rx) = spsc::channel_real_time_producer_with_poll::<u8>(1, poll);
    let start = Instant::now();
    assert_eq!(
        rx.pop_blocking_timeout(SHORT),
        Err(PopTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= SHORT);
    let mut out = [0; 2];
    assert_eq!(rx.pop_slice_blocking_timeout(&mut out, SHORT), 0);
    drop(rt_tx);
    assert_eq!(
        rx.pop_blocking_timeout(Duration::MAX),
        Err(PopTimeoutError::Abandoned)
    );
}

#[test]
fn error_types_describe_themselves() {
    let e = PushTimeoutError::Timeout(String::from("secret"));
    assert_eq!(format!("{e:?}"), "Timeout(..)");
    assert_eq!(e.to_string(), "the queue stayed full until the deadline");
    let e = PushTimeoutError::Abandoned(1);
    assert_eq!(format!("{e:?}"), "Abandoned(..)");
    assert_eq!(e.to_string(), "the consumer is gone");
    assert_eq!(
        PopTimeoutError::Timeout.to_string(),
        "the queue stayed empty until the deadline"
    );
    assert_eq!(
        PopTimeoutError::Abandoned.to_string(),
        "the queue is empty and the producer is gone"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(PopTimeoutError::Timeout);
    assert!(boxed.to_string().contains("deadline"));
}

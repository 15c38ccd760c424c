//! What the SPSC queue's real-time sides cost and save, measured against the default
//! queue in the same process, in interleaved rounds (medians of `--rounds`, default 7):
//!
//! - hot path: `push` + `pop` of one `u64` on one thread (ns per pair), and a
//!   two-thread stream of `u64`s through 4,096 slots (ns per item; producer and
//!   consumer pinned as in the benches), for the default
//!   `channel`, `channel_real_time_consumer` (a blocking producer's `push`, a real-time
//!   `pop`) and `channel_real_time` (both real-time);
//! - the blocking side's timed waits, facing a real-time side: how late a producer
//!   waiting on a full queue sees a slot freed (vs being woken by a default consumer),
//!   and how often it wakes, and how much CPU it uses, while it waits (`getrusage` of
//!   its thread: voluntary context switches and CPU time).
//!
//! ```text
//! cargo run --release --example spsc_rt_cost [-- --rounds 7]
//! ```

#[allow(unreachable_pub, reason = "the benches' pinning module, shared as is")]
#[path = "../benches/workloads/pin.rs"]
mod pin;

use fencepost::spsc;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Pairs per single-thread sample, items per two-thread sample.
const SINGLE: u64 = 5_000_000;
const STREAM: u64 = 5_000_000;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One thread: push one, pop one, `n` times; ns per pair.
fn single<P, C>(
    (mut tx, mut rx): (P, C),
    push: fn(&mut P, u64) -> bool,
    pop: fn(&mut C) -> Option<u64>,
    n: u64,
) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        assert!(push(&mut tx, black_box(i)));
        black_box(pop(&mut rx));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Two threads: a spinning producer and a spinning consumer move `n` items; ns/item.
fn stream<P: Send + 'static, C: Send + 'static>(
    (mut tx, mut rx): (P, C),
    push: fn(&mut P, u64) -> bool,
    pop: fn(&mut C) -> Option<u64>,
    n: u64,
) -> f64 {
    let go = Arc::new(AtomicBool::new(false));
    let producer = {
        let go = Arc::clone(&go);
        thread::spawn(move || {
            pin::pin_to_cpu(1);
            while !go.load(Ordering::Acquire) {}
            for i in 0..n {
                while !push(&mut tx, i) {
                    std::hint::spin_loop();
                }
            }
        })
    };
    pin::pin_to_cpu(0);
    let start = Instant::now();
    go.store(true, Ordering::Release);
    let mut got = 0;
    while got < n {
        if let Some(v) = pop(&mut rx) {
            debug_assert_eq!(v, got);
            got += 1;
        }
    }
    let t = start.elapsed();
    producer.join().unwrap();
    pin::unpin();
    t.as_nanos() as f64 / n as f64
}

/// `single` through 1,024 slots and `stream` through 4,096, of one kind of queue.
fn both<P: Send + 'static, C: Send + 'static>(
    make: fn(usize) -> (P, C),
    push: fn(&mut P, u64) -> bool,
    pop: fn(&mut C) -> Option<u64>,
) -> (f64, f64) {
    (
        single(make(1024), push, pop, SINGLE),
        stream(make(4096), push, pop, STREAM),
    )
}

#[cfg(target_os = "linux")]
fn thread_usage() -> (i64, Duration) {
    // SAFETY: getrusage writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let cpu = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (u.ru_nvcsw, cpu(u.ru_utime) + cpu(u.ru_stime))
}

#[cfg(not(target_os = "linux"))]
fn thread_usage() -> (i64, Duration) {
    (0, Duration::ZERO)
}

/// A producer blocked on a full queue for `wait`: its voluntary context switches per
/// second and its CPU time per second of waiting.
fn blocked_producer_cost(poll: Duration, wait: Duration) -> (f64, f64) {
    let (mut tx, rx) = spsc::channel_real_time_consumer_with_poll::<u64>(1, poll);
    tx.push(0).unwrap();
    let waiter = thread::spawn(move || {
        let (cs0, cpu0) = thread_usage();
        let start = Instant::now();
        let r = tx.push_blocking_timeout(1, wait);
        let secs = start.elapsed().as_secs_f64();
        let (cs1, cpu1) = thread_usage();
        assert!(r.is_err());
        (
            (cs1 - cs0) as f64 / secs,
            (cpu1 - cpu0).as_secs_f64() / secs,
        )
    });
    let r = waiter.join().unwrap();
    drop(rx);
    r
}

/// How late a producer blocked on a full queue returns from `push_blocking` after the
/// consumer frees the slot (µs): `trials` times, after letting it fall asleep.
fn wake_latency<C: Send + 'static>(
    make: impl Fn() -> (spsc::Producer<u64>, C),
    pop: fn(&mut C) -> Option<u64>,
    trials: usize,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(trials);
    for trial in 0..trials {
        let (mut tx, mut rx) = make();
        tx.push(0).unwrap();
        let waiter = thread::spawn(move || {
            tx.push_blocking(1).unwrap();
            Instant::now()
        });
        // Long enough for it to spin and go to sleep; the extra 0..1 ms (in steps of
        // 37 us) spreads the pop over the phases of a 1 ms poll, which a fixed sleep
        // started with the waiter's first timed wait would not.
        let spread = Duration::from_micros((trial as u64 * 37) % 1000);
        thread::sleep(Duration::from_millis(3) + spread);
        let freed = Instant::now();
        assert_eq!(pop(&mut rx), Some(0));
        let woke = waiter.join().unwrap();
        out.push(woke.saturating_duration_since(freed).as_secs_f64() * 1e6);
    }
    out
}

fn main() {
    let mut rounds = 7;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            _ => panic!("spsc_rt_cost: unknown argument {a} (--rounds N)"),
        }
    }
    let names = ["default channel", "real-time consumer", "both real-time"];
    let mut single_ns = vec![Vec::new(); 3];
    let mut stream_ns = vec![Vec::new(); 3];
    for round in 0..rounds {
        for k in 0..3 {
            let which = (k + round) % 3; // rotate the order between rounds
            let (s, t) = match which {
                0 => both(spsc::channel, |t, v| t.push(v).is_ok(), |r| r.pop()),
                1 => both(
                    spsc::channel_real_time_consumer,
                    |t, v| t.push(v).is_ok(),
                    |r| r.pop(),
                ),
                _ => both(
                    spsc::channel_real_time,
                    |t, v| t.push(v).is_ok(),
                    |r| r.pop(),
                ),
            };
            single_ns[which].push(s);
            stream_ns[which].push(t);
        }
    }
    let base_single = median(&mut single_ns[0].clone());
    let base_stream = median(&mut stream_ns[0].clone());
    println!("hot path, medians of {rounds} interleaved rounds (u64 items):");
    println!(
        "| queue | push+pop, one thread (ns/pair) | ratio | 2-thread stream, cap 4096 (ns/item) | ratio |"
    );
    println!("|---|---|---|---|---|");
    for k in 0..3 {
        let s = median(&mut single_ns[k]);
        let t = median(&mut stream_ns[k]);
        println!(
            "| {} | {s:.2} | {:.2}x | {t:.2} | {:.2}x |",
            names[k],
            s / base_single,
            t / base_stream
        );
    }

    println!("\nthe blocking side's timed waits (producer blocked on a full queue):");
    for poll in [
        Duration::from_micros(250),
        Duration::from_millis(1),
        Duration::from_millis(5),
    ] {
        let (cs, cpu) = blocked_producer_cost(poll, Duration::from_secs(1));
        println!(
            "  poll {poll:?}: {cs:.0} wake-ups/s, CPU {:.3}% of a core while waiting",
            cpu * 100.0
        );
    }
    let trials = 100;
    let mut rt = wake_latency(|| spsc::channel_real_time_consumer(1), |r| r.pop(), trials);
    let mut default = wake_latency(|| spsc::channel(1), |r| r.pop(), trials);
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() * 9 / 10], v[v.len() - 1])
    };
    let (m, p90, max) = stats(&mut default);
    println!(
        "  slot freed -> push_blocking returns, woken by a default Consumer: median {m:.0} us, p90 {p90:.0} us, max {max:.0} us ({trials} trials)"
    );
    let (m, p90, max) = stats(&mut rt);
    println!(
        "  slot freed -> push_blocking returns, facing a RealTimeConsumer (poll 1 ms): median {m:.0} us, p90 {p90:.0} us, max {max:.0} us"
    );
}

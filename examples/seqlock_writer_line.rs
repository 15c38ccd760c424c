//! Issue-15 experiment: where should a seqlock's writer lock live?
//!
//! `fencepost::SeqLock` writers lock with a compare-exchange on the sequence word that
//! readers hammer; the `seqlock` crate locks a separate mutex and then stores the
//! sequence. This prototype runs both writer protocols (the rest identical: odd
//! sequence, `fence(Release)`, eight Relaxed chunk stores, Release store of the even
//! sequence) against one reader thread in a tight loop, in alternating pairs, and
//! prints writes/s and the reader's completed reads/s for each.
//!
//! `cargo run --release --example seqlock_writer_line`
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*, fence};
use std::time::{Duration, Instant};
#[repr(align(128))]
struct Line<T>(T);
struct S {
    seq: Line<AtomicU64>,
    data: Line<[AtomicU64; 8]>,
    lock: Line<AtomicU64>,
}
fn write(s: &S, v: u64, own_line: bool) {
    if own_line {
        while s
            .lock
            .0
            .compare_exchange_weak(0, 1, Acquire, Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        let q = s.seq.0.load(Relaxed);
        s.seq.0.store(q + 1, Relaxed);
        fence(Release);
        for d in &s.data.0 {
            d.store(v, Relaxed);
        }
        s.seq.0.store(q + 2, Release);
        s.lock.0.store(0, Release);
    } else {
        let mut q = s.seq.0.load(Relaxed);
        loop {
            if q & 1 == 0 {
                match s.seq.0.compare_exchange_weak(q, q + 1, Acquire, Relaxed) {
                    Ok(_) => break,
                    Err(x) => q = x,
                }
            } else {
                q = s.seq.0.load(Relaxed);
            }
        }
        fence(Release);
        for d in &s.data.0 {
            d.store(v, Relaxed);
        }
        s.seq.0.store(q + 2, Release);
    }
}
fn read(s: &S) -> u64 {
    loop {
        let a = s.seq.0.load(Acquire);
        if a & 1 != 0 {
            continue;
        }
        let mut x = 0;
        for d in &s.data.0 {
            x ^= d.load(Relaxed);
        }
        fence(Acquire);
        if s.seq.0.load(Relaxed) == a {
            return x;
        }
    }
}
fn run(own: bool) -> (f64, f64) {
    let s = S {
        seq: Line(AtomicU64::new(0)),
        data: Line(Default::default()),
        lock: Line(AtomicU64::new(0)),
    };
    let stop = AtomicBool::new(false);
    std::thread::scope(|sc| {
        let r = sc.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Relaxed) {
                std::hint::black_box(read(&s));
                n += 1;
            }
            n
        });
        let t = Instant::now();
        let mut w = 0u64;
        while t.elapsed() < Duration::from_millis(300) {
            for _ in 0..100 {
                write(&s, w, own);
                w += 1;
            }
        }
        let el = t.elapsed().as_secs_f64();
        stop.store(true, Relaxed);
        let n = r.join().unwrap();
        (w as f64 / el / 1e6, n as f64 / el / 1e6)
    })
}
fn main() {
    for _ in 0..7 {
        let (wa, ra) = run(false);
        let (wb, rb) = run(true);
        println!(
            "CAS on seq: writes {wa:6.2} M/s reads {ra:6.2} M/s | lock on own line: writes {wb:6.2} M/s reads {rb:6.2} M/s | ratio writes {:.2}",
            wb / wa
        );
    }
}

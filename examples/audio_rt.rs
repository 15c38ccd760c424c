//! An audio-style program: a decoder thread fills an SPSC queue with blocks of samples
//! (`push_slice_blocking`), and a real-time "callback" thread takes one block per
//! callback period with `pop_slice` on a [`RealTimeConsumer`], the way an audio
//! driver's callback would.
//!
//! ```text
//! cargo run --release --example audio_rt                       # the real-time consumer
//! cargo run --release --example audio_rt -- --blocking-consumer  # the default Consumer
//! cargo run --release --example audio_rt -- --callbacks 300 --period-us 1333
//! ```
//!
//! `scripts/check rt` runs it under `strace -f` (through `scripts/rt-syscalls`) and
//! fails if the callback thread made any system call in its steady state; with
//! `--blocking-consumer` the same thread calls `Consumer::pop_slice`, which wakes the
//! sleeping decoder with `futex` calls, and the check must catch them.
//!
//! What the callback thread prints, for the checker (each line one `write` of its own,
//! made outside the steady state):
//!
//! - `rt-tid N`: its kernel thread id (`gettid`), before the steady state;
//! - `rt-steady-begin` after the warm-up callbacks, `rt-steady-end` after the last
//!   steady-state callback. Between the two it makes no call of its own that could
//!   enter the kernel: it is paced by a tick counter that a timer thread advances
//!   (a real callback is paced by the driver), spins on it with plain loads, pops,
//!   and mixes the block into a running sum.
//!
//! [`RealTimeConsumer`]: fencepost::spsc::RealTimeConsumer

use fencepost::spsc;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Samples per callback: 64 frames of mono audio.
const BLOCK: usize = 64;
/// Queue capacity in samples: 8 callbacks' worth, as an audio app would buffer.
const CAPACITY: usize = 8 * BLOCK;
/// Callbacks before the steady state (the queue fills, caches warm, pages fault in).
const WARM_UP: u64 = 50;

struct Options {
    blocking_consumer: bool,
    callbacks: u64,
    period: Duration,
}

fn options() -> Options {
    let mut o = Options {
        blocking_consumer: false,
        callbacks: 1500,
        period: Duration::from_micros(1333),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("audio_rt: {name} needs a number"))
        };
        match a.as_str() {
            "--blocking-consumer" => o.blocking_consumer = true,
            "--callbacks" => o.callbacks = number("--callbacks"),
            "--period-us" => o.period = Duration::from_micros(number("--period-us")),
            _ => panic!(
                "audio_rt: unknown argument {a} (--blocking-consumer, --callbacks N, --period-us N)"
            ),
        }
    }
    assert!(
        o.callbacks > 2 * WARM_UP,
        "audio_rt: --callbacks must exceed {} (twice the warm-up)",
        2 * WARM_UP
    );
    o
}

/// Writes one line with one `write` call of this thread.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\n").as_bytes()).unwrap();
    out.flush().unwrap();
}

fn kernel_tid() -> i64 {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions.
    return i64::from(unsafe { libc::gettid() });
    #[cfg(not(target_os = "linux"))]
    return 0;
}

/// What the callback thread reports.
struct Report {
    underruns_warm_up: u64,
    underruns_steady: u64,
    checksum: f64,
}

/// The callback thread: one `pop` per tick of `ticks`, `callbacks` times.
fn callback_thread(
    mut pop: impl FnMut(&mut [f32]) -> usize,
    ticks: &AtomicU64,
    callbacks: u64,
) -> Report {
    let mut report = Report {
        underruns_warm_up: 0,
        underruns_steady: 0,
        checksum: 0.0,
    };
    let mut block = [0.0f32; BLOCK];
    say(&format!("rt-tid {}", kernel_tid()));
    for n in 0..callbacks {
        if n == WARM_UP {
            say("rt-steady-begin");
        }
        // Wait for the "driver" to call us: plain loads of the tick counter.
        while ticks.load(Ordering::Acquire) <= n {
            std::hint::spin_loop();
        }
        let got = pop(&mut block);
        if got < BLOCK {
            // An underrun: output silence for the rest, as a real callback would.
            block[got..].fill(0.0);
            if n < WARM_UP {
                report.underruns_warm_up += 1;
            } else {
                report.underruns_steady += 1;
            }
        }
        report.checksum += block.iter().map(|&s| f64::from(s)).sum::<f64>();
    }
    say("rt-steady-end");
    report
}

/// The decoder: "decodes" a sine wave block by block into the queue until the
/// callback thread is gone.
fn decode(mut push: impl FnMut(&[f32]) -> usize) -> u64 {
    let mut phase = 0.0f32;
    let mut pushed = 0u64;
    loop {
        let mut block = [0.0f32; BLOCK];
        for s in &mut block {
            *s = (phase * std::f32::consts::TAU).sin() * 0.25;
            phase = (phase + 440.0 / 48_000.0).fract();
        }
        let n = push(&block);
        pushed += n as u64;
        if n < BLOCK {
            return pushed; // the consumer is gone
        }
    }
}

/// Runs the decoder and the callback thread (each owning its end of the queue, which it
/// drops when done); returns what the decoder pushed and the callback's report.
fn run(
    push: impl FnMut(&[f32]) -> usize + Send + 'static,
    pop: impl FnMut(&mut [f32]) -> usize + Send + 'static,
    ticks: &Arc<AtomicU64>,
    callbacks: u64,
) -> (u64, Report) {
    let decoder = thread::spawn(move || decode(push));
    let ticks = Arc::clone(ticks);
    let rt = thread::spawn(move || callback_thread(pop, &ticks, callbacks));
    let report = rt.join().unwrap();
    (decoder.join().unwrap(), report)
}

fn main() {
    let o = options();
    println!(
        "audio_rt: {} consumer, {} callbacks of {} us, blocks of {BLOCK} samples, queue of {CAPACITY}",
        if o.blocking_consumer {
            "blocking (spsc::channel)"
        } else {
            "real-time (spsc::channel_real_time_consumer)"
        },
        o.callbacks,
        o.period.as_micros()
    );
    let ticks = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    // The "driver": advances the tick counter once per period.
    let timer = {
        let ticks = Arc::clone(&ticks);
        let (callbacks, period) = (o.callbacks, o.period);
        thread::spawn(move || {
            for n in 1..=callbacks {
                let due = start + period * n as u32;
                thread::sleep(due.saturating_duration_since(Instant::now()));
                ticks.store(n, Ordering::Release);
            }
        })
    };
    let (pushed, report) = if o.blocking_consumer {
        let (mut tx, mut rx) = spsc::channel::<f32>(CAPACITY);
        run(
            move |b| tx.push_slice_blocking(b),
            move |b| rx.pop_slice(b),
            &ticks,
            o.callbacks,
        )
    } else {
        let (mut tx, mut rx) = spsc::channel_real_time_consumer::<f32>(CAPACITY);
        run(
            move |b| tx.push_slice_blocking(b),
            move |b| rx.pop_slice(b),
            &ticks,
            o.callbacks,
        )
    };
    timer.join().unwrap();
    println!(
        "audio_rt: {:.2} s, decoder pushed {pushed} samples, underruns {} in warm-up, {} in steady state, checksum {:.3}",
        start.elapsed().as_secs_f64(),
        report.underruns_warm_up,
        report.underruns_steady,
        report.checksum
    );
}

//! The jitter each [`FenceMode`](fencepost::FenceMode) injects into an unrelated thread,
//! and what each mode costs on the hot path (Linux).
//!
//! A poller pinned to CPU 0 reads the clock in a tight loop and records every gap
//! between two reads (as `sysjitter` and `cyclictest` do), while threads pinned to
//! CPU 1 run one workload:
//!
//! - `idle`: nothing (the baseline: timer ticks, the hypervisor, the other tenants);
//! - `spsc`: a producer hands one item to a consumer every ~50 us through the blocking
//!   queue; the consumer sleeps between items (so every item costs one heavy fence);
//! - `spsc_rt`: the same through `channel_real_time_consumer`: a consumer that drains
//!   what is ready every ~50 us with the real-time `pop`, and a producer in
//!   `push_blocking` that waits for room by timed polls (no heavy fence in any mode);
//! - `hash_map`: one thread inserts and removes keys of a [`fencepost::HashMap`] flat
//!   out, so the epoch collects (one heavy fence) every 1,024 removes per shard;
//! - `heavy`: the heavy half itself every ~50 us, as the mode issues it
//!   (`membarrier(PRIVATE_EXPEDITED)`, or `fence(SeqCst)`).
//!
//! The mode is process-wide and fixed at first use, so every (mode, workload) runs in a
//! child process of its own; rounds alternate the modes. A `costs` child measures the
//! hot path in one mode: push+pop on one thread, push→pop between two threads pinned
//! apart, `HashMap::remove` and `HashMap::get_cloned`; the table gives each as a ratio
//! against the default mode, medians over the rounds.
//!
//! ```text
//! cargo run --release --example jitter              # 3 s per run, 2 rounds
//! cargo run --release --example jitter -- --quick   # smoke run: 0.2 s per run, 1 round
//! cargo run --release --example jitter -- --only costs --seconds 1 --rounds 4
//! ```
#![allow(
    unreachable_pub,
    reason = "a binary: `pub` marks the shared pinning interface"
)]

#[allow(dead_code)]
#[path = "../benches/workloads/pin.rs"]
mod pin;

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("jitter: Linux only (it pins threads and measures membarrier)");
}

#[cfg(target_os = "linux")]
mod linux {
    use super::pin::pin_to_cpu;
    use fencepost::FenceMode;
    use std::hint::black_box;
    use std::process::Command;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;
    use std::time::{Duration, Instant};

    const WORKLOADS: [&str; 5] = ["idle", "spsc", "spsc_rt", "hash_map", "heavy"];
    const MODES: [FenceMode; 2] = [FenceMode::Membarrier, FenceMode::Fences];
    /// The handover and heavy-fence period.
    const PERIOD: Duration = Duration::from_micros(50);

    fn mode_name(mode: FenceMode) -> &'static str {
        match mode {
            FenceMode::Membarrier => "membarrier",
            FenceMode::Fences => "fences",
        }
    }

    fn parse_mode(s: &str) -> FenceMode {
        match s {
            "membarrier" => FenceMode::Membarrier,
            "fences" => FenceMode::Fences,
            other => panic!("jitter: unknown mode {other:?} (membarrier or fences)"),
        }
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.first().map(String::as_str) == Some("--child") {
            child(&args[1..]);
            return;
        }
        if args.iter().any(|a| a == "--help" || a == "-h") {
            println!("usage: jitter [--quick] [--seconds S] [--rounds N] [--only jitter|costs]");
            return;
        }
        let quick = args.iter().any(|a| a == "--quick");
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map(|v| {
                    v.parse::<f64>()
                        .unwrap_or_else(|_| panic!("jitter: {flag} takes a number, got {v:?}"))
                })
        };
        let seconds = value("--seconds").unwrap_or(if quick { 0.2 } else { 3.0 });
        let rounds = value("--rounds").map_or(if quick { 1 } else { 2 }, |r| r as usize);
        let only = args
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1))
            .map(String::as_str);
        if only != Some("costs") {
            jitter_table(seconds, rounds);
        }
        if only != Some("jitter") {
            costs_table(seconds, rounds);
        }
    }

    /// Runs `exe --child ARGS` and returns its one line of output.
    fn run_child(args: &[&str]) -> String {
        let exe = std::env::current_exe().expect("jitter: current_exe");
        let out = Command::new(exe)
            .arg("--child")
            .args(args)
            .output()
            .expect("jitter: spawning a child");
        assert!(
            out.status.success(),
            "jitter: child {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("jitter: child output")
            .trim()
            .to_owned()
    }

    fn jitter_table(seconds: f64, rounds: usize) {
        let secs = format!("{seconds}");
        println!(
            "jitter: poller pinned to CPU 0, workload threads to CPU 1, {seconds} s per run, \
             {rounds} round(s); default mode {:?}",
            fencepost::DEFAULT_FENCE_MODE
        );
        println!();
        println!(
            "| workload | mode | round | gaps | max (us) | p99.99 (us) | gaps > 10 us | gaps > 5 us | events |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for workload in WORKLOADS {
            for round in 1..=rounds {
                for mode in MODES {
                    let line = run_child(&["jitter", mode_name(mode), workload, &secs]);
                    println!("| {workload} | {} | {round} | {line} |", mode_name(mode));
                }
            }
        }
        println!();
    }

    /// Hot-path costs, modes alternating, medians over the rounds.
    fn costs_table(seconds: f64, rounds: usize) {
        let secs = format!("{seconds}");
        let cost_rounds = rounds.max(1) * 3;
        let mut costs: Vec<Vec<Vec<f64>>> = vec![Vec::new(); MODES.len()];
        for _ in 0..cost_rounds {
            for (m, mode) in MODES.iter().enumerate() {
                let line = run_child(&["costs", mode_name(*mode), &secs]);
                costs[m].push(
                    line.split_whitespace()
                        .map(|v| v.parse().expect("jitter: cost figure"))
                        .collect(),
                );
            }
        }
        let default = MODES
            .iter()
            .position(|m| *m == fencepost::DEFAULT_FENCE_MODE)
            .expect("default mode listed");
        let medians: Vec<Vec<f64>> = costs
            .iter()
            .map(|runs| {
                (0..runs[0].len())
                    .map(|k| median(runs.iter().map(|r| r[k]).collect()))
                    .collect()
            })
            .collect();
        println!(
            "hot path, ns per operation, median of {cost_rounds} alternating runs (ratio against the default mode)"
        );
        println!();
        println!("| operation | membarrier | fences |");
        println!("|---|---|---|");
        let names = [
            "spsc push+pop, one thread",
            "spsc push->pop, two threads",
            "HashMap::remove",
            "HashMap::get_cloned",
        ];
        for (k, name) in names.iter().enumerate() {
            let cell = |m: usize| {
                format!(
                    "{:.1} ({:.2}x)",
                    medians[m][k],
                    medians[m][k] / medians[default][k]
                )
            };
            println!("| {name} | {} | {} |", cell(0), cell(1));
        }
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    fn child(args: &[String]) {
        let mode = parse_mode(&args[1]);
        if let Err(e) = fencepost::set_fence_mode(mode) {
            panic!("jitter: {e}");
        }
        match args[0].as_str() {
            "jitter" => {
                let seconds: f64 = args[3].parse().expect("jitter: seconds");
                jitter(mode, &args[2], Duration::from_secs_f64(seconds));
            }
            "costs" => {
                let seconds: f64 = args[2].parse().expect("jitter: seconds");
                costs(Duration::from_secs_f64(seconds));
            }
            other => panic!("jitter: unknown child {other:?}"),
        }
    }

    /// Gap histogram: 10 ns buckets up to 1 ms; longer gaps land in the last bucket
    /// (the maximum is kept exactly).
    struct Gaps {
        buckets: Vec<u64>,
        max_ns: u64,
        count: u64,
    }

    const BUCKET_NS: u64 = 10;
    const BUCKETS: usize = 100_000;

    impl Gaps {
        fn new() -> Self {
            Gaps {
                buckets: vec![0; BUCKETS],
                max_ns: 0,
                count: 0,
            }
        }

        #[inline]
        fn record(&mut self, ns: u64) {
            let b = ((ns / BUCKET_NS) as usize).min(BUCKETS - 1);
            self.buckets[b] += 1;
            self.max_ns = self.max_ns.max(ns);
            self.count += 1;
        }

        /// The upper edge of the bucket holding quantile `q`, in us.
        fn quantile_us(&self, q: f64) -> f64 {
            let rank = ((self.count as f64) * q).ceil() as u64;
            let mut seen = 0;
            for (b, n) in self.buckets.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return ((b as u64 + 1) * BUCKET_NS) as f64 / 1000.0;
                }
            }
            self.max_ns as f64 / 1000.0
        }

        fn over_us(&self, us: u64) -> u64 {
            let first = (us * 1000 / BUCKET_NS) as usize;
            self.buckets[first..].iter().sum()
        }
    }

    fn poll(duration: Duration) -> Gaps {
        pin_to_cpu(0);
        let mut gaps = Gaps::new();
        let start = Instant::now();
        let mut last = start;
        loop {
            let now = Instant::now();
            gaps.record(now.duration_since(last).as_nanos() as u64);
            last = now;
            if now.duration_since(start) >= duration {
                return gaps;
            }
        }
    }

    /// Sleeps until `next`, then moves it one period on (catching up if late).
    fn pace(next: &mut Instant) {
        let now = Instant::now();
        if *next > now {
            thread::sleep(*next - now);
        }
        *next = (*next + PERIOD).max(Instant::now());
    }

    fn jitter(mode: FenceMode, workload: &str, duration: Duration) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        // Each worker returns its events: items handed over, epoch collections (an
        // estimate: removes / 1,024), heavy fences.
        let spawn = |f: Box<dyn FnOnce(&AtomicBool) -> u64 + Send>| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                pin_to_cpu(1);
                f(&stop)
            })
        };
        match workload {
            "idle" => {}
            "spsc" => {
                let (mut tx, mut rx) = fencepost::spsc::channel::<u64>(16);
                workers.push(spawn(Box::new(move |stop| {
                    let mut next = Instant::now();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        pace(&mut next);
                        tx.push_blocking(i).expect("consumer alive");
                        i += 1;
                    }
                    0
                })));
                workers.push(spawn(Box::new(move |_| {
                    let mut n = 0;
                    while let Some(v) = rx.pop_blocking() {
                        black_box(v);
                        n += 1;
                    }
                    n
                })));
            }
            "spsc_rt" => {
                let (mut tx, mut rx) = fencepost::spsc::channel_real_time_consumer::<u64>(16);
                workers.push(spawn(Box::new(move |_| {
                    let mut i = 0;
                    while tx.push_blocking(i).is_ok() {
                        i += 1;
                    }
                    0
                })));
                workers.push(spawn(Box::new(move |stop| {
                    let mut next = Instant::now();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        pace(&mut next);
                        while let Some(v) = rx.pop() {
                            black_box(v);
                            n += 1;
                        }
                    }
                    n
                })));
            }
            "hash_map" => workers.push(spawn(Box::new(|stop| {
                let map = fencepost::HashMap::<u64, u64>::new();
                let mut removes = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for k in 0..1024 {
                        map.insert(k, k);
                    }
                    for k in 0..1024 {
                        removes += u64::from(map.remove(&k));
                    }
                }
                // One collection per 1,024 retires into a shard's bag.
                removes / 1024
            }))),
            "heavy" => workers.push(spawn(Box::new(move |stop| {
                let mut next = Instant::now();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    pace(&mut next);
                    heavy_fence(mode);
                    n += 1;
                }
                n
            }))),
            other => panic!("jitter: unknown workload {other:?}"),
        }
        // Let the workload settle before polling.
        thread::sleep(Duration::from_millis(20));
        let gaps = thread::spawn(move || poll(duration))
            .join()
            .expect("poller");
        stop.store(true, Ordering::Relaxed);
        let heavy: u64 = workers
            .into_iter()
            .map(|w| w.join().expect("workload thread"))
            .sum();
        println!(
            "{} | {:.1} | {:.2} | {} | {} | {}",
            gaps.count,
            gaps.max_ns as f64 / 1000.0,
            gaps.quantile_us(0.9999),
            gaps.over_us(10),
            gaps.over_us(5),
            heavy
        );
    }

    /// What the heavy half executes in `mode` (as `futex::heavy_fence` does).
    fn heavy_fence(mode: FenceMode) {
        match mode {
            FenceMode::Membarrier => {
                const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
                // SAFETY: membarrier takes two integers and touches no memory of ours;
                // the process registered when `set_fence_mode` fixed the mode.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_membarrier,
                        MEMBARRIER_CMD_PRIVATE_EXPEDITED,
                        0 as libc::c_uint,
                    )
                };
                assert_eq!(r, 0, "membarrier(PRIVATE_EXPEDITED) failed");
            }
            FenceMode::Fences => std::sync::atomic::fence(Ordering::SeqCst),
        }
    }

    /// Prints ns per: push+pop on one thread, push->pop across two threads, remove, get.
    fn costs(duration: Duration) {
        pin_to_cpu(0);
        let n: u64 = ((duration.as_secs_f64() * 5e6) as u64).max(100_000);
        // One thread: push 16, pop 16.
        let (mut tx, mut rx) = fencepost::spsc::channel::<u64>(64);
        let start = Instant::now();
        for i in 0..n / 16 {
            for k in 0..16 {
                tx.push(black_box(i + k)).expect("room");
            }
            for _ in 0..16 {
                black_box(rx.pop());
            }
        }
        let one = start.elapsed().as_nanos() as f64 / n as f64;
        // Two threads: flat-out push and pop, spinning on full/empty.
        let (mut tx, mut rx) = fencepost::spsc::channel::<u64>(1024);
        let consumer = thread::spawn(move || {
            pin_to_cpu(1);
            let mut got = 0;
            while got < n {
                if let Some(v) = rx.pop() {
                    black_box(v);
                    got += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        let start = Instant::now();
        for i in 0..n {
            let mut v = i;
            while let Err(full) = tx.push(v) {
                v = full.into_inner();
                std::hint::spin_loop();
            }
        }
        consumer.join().expect("consumer");
        let two = start.elapsed().as_nanos() as f64 / n as f64;
        // HashMap: remove, then get, over a map of 64K keys.
        let map = fencepost::HashMap::<u64, u64>::new();
        let keys = 1u64 << 16;
        let rounds = (n / keys).max(1);
        let mut remove_ns = 0.0;
        let mut get_ns = 0.0;
        for _ in 0..rounds {
            for k in 0..keys {
                map.insert(k, k);
            }
            let start = Instant::now();
            for k in 0..keys {
                black_box(map.get_cloned(&k));
            }
            get_ns += start.elapsed().as_nanos() as f64;
            let start = Instant::now();
            for k in 0..keys {
                black_box(map.remove(&k));
            }
            remove_ns += start.elapsed().as_nanos() as f64;
        }
        let per = (rounds * keys) as f64;
        println!("{one} {two} {} {}", remove_ns / per, get_ns / per);
    }
}

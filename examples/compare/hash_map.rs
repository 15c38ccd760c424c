//! `fencepost::HashMap` against papaya, dashmap, scc and `RwLock<std HashMap>`, `u64` keys
//! and values, one hasher for all (std's SipHash `RandomState`; two extra rows with
//! foldhash), with the loops and adapters of `benches/workloads/hash_map.rs`.
//!
//! Regimes (sizes scaled down tenfold under `--quick`), each with SipHash and then
//! foldhash:
//! - get hit and get miss over a map of 2^20 keys (lookups in shuffled order) and
//!   remove all of 2^19 keys, on 1, 2 and 8 threads (M ops/s, all threads together);
//!   insert 2^19 keys into a pre-sized map and into one that grows from empty;
//! - bustle-style mixes on 1, 2 and 8 threads (8 oversubscribes a 2-core machine; threads
//!   pinned round-robin), 2^19 operations per sample: read-heavy 98/1/1, the issue's
//!   90/5/5 and exchange 10/40/40/10 over a map sized for 2^18 keys and prefilled to 0.75;
//!   rapid-grow 5/80/5/10 from a capacity of 1024, so the map really grows (M ops/s, all
//!   threads together);
//! - per-insert latency while a map grows from 1024 to 2^19 keys: p50, p99, p99.9 and max
//!   from the same runs (ns, lower is better).
//!
//! Every sample builds its own map (except the lookup rows, which reuse one per map), so
//! the groups run 7 rounds rather than the harness's 11 (a full run of this section takes
//! about 3 minutes on 2 vCPUs). After the rows, a summary of the goals, each as a
//! ratio from this run.

use crate::harness::{Candidate, Harness, MultiCandidate, Sample, Scale, Unit, pin_to_cpu};
use std::cell::OnceCell;
use std::hash::BuildHasher;
use std::time::Duration;

#[path = "../../benches/workloads/hash_map.rs"]
mod workload;

use workload::{
    ConcurrentMap, DashMap, EXCHANGE, Fencepost, FoldHash, KEYS, MIX_OPS, Mix, MixedRun, Papaya,
    RAPID_GROW, READ_90, READ_HEAVY, SMALL_CAPACITY, Scc, StdRwLock, WRITE_KEYS,
};

/// Rounds per group in a full run: fewer than the harness's default, as most samples
/// build (and drop) a map of up to half a million keys.
const ROUNDS: usize = 7;

/// The single-thread key sets, built once per group at the run's scale.
struct Keys {
    /// `key(0, 0..n)` shuffled: what prefilled maps hold, in lookup order.
    hit: Vec<u64>,
    /// `n` keys never inserted.
    miss: Vec<u64>,
    /// `key(0, 0..WRITE_KEYS)` shuffled, for the insert and remove rows.
    write: Vec<u64>,
}

impl Keys {
    fn new(scale: Scale) -> Keys {
        let n = scale.ops(KEYS);
        Keys {
            hit: workload::shuffled_keys(n),
            miss: (0..n).map(|i| workload::miss_key(0, i)).collect(),
            write: workload::shuffled_keys(scale.ops(WRITE_KEYS)),
        }
    }
}

#[derive(Clone, Copy)]
enum Job {
    /// Lookups of present keys, on this many threads.
    GetHit(usize),
    /// Lookups of absent keys, on this many threads.
    GetMiss(usize),
    /// Insert every key into a map made with this capacity (`None`: sized for them all).
    Insert(Option<usize>),
    /// Remove every key, on this many threads.
    Remove(usize),
    Mixed(MixedRun),
}

fn candidate<'a, M: ConcurrentMap + 'a>(job: Job, keys: &'a OnceCell<Keys>) -> Candidate<'a> {
    // Prefilled once per group and reused by every round: lookups do not change it.
    let mut lookup_map: Option<M> = None;
    (
        M::NAME,
        Box::new(move |scale: Scale| {
            let keys = keys.get_or_init(|| Keys::new(scale));
            let n = keys.hit.len() as u64;
            match job {
                Job::GetHit(threads) | Job::GetMiss(threads) => {
                    let map = lookup_map.get_or_insert_with(|| workload::prefilled::<M>(n));
                    let hit = matches!(job, Job::GetHit(_));
                    let probe = if hit { &keys.hit } else { &keys.miss };
                    let (elapsed, hits) = workload::parallel_gets(map, probe, threads, pin_to_cpu);
                    debug_assert_eq!(hits, if hit { n } else { 0 });
                    Sample { ops: n, elapsed }
                }
                Job::Insert(capacity) => Sample {
                    ops: keys.write.len() as u64,
                    elapsed: workload::insert_fresh::<M>(
                        capacity.unwrap_or(keys.write.len()),
                        &keys.write,
                    ),
                },
                Job::Remove(threads) => Sample {
                    ops: keys.write.len() as u64,
                    elapsed: workload::parallel_remove::<M>(&keys.write, threads, pin_to_cpu),
                },
                Job::Mixed(run) => {
                    let run = MixedRun {
                        prefill: scale.ops(run.prefill),
                        ops: scale.ops(run.ops),
                        initial_capacity: if run.prefill == 0 {
                            run.initial_capacity
                        } else {
                            scale.ops(run.initial_capacity as u64) as usize
                        },
                        ..run
                    };
                    Sample {
                        ops: run.ops.div_ceil(run.threads as u64) * run.threads as u64,
                        elapsed: workload::mixed::<M>(run, pin_to_cpu),
                    }
                }
            }
        }),
    )
}

/// Every map with hasher `S`, ours first.
fn candidates<'a, S>(job: Job, keys: &'a OnceCell<Keys>) -> Vec<Candidate<'a>>
where
    S: BuildHasher + Default + Clone + Send + Sync + 'a,
{
    vec![
        candidate::<Fencepost<S>>(job, keys),
        candidate::<Papaya<S>>(job, keys),
        candidate::<DashMap<S>>(job, keys),
        candidate::<Scc<S>>(job, keys),
        candidate::<StdRwLock<S>>(job, keys),
    ]
}

fn latency<'a, M: ConcurrentMap + 'a>() -> MultiCandidate<'a> {
    let ns = |x: f64| Sample {
        ops: 1,
        elapsed: Duration::from_nanos(x as u64),
    };
    (
        M::NAME,
        Box::new(move |scale: Scale| {
            let l = workload::insert_latencies::<M>(SMALL_CAPACITY, scale.ops(WRITE_KEYS));
            vec![ns(l.p50), ns(l.p99), ns(l.p999), ns(l.max)]
        }),
    )
}

fn mix_name(mix: Mix) -> &'static str {
    match (mix.read, mix.insert, mix.remove, mix.update) {
        (98, 1, 1, 0) => "read-heavy 98/1/1/0",
        (10, 40, 40, 10) => "exchange 10/40/40/10",
        (5, 80, 5, 10) => "rapid-grow 5/80/5/10 from capacity 1024",
        (90, 5, 5, 0) => "read/insert/remove 90/5/5",
        _ => "mix",
    }
}

fn threads_name(threads: usize) -> String {
    match threads {
        1 => "1 thread".into(),
        8 => "8 threads (oversubscribed)".into(),
        t => format!("{t} threads"),
    }
}

/// The ratio against the best peer of the row recorded last (for the goals summary).
struct Goal {
    what: String,
    target: f64,
    /// Only this peer counts (`None`: the best peer).
    against: Option<&'static str>,
    ratio: f64,
}

pub fn run(h: &mut Harness) {
    let default_rounds = h.set_rounds(ROUNDS);
    let keys = OnceCell::new();
    let mut goals = Vec::new();
    let mut goal = |h: &Harness, what: &str, target, against| {
        goals.push(Goal {
            what: what.to_string(),
            target,
            against,
            ratio: h.last_ratio(against),
        })
    };

    // Every row with SipHash (std's default, keyed), then with foldhash (fast): the
    // hasher is a third to a half of a lookup's cost, so the rows differ in what they
    // stress. Each goal is judged on the SipHash row, the foldhash row beside it.
    for (hasher, sip) in [("SipHash", true), ("foldhash", false)] {
        let rows = |h: &mut Harness, what: &str, job: Job| {
            let title = format!("{what} ({hasher})");
            if sip {
                h.group(
                    "hash_map",
                    &title,
                    Unit::MopsPerSec,
                    candidates::<std::hash::RandomState>(job, &keys),
                );
            } else {
                h.group(
                    "hash_map",
                    &title,
                    Unit::MopsPerSec,
                    candidates::<FoldHash>(job, &keys),
                );
            }
        };
        for threads in [1, 2, 8] {
            rows(
                h,
                &format!("get hit, {}, 1M keys", threads_name(threads)),
                Job::GetHit(threads),
            );
            if threads == 1 {
                goal(
                    h,
                    &format!("single-thread get hit >= 1.2x best peer ({hasher})"),
                    1.2,
                    None,
                );
            }
            rows(
                h,
                &format!("get miss, {}, 1M keys", threads_name(threads)),
                Job::GetMiss(threads),
            );
            if threads == 1 {
                goal(
                    h,
                    &format!("single-thread get miss >= 1.2x best peer ({hasher})"),
                    1.2,
                    None,
                );
            }
        }
        rows(
            h,
            "insert 512K keys, pre-sized, 1 thread",
            Job::Insert(None),
        );
        goal(
            h,
            &format!("insert, pre-sized >= 1.0x best peer ({hasher})"),
            1.0,
            None,
        );
        rows(
            h,
            "insert 512K keys, growing from empty, 1 thread",
            Job::Insert(Some(0)),
        );
        goal(
            h,
            &format!("insert, growing >= 1.0x best peer ({hasher})"),
            1.0,
            None,
        );
        for threads in [1, 2, 8] {
            rows(
                h,
                &format!("remove all of 512K keys, {}", threads_name(threads)),
                Job::Remove(threads),
            );
            goal(
                h,
                &format!(
                    "remove, {} >= 1.0x best peer ({hasher})",
                    threads_name(threads)
                ),
                1.0,
                None,
            );
        }
        for mix in [READ_HEAVY, READ_90, EXCHANGE, RAPID_GROW] {
            for threads in [1, 2, 8] {
                let run = MixedRun::new(mix, threads, MIX_OPS);
                let what = format!("{}, {}", mix_name(mix), threads_name(threads));
                rows(h, &what, Job::Mixed(run));
                if mix.read == 98 && threads == 2 {
                    goal(
                        h,
                        &format!("{what} >= 1.5x dashmap ({hasher})"),
                        1.5,
                        Some("dashmap"),
                    );
                } else if mix.read != 98 {
                    goal(
                        h,
                        &format!("{what} >= 1.0x best peer ({hasher})"),
                        1.0,
                        None,
                    );
                }
            }
        }
    }

    h.group_multi(
        "hash_map",
        &[
            "insert latency while growing from 1024 to 512K keys: p50",
            "insert latency while growing: p99",
            "insert latency while growing: p99.9",
            "insert latency while growing: max",
        ],
        Unit::NsPerOp,
        vec![
            latency::<Fencepost>(),
            latency::<Papaya>(),
            latency::<DashMap>(),
            latency::<Scc>(),
            latency::<StdRwLock>(),
        ],
    );
    goals.push(Goal {
        what: "insert p99.9 while growing <= best peer's".into(),
        target: 1.0,
        against: None,
        ratio: h.ratio_of("insert latency while growing: p99.9", None),
    });

    h.set_rounds(default_rounds);
    println!("\nhash_map goals (ratios from this run; 8-thread rows oversubscribe 2 cores):");
    for g in goals {
        let against = g.against.unwrap_or("best peer");
        if !g.ratio.is_finite() || g.ratio <= 0.0 {
            // A starved or zero-time row on either side: no ratio to judge.
            println!(
                "  {:<70}   n/a vs {against:<10} no ratio (a starved row)",
                g.what
            );
            continue;
        }
        let verdict = if g.ratio >= g.target {
            "met"
        } else {
            "NOT met"
        };
        println!(
            "  {:<70} {:>5.2}x vs {against:<10} {verdict}",
            g.what, g.ratio
        );
    }
}

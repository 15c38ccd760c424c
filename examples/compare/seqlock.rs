//! `SeqLock` against std's `RwLock` and `Mutex`, `parking_lot::RwLock` and the
//! `seqlock` crate, plus a plain copy as the floor where one makes sense (uncontended).
//! The workloads are shared with `benches/seqlock.rs`.

#[path = "../../benches/seqlock/peers.rs"]
pub(crate) mod peers;

use crate::harness::{Candidate, Harness, Sample, Scale, Unit, pin_to_cpu};
use peers::{Budget, Measured, Shared, Value, Writer};
use std::time::Duration;

fn sample(m: Measured) -> Sample {
    Sample {
        ops: m.ops,
        elapsed: m.elapsed,
    }
}

/// About 30 ms per sample (3 ms with `--quick`).
fn budget(scale: Scale) -> Duration {
    Duration::from_millis(scale.ops(30))
}

/// One candidate per peer, each built by `make::<L>()`, ours first.
macro_rules! peers {
    ($t:ty, $make:ident) => {
        vec![
            ("fencepost", $make::<$t, fencepost::SeqLock<$t>>()),
            ("seqlock crate", $make::<$t, seqlock::SeqLock<$t>>()),
            ("std RwLock", $make::<$t, std::sync::RwLock<$t>>()),
            ("parking_lot RwLock", $make::<$t, parking_lot::RwLock<$t>>()),
            ("std Mutex", $make::<$t, std::sync::Mutex<$t>>()),
        ]
    };
}

type Run = Box<dyn FnMut(Scale) -> Sample>;

/// Puts every candidate's lock (and the floor's value) at the start of its own page.
///
/// The uncontended loops are a few loads each, and where a lock happens to land
/// decides part of their speed: with the lock wherever the allocator put it, the
/// `seqlock` crate and this crate measured 0.52 and 1.48 ns per 8-byte read in one run
/// although the compiler had folded both loops into *the same machine code* (checked
/// with `objdump`). The likely cause is 4K aliasing between the loads of the lock and
/// the loop's `black_box` store to the stack. The same offset for everyone removes the
/// placement lottery from the comparison.
#[repr(align(4096))]
struct PageAligned<T>(T);

fn uncontended_read<T: Value + 'static, L: Shared<T> + 'static>() -> Run {
    let lock = Box::new(PageAligned(L::new(T::make(1))));
    Box::new(move |scale| {
        let n = scale.ops(5_000_000);
        Sample {
            ops: n,
            elapsed: peers::uncontended_reads(&lock.0, n),
        }
    })
}

fn uncontended_write<T: Value + 'static, L: Shared<T> + 'static>() -> Run {
    let lock = Box::new(PageAligned(L::new(T::make(1))));
    Box::new(move |scale| {
        let n = scale.ops(2_000_000);
        Sample {
            ops: n,
            elapsed: peers::uncontended_writes(&lock.0, n),
        }
    })
}

fn floor<T: Value + 'static>() -> Run {
    let value = Box::new(PageAligned(T::make(1)));
    Box::new(move |scale| {
        let n = scale.ops(5_000_000);
        Sample {
            ops: n,
            elapsed: peers::plain_copies(&value.0, n),
        }
    })
}

fn read_vs_tight_writer<T: Value + 'static, L: Shared<T> + 'static>() -> Run {
    let lock = L::new(T::make(1));
    Box::new(move |scale| {
        let b = Budget::Time(budget(scale));
        sample(peers::reads_against_writer(
            &lock,
            Writer::TightLoop,
            b,
            pin_to_cpu,
        ))
    })
}

fn read_vs_paced_writer<T: Value + 'static, L: Shared<T> + 'static>() -> Run {
    let lock = L::new(T::make(1));
    Box::new(move |scale| {
        let b = Budget::Time(budget(scale));
        let w = Writer::Paced(Duration::from_micros(1));
        sample(peers::reads_against_writer(&lock, w, b, pin_to_cpu))
    })
}

fn write_vs_reader<T: Value + 'static, L: Shared<T> + 'static>() -> Run {
    let lock = L::new(T::make(1));
    Box::new(move |scale| {
        let b = Budget::Time(budget(scale));
        sample(peers::writes_against_reader(&lock, b, pin_to_cpu))
    })
}

fn oversubscribed<T: Value + 'static, L: Shared<T> + 'static>() -> Run {
    let lock = L::new(T::make(1));
    Box::new(move |scale| sample(peers::oversubscribed_reads(&lock, 4, budget(scale))))
}

fn with_floor<'a>(mut candidates: Vec<Candidate<'a>>, floor: Run) -> Vec<Candidate<'a>> {
    candidates.push(("plain copy (floor)", floor));
    candidates
}

pub fn run(h: &mut Harness) {
    h.group(
        "seqlock",
        "uncontended read, 8 B",
        Unit::NsPerOp,
        with_floor(peers!(u64, uncontended_read), floor::<u64>()),
    );
    h.group(
        "seqlock",
        "uncontended read, 64 B",
        Unit::NsPerOp,
        with_floor(peers!([u64; 8], uncontended_read), floor::<[u64; 8]>()),
    );
    h.group(
        "seqlock",
        "uncontended write, 64 B",
        Unit::NsPerOp,
        peers!([u64; 8], uncontended_write),
    );
    h.group(
        "seqlock",
        "reads/s, 64 B, writer in a tight loop (2 threads)",
        Unit::MopsPerSec,
        peers!([u64; 8], read_vs_tight_writer),
    );
    h.group(
        "seqlock",
        "reads/s, 64 B, writer at ~1 M writes/s (2 threads)",
        Unit::MopsPerSec,
        peers!([u64; 8], read_vs_paced_writer),
    );
    h.group(
        "seqlock",
        "writes/s, 64 B, reader in a tight loop (2 threads)",
        Unit::MopsPerSec,
        peers!([u64; 8], write_vs_reader),
    );
    h.group(
        "seqlock",
        "reads/s, 64 B, 4 readers + 1 writer (oversubscribed)",
        Unit::MopsPerSec,
        peers!([u64; 8], oversubscribed),
    );
}

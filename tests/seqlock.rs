//! `SeqLock` with real threads: readers racing writers never see a torn or stale value,
//! concurrent `update`s lose nothing, and every payload shape round-trips. Miri runs
//! the same tests with fewer iterations and checks that no access races non-atomically.

use fencepost::SeqLock;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Scales an iteration count down under Miri, which is ~1000x slower.
fn iters(native: u64) -> u64 {
    if cfg!(miri) {
        (native / 500).max(20)
    } else {
        native
    }
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn seqlock_is_send_and_sync() {
    assert_send_sync::<SeqLock<u64>>();
    assert_send_sync::<SeqLock<[u8; 4096]>>();
}

/// 16 words that must all hold the same number.
type Wide = [u64; 16];

fn uniform(v: u64) -> Wide {
    [v; 16]
}

fn assert_untorn(w: &Wide) -> u64 {
    assert!(w.iter().all(|&x| x == w[0]), "torn read: {w:?}");
    w[0]
}

#[test]
fn readers_racing_a_writer_never_see_a_torn_or_older_value() {
    let lock = SeqLock::new(uniform(0));
    let writes = iters(200_000);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut last = 0;
                let mut reads = 0u64;
                while !done.load(Relaxed) || reads < 10 {
                    let v = assert_untorn(&lock.read());
                    assert!(v >= last, "went back in time: {v} after {last}");
                    last = v;
                    reads += 1;
                }
            });
        }
        s.spawn(|| {
            for v in 1..=writes {
                lock.write(uniform(v));
            }
            done.store(true, Relaxed);
        });
    });
    assert_eq!(assert_untorn(&lock.read()), writes);
}

#[test]
fn try_read_never_returns_a_torn_value() {
    let lock = SeqLock::new(uniform(0));
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = 0;
            while !done.load(Relaxed) {
                if let Some(w) = lock.try_read() {
                    let v = assert_untorn(&w);
                    assert!(v >= last, "went back in time: {v} after {last}");
                    last = v;
                }
            }
        });
        s.spawn(|| {
            for _ in 0..iters(100_000) {
                lock.update(|w| *w = uniform(w[0] + 1));
            }
            done.store(true, Relaxed);
        });
    });
    assert_eq!(lock.try_read(), Some(uniform(iters(100_000))));
}

#[test]
fn four_writers_with_update_lose_no_increment() {
    // Two fields that must move together, so a lost or interleaved update shows.
    let lock = SeqLock::new(Pair(0, 0));
    let per_thread = iters(50_000);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..per_thread {
                    lock.update(|Pair(a, b)| {
                        *a += 1;
                        *b += 2;
                    });
                }
            });
        }
        s.spawn(|| {
            for _ in 0..per_thread {
                let Pair(a, b) = lock.read();
                assert_eq!(b, 2 * a, "torn pair ({a}, {b})");
            }
        });
    });
    assert_eq!(lock.into_inner(), Pair(4 * per_thread, 8 * per_thread));
}

#[test]
fn writers_mixing_write_and_update_are_serialised() {
    // `write` stores a uniform value and `update` checks uniformity before bumping it:
    // any overlap of two writers would show as a non-uniform value inside `update`.
    let lock = SeqLock::new(uniform(0));
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let lock = &lock;
            s.spawn(move || {
                for i in 0..iters(20_000) {
                    if (i + t) % 2 == 0 {
                        lock.write(uniform(i));
                    } else {
                        lock.update(|w| {
                            let v = assert_untorn(w);
                            *w = uniform(v + 1);
                        });
                    }
                }
            });
        }
    });
    assert_untorn(&lock.read());
}

#[test]
fn update_returns_the_closure_result() {
    let lock = SeqLock::new(5u32);
    assert_eq!(lock.update(|v| std::mem::replace(v, 9)), 5);
    assert_eq!(lock.read(), 9);
}

#[test]
fn panicking_update_leaves_the_value_and_releases_the_lock() {
    let lock = SeqLock::new([1u64, 2]);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lock.update(|v| {
            v[0] = 100;
            panic!("inside update");
        })
    }));
    assert!(caught.is_err());
    assert_eq!(
        lock.try_read(),
        Some([1, 2]),
        "value changed or lock still held"
    );
    lock.write([3, 4]);
    assert_eq!(lock.read(), [3, 4]);
}

#[test]
fn get_mut_and_into_inner_see_the_last_write() {
    let mut lock = SeqLock::new([0u16; 3]);
    lock.write([1, 2, 3]);
    assert_eq!(*lock.get_mut(), [1, 2, 3]);
    lock.get_mut()[1] = 20;
    assert_eq!(lock.read(), [1, 20, 3]);
    assert_eq!(lock.into_inner(), [1, 20, 3]);
}

#[test]
fn default_from_and_debug() {
    let lock: SeqLock<u32> = SeqLock::default();
    assert_eq!(lock.read(), 0);
    let lock = SeqLock::from(7i16);
    assert_eq!(format!("{lock:?}"), "SeqLock { value: 7 }");
}

#[test]
fn debug_inside_update_does_not_hang() {
    let lock = SeqLock::new(1u8);
    let shown = lock.update(|_| format!("{lock:?}"));
    assert_eq!(shown, "SeqLock { value: <write in progress> }");
}

#[test]
fn usable_in_a_static() {
    static LOCK: SeqLock<[u32; 2]> = SeqLock::new([0, 0]);
    LOCK.write([1, 2]);
    assert_eq!(LOCK.read(), [1, 2]);
}

/// The `(u64, u64)` shape. Tuples are `repr(Rust)`, so bytemuck cannot promise they
/// have no padding and implements `NoUninit` for none of them; a `repr(C)` pair can.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
#[repr(C)]
struct Pair(u64, u64);

/// 64 bytes with mixed field sizes and no padding.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
#[repr(C)]
struct Mixed64 {
    a: u64,
    b: [u32; 6],
    c: [u16; 4],
    d: [u8; 24],
}

/// Over-aligned: 64-byte alignment, larger than any chunk.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
#[repr(C, align(64))]
struct Line([u64; 8]);

/// A 4 KiB page.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
#[repr(C)]
struct Page([u8; 4096]);

/// Odd size (7 bytes), alignment 1: every tail chunk width is used.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
#[repr(C)]
struct Seven([u8; 7]);

/// A type with invalid bit patterns: never built from a torn copy.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::NoUninit)]
#[repr(C)]
struct Flags {
    on: bool,
    also: bool,
}

fn round_trip<T: bytemuck::NoUninit + PartialEq + std::fmt::Debug>(first: T, second: T) {
    let lock = SeqLock::new(first);
    assert_eq!(lock.read(), first);
    assert_eq!(lock.try_read(), Some(first));
    lock.write(second);
    assert_eq!(lock.read(), second);
    lock.update(|v| *v = first);
    assert_eq!(lock.read(), first);
    let mut lock = lock;
    *lock.get_mut() = second;
    assert_eq!(lock.into_inner(), second);
}

#[test]
fn every_payload_shape_round_trips() {
    round_trip((), ());
    round_trip(0xabu8, 0xcd);
    round_trip([1u16, 2, 3], [0xfff0, 0xfff1, 0xfff2]);
    round_trip(f64::MIN_POSITIVE, -0.0);
    round_trip(Pair(u64::MAX, 1), Pair(2, u64::MAX - 1));
    round_trip(Seven(*b"seven!!"), Seven([0xff; 7]));
    round_trip([0x1234_5678u32; 3], [0x9abc_def0; 3]);
    round_trip(
        Flags {
            on: true,
            also: false,
        },
        Flags {
            on: false,
            also: true,
        },
    );
    round_trip(
        Mixed64 {
            a: 1,
            b: [2; 6],
            c: [3; 4],
            d: [4; 24],
        },
        Mixed64 {
            a: u64::MAX,
            b: [u32::MAX; 6],
            c: [u16::MAX; 4],
            d: [0x5a; 24],
        },
    );
    round_trip(Line([7; 8]), Line([u64::MAX; 8]));
    let mut page = Page([0; 4096]);
    for (i, b) in page.0.iter_mut().enumerate() {
        *b = i as u8;
    }
    round_trip(page, Page([0xee; 4096]));
    assert_eq!(core::mem::size_of::<SeqLock<Seven>>() % 8, 0);
}

#[test]
fn odd_sized_values_are_never_torn() {
    // 7 bytes: a usize-less payload made of a u32, a u16 and a u8 chunk, so a torn
    // copy would mix chunk widths.
    let lock = SeqLock::new(Seven([0; 7]));
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Relaxed) {
                let Seven(v) = lock.read();
                assert!(v.iter().all(|&b| b == v[0]), "torn read: {v:?}");
            }
        });
        s.spawn(|| {
            for i in 0..iters(100_000) {
                lock.write(Seven([i as u8; 7]));
            }
            done.store(true, Relaxed);
        });
    });
}

#[test]
fn over_aligned_values_are_never_torn() {
    let lock = SeqLock::new(Line([0; 8]));
    assert_eq!(core::mem::align_of::<SeqLock<Line>>(), 64);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Relaxed) {
                let Line(v) = lock.read();
                assert!(v.iter().all(|&x| x == v[0]), "torn read: {v:?}");
            }
        });
        s.spawn(|| {
            for i in 0..iters(100_000) {
                lock.write(Line([i; 8]));
            }
            done.store(true, Relaxed);
        });
    });
}

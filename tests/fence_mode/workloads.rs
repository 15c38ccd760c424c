//! The workloads each fence-mode test binary runs in its own process (the mode is
//! process-wide): a blocking SPSC ping-pong that makes both sides sleep, and a hash map
//! whose writers remove enough to make the epoch collect while readers pin.

use std::sync::Arc;
use std::thread;

/// Items per ping-pong and keys per map round (Miri: a few).
const N: u64 = if cfg!(miri) { 40 } else { 20_000 };

/// Fixes the mode for this test process (every test calls it first; a repeat with the
/// same mode is `Ok`). Returns the mode in effect: `Membarrier` may be refused where
/// the system lacks it, and then the mode is `Fences`, said by the error.
pub(crate) fn fix(mode: fencepost::FenceMode) -> fencepost::FenceMode {
    match fencepost::set_fence_mode(mode) {
        Ok(()) => assert_eq!(fencepost::fence_mode(), mode),
        Err(e) => {
            assert_eq!(mode, fencepost::FenceMode::Membarrier, "{e}");
            assert_eq!(e.in_effect(), fencepost::FenceMode::Fences);
            // Refused now (not available), or by the first test of this process.
            let why = if e.already_fixed() {
                "already fixed"
            } else {
                "not available"
            };
            assert!(e.to_string().contains(why), "{e}");
            // Miri has no membarrier; Linux 4.14+ outside Miri has it.
            if cfg!(target_os = "linux") && !cfg!(miri) {
                panic!("membarrier refused on Linux: {e}");
            }
        }
    }
    fencepost::fence_mode()
}

/// Two threads bounce `N` items through two capacity-1 queues with the blocking calls,
/// so each side sleeps and is woken over and over; every item arrives, in order.
pub(crate) fn blocking_ping_pong() {
    let (mut to_echo, mut echo_rx) = fencepost::spsc::channel::<u64>(1);
    let (mut echo_tx, mut back) = fencepost::spsc::channel::<u64>(1);
    let echo = thread::spawn(move || {
        while let Some(v) = echo_rx.pop_blocking() {
            echo_tx.push_blocking(v + 1).unwrap();
        }
    });
    for i in 0..N {
        to_echo.push_blocking(i * 2).unwrap();
        assert_eq!(back.pop_blocking(), Some(i * 2 + 1));
    }
    drop(to_echo);
    echo.join().unwrap();
    assert_eq!(back.pop_blocking(), None);
}

/// A slow producer and a consumer that sleeps between items.
pub(crate) fn blocking_stream_with_sleeps() {
    let (mut tx, mut rx) = fencepost::spsc::channel::<u64>(4);
    let producer = thread::spawn(move || {
        for i in 0..N / 20 {
            if i % 8 == 0 {
                thread::yield_now();
            }
            tx.push_blocking(i).unwrap();
        }
    });
    for i in 0..N / 20 {
        assert_eq!(rx.pop_blocking(), Some(i));
    }
    producer.join().unwrap();
    assert_eq!(rx.pop_blocking(), None);
}

/// Two writers insert and remove disjoint keys (thousands of retires: the epoch
/// collects) while a reader checks that every key it finds holds its own value.
pub(crate) fn hash_map_remove_loop() {
    let map = Arc::new(fencepost::HashMap::<u64, u64>::new());
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                for round in 0..if cfg!(miri) { 2 } else { 8 } {
                    for k in 0..N / 4 {
                        let key = k * 2 + w;
                        assert!(map.insert(key, key ^ round));
                    }
                    for k in 0..N / 4 {
                        let key = k * 2 + w;
                        assert!(map.remove(&key));
                    }
                }
            })
        })
        .collect();
    let reader = {
        let map = Arc::clone(&map);
        thread::spawn(move || {
            for k in 0..N {
                if let Some(v) = map.get_cloned(&(k % (N / 2))) {
                    assert_eq!(v & !7, (k % (N / 2)) & !7, "key {k} holds {v}");
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    assert!(map.is_empty());
}

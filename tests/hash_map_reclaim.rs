//! The hash map's reclamation, from the outside: every key and value dropped exactly
//! once, destructors that panic or use the map, closures that re-enter through another
//! map, pins taken in thread-local destructors, `clear` then `flush`, one domain per map,
//! and values mutated through `&V` while the map resizes.

use fencepost::hash_map::{HashMap, Op};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Scales a loop count down under Miri, which interprets every step (~1000x slower).
fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 1000).max(4) } else { n }
}

/// Flushes until the garbage is gone, or fails after a generous deadline (a thread of
/// this test pinned for good would hang here otherwise).
fn flush_all<K, V, S>(map: &HashMap<K, V, S>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while {
        map.flush();
        map.garbage_len() > 0
    } {
        assert!(Instant::now() < deadline, "garbage never reclaimed");
        thread::yield_now();
    }
}

/// Counts its drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

/// A key that counts its drops (equality and hash by `id` only).
#[derive(Debug)]
struct Key {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.id == other.id
    }
}
impl Eq for Key {}
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.id.hash(h);
    }
}
impl Clone for Key {
    fn clone(&self) -> Key {
        Key {
            id: self.id,
            drops: Arc::clone(&self.drops),
        }
    }
}
impl Drop for Key {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
    }
}

#[test]
fn every_key_and_value_is_dropped_exactly_once() {
    let (keys, values) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let n = scaled(4000) as u32;
    let key = |id| Key {
        id,
        drops: Arc::clone(&keys),
    };
    let value = || Counted(Arc::clone(&values));
    let mut made = (0, 0);
    {
        let map = HashMap::<Key, Counted>::with_capacity(4);
        for i in 0..n {
            map.pin().insert(key(i), value()); // new
            made = (made.0 + 1, made.1 + 1);
        }
        for i in 0..n / 2 {
            map.pin().insert(key(i), value()); // replaces: the old key and value go
            made = (made.0 + 1, made.1 + 1);
        }
        for i in 0..n / 4 {
            let k = key(i);
            map.pin().remove(&k);
            made.0 += 1; // `k` itself
        }
        for i in n / 4..n / 2 {
            let k = key(i);
            // `update` clones the key into the new slot.
            assert!(map.update(&k, |_| value()));
            made = (made.0 + 2, made.1 + 1);
        }
        map.retain(|k, _| k.id % 2 == 0);
        let k = key(n + 1);
        assert_eq!(
            map.compute(key(n + 1), |_| Op::Insert(value())),
            fencepost::hash_map::Computed::Inserted
        );
        made = (made.0 + 2, made.1 + 1);
        drop(k);
        // Move half of what is left out by value; drop the rest with the map.
        let live = map.len();
        let moved: Vec<(Key, Counted)> = map.into_iter().take(live / 2).collect();
        assert_eq!(moved.len(), live / 2);
    }
    assert_eq!(keys.load(Relaxed), made.0, "keys");
    assert_eq!(values.load(Relaxed), made.1, "values");
}

/// A value whose destructor panics when told to.
struct Grenade {
    armed: bool,
    drops: Arc<AtomicUsize>,
}

impl Drop for Grenade {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
        if self.armed && !thread::panicking() {
            panic!("grenade");
        }
    }
}

#[test]
fn a_panicking_destructor_loses_no_count_no_value_and_no_slot() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map = HashMap::<u32, Grenade>::builder().shards(1).build();
    let n = scaled(3000) as u32;
    let grenade = |armed| Grenade {
        armed,
        drops: Arc::clone(&drops),
    };
    map.pin().insert(0, grenade(true));
    for i in 1..n {
        map.pin().insert(i, grenade(false));
    }
    // Removing the armed one retires it; a collection inside a later removal (every
    // 1024 retires) drops it, and that removal panics, after its own work is done.
    let mut panics = 0;
    for i in 0..n {
        if catch_unwind(AssertUnwindSafe(|| map.pin().remove(&i).is_some())).is_err() {
            panics += 1;
        }
        assert_eq!(map.len() as u32, n - i - 1, "len after removing {i}");
        assert!(!map.contains_key(&i));
    }
    // Short runs (Miri) never collected: the flush drops it then.
    if catch_unwind(AssertUnwindSafe(|| flush_all(&map))).is_err() {
        panics += 1;
    }
    assert_eq!(panics, 1);
    flush_all(&map);
    assert_eq!(drops.load(Relaxed), n as usize, "every value dropped once");
    // The map works on: every slot went back to the free set.
    for i in 0..n {
        map.pin().insert(i, grenade(false));
    }
    assert_eq!(map.len() as u32, n);
}

/// The map of the next test: a static, so its values' destructors can reach it.
static CHAINED: std::sync::LazyLock<HashMap<u32, Chain>> = std::sync::LazyLock::new(HashMap::new);

/// A value whose destructor removes another key of the same map.
struct Chain(Option<u32>);

impl Drop for Chain {
    fn drop(&mut self) {
        if let Some(next) = self.0 {
            CHAINED.pin().remove(&next);
        }
    }
}

#[test]
fn a_destructor_may_use_the_map_that_drops_it() {
    let map = &*CHAINED;
    let n = scaled(2000) as u32;
    // Value i removes key i + n when dropped, from inside a collection.
    for i in 0..n {
        map.pin().insert(i, Chain(Some(i + n)));
        map.pin().insert(i + n, Chain(None));
    }
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !done.load(Relaxed) {
                assert!(Instant::now() < deadline, "deadlocked");
                thread::sleep(Duration::from_millis(10));
            }
        })
    };
    for i in 0..n {
        map.pin().remove(&i);
    }
    flush_all(map);
    flush_all(map);
    done.store(true, Relaxed);
    watchdog.join().unwrap();
    assert!(map.is_empty(), "{} left", map.len());
}

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("should panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn re_entering_a_map_through_another_maps_closure_panics_instead_of_deadlocking() {
    let (a, b) = (HashMap::<u32, u32>::new(), HashMap::<u32, u32>::new());
    a.pin().insert(1, 1);
    b.pin().insert(1, 1);
    let msg = panic_message(|| {
        a.update(&1, |v| {
            b.update(&1, |w| {
                a.pin().insert(2, 2);
                w + 1
            });
            v + 1
        });
    });
    assert!(msg.contains("same map"), "{msg}");
    // Both locks were released and nothing changed.
    assert_eq!((a.get_cloned(&1), b.get_cloned(&1)), (Some(1), Some(1)));
    assert_eq!(a.get_cloned(&2), None);
    // The nesting itself is fine when nobody re-enters.
    assert!(a.update(&1, |v| {
        assert!(b.update(&1, |w| w + 1));
        v + 1
    }));
    assert_eq!((a.get_cloned(&1), b.get_cloned(&1)), (Some(2), Some(2)));
}

/// Uses a map from a thread-local destructor.
struct UseOnExit(Arc<HashMap<u32, String>>);

impl Drop for UseOnExit {
    fn drop(&mut self) {
        let m = self.0.pin();
        m.insert(7, "from a destructor".to_string());
        assert_eq!(m.get(&1).map(String::as_str), Some("one"));
        drop(m);
        self.0.pin().remove(&1);
        self.0.flush();
    }
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<UseOnExit>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn a_thread_local_destructor_can_use_the_map() {
    let map = Arc::new(HashMap::<u32, String>::new());
    map.pin().insert(1, "one".into());
    // The destructor pins: with no earlier pin on the thread; after one (the id is still
    // there); and with the thread's id handed back before it runs (destructors run in
    // the reverse order of registration, so pinning after `ON_EXIT` is set registers the
    // id's destructor later, which runs first): then the pin borrows an id.
    for case in [
        "first pin in the destructor",
        "pinned before",
        "id already gone",
    ] {
        let m = Arc::clone(&map);
        thread::spawn(move || match case {
            "first pin in the destructor" => {
                ON_EXIT.with(|slot| *slot.borrow_mut() = Some(UseOnExit(m)));
            }
            "pinned before" => {
                assert!(m.contains_key(&1));
                ON_EXIT.with(|slot| *slot.borrow_mut() = Some(UseOnExit(m)));
            }
            _ => {
                let m2 = Arc::clone(&m);
                ON_EXIT.with(|slot| *slot.borrow_mut() = Some(UseOnExit(m)));
                assert!(m2.contains_key(&1));
            }
        })
        .join()
        .unwrap_or_else(|_| panic!("{case}: the destructor panicked"));
        assert_eq!(
            map.get_cloned(&7).as_deref(),
            Some("from a destructor"),
            "{case}"
        );
        map.pin().insert(1, "one".into());
        map.pin().remove(&7);
    }
}

#[test]
fn flush_after_clear_drops_the_values() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map = HashMap::<u32, Counted>::new();
    let n = scaled(500);
    for i in 0..n as u32 {
        map.pin().insert(i, Counted(Arc::clone(&drops)));
    }
    map.clear();
    assert!(map.is_empty());
    flush_all(&map);
    assert_eq!(drops.load(Relaxed), n);
}

/// The ported scc test: with other threads pinned on *other* maps the whole time, a
/// `clear` then `flush` still drops every value (each map has its own epoch).
#[test]
fn a_pin_on_another_map_does_not_hold_back_this_maps_garbage() {
    let other = HashMap::<u32, u32>::new();
    other.pin().insert(1, 1);
    let drops = Arc::new(AtomicUsize::new(0));
    let map = HashMap::<u32, Counted>::new();
    for i in 0..scaled(300) as u32 {
        map.pin().insert(i, Counted(Arc::clone(&drops)));
    }
    let pinned = Barrier::new(2);
    let release = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            let guard = other.pin();
            assert_eq!(guard.get(&1), Some(&1));
            pinned.wait();
            release.wait();
        });
        pinned.wait();
        map.clear();
        map.flush();
        assert_eq!(map.garbage_len(), 0, "held back by a pin on another map");
        assert_eq!(drops.load(Relaxed), scaled(300));
        release.wait();
    });
}

/// A value mutated through `&V` (interior mutability) while other threads churn the map
/// and it resizes many times: no increment may be lost, and (under Miri) no access may
/// race, which a design that moved values on resize would do.
#[test]
fn values_mutated_through_shared_references_survive_resizes() {
    let map = HashMap::<u32, AtomicU64>::with_capacity(4);
    let counters = 4u32;
    for k in 0..counters {
        map.pin().insert(k, AtomicU64::new(0));
    }
    let per = scaled(20_000) as u64;
    let churn = scaled(20_000) as u32;
    let start = Barrier::new(3);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                start.wait();
                for i in 0..per {
                    let m = map.pin();
                    m.get(&((i % u64::from(counters)) as u32))
                        .expect("counters are never removed")
                        .fetch_add(1, Relaxed);
                }
            });
        }
        start.wait();
        let m = map.pin();
        for i in 0..churn {
            m.insert(counters + i, AtomicU64::new(0));
        }
        for i in 0..churn {
            m.remove(&(counters + i));
        }
    });
    let total: u64 = (0..counters)
        .map(|k| map.pin().get(&k).unwrap().load(Relaxed))
        .sum();
    assert_eq!(total, 2 * per);
}

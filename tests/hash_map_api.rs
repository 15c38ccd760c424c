//! The hash map's conveniences and its set, from the outside: owned pins, entry-shaped
//! lookups and removals, `try_insert` in std's sense, `reserve`, the iterator and
//! collection traits, and `HashSet` against std's.

use fencepost::hash_map::{Computed, HashMap, HashSet, HashSetRef, OwnedGuard, ResizePolicy};
use proptest::prelude::*;
use std::collections::HashSet as StdSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<HashSet<String>>();
    send_sync::<
        fencepost::hash_map::HashMapRef<
            'static,
            String,
            u64,
            std::hash::RandomState,
            OwnedGuard<'static>,
        >,
    >();
    send_sync::<HashSetRef<'static, String, std::hash::RandomState, OwnedGuard<'static>>>();
};

#[test]
fn an_owned_pin_moves_to_another_thread_and_keeps_its_references() {
    let map = HashMap::<u32, String>::new();
    map.pin().insert(1, "one".into());
    let m = map.pin_owned();
    let (read, removed) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
    thread::scope(|s| {
        // Taken on this thread, read on another while the value is removed and flushed.
        let reader = s.spawn(|| {
            let one = m.get(&1).unwrap();
            read.wait();
            removed.wait();
            assert_eq!(one, "one");
            assert_eq!(m.get(&1), None);
            m
        });
        read.wait();
        assert!(map.pin().remove(&1).is_some());
        map.flush();
        assert!(
            map.garbage_len() > 0,
            "the pinned value must not be dropped yet"
        );
        removed.wait();
        drop(reader.join().unwrap());
    });
    map.flush();
    assert_eq!(map.garbage_len(), 0);
}

#[test]
fn get_key_value_and_remove_entry_return_the_stored_key() {
    let map = HashMap::<String, u32>::new();
    let m = map.pin();
    m.insert("k".to_string(), 1);
    let (k, v) = m.get_key_value("k").unwrap();
    assert_eq!((k.as_str(), *v), ("k", 1));
    assert_eq!(m.remove_entry("k"), Some((&"k".to_string(), &1)));
    assert_eq!(m.remove_entry("k"), None);
    assert_eq!(m.get_key_value("k"), None);
}

#[test]
fn remove_if_removes_keeps_or_finds_nothing() {
    let map = HashMap::<u8, u32>::new();
    let m = map.pin();
    m.insert(1, 10);
    let calls = AtomicUsize::new(0);
    let ask = |keep: bool| {
        m.remove_if(&1, |k, v| {
            calls.fetch_add(1, Relaxed);
            assert_eq!((*k, *v), (1, 10));
            !keep
        })
    };
    assert_eq!(ask(true), Err((&1, &10)));
    assert_eq!(ask(false), Ok(Some((&1, &10))));
    assert_eq!(ask(false), Ok(None));
    assert_eq!(
        calls.load(Relaxed),
        2,
        "the closure runs once per present key"
    );
    assert!(map.is_empty());
}

#[test]
fn try_insert_never_replaces() {
    let map = HashMap::<u8, String>::new();
    let m = map.pin();
    assert_eq!(m.try_insert(1, "a".into()).unwrap(), "a");
    let err = m.try_insert(1, "b".into()).unwrap_err();
    assert_eq!(err.current(), "a");
    assert!(err.to_string().contains("already present"), "{err}");
    assert_eq!(err.into_pair(), (1, "b".to_string()));
    assert_eq!(m.get(&1).unwrap(), "a");
}

#[test]
fn reserve_makes_room_and_fixed_maps_refuse_to_grow() {
    let map = HashMap::<u64, u64>::builder().shards(4).build();
    map.reserve(5000);
    let reserved = map.capacity();
    assert!(reserved >= 5000, "{reserved}");
    for i in 0..5000 {
        map.pin().insert(i, i);
    }
    assert_eq!(map.capacity(), reserved, "no table grew");
    let fixed = HashMap::<u64, u64>::builder()
        .capacity(100)
        .resize_policy(ResizePolicy::Fixed)
        .build();
    fixed.reserve(50);
    let err = std::panic::catch_unwind(|| fixed.reserve(1_000_000)).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("Fixed") && msg.contains("1000000"), "{msg}");
}

#[test]
fn collect_extend_clone_and_consume() {
    let map: HashMap<u32, String> = (0..100).map(|i| (i, i.to_string())).collect();
    assert_eq!(map.len(), 100);
    let mut more = map.clone();
    more.extend((100..150).map(|i| (i, i.to_string())));
    (&map).extend([(0, "zero".to_string())]);
    assert_eq!(map.get_cloned(&0).as_deref(), Some("zero"));
    assert_eq!(
        more.get_cloned(&0).as_deref(),
        Some("0"),
        "a clone is independent"
    );
    let mut all: Vec<(u32, String)> = more.into_iter().collect();
    all.sort();
    assert_eq!(
        all,
        (0..150).map(|i| (i, i.to_string())).collect::<Vec<_>>()
    );
    let m = map.pin();
    let mut keys: Vec<u32> = m.keys().copied().collect();
    keys.sort_unstable();
    assert_eq!(keys, (0..100).collect::<Vec<_>>());
    assert_eq!(m.values().count(), 100);
}

#[test]
fn a_partly_consumed_map_drops_the_rest() {
    let drops = Arc::new(AtomicUsize::new(0));
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Relaxed);
        }
    }
    let map = HashMap::<u32, D>::new();
    for i in 0..50 {
        map.pin().insert(i, D(Arc::clone(&drops)));
    }
    map.pin().remove(&0); // garbage, not yet reclaimed
    let mut it = map.into_iter();
    let first = it.next().unwrap();
    drop(it);
    assert_eq!(drops.load(Relaxed), 49, "the rest and the garbage");
    drop(first);
    assert_eq!(drops.load(Relaxed), 50);
}

#[test]
fn compute_on_a_full_fixed_map_panics_with_the_capacity() {
    let map = HashMap::<u32, u32>::builder()
        .shards(1)
        .capacity(3)
        .resize_policy(ResizePolicy::Fixed)
        .build();
    let cap = map.capacity();
    for i in 0..cap as u32 {
        assert_eq!(
            map.compute(i, |_| fencepost::hash_map::Op::Insert(i)),
            Computed::Inserted
        );
    }
    let mut i = cap as u32;
    let err = loop {
        match std::panic::catch_unwind(|| map.compute(i, |_| fencepost::hash_map::Op::Insert(i))) {
            Ok(_) => i += 1,
            Err(e) => break e,
        }
    };
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("Fixed") && msg.contains(&cap.to_string()),
        "{msg}"
    );
}

#[test]
fn a_set_inserts_once_and_reports_what_it_did() {
    let set = HashSet::<String>::new();
    assert!(set.insert("a".into()));
    assert!(!set.insert("a".into()));
    let s = set.pin();
    assert!(s.insert("b".into()));
    assert_eq!(s.get("b"), Some(&"b".to_string()));
    assert_eq!(s.take("b"), Some(&"b".to_string()));
    assert!(!s.contains("b"));
    drop(s);
    assert_eq!(format!("{set:?}"), r#"{"a"}"#);
    let from: HashSet<u8> = [3, 1, 3].into_iter().collect();
    let mut all: Vec<u8> = from.into_iter().collect();
    all.sort_unstable();
    assert_eq!(all, [1, 3]);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 128 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_set_behaves_like_std_hash_set(
        ops in proptest::collection::vec((0u8..3, 0u16..64), 1..if cfg!(miri) { 30 } else { 300 }),
        policy in prop_oneof![Just(ResizePolicy::Grow), Just(ResizePolicy::GrowShrink)],
    ) {
        let set = HashSet::from_builder(
            HashMap::<u16, ()>::builder().shards(2).capacity(2).resize_policy(policy),
        );
        let mut model = StdSet::new();
        for (op, v) in ops {
            match op {
                0 => prop_assert_eq!(set.insert(v), model.insert(v)),
                1 => prop_assert_eq!(set.remove(&v), model.remove(&v)),
                _ => prop_assert_eq!(set.contains(&v), model.contains(&v)),
            }
            prop_assert_eq!(set.len(), model.len());
        }
        let mut all: Vec<u16> = set.pin().iter().copied().collect();
        all.sort_unstable();
        let mut expected: Vec<u16> = model.into_iter().collect();
        expected.sort_unstable();
        prop_assert_eq!(all, expected);
    }
}

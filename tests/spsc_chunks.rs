//! The SPSC queue's zero-copy chunks and iterators: write chunks (commit, partial
//! commit, abort, `fill_from_iter`), read chunks (commit drops, moving out, abort),
//! across the end of the ring, with every item's drops counted (each exactly once; an
//! aborted chunk drops nothing, uninitialised slots included), on both kinds of side.

use fencepost::spsc::{self, ChunkError};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;

fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 1000).max(8) } else { n }
}

/// Counts the drops of each id, so a double drop or a missed one shows.
struct Ledger(Vec<AtomicUsize>);

impl Ledger {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Ledger((0..n).map(|_| AtomicUsize::new(0)).collect()))
    }
    fn drops(&self, id: usize) -> usize {
        self.0[id].load(Relaxed)
    }
    fn total(&self) -> usize {
        self.0.iter().map(|d| d.load(Relaxed)).sum()
    }
}

/// An item whose drop is recorded in its ledger (and which panics on drop if told to).
struct Item {
    id: usize,
    ledger: Arc<Ledger>,
    panic_on_drop: bool,
}

fn item(ledger: &Arc<Ledger>, id: usize) -> Item {
    Item {
        id,
        ledger: Arc::clone(ledger),
        panic_on_drop: false,
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        self.ledger.0[self.id].fetch_add(1, Relaxed);
        if self.panic_on_drop {
            panic!("item {} panics on drop", self.id);
        }
    }
}

#[test]
fn a_write_chunk_across_the_wrap_is_two_slices_and_commits_in_order() {
    let (mut tx, mut rx) = spsc::channel::<u32>(5);
    tx.push_slice(&[0, 0, 0]);
    assert_eq!(rx.pop_slice(&mut [0; 3]), 3);
    // tail at index 3: four slots are two from 3 to the end, then two from 0.
    let mut chunk = tx.write_chunk_uninit(4).unwrap();
    assert_eq!(chunk.len(), 4);
    let (a, b) = chunk.as_mut_slices();
    assert_eq!((a.len(), b.len()), (2, 2));
    for (i, slot) in a.iter_mut().chain(b.iter_mut()).enumerate() {
        slot.write(10 + i as u32);
    }
    // SAFETY: the first three slots were written above.
    unsafe { chunk.commit(3) };
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.by_ref().collect::<Vec<_>>(), [10, 11, 12]);
}

#[test]
fn a_read_chunk_across_the_wrap_views_two_slices_and_commit_frees_k() {
    let (mut tx, mut rx) = spsc::channel::<u32>(4);
    tx.push_slice(&[0, 0, 0]);
    assert_eq!(rx.pop_slice(&mut [0; 3]), 3);
    assert_eq!(tx.push_slice(&[1, 2, 3, 4]), 4);
    let chunk = rx.read_chunk(4).unwrap();
    assert_eq!(chunk.len(), 4);
    assert_eq!(chunk.as_slices(), (&[1][..], &[2, 3, 4][..]));
    chunk.commit(2);
    assert_eq!(rx.len(), 2);
    assert_eq!(tx.push_slice(&[5, 6, 7]), 2);
    let chunk = rx.read_chunk(4).unwrap();
    assert_eq!(chunk.as_slices(), (&[3, 4, 5][..], &[6][..]));
    chunk.commit_all();
    assert!(rx.is_empty());
}

#[test]
fn chunk_errors_say_how_many_are_available() {
    let (mut tx, mut rx) = spsc::channel::<u8>(3);
    assert_eq!(
        tx.write_chunk_uninit(4).unwrap_err(),
        ChunkError::TooFewSlots(3)
    );
    assert_eq!(rx.read_chunk(1).unwrap_err(), ChunkError::TooFewSlots(0));
    tx.push(1).unwrap();
    assert_eq!(
        tx.write_chunk_uninit(3).unwrap_err(),
        ChunkError::TooFewSlots(2)
    );
    assert_eq!(rx.read_chunk(2).unwrap_err(), ChunkError::TooFewSlots(1));
    assert_eq!(
        ChunkError::TooFewSlots(2).to_string(),
        "only 2 slots are available"
    );
    // Empty chunks are fine and move nothing.
    // SAFETY: zero slots to initialise.
    unsafe { tx.write_chunk_uninit(0).unwrap().commit_all() };
    rx.read_chunk(0).unwrap().commit_all();
    assert_eq!(rx.len(), 1);
}

#[test]
#[should_panic(expected = "k (4) exceeds the chunk's length n (3)")]
fn committing_more_than_a_write_chunk_holds_panics() {
    let (mut tx, _rx) = spsc::channel::<u8>(8);
    let chunk = tx.write_chunk_uninit(3).unwrap();
    // SAFETY: never reached past the length check.
    unsafe { chunk.commit(4) };
}

#[test]
#[should_panic(expected = "k (2) exceeds the chunk's length n (1)")]
fn committing_more_than_a_read_chunk_holds_panics() {
    let (mut tx, mut rx) = spsc::channel::<u8>(8);
    tx.push(1).unwrap();
    rx.read_chunk(1).unwrap().commit(2);
}

#[test]
fn an_aborted_write_chunk_publishes_nothing_and_drops_nothing() {
    let ledger = Ledger::new(8);
    let (mut tx, mut rx) = spsc::channel::<Item>(4);
    tx.push(item(&ledger, 0)).unwrap();
    {
        // Reserved, nothing written, nothing committed: an abort.
        let aborted = tx.write_chunk_uninit(3).unwrap();
        assert_eq!(aborted.len(), 3);
    }
    assert_eq!(ledger.total(), 0);
    assert_eq!(rx.len(), 1);
    // The aborted slots are reused.
    let written = tx
        .write_chunk_uninit(3)
        .unwrap()
        .fill_from_iter((1..4).map(|id| item(&ledger, id)));
    assert_eq!(written, 3);
    assert_eq!(ledger.total(), 0);
    drop(rx.pop());
    assert_eq!(ledger.drops(0), 1);
    drop((tx, rx));
    for id in 0..4 {
        assert_eq!(ledger.drops(id), 1, "item {id}");
    }
    assert_eq!(ledger.total(), 4);
}

#[test]
fn fill_from_iter_stops_at_the_shorter_of_chunk_and_iterator() {
    let ledger = Ledger::new(8);
    let (mut tx, mut rx) = spsc::channel::<Item>(4);
    let chunk = tx.write_chunk_uninit(4).unwrap();
    assert_eq!(chunk.fill_from_iter((0..2).map(|id| item(&ledger, id))), 2);
    let mut more = (2..8).map(|id| item(&ledger, id));
    assert_eq!(
        tx.write_chunk_uninit(2).unwrap().fill_from_iter(&mut more),
        2
    );
    assert_eq!(rx.len(), 4);
    // The iterator's remaining items were never taken.
    drop(more);
    assert_eq!(ledger.total(), 0);
    let ids: Vec<usize> = rx.by_ref().map(|it| it.id).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    assert_eq!(ledger.total(), 4);
}

#[test]
fn read_chunk_commit_drops_exactly_k_and_leaves_the_rest() {
    let ledger = Ledger::new(6);
    let (mut tx, mut rx) = spsc::channel::<Item>(6);
    for id in 0..6 {
        tx.push(item(&ledger, id)).unwrap();
    }
    let chunk = rx.read_chunk(4).unwrap();
    assert_eq!(chunk.as_slices().0.iter().map(|it| it.id).sum::<usize>(), 6);
    chunk.commit(3);
    assert_eq!(
        (0..6).map(|id| ledger.drops(id)).collect::<Vec<_>>(),
        [1, 1, 1, 0, 0, 0]
    );
    // A read chunk dropped without a commit leaves its items in the queue.
    assert_eq!(rx.read_chunk(3).unwrap().len(), 3);
    assert_eq!(ledger.total(), 3);
    assert_eq!(rx.len(), 3);
    drop((tx, rx));
    assert_eq!(
        (0..6).map(|id| ledger.drops(id)).collect::<Vec<_>>(),
        [1; 6]
    );
}

#[test]
fn moving_out_of_a_read_chunk_frees_only_what_was_taken() {
    let ledger = Ledger::new(5);
    let (mut tx, mut rx) = spsc::channel::<Item>(3);
    for id in 0..3 {
        tx.push(item(&ledger, id)).unwrap();
    }
    let mut items = rx.read_chunk(3).unwrap().into_iter();
    assert_eq!(items.len(), 3);
    let first = items.next().unwrap();
    let second = items.next().unwrap();
    drop(items);
    assert_eq!((first.id, second.id), (0, 1));
    assert_eq!(ledger.total(), 0, "moved out, not dropped");
    // Two slots are free again.
    assert_eq!(rx.len(), 1);
    tx.push(item(&ledger, 3)).unwrap();
    tx.push(item(&ledger, 4)).unwrap();
    drop((first, second));
    assert_eq!(rx.by_ref().map(|it| it.id).collect::<Vec<_>>(), [2, 3, 4]);
    drop((tx, rx));
    assert_eq!(
        (0..5).map(|id| ledger.drops(id)).collect::<Vec<_>>(),
        [1; 5]
    );
}

#[test]
fn a_panicking_drop_during_commit_drops_nothing_twice() {
    let ledger = Ledger::new(4);
    let (mut tx, mut rx) = spsc::channel::<Item>(4);
    for id in 0..4 {
        let mut it = item(&ledger, id);
        it.panic_on_drop = id == 1;
        tx.push(it).unwrap();
    }
    let result = catch_unwind(AssertUnwindSafe(|| rx.read_chunk(3).unwrap().commit(3)));
    assert!(result.is_err());
    // Items 0 and 1 were taken (1's drop panicked); 2 and 3 stay queued.
    assert_eq!(
        (0..4).map(|id| ledger.drops(id)).collect::<Vec<_>>(),
        [1, 1, 0, 0]
    );
    assert_eq!(rx.len(), 2);
    drop((tx, rx));
    assert_eq!(
        (0..4).map(|id| ledger.drops(id)).collect::<Vec<_>>(),
        [1; 4]
    );
}

#[test]
fn real_time_chunks_move_non_copy_items() {
    let (mut tx, mut rx) = spsc::channel_real_time_producer::<String>(3);
    let n = tx
        .write_chunk_uninit(3)
        .unwrap()
        .fill_from_iter(["a", "b", "c"].map(String::from));
    assert_eq!(n, 3);
    assert_eq!(
        rx.read_chunk(2).unwrap().into_iter().collect::<String>(),
        "ab"
    );
    let (mut tx, mut rx) = spsc::channel_real_time_consumer::<String>(3);
    tx.push_blocking("x".into()).unwrap();
    assert_eq!(rx.read_chunk(1).unwrap().as_slices().0, ["x"]);
    rx.read_chunk(1).unwrap().commit_all();
    assert!(rx.is_empty());
    assert!(format!("{:?}", rx.read_chunk(0).unwrap()).starts_with("ReadChunk { len: 0"));
}

#[test]
fn zero_sized_items_move_through_chunks() {
    let (mut tx, mut rx) = spsc::channel::<()>(5);
    assert_eq!(tx.write_chunk_uninit(5).unwrap().fill_from_iter([(); 7]), 5);
    let chunk = rx.read_chunk(5).unwrap();
    assert_eq!(chunk.as_slices().0.len() + chunk.as_slices().1.len(), 5);
    chunk.commit(4);
    assert_eq!(rx.len(), 1);
}

#[test]
fn iterators_yield_what_is_ready_and_resume_later() {
    let (mut tx, mut rx) = spsc::channel::<u8>(4);
    assert_eq!(rx.next(), None);
    tx.push_slice(&[1, 2]);
    assert_eq!(rx.size_hint(), (2, None));
    assert_eq!(rx.by_ref().collect::<Vec<_>>(), [1, 2]);
    tx.push(3).unwrap();
    assert_eq!(rx.next(), Some(3));
    let (mut tx, mut rx) = spsc::channel_real_time_consumer::<u8>(4);
    tx.push_slice(&[4, 5, 6]);
    assert_eq!(rx.by_ref().take(2).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(rx.next(), Some(6));
    assert_eq!(rx.next(), None);
}

#[test]
fn chunks_carry_items_between_threads_exactly_once_in_order() {
    let n = scaled(50_000);
    let ledger = Ledger::new(n);
    let (mut tx, mut rx) = spsc::channel::<Item>(7);
    let producer_ledger = Arc::clone(&ledger);
    let producer = thread::spawn(move || {
        let mut next = 0;
        while next < n {
            let want = (next % 5 + 1).min(n - next);
            match tx.write_chunk_uninit(want) {
                Ok(chunk) => {
                    let ids = next..next + want;
                    next += chunk.fill_from_iter(ids.map(|id| item(&producer_ledger, id)));
                }
                Err(_) => thread::yield_now(),
            }
        }
    });
    let mut expected = 0;
    while expected < n {
        let ready = rx.len().min(4);
        if ready == 0 {
            if rx.is_abandoned() && rx.is_empty() {
                break;
            }
            thread::yield_now();
            continue;
        }
        let chunk = rx.read_chunk(ready).unwrap();
        let (a, b) = chunk.as_slices();
        for it in a.iter().chain(b) {
            assert_eq!(it.id, expected);
            expected += 1;
        }
        if expected % 2 == 0 {
            chunk.commit_all();
        } else {
            drop(chunk.into_iter().collect::<Vec<_>>());
        }
    }
    producer.join().unwrap();
    assert_eq!(expected, n);
    assert!((0..n).all(|id| ledger.drops(id) == 1));
}

/// A chunk commit on a blocking side wakes a sleeping peer, as `push`/`pop` do (a
/// missing wake-up would leave the peer asleep and the test hung, which the time limit
/// of `scripts/check` reports).
#[test]
fn chunk_commits_on_the_blocking_sides_wake_a_sleeping_peer() {
    let nap = std::time::Duration::from_millis(if cfg!(miri) { 10 } else { 50 });
    let (mut tx, mut rx) = spsc::channel::<u8>(2);
    tx.push_slice(&[1, 2]);
    let producer = thread::spawn(move || {
        tx.push_blocking(3).unwrap();
        tx
    });
    thread::sleep(nap); // the producer spins, then sleeps on the full queue
    rx.read_chunk(2).unwrap().commit(1);
    let mut tx = producer.join().unwrap();
    assert_eq!(rx.by_ref().collect::<Vec<_>>(), [2, 3]);

    let consumer = thread::spawn(move || rx.pop_blocking());
    thread::sleep(nap); // the consumer sleeps on the empty queue
    assert_eq!(tx.write_chunk_uninit(1).unwrap().fill_from_iter([4]), 1);
    assert_eq!(consumer.join().unwrap(), Some(4));
}

//! loom models of `fencepost::RwLock`: exclusion and publication between readers and
//! writers, a pending writer that newcomers queue behind, their admission by its
//! release (the phase flip), queued writers, timed calls that give up, downgrade, and a
//! broken twin that loom must reject.
//!
//! Run: `RUSTFLAGS="--cfg fencepost_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --test loom_rwlock`. The value lives in the lock's loom `UnsafeCell`, so a read not
//! ordered after a write (or overlapping one) is a loom error; a sleeper nobody wakes
//! is a loom deadlock. Under loom a timed futex wait times out at once.
#![cfg(fencepost_loom)]

#[path = "lab/mod.rs"]
mod lab;

use fencepost::{RwLock, RwLockWriteGuard};
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

fn spawn_writer(l: &Arc<RwLock<u32>>) -> thread::JoinHandle<()> {
    let l = Arc::clone(l);
    thread::spawn(move || *l.write() += 1)
}

fn spawn_reader(l: &Arc<RwLock<u32>>) -> thread::JoinHandle<u32> {
    let l = Arc::clone(l);
    thread::spawn(move || *l.read())
}

#[test]
fn a_reader_sees_all_or_nothing_of_a_writer() {
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let w = spawn_writer(&l);
        let seen = *l.read();
        assert!(seen <= 1);
        w.join().unwrap();
        assert_eq!(*l.read(), 1);
    });
}

#[test]
fn two_writers_exclude_each_other() {
    // The second writer may spin, queue (WRITERS_QUEUED) and sleep; the first's release
    // must wake it, and the increments must be ordered.
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let w = spawn_writer(&l);
        *l.write() += 1;
        w.join().unwrap();
        assert_eq!(*l.read(), 2);
    });
}

#[test]
fn writers_queued_behind_a_writer_are_woken_one_after_another() {
    // Both queue behind main's write lock and may both sleep on `writers_seq`; main's
    // release wakes one, and that one, having slept, must re-mark WRITERS_QUEUED so that
    // its own release wakes the other (without the re-mark: a loom deadlock).
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let g = l.write();
        let writers: Vec<_> = (0..2).map(|_| spawn_writer(&l)).collect();
        drop(g);
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(*l.read(), 2);
    });
}

#[test]
fn a_writer_waits_for_the_reader_inside_and_is_woken_by_its_unlock() {
    // The writer finds a reader inside, claims PENDING and may sleep (DRAIN_SLEEPS);
    // the reader's unlock must wake it, and the reader's read must happen before the
    // write (Release unlock, Acquire take).
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let r = l.read();
        let w = spawn_writer(&l);
        assert_eq!(*r, 0);
        drop(r);
        w.join().unwrap();
        assert_eq!(*l.read(), 1);
    });
}

#[test]
fn a_reader_behind_a_pending_writer_is_admitted_by_its_release() {
    // Main reads, a writer claims the lock behind it, a second reader arrives: it may
    // find PENDING (move to W and sleep until the release flips PHASE), or LOCKED
    // (spin counted in R, or move to W), or nothing. It must get in, after the write
    // if it waited for it.
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let r = l.read();
        let w = spawn_writer(&l);
        let late = spawn_reader(&l);
        drop(r);
        w.join().unwrap();
        assert!(late.join().unwrap() <= 1);
        assert_eq!(*l.read(), 1);
    });
}

#[test]
fn two_readers_and_a_writer_all_finish() {
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let readers: Vec<_> = (0..2).map(|_| spawn_reader(&l)).collect();
        *l.write() += 1;
        for r in readers {
            assert!(r.join().unwrap() <= 1);
        }
        assert_eq!(*l.read(), 1);
    });
}

#[test]
fn a_writer_that_gives_up_admits_the_readers_behind_it() {
    // The timed writer claims PENDING behind main's read lock; a reader queues behind
    // it. Under loom the writer's timed wait times out at once: it withdraws its claim,
    // and that must let the queued reader in (or it got in before the claim).
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let r = l.read();
        let w = {
            let l = Arc::clone(&l);
            thread::spawn(move || {
                if let Some(mut g) = l.try_write_for(Duration::from_secs(1)) {
                    *g += 1;
                }
            })
        };
        let late = spawn_reader(&l);
        assert!(late.join().unwrap() <= 1);
        drop(r);
        w.join().unwrap();
        assert!(*l.read() <= 1);
    });
}

#[test]
fn a_reader_that_gives_up_leaves_the_lock_consistent() {
    // A timed reader behind a writer: it withdraws from W (or was admitted first); the
    // writer's release and a later write lock must still work.
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let mut w = l.write();
        let r = {
            let l = Arc::clone(&l);
            thread::spawn(move || l.try_read_for(Duration::from_secs(1)).map(|g| *g))
        };
        *w += 1;
        drop(w);
        let seen = r.join().unwrap();
        assert!(seen.is_none_or(|v| v == 1));
        *l.write() += 1;
        assert_eq!(*l.read(), 2);
    });
}

#[test]
fn a_reader_admitted_just_as_it_gives_up_sees_the_write() {
    // As above, with the writer's release landing while the timed reader withdraws:
    // the yields let the reader reach its (at once timed-out) futex wait first, so
    // its withdrawal finds PHASE flipped and it keeps the read lock, which must then
    // be ordered after the write (the fence in `withdraw_reader`; the loom futex's own
    // lock orders nothing here, as the reader's wait came first).
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let mut w = l.write();
        let r = {
            let l = Arc::clone(&l);
            thread::spawn(move || l.try_read_for(Duration::from_secs(1)).map(|g| *g))
        };
        for _ in 0..3 {
            thread::yield_now();
        }
        *w += 1;
        drop(w);
        let seen = r.join().unwrap();
        assert!(seen.is_none_or(|v| v == 1));
    });
}

#[test]
fn a_queued_writer_that_gives_up_strands_no_other_writer() {
    // Main holds the write lock; a timed and an untimed writer queue behind it. The
    // timed one may consume the release's wake-up and then time out: the untimed one
    // must still get in.
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let g = l.write();
        let timed = {
            let l = Arc::clone(&l);
            thread::spawn(move || {
                if let Some(mut g) = l.try_write_for(Duration::from_secs(1)) {
                    *g += 10;
                }
            })
        };
        let untimed = spawn_writer(&l);
        drop(g);
        timed.join().unwrap();
        untimed.join().unwrap();
        let v = *l.read();
        assert!(v == 1 || v == 11, "{v}");
    });
}

#[test]
fn downgrade_publishes_the_write_and_admits_waiting_readers() {
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let mut w = l.write();
        let reader = spawn_reader(&l);
        *w = 1;
        let r = RwLockWriteGuard::downgrade(w);
        assert_eq!(*r, 1);
        let seen = reader.join().unwrap();
        assert!(seen <= 1);
        drop(r);
    });
}

#[test]
fn try_read_beside_a_reader_and_try_write_beside_nobody() {
    loom::model(|| {
        let l = Arc::new(RwLock::new(0));
        let w = spawn_writer(&l);
        if let Some(g) = l.try_read() {
            assert!(*g <= 1);
        }
        w.join().unwrap();
        let r = l.read();
        assert!(l.try_read().is_some());
        assert!(l.try_write().is_none());
        drop(r);
        assert_eq!(*l.try_write().expect("free"), 1);
    });
}

/// The broken twin: a reader-writer lock reduced to a reader count and a
/// writer-waiting bit on the crate's loom futex, whose read unlock may forget to wake
/// the writer.
mod twin {
    use super::lab;
    use loom::sync::atomic::Ordering::{Acquire, Release};
    // std's `Arc`: loom's panics when dropped during the unwinding that follows loom's
    // deadlock report, which aborts the process instead of failing the test.
    use std::sync::Arc;

    /// Bit 31: a writer waits for the readers to leave; bits 0..31: readers inside.
    const WRITER_WAITING: u32 = 1 << 31;

    fn show_state(s: u32) -> String {
        let readers = s & !WRITER_WAITING;
        if s & WRITER_WAITING != 0 {
            format!("{readers}+writer_waiting")
        } else {
            format!("{readers}")
        }
    }

    struct Twin {
        state: lab::AtomicU32,
        data: lab::Cell<u32>,
        wake_writer: bool,
    }

    // SAFETY: `data` is read by readers inside and written by the writer once the
    // readers are gone (the protocol under test; loom reports it when that fails).
    unsafe impl Sync for Twin {}

    impl Twin {
        fn read_unlock(&self) {
            let s = self.state.fetch_sub(1, Release);
            if s == WRITER_WAITING | 1 && self.wake_writer {
                lab::futex_wake_one(&self.state);
            }
        }

        /// The only writer: announces itself, then waits for the readers to leave.
        fn write(&self) {
            let mut s = self.state.fetch_or(WRITER_WAITING, Acquire) | WRITER_WAITING;
            while s != WRITER_WAITING {
                lab::futex_wait(&self.state, s);
                s = self.state.load(Acquire);
            }
            // SAFETY: no reader is inside and new ones are not modelled.
            unsafe { self.data.update(|d| d + 1) };
        }
    }

    fn run(wake_writer: bool) {
        lab::model("reader", move || {
            let twin = Arc::new(Twin {
                // The reader (main) holds a read lock.
                state: lab::AtomicU32::with_format("state", 1, show_state),
                data: lab::Cell::new("data", 0),
                wake_writer,
            });
            let writer = {
                let twin = Arc::clone(&twin);
                lab::spawn("writer", move || twin.write())
            };
            // SAFETY: the reader is inside; the writer waits for it.
            assert_eq!(unsafe { twin.data.read() }, 0);
            twin.read_unlock();
            writer.join().unwrap();
        });
    }

    #[test]
    fn twin_rwlock_whose_last_reader_wakes_the_writer_is_correct() {
        run(true);
    }

    /// The last reader leaves without waking the writer asleep on the word: the writer
    /// sleeps forever on every architecture (the state it waits for has come, but no
    /// `futex_wake` follows); loom reports the deadlock.
    #[test]
    #[should_panic]
    fn broken_twin_rwlock_read_unlock_that_forgets_to_wake_the_writer_strands_it() {
        run(false);
    }
}

//! Epoch-based reclamation, one domain per map: readers pin, only writers free.
//!
//! # Protocol
//!
//! Each map owns a [`Domain`]: an epoch counter and one cache-padded *participant* per
//! thread id. Thread ids are small process-wide numbers, handed out on a thread's first
//! pin and reused after it exits, so a domain's participants stay as many as the threads
//! alive at once; participant `id` lives in bucket `log2(id + 1)`, and buckets (of 1, 2,
//! 4, ... participants) are allocated on first use and never move.
//!
//! - **pin** (the outermost guard of this thread on this map; nested guards bump the
//!   participant's depth): read the epoch `e` (Relaxed), store `e << 1 | ACTIVE` into the
//!   participant (Release), then the *light* half of an asymmetric store→load fence (a
//!   compiler fence in `FenceMode::Membarrier`, else `fence(SeqCst)`).
//! - **unpin**: store `INACTIVE` (Release).
//! - **retire** (a writer, under its shard lock): push the unlinked item into the shard's
//!   [`Bag`], unstamped. Every item was unlinked before it is retired.
//! - **collect** ([`Domain::collect`], a writer, every [`COLLECT_EVERY`] retires and on
//!   `flush`):
//!   1. `g = epoch` (Acquire);
//!   2. the *heavy* fence half (`membarrier` in `FenceMode::Membarrier`, else
//!      `fence(SeqCst)`);
//!   3. `s = epoch` (Relaxed): the stamp of every item retired before this collection;
//!   4. scan every participant (Acquire); if each active one is pinned at `g`, CAS the
//!      epoch from `g` to `g + 1` (Release; Acquire on failure);
//!   5. `now` = the epoch this thread last read with Acquire (`g`, `g + 1` or the
//!      failure value): items stamped `s` with `s + 2 <= now` are reclaimed, by the
//!      caller, outside the shard lock.
//!
//! # Why a reader never sees reclaimed memory
//!
//! Under the C++20 model that Rust uses (the light/heavy pair stands for two SeqCst
//! fences; see `futex`). Call `S` the total order of SeqCst fences; the rule used
//! throughout is: if a fence `X` happens before `A`, `A` is coherence-ordered before
//! `B` (both on one atomic), and `B` happens before a fence `Y`, then `X` precedes `Y`
//! in `S` — and, its consequence for a store `W` and a load `L` of one location, if
//! `W` happens before a fence `X` that precedes, in `S`, a fence `Y` sequenced before
//! `L`, then `L` reads `W` or a later store.
//!
//! Say reader `R` pinned at `e` (load `R1`, pin store `R2`, light fence `F_R`) loads a
//! pointer or index (`R3`) to an item `O` that a writer unlinked (store `U`, which
//! happens before the heavy fence `F_S` of the collection that stamped `O` with `s`),
//! and `O` is reclaimed while `R` is pinned. Reclaiming needs `now >= s + 2`, so some
//! advance `A*` moved the epoch from `s + 1` to `s + 2`: it read `s + 1` (its step 1),
//! fenced (`F_A`), scanned and CASed. Its step-1 load is coherence-ordered after the
//! stamp load (which read `s`), so `F_S` precedes `F_A` in `S`.
//!
//! - If `F_R` precedes `F_A`, `A*`'s scan reads `R2` or a later store of `R`'s
//!   participant. A later store is `R`'s unpin or a later pin, both Release and
//!   sequenced after `R`'s use of `O`, so that use happens before the reclamation
//!   (through the scan's Acquire, the CAS's Release and the reclaimer's Acquire load
//!   of a later epoch, every epoch write being a CAS in one release sequence). If the
//!   scan reads `R2` itself, `A*` succeeded only because `e = s + 1`; then `R1` read a
//!   value written after the one the stamp load read, so `F_S` precedes `F_R` and
//!   `R3` reads `U` or later: it never loads `O`.
//! - If `F_A` precedes `F_R`, then `F_S` precedes `F_R` as well, and again `R3` reads
//!   `U` or later.
//!
//! Both steps need the fences where they are: the stamp is read *after* a heavy fence
//! that follows the unlink, and an advance reads the epoch it advances *before* its
//! heavy fence (crossbeam-epoch orders them the same way). An earlier version sealed
//! with a Release `fetch_add(0)` and read `g` after the fence; a reader that loaded
//! epoch 5, stalled, and pinned after two advances (5 to 6, 6 to 7, by two other
//! writers) had no rule forcing it to see the unlink, and the item was reclaimed at 7
//! while it read it. `tests/hash_map_epoch_model.rs` checks that schedule against the
//! C++20 axioms by enumerating its executions: allowed for the earlier protocol,
//! forbidden for this one.
//!
//! Readers never scan or reclaim: a `get` costs the pin store and the unpin store, and
//! its tail latency never includes a destructor. Garbage lives per shard, guarded by
//! the shard's writer lock, so retiring needs no atomic operation.
//!
//! # One domain per map
//!
//! A thread pinned on one map holds back the garbage of that map only, so `flush` after
//! `clear` drops the values whatever other maps are doing (papaya's collector is per map
//! too). The cost is memory: each map keeps one 128-byte participant per thread id that
//! ever pinned it, until the map is dropped.
//!
//! # Thread exit and thread-local destructors
//!
//! A thread's id is handed back by a thread-local destructor, unless one of its guards is
//! still alive then (a guard kept in another thread-local that is destroyed later), in
//! which case the id is never reused. A pin taken after that (from another thread-local's
//! destructor) borrows a temporary id for the life of its guard, as crossbeam-epoch
//! does, instead of aborting. The record that the hot path reads has no destructor of
//! its own, so reaching it costs a plain thread-local access.
//!
//! # Checking
//!
//! `loom-tests/hash_map.rs` models the protocol, and `ordering-mutants` weakens each
//! ordering in turn. loom models `fence(SeqCst)` as joining the causality of every
//! earlier SeqCst fence, which is stronger than the C++ model, so it cannot see the
//! Acquire/Release edges on the epoch go missing (nor the stale pin: the earlier
//! protocol passes loom's model of it); those orderings carry `mutants: skip` with that
//! reason, and the argument above and the axiomatic model are their check.

use crate::futex;
use crate::sync::UnsafeCell;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicPtr, AtomicU64};
use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr;
use crossbeam_utils::CachePadded;
use std::collections::VecDeque;

/// A writer collects after this many retires into one shard's bag. In
/// `FenceMode::Membarrier` each collection costs a `membarrier(PRIVATE_EXPEDITED)`,
/// which took 6-8 us per call on the 2-vCPU KVM guest (an IPI to every CPU running this
/// process): at 128 that was about 60 ns per retire, at 1024 about 8 ns.
#[cfg(not(fencepost_loom))]
pub(crate) const COLLECT_EVERY: usize = 1024;
/// Under loom every retire collects, so the models reach the reclamation.
#[cfg(fencepost_loom)]
pub(crate) const COLLECT_EVERY: usize = 1;

/// Participant state: `INACTIVE`, or `epoch << 1 | ACTIVE` while pinned.
const INACTIVE: u64 = 0;
const ACTIVE: u64 = 1;

/// Bucket `b` holds the participants of ids `2^b - 1 .. 2^(b+1) - 1`.
#[cfg(not(fencepost_loom))]
const BUCKETS: usize = usize::BITS as usize;
/// Under loom, ids stay below 15.
#[cfg(fencepost_loom)]
const BUCKETS: usize = 4;

/// No id: a thread that has not pinned yet, or a guard that borrowed none.
const NO_ID: usize = usize::MAX;

/// One thread id's slot in a domain.
struct Participant {
    /// `INACTIVE` or `epoch << 1 | ACTIVE`; written only by the id's holder.
    state: AtomicU64,
    /// Nesting depth of the holder's guards on this map; touched only by the holder
    /// (the id pool's lock orders successive holders).
    depth: UnsafeCell<usize>,
}

impl Participant {
    fn new() -> Self {
        Participant {
            state: AtomicU64::new(INACTIVE),
            depth: UnsafeCell::new(0),
        }
    }
}

/// A map's reclamation domain: its epoch and its participants.
pub(crate) struct Domain {
    epoch: AtomicU64,
    /// Whether the light fence may be `fast_light_fence` (`FenceMode::Membarrier`, or
    /// Miri and loom, where it is a real fence), decided before the domain existed
    /// (`init_asymmetric_fences`).
    fast_fence: bool,
    /// This domain's number, never reused, for the thread-local participant cache.
    uid: u64,
    buckets: [AtomicPtr<CachePadded<Participant>>; BUCKETS],
}

// SAFETY: the buckets are owned allocations of participants whose fields are atomics
// and a depth cell that only the holder of the matching thread id touches.
unsafe impl Send for Domain {}
// SAFETY: as above; shared access goes through atomics, and `depth` is accessed only
// by the id's holder, one thread at a time.
unsafe impl Sync for Domain {}

impl Domain {
    /// A domain; call `futex::init_asymmetric_fences` first.
    pub(crate) fn new() -> Self {
        Domain {
            epoch: AtomicU64::new(0),
            fast_fence: futex::fast_light_fence_ok(),
            uid: next_uid(),
            buckets: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// The participant of thread id `id`, allocating its bucket on first use.
    #[inline(always)]
    fn participant(&self, id: usize) -> &Participant {
        let bucket = (usize::BITS - 1 - (id + 1).leading_zeros()) as usize;
        // Ordering: Acquire pairs with the Release publication in `add_bucket`: the
        // participants are initialised before we use them.
        let p = self.buckets[bucket].load(Acquire);
        let p = if p.is_null() {
            self.add_bucket(bucket)
        } else {
            p
        };
        // SAFETY: bucket `b` holds `2^b` participants and `id + 1 - 2^b < 2^b`; buckets
        // are freed only when the domain is dropped, which no guard outlives.
        unsafe { &*p.add(id + 1 - (1 << bucket)) }
    }

    #[cold]
    #[inline(never)]
    fn add_bucket(&self, bucket: usize) -> *mut CachePadded<Participant> {
        assert!(bucket < BUCKETS, "fencepost::HashMap: too many thread ids");
        let fresh: Box<[CachePadded<Participant>]> = (0..1usize << bucket)
            .map(|_| CachePadded::new(Participant::new()))
            .collect();
        let fresh = Box::into_raw(fresh).cast::<CachePadded<Participant>>();
        // Ordering: Release publishes the initialised participants to the Acquire loads
        // in `participant` and `all_pinned_at`; Acquire on failure takes the winner's.
        match self.buckets[bucket].compare_exchange(ptr::null_mut(), fresh, Release, Acquire) {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` of a slice of this length
                // and was never published.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, 1 << bucket)) });
                winner
            }
        }
    }

    /// Pins the calling thread on this domain (see the module docs).
    #[inline(always)]
    pub(crate) fn pin(&self) -> LocalGuard<'_> {
        let (participant, borrowed) = match THREAD.try_with(|t| t.enter(self)) {
            // SAFETY: `Thread::enter` returns a participant of this domain, which lives
            // as long as the domain.
            Ok(Some(p)) => (unsafe { &*p }, NO_ID),
            // This thread's id is gone (we run in a thread-local destructor after the
            // one that hands it back): borrow an id for this guard's life.
            _ => {
                let id = acquire_id();
                (self.participant(id), id)
            }
        };
        self.enter(participant);
        LocalGuard {
            participant,
            borrowed,
            _not_send: PhantomData,
        }
    }

    /// Pins with an id of the guard's own, so the guard may move between threads.
    pub(crate) fn pin_owned(&self) -> OwnedGuard<'_> {
        let id = acquire_id();
        let participant = self.participant(id);
        self.enter(participant);
        OwnedGuard { participant, id }
    }

    #[inline(always)]
    fn enter(&self, p: &Participant) {
        // SAFETY: only the holder of this participant's id (the caller) touches `depth`.
        let depth = p.depth.with_mut(|d| unsafe {
            let old = *d;
            *d = old + 1;
            old
        });
        if depth == 0 {
            // Relaxed: the argument in the module docs uses only this load's coherence
            // order, never a happens-before edge from it.
            let epoch = self.epoch.load(Relaxed);
            // Ordering: Release pairs with the Acquire scan in `all_pinned_at`: whatever
            // this holder did in an earlier pinned section happens before a reclaimer
            // that reads this later pin.
            p.state.store(epoch << 1 | ACTIVE, Release);
            // Ordering: store→load: the pin must be visible to a reclaimer's scan before
            // this thread loads any pointer or index. The light half (a compiler fence
            // in FenceMode::Membarrier, else fence(SeqCst)) pairs with the heavy
            // fence in `collect`; Acquire/Release never order a store before a later load.
            if self.fast_fence {
                futex::fast_light_fence();
            } else {
                futex::light_fence();
            }
        }
    }

    #[inline(always)]
    fn exit(p: &Participant) {
        // SAFETY: only the holder of this participant's id (the caller) touches `depth`.
        let depth = p.depth.with_mut(|d| unsafe {
            *d -= 1;
            *d
        });
        if depth == 0 {
            // Ordering: Release pairs with the Acquire scan in `all_pinned_at`: every load
            // of this pinned section happens before a reclamation that follows the scan.
            p.state.store(INACTIVE, Release);
        }
    }

    /// Whether every pinned participant is pinned at `epoch`.
    fn all_pinned_at(&self, epoch: u64) -> bool {
        for (bucket, slot) in self.buckets.iter().enumerate() {
            // Ordering: Acquire pairs with the Release publication in `add_bucket`.
            // mutants: skip (loom does not treat an atomic's initialisation as a racing write, so reading a participant published without a happens-before edge goes unnoticed)
            let p = slot.load(Acquire);
            for i in 0..if p.is_null() { 0 } else { 1usize << bucket } {
                // SAFETY: a published bucket holds `2^bucket` participants and lives as
                // long as the domain.
                let participant = unsafe { &*p.add(i) };
                // Ordering: Acquire pairs with the Release pin and unpin stores: a pinned
                // section that ended (or was followed by a later pin) happens before
                // whatever is reclaimed after this scan.
                let state = participant.state.load(Acquire);
                if state & ACTIVE != 0 && state >> 1 != epoch {
                    return false;
                }
            }
        }
        true
    }

    /// Steps 1-5 of `collect` in the module docs: returns `(stamp, now)`, where `stamp`
    /// is the epoch for every item retired before this call and `now` the epoch by which
    /// the caller may reclaim (items stamped `s` with `s + 2 <= now`).
    pub(crate) fn collect(&self) -> (u64, u64) {
        // The advance that wrote `g` (and, through the release sequence of CASes, every
        // earlier one) scanned before what we reclaim by `g`.
        // Ordering: Acquire pairs with the Release CAS below, in another collection.
        // mutants: skip (loom models fence(SeqCst) as joining every earlier SeqCst fence's causality, which carries this edge, so loom cannot see it go missing; needed under the C++ model, see `# Why a reader never sees reclaimed memory`)
        let g = self.epoch.load(Acquire);
        // Ordering: the heavy half of the store→load pair with `enter`'s light half;
        // after it the scan sees every pin whose fence came earlier, and the stamp load
        // below is ordered after the unlinks of the items it stamps. Nothing weaker works:
        // the scan must not read a participant's state from before a pin that is already
        // loading pointers.
        futex::heavy_fence();
        // Relaxed: used only for its coherence order (module docs).
        let stamp = self.epoch.load(Relaxed);
        if !self.all_pinned_at(g) {
            return (stamp, g);
        }
        // Release on success continues the release sequence that later reclaimers
        // acquire (see the load of `g`); Acquire on failure: we then reclaim by the value
        // another advance wrote, whose scan must happen before our reclamation.
        // Ordering: Release/Acquire pair with the load of `g` and with each other.
        // mutants: skip (loom models fence(SeqCst) as joining every earlier SeqCst fence's causality, which carries this edge, so loom cannot see it go missing; needed under the C++ model, see `# Why a reader never sees reclaimed memory`)
        match self.epoch.compare_exchange(g, g + 1, Release, Acquire) {
            Ok(_) => (stamp, g + 1),
            Err(now) => (stamp, now),
        }
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        for (bucket, slot) in self.buckets.iter().enumerate() {
            // Ordering: `&mut self`: no guard is left.
            let p = slot.load(Relaxed);
            if !p.is_null() {
                // SAFETY: published buckets came from `Box::into_raw` of a slice of
                // `2^bucket` participants; nobody can reach them any more.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, 1 << bucket)) });
            }
        }
    }
}

impl core::fmt::Debug for Domain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Domain")
            // Ordering: a snapshot for humans.
            .field("epoch", &self.epoch.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// A pin of the current thread on one map: references read through it stay valid while
/// it lives. Not `Send`: the pin lives in this thread's participant.
pub struct LocalGuard<'d> {
    participant: &'d Participant,
    /// An id borrowed because the thread-local record was gone, or `NO_ID`.
    borrowed: usize,
    _not_send: PhantomData<*mut ()>,
}

impl Drop for LocalGuard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        Domain::exit(self.participant);
        if self.borrowed != NO_ID {
            release_id(self.borrowed);
        } else {
            // Never fails outside loom (`Thread` has no destructor); if the id was handed
            // back meanwhile, `ThreadExit` saw this guard alive and kept it.
            let _ = THREAD.try_with(Thread::leave);
        }
    }
}

impl core::fmt::Debug for LocalGuard<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalGuard").finish_non_exhaustive()
    }
}

/// A pin with an id of its own, so it is `Send`: a read view that may be held across
/// an `.await` and resumed on another thread. Taking one costs a lock on a process-wide
/// id pool, so prefer [`LocalGuard`] (through `pin`) where the view stays on one thread.
pub struct OwnedGuard<'d> {
    participant: &'d Participant,
    id: usize,
}

// SAFETY: the participant belongs to the guard's own id, which no thread uses while
// the guard lives; whoever holds the guard is its only user, and moving the guard
// between threads orders the accesses (the move is a happens-before edge).
unsafe impl Send for OwnedGuard<'_> {}
// SAFETY: `&OwnedGuard` gives access to nothing.
unsafe impl Sync for OwnedGuard<'_> {}

impl Drop for OwnedGuard<'_> {
    fn drop(&mut self) {
        Domain::exit(self.participant);
        release_id(self.id);
    }
}

impl core::fmt::Debug for OwnedGuard<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OwnedGuard").finish_non_exhaustive()
    }
}

/// This thread's id, its count of live local guards (on any map), and the participant
/// it used last (a one-entry cache: pinning the same map again skips the bucket lookup).
///
/// It has no destructor, so reaching it is a plain thread-local access with no state
/// check, at any time during the thread's life; [`ThreadExit`] hands the id back.
struct Thread {
    /// `NO_ID` until the first pin, `EXITED` once handed back.
    id: Cell<usize>,
    guards: Cell<usize>,
    /// The `uid` of the domain of `cached`, or 0 (no domain has uid 0).
    cached_uid: Cell<u64>,
    cached: Cell<*const Participant>,
}

/// The id of a thread whose [`ThreadExit`] has run.
const EXITED: usize = usize::MAX - 1;

impl Thread {
    const fn new() -> Self {
        Thread {
            id: Cell::new(NO_ID),
            guards: Cell::new(0),
            cached_uid: Cell::new(0),
            cached: Cell::new(ptr::null()),
        }
    }

    /// Counts a new guard and returns this thread's participant in `domain`, or `None`
    /// once the thread's id is gone.
    #[inline(always)]
    fn enter(&self, domain: &Domain) -> Option<*const Participant> {
        if self.cached_uid.get() != domain.uid {
            return self.lookup(domain);
        }
        self.guards.set(self.guards.get() + 1);
        Some(self.cached.get())
    }

    #[cold]
    #[inline(never)]
    fn lookup(&self, domain: &Domain) -> Option<*const Participant> {
        let id = match self.id.get() {
            EXITED => return None,
            NO_ID => {
                // Register the destructor that hands the id back; if thread-locals are
                // already being destroyed, take no id (it would never be handed back).
                THREAD_EXIT.try_with(|_| ()).ok()?;
                let id = acquire_id();
                self.id.set(id);
                id
            }
            id => id,
        };
        let p: *const Participant = domain.participant(id);
        self.cached_uid.set(domain.uid);
        self.cached.set(p);
        self.guards.set(self.guards.get() + 1);
        Some(p)
    }

    #[inline(always)]
    fn leave(&self) {
        self.guards.set(self.guards.get() - 1);
    }
}

/// Hands the thread's id back when the thread's thread-locals are destroyed, unless one
/// of its guards is still alive then (one kept in a thread-local destroyed later): that
/// guard keeps using the id's participants, so the id is never handed out again.
struct ThreadExit;

impl Drop for ThreadExit {
    fn drop(&mut self) {
        let _ = THREAD.try_with(|t| {
            let id = t.id.replace(EXITED);
            t.cached_uid.set(0);
            if id != NO_ID && t.guards.get() == 0 {
                release_id(id);
            }
        });
    }
}

#[cfg(not(fencepost_loom))]
crate::sync::thread_local! {
    static THREAD: Thread = const { Thread::new() };
    static THREAD_EXIT: ThreadExit = const { ThreadExit };
}

// loom's macro (edition 2018) takes no `const { }` initialiser.
#[cfg(fencepost_loom)]
crate::sync::thread_local! {
    static THREAD: Thread = Thread::new();
    static THREAD_EXIT: ThreadExit = ThreadExit;
}

/// A number for a new domain: never 0, never reused (a `u64` does not wrap).
#[cfg(not(fencepost_loom))]
fn next_uid() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // Ordering: a counter; nothing is published through it.
    NEXT.fetch_add(1, Relaxed)
}

// Under loom, a lazy static (statics are rebuilt per execution).
#[cfg(fencepost_loom)]
crate::sync::lazy_static! {
    static ref NEXT_UID: AtomicU64 = AtomicU64::new(1);
}

#[cfg(fencepost_loom)]
fn next_uid() -> u64 {
    // Ordering: a counter; nothing is published through it.
    NEXT_UID.fetch_add(1, Relaxed)
}

/// The process-wide pool of thread ids: the smallest free id first, so ids (and each
/// domain's participant buckets) stay as small as the number of threads alive at once.
#[cfg(not(fencepost_loom))]
struct IdPool {
    next: usize,
    free: std::collections::BinaryHeap<core::cmp::Reverse<usize>>,
}

#[cfg(not(fencepost_loom))]
static IDS: crate::Mutex<IdPool> = crate::Mutex::new(IdPool {
    next: 0,
    free: std::collections::BinaryHeap::new(),
});

#[cfg(not(fencepost_loom))]
fn acquire_id() -> usize {
    let mut ids = IDS.lock();
    match ids.free.pop() {
        Some(core::cmp::Reverse(id)) => id,
        None => {
            ids.next += 1;
            ids.next - 1
        }
    }
}

#[cfg(not(fencepost_loom))]
fn release_id(id: usize) {
    IDS.lock().free.push(core::cmp::Reverse(id));
}

// Under loom ids are never reused: loom drops its lazy statics before the main
// thread's thread-locals, so a destructor could not reach a pool. Reuse is checked by
// the std tests and Miri instead.
#[cfg(fencepost_loom)]
crate::sync::lazy_static! {
    static ref NEXT_ID: crate::sync::atomic::AtomicUsize = crate::sync::atomic::AtomicUsize::new(0);
}

#[cfg(fencepost_loom)]
fn acquire_id() -> usize {
    // Ordering: a counter; the participant behind a fresh id is reached through the
    // domain's bucket publication.
    NEXT_ID.fetch_add(1, Relaxed)
}

#[cfg(fencepost_loom)]
fn release_id(_id: usize) {}

/// A shard's garbage: items unlinked by the shard's writer, waiting until no reader can
/// hold them. Lives behind the shard lock.
pub(crate) struct Bag<T> {
    /// Sealed batches, oldest first, each with its stamp (non-decreasing).
    sealed: VecDeque<(u64, Vec<T>)>,
    /// Retired since the last collection, not yet stamped.
    open: Vec<T>,
    /// Emptied batch vectors, reused.
    spare: Vec<Vec<T>>,
    /// Items in `sealed`.
    sealed_len: usize,
}

impl<T> Bag<T> {
    pub(crate) const fn new() -> Self {
        Bag {
            sealed: VecDeque::new(),
            open: Vec::new(),
            spare: Vec::new(),
            sealed_len: 0,
        }
    }

    /// Items not yet reclaimed.
    pub(crate) fn len(&self) -> usize {
        self.sealed_len + self.open.len()
    }

    /// Adds an unlinked `item`; true when a collection is due.
    #[inline]
    pub(crate) fn retire(&mut self, item: T) -> bool {
        self.open.push(item);
        self.open.len() >= COLLECT_EVERY
    }

    /// Stamps the open items with `stamp` and hands every item of a batch stamped at
    /// least two epochs before `now` to `reclaim`.
    pub(crate) fn collect(&mut self, stamp: u64, now: u64, mut reclaim: impl FnMut(T)) {
        if !self.open.is_empty() {
            let fresh = self.spare.pop().unwrap_or_default();
            let batch = core::mem::replace(&mut self.open, fresh);
            self.sealed_len += batch.len();
            self.sealed.push_back((stamp, batch));
        }
        while let Some(&(s, _)) = self.sealed.front() {
            if s.saturating_add(2) > now {
                break;
            }
            let (_, mut batch) = self.sealed.pop_front().expect("front exists");
            self.sealed_len -= batch.len();
            batch.drain(..).for_each(&mut reclaim);
            self.spare.push(batch);
        }
    }

    /// Every item, sealed or not (the owner is being dropped).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.sealed_len = 0;
        self.sealed
            .drain(..)
            .flat_map(|(_, batch)| batch)
            .chain(self.open.drain(..))
    }
}

impl<T> core::fmt::Debug for Bag<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bag")
            .field("items", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;

    fn state(d: &Domain) -> u64 {
        let id = THREAD.with(|t| t.id.get());
        d.participant(id).state.load(Relaxed)
    }

    #[test]
    fn the_participant_cache_follows_the_domain() {
        let (a, b) = (Domain::new(), Domain::new());
        for _ in 0..3 {
            for d in [&a, &b] {
                let g = d.pin();
                assert_eq!(state(d) & ACTIVE, ACTIVE);
                assert_eq!(state(if core::ptr::eq(d, &a) { &b } else { &a }), INACTIVE);
                drop(g);
            }
        }
    }

    #[test]
    fn nested_guards_unpin_only_at_the_outermost() {
        let d = Domain::new();
        let outer = d.pin();
        let inner = d.pin();
        drop(inner);
        assert_eq!(state(&d) & ACTIVE, ACTIVE);
        drop(outer);
        assert_eq!(state(&d), INACTIVE);
    }

    #[test]
    fn a_pin_on_one_domain_does_not_hold_back_another() {
        let (a, b) = (Domain::new(), Domain::new());
        let _pinned_on_a = a.pin();
        let mut bag = Bag::new();
        bag.retire(7u32);
        let mut ready = Vec::new();
        for _ in 0..3 {
            let (stamp, now) = b.collect();
            bag.collect(stamp, now, |x| ready.push(x));
        }
        assert_eq!(ready, [7]);
    }

    #[test]
    fn garbage_waits_for_the_pin_then_is_ready_once() {
        let d = Domain::new();
        let mut bag = Bag::new();
        let mut ready = Vec::new();
        let guard = d.pin();
        bag.retire(1u32);
        for _ in 0..3 {
            let (stamp, now) = d.collect();
            bag.collect(stamp, now, |x| ready.push(x));
        }
        assert!(ready.is_empty(), "ready while this thread is pinned");
        assert_eq!(bag.len(), 1);
        drop(guard);
        for _ in 0..3 {
            let (stamp, now) = d.collect();
            bag.collect(stamp, now, |x| ready.push(x));
        }
        assert_eq!((ready.as_slice(), bag.len()), (&[1][..], 0));
    }

    #[test]
    fn an_owned_guard_can_be_dropped_on_another_thread() {
        let d = Domain::new();
        let g = d.pin_owned();
        let mut bag = Bag::new();
        bag.retire(1u32);
        let mut ready = Vec::new();
        let (stamp, now) = d.collect();
        bag.collect(stamp, now, |x| ready.push(x));
        crate::sync::thread::scope(|s| {
            s.spawn(move || drop(g));
        });
        for _ in 0..3 {
            let (stamp, now) = d.collect();
            bag.collect(stamp, now, |x| ready.push(x));
        }
        assert_eq!(ready, [1]);
    }

    #[test]
    fn ids_of_exited_threads_are_reused() {
        // Without reuse, 300 threads one after another would take 300 fresh ids; the
        // other tests of this binary run a few threads at the same time.
        let id_of = || THREAD.with(Thread::enter_and_leave);
        let most = (0..300)
            .map(|_| crate::sync::thread::spawn(id_of).join().unwrap())
            .max()
            .unwrap();
        assert!(most < 100, "thread ids grew to {most}");
    }

    impl Thread {
        fn enter_and_leave(&self) -> usize {
            let d = Domain::new();
            self.enter(&d).expect("the thread is alive");
            self.leave();
            self.id.get()
        }
    }
}

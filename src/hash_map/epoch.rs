//! Epoch-based reclamation for the map: readers pin, only writers free.
//!
//! # Protocol
//!
//! A global `EPOCH` counter and one cache-padded *participant* per thread (registered
//! through a thread-local on first use, handed back when the thread exits, never freed).
//!
//! - **pin** (outermost guard only; nested guards bump a thread-local count): read
//!   `EPOCH` (Acquire), store `epoch << 1 | ACTIVE` into the participant (Release), then the
//!   *light* half of an asymmetric store→load fence (a compiler fence where
//!   `membarrier` works, else `fence(SeqCst)`).
//! - **unpin**: store `INACTIVE` (Release).
//! - **retire** (a writer, under its shard lock): push the garbage into the shard's
//!   [`Bag`], unstamped.
//! - **collect** (a writer, every [`COLLECT_EVERY`] retires and on `flush`):
//!   1. *seal*: stamp the unstamped garbage with `s = EPOCH.fetch_add(0)` (Release);
//!   2. *advance*: the heavy fence half (`membarrier`, or `fence(SeqCst)`), read
//!      `g = EPOCH` (Acquire), scan every participant (Acquire); if every active one is
//!      pinned at `g`, CAS `EPOCH` from `g` to `g + 1` (Release);
//!   3. free the garbage whose stamp `s` satisfies `s + 2 <= EPOCH`.
//!
//! # Why a reader never sees freed memory
//!
//! Say reader `R` pinned at epoch `r` loads a pointer to object `O` that writer `W`
//! unlinked (store `U`) and sealed with stamp `s`, and `O` is freed, which needs some
//! writer to have advanced `EPOCH` from `s + 1` to `s + 2`.
//!
//! - If `r >= s + 1`: `R`'s Acquire read of `EPOCH` read a value written by a CAS in the
//!   release sequence of `W`'s seal (every write to `EPOCH` is a read-modify-write), so
//!   `U` happens before `R`'s load, which therefore cannot return the unlinked pointer.
//! - If `r <= s`: `R`'s read of `r` is coherence-ordered before the advancing CAS that read
//!   `s + 1`, so `R`'s fence precedes the advancer's fence in the SeqCst order, and the
//!   advancer's scan sees `R`'s pin (or a later store of `R`'s participant). The pin
//!   (epoch `r != s + 1`, active) blocks the advance; a later store is an unpin or a
//!   later pin, both `Release`, so `R`'s use of `O` happens before the free.
//!
//! Readers never scan or free: a `get` costs the pin store and the unpin store, and its
//! tail latency never includes a destructor. Garbage lives per shard, guarded by the
//! shard's writer lock, so retiring needs no atomic operation at all.
//!
//! # Checking
//!
//! `loom-tests/hash_map.rs` models the protocol, and `ordering-mutants` weakens each
//! ordering in turn. loom models `fence(SeqCst)` as joining the causality of every
//! earlier SeqCst fence, which is stronger than the C++ model: since every path from a
//! seal to a pin crosses the reclaimer's heavy fence and the reader's light fence, loom
//! cannot observe the Acquire/Release edges on `EPOCH` (the seal, the advance CAS and
//! the pin's epoch load) go missing. Those are kept for the argument above and marked
//! `mutants: skip` with that reason; every other ordering here has a model that fails
//! without it.
//!
//! A guard held for a long time stops the epoch: garbage then grows until it is
//! dropped. Writers keep every bag bounded in the common case by collecting every
//! [`COLLECT_EVERY`] retires and retrying harder past [`PRESSURE`] items.

use crate::futex;
use crate::sync::UnsafeCell;
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64};
use core::marker::PhantomData;
use core::ptr;
use crossbeam_utils::CachePadded;

/// A writer collects after this many retires into one bag. Each collection costs a
/// `membarrier(PRIVATE_EXPEDITED)`, which took 6-8 us per call on the 2-vCPU KVM guest
/// (an IPI to every CPU running this process, a VM exit each): at 128 that was about
/// 60 ns per retire (4089 calls in one run of the exchange mix), at 1024 about 8 ns
/// (505 calls), for at most 1024 more garbage items per shard.
#[cfg(not(fencepost_loom))]
pub(crate) const COLLECT_EVERY: usize = 1024;
/// Under loom every retire collects, so the models reach the free.
#[cfg(fencepost_loom)]
pub(crate) const COLLECT_EVERY: usize = 1;

/// How often `flush` tries to advance the epoch before giving up.
const FLUSH_ATTEMPTS: usize = if cfg!(fencepost_loom) { 3 } else { 64 };

/// Past this many items a bag's collection retries the advance a few times.
const PRESSURE: usize = 64 * 1024;

/// Participant state: `0` when not pinned, `epoch << 1 | ACTIVE` while pinned.
const INACTIVE: u64 = 0;
const ACTIVE: u64 = 1;

/// One thread's slot in the global participant list.
struct Participant {
    /// `INACTIVE` or `epoch << 1 | ACTIVE`; written only by the owning thread.
    state: AtomicU64,
    /// Whether a live thread owns this participant.
    in_use: AtomicBool,
    /// Nesting depth of this thread's guards; touched only by the owning thread.
    depth: UnsafeCell<usize>,
    /// The next participant in the list (immutable once pushed).
    next: AtomicPtr<CachePadded<Participant>>,
}

/// The global epoch and the participant list (push-only; participants are reused).
struct Collector {
    epoch: AtomicU64,
    head: AtomicPtr<CachePadded<Participant>>,
}

impl Collector {
    #[cfg(not(fencepost_loom))]
    const fn new() -> Self {
        Collector {
            epoch: AtomicU64::new(0),
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    #[cfg(fencepost_loom)]
    fn new() -> Self {
        Collector {
            epoch: AtomicU64::new(0),
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

#[cfg(not(fencepost_loom))]
static COLLECTOR: Collector = Collector::new();

// Under loom a lazy static is rebuilt for every execution. Its participants are leaked
// on purpose: loom drops lazy statics before the main thread's thread-locals, whose
// destructor still releases its participant.
#[cfg(fencepost_loom)]
crate::sync::lazy_static! {
    static ref COLLECTOR: Collector = Collector::new();
}

#[inline(always)]
fn collector() -> &'static Collector {
    &COLLECTOR
}

/// This thread's participant, registered on first pin.
struct Local {
    participant: core::cell::Cell<*const CachePadded<Participant>>,
}

impl Drop for Local {
    fn drop(&mut self) {
        let p = self.participant.get();
        if p.is_null() {
            return;
        }
        // SAFETY: participants are never freed (see `Collector`).
        let p = unsafe { &*p };
        // SAFETY: only the owning thread (this one, now exiting) touches `depth`.
        let depth = p.depth.with(|d| unsafe { *d });
        if depth == 0 {
            // Ordering: Release pairs with the Acquire claim in `register`: this thread's
            // last writes to `depth` and `state` happen before the next owner's.
            p.in_use.store(false, Release);
        }
        // A guard leaked with `mem::forget` keeps the participant pinned and owned
        // forever: the epoch stops, which is safe.
    }
}

impl Local {
    const fn new() -> Self {
        Local {
            participant: core::cell::Cell::new(ptr::null()),
        }
    }
}

#[cfg(not(fencepost_loom))]
crate::sync::thread_local! {
    static LOCAL: Local = const { Local::new() };
}

// loom's macro (edition 2018) takes no `const { }` initialiser.
#[cfg(fencepost_loom)]
crate::sync::thread_local! {
    static LOCAL: Local = Local::new();
}

/// Pins the current thread until the returned guard (and every nested one) is dropped.
#[inline]
pub(crate) fn pin() -> Guard {
    let p = LOCAL.with(|l| {
        let p = l.participant.get();
        if p.is_null() { register(l) } else { p }
    });
    // SAFETY: participants are never freed and this thread owns `p`.
    let part = unsafe { &*p };
    // SAFETY: `depth` is touched only by the owning thread, which is this one.
    let depth = part.depth.with_mut(|d| unsafe {
        let old = *d;
        *d = old + 1;
        old
    });
    if depth == 0 {
        // Ordering: Acquire pairs with the Release seal (`Bag::seal`), continued by each
        // advance CAS: the garbage's unlinking writes happen before this pin's loads.
        // mutants: skip (loom models fence(SeqCst) as joining every earlier SeqCst fence's causality, and a pin's light fence always follows the writer's heavy fence here, so loom cannot see this edge go missing; needed under the C++ model, see `# Why a reader never sees freed memory`)
        let epoch = collector().epoch.load(Acquire);
        // Ordering: Release pairs with the Acquire scan in `try_advance`: whatever this
        // thread did in an earlier pinned section happens before a reclaimer that sees
        // this later pin.
        part.state.store(epoch << 1 | ACTIVE, Release);
        // Ordering: store→load: the pin must be visible to a reclaimer's scan before
        // this thread loads any pointer. The light half (compiler fence when the
        // reclaimer uses membarrier, else fence(SeqCst)) pairs with `heavy_fence` in
        // `try_advance`; Acquire/Release never order a store before a later load.
        futex::light_fence();
    }
    Guard {
        participant: p,
        _not_send: PhantomData,
    }
}

/// Takes a free participant or pushes a new one.
#[cold]
#[inline(never)]
fn register(local: &Local) -> *const CachePadded<Participant> {
    futex::init_asymmetric_fences();
    let c = collector();
    // Ordering: Acquire pairs with the Release push below: a participant's fields are
    // initialised before another thread reaches it through the list.
    let mut cur = c.head.load(Acquire);
    while !cur.is_null() {
        // SAFETY: participants are never freed.
        let p = unsafe { &*cur };
        // Ordering: Acquire pairs with the Release in `Local::drop`: the previous owner's
        // accesses to `depth` happen before ours.
        if p.in_use
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_ok()
        {
            local.participant.set(cur);
            return cur;
        }
        // Ordering: `next` never changes after the node is published.
        cur = p.next.load(Relaxed);
    }
    let node = Box::into_raw(Box::new(CachePadded::new(Participant {
        state: AtomicU64::new(INACTIVE),
        in_use: AtomicBool::new(true),
        depth: UnsafeCell::new(0),
        next: AtomicPtr::new(ptr::null_mut()),
    })));
    // Ordering: see the Acquire at the top of this function.
    let mut head = c.head.load(Relaxed);
    loop {
        // SAFETY: `node` is ours until the CAS below publishes it.
        unsafe { &*node }.next.store(head, Relaxed);
        // Ordering: Release publishes the node's initialised fields to the Acquire
        // loads of the list head (here and in `try_advance`).
        let pushed = c.head.compare_exchange_weak(head, node, Release, Relaxed);
        match pushed {
            Ok(_) => break,
            Err(now) => head = now,
        }
    }
    local.participant.set(node);
    node
}

/// An epoch pin; references read from the map stay valid while it lives. `!Send`.
pub(crate) struct Guard {
    participant: *const CachePadded<Participant>,
    _not_send: PhantomData<*mut ()>,
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: participants are never freed; this thread owns it (`Guard` is `!Send`).
        let part = unsafe { &*self.participant };
        // SAFETY: `depth` is touched only by the owning thread, which is this one.
        let depth = part.depth.with_mut(|d| unsafe {
            *d -= 1;
            *d
        });
        if depth == 0 {
            // Ordering: Release pairs with the Acquire scan in `try_advance`: every load
            // of this pinned section happens before a free that follows the scan.
            part.state.store(INACTIVE, Release);
        }
    }
}

impl core::fmt::Debug for Guard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

/// Tries to move the global epoch one step; returns the epoch afterwards.
fn try_advance() -> u64 {
    let c = collector();
    // Ordering: the heavy half of the store→load fence pair with `pin`'s light half:
    // after it, the scan sees every pin whose fence came earlier in the SeqCst order.
    // Nothing weaker works: the scan must not read a participant's state from before a
    // pin that is already loading pointers.
    futex::heavy_fence();
    // Ordering: Acquire pairs with the Release CAS of the previous advance: the scan
    // that allowed it (and the unpins it read) happen before our frees.
    // mutants: skip (loom models fence(SeqCst) as joining every earlier SeqCst fence's causality, and a pin's light fence always follows the writer's heavy fence here, so loom cannot see this edge go missing; needed under the C++ model, see `# Why a reader never sees freed memory`)
    let g = c.epoch.load(Acquire);
    // Ordering: Acquire pairs with the Release push in `register`: the participants'
    // initialised fields happen before we read them.
    // mutants: skip (loom does not treat an atomic's initialisation as a racing write, so reading a participant pushed without a happens-before edge goes unnoticed)
    let mut cur = c.head.load(Acquire);
    while !cur.is_null() {
        // SAFETY: participants are never freed.
        let p = unsafe { &*cur };
        // Ordering: Acquire pairs with the Release pin and unpin stores: a reader's
        // pinned section that ended (or was followed by a later pin) happens before
        // whatever we free after this scan.
        let state = p.state.load(Acquire);
        if state & ACTIVE != 0 && state >> 1 != g {
            return g;
        }
        // Ordering: `next` never changes after the node is published.
        cur = p.next.load(Relaxed);
    }
    // Release pairs with the Acquire epoch loads of `pin` and of later advances; it
    // continues the seals' release sequences. Acquire on failure: the epoch we then
    // return (and free by) was written by another advance's Release CAS, whose scan
    // must happen before our frees.
    // Ordering: Release on success, Acquire on failure (see above).
    // mutants: skip (loom models fence(SeqCst) as joining every earlier SeqCst fence's causality, and a pin's light fence always follows the writer's heavy fence here, so loom cannot see this edge go missing; needed under the C++ model, see `# Why a reader never sees freed memory`)
    match c.epoch.compare_exchange(g, g + 1, Release, Acquire) {
        Ok(_) => g + 1,
        Err(now) => now,
    }
}

/// A shard's garbage: items waiting until no reader can still hold them.
pub(crate) struct Bag<T> {
    /// `(stamp, item)`; the last `unsealed` items have no stamp yet.
    items: Vec<(u64, T)>,
    unsealed: usize,
}

impl<T> Bag<T> {
    pub(crate) const fn new() -> Self {
        Bag {
            items: Vec::new(),
            unsealed: 0,
        }
    }

    /// Number of items not yet freed.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Adds `item`, unlinked by the caller (who holds the bag's lock); collects every
    /// [`COLLECT_EVERY`] retires, handing each item no reader can hold any more to
    /// `free` (which drops or recycles it).
    pub(crate) fn retire(&mut self, item: T, free: &mut impl FnMut(T)) {
        self.items.push((u64::MAX, item));
        self.unsealed += 1;
        if self.unsealed >= COLLECT_EVERY {
            self.collect(free);
        }
    }

    /// Seals, tries to advance the epoch and hands what is old enough to `free`.
    #[cold]
    pub(crate) fn collect(&mut self, free: &mut impl FnMut(T)) {
        if self.items.is_empty() {
            return;
        }
        self.seal();
        let mut now = try_advance();
        if self.items.len() >= PRESSURE {
            for _ in 0..4 {
                if self.free_before(now, free) == 0 {
                    break;
                }
                crate::sync::yield_now();
                now = try_advance();
            }
        }
        self.free_before(now, free);
    }

    /// Frees everything that can be freed now: advances the epoch twice unless a
    /// thread stays pinned, retrying a bounded number of times (yielding in between)
    /// while threads that pin and unpin quickly hold it back.
    pub(crate) fn flush(&mut self, free: &mut impl FnMut(T)) {
        if self.items.is_empty() {
            return;
        }
        self.seal();
        for attempt in 0..FLUSH_ATTEMPTS {
            if attempt >= 3 {
                crate::sync::yield_now();
            }
            let now = try_advance();
            if self.free_before(now, free) == 0 {
                return;
            }
        }
    }

    fn seal(&mut self) {
        if self.unsealed == 0 {
            return;
        }
        // Release heads a release sequence (every later write to `EPOCH` is a
        // read-modify-write) that a pin's Acquire load of a later epoch reads from.
        // Ordering: Release, so the unlinking stores before this seal happen before
        // the loads of a reader that pins at a later epoch.
        // mutants: skip (loom models fence(SeqCst) as joining every earlier SeqCst fence's causality, and a pin's light fence always follows the writer's heavy fence here, so loom cannot see this edge go missing; needed under the C++ model, see `# Why a reader never sees freed memory`)
        let s = collector().epoch.fetch_add(0, Release);
        let from = self.items.len() - self.unsealed;
        for item in &mut self.items[from..] {
            item.0 = s;
        }
        self.unsealed = 0;
    }

    /// Hands the sealed items stamped at least two epochs before `now` to `free`;
    /// returns how many are left.
    fn free_before(&mut self, now: u64, free: &mut impl FnMut(T)) -> usize {
        let sealed = self.items.len() - self.unsealed;
        let mut i = 0;
        // Items are stamped in order, so the freeable ones are a prefix.
        while i < sealed && self.items[i].0.saturating_add(2) <= now {
            i += 1;
        }
        if i > 0 {
            self.items.drain(..i).for_each(|(_, item)| free(item));
        }
        self.items.len()
    }
}

impl<T> core::fmt::Debug for Bag<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bag")
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts its drops.
    struct Counted(Rc<Cell<usize>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    fn state() -> u64 {
        let p = LOCAL.with(|l| l.participant.get());
        // SAFETY: participants are never freed; this thread registered `p`.
        unsafe { &*p }.state.load(Relaxed)
    }

    #[test]
    fn nested_guards_unpin_only_at_the_outermost() {
        let outer = pin();
        let inner = pin();
        drop(inner);
        assert_eq!(state() & ACTIVE, ACTIVE);
        drop(outer);
        assert_eq!(state(), INACTIVE);
    }

    #[test]
    fn garbage_waits_for_the_pin_then_is_freed_once() {
        let drops = Rc::new(Cell::new(0));
        let mut bag = Bag::new();
        let guard = pin();
        bag.retire(Counted(Rc::clone(&drops)), &mut drop);
        bag.flush(&mut drop);
        assert_eq!(drops.get(), 0, "freed while this thread is pinned");
        assert_eq!(bag.len(), 1);
        drop(guard);
        bag.flush(&mut drop);
        assert_eq!((drops.get(), bag.len()), (1, 0));
        bag.flush(&mut drop);
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn dropping_a_bag_frees_what_is_left() {
        let drops = Rc::new(Cell::new(0));
        let mut bag = Bag::new();
        for _ in 0..3 {
            bag.retire(Counted(Rc::clone(&drops)), &mut drop);
        }
        drop(bag);
        assert_eq!(drops.get(), 3);
    }
}

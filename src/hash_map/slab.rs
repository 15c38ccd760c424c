//! Entry storage: a shard's keys and values, inline in chunks that never move.
//!
//! Chunk `c` holds `base << c` slots for the indices `base * (2^c - 1) ..`, so the slab
//! doubles by adding a chunk without touching the ones it has. Tables refer to a slot by
//! its *handle*, `(c + 1) << 27 | offset`, which a reader turns into an address with a
//! shift, a mask and one load of the chunk pointer (never 0, so 0 can mean "empty"); the
//! writer's bookkeeping uses the plain index. A slot is written once, read by pinned readers while its
//! entry is linked and for a grace period after, then dropped in place and reused: no
//! allocation per insert or remove, nothing moved by a resize.
//!
//! The readers' half ([`Slab`]) is the chunk pointers; the writer's half
//! ([`SlabAlloc`], behind the shard lock) is which slots are free, which are linked, and
//! the hash of each, so that a resize scans it in index order instead of following each
//! entry.

use crate::sync::UnsafeCell;
use crate::sync::atomic::AtomicPtr;
use crate::sync::atomic::Ordering::Relaxed;
use core::mem::MaybeUninit;
use core::ptr;

/// One entry's storage.
pub(crate) type Slot<K, V> = UnsafeCell<MaybeUninit<(K, V)>>;

/// Handle bits that give the offset in the chunk; the five bits above hold chunk + 1.
const OFFSET_BITS: u32 = 27;
const OFFSET_MASK: u32 = (1 << OFFSET_BITS) - 1;

/// Chunks a slab can have (chunk + 1 fits the handle's top five bits).
#[cfg(not(fencepost_loom))]
const CHUNKS: usize = 31;
#[cfg(fencepost_loom)]
const CHUNKS: usize = 6;

/// The readers' half: chunk pointers, at `chunk + 1` (entry 0 stays null).
pub(crate) struct Slab<K, V> {
    chunks: [AtomicPtr<Slot<K, V>>; CHUNKS + 1],
    base_log2: u32,
}

impl<K, V> Slab<K, V> {
    /// An empty slab whose first chunk will hold `base` slots (a power of two).
    pub(crate) fn new(base: usize) -> Self {
        debug_assert!(base.is_power_of_two());
        Slab {
            chunks: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            base_log2: base.trailing_zeros(),
        }
    }

    pub(crate) fn base(&self) -> usize {
        1 << self.base_log2
    }

    /// Slots in chunk `c`.
    fn chunk_len(&self, c: usize) -> usize {
        self.base() << c
    }

    /// The slot of handle `h`, which the caller knows is in an allocated chunk.
    #[inline(always)]
    pub(crate) fn slot(&self, h: u32) -> *const Slot<K, V> {
        let c = (h >> OFFSET_BITS) as usize;
        debug_assert!((1..=CHUNKS).contains(&c), "handle {h:#x}");
        // Ordering: Relaxed: a handle reaches a reader only through a Release lane store
        // made after the chunk was stored (a reader's Acquire lane load orders this load
        // after the chunk's publication), and the writer ordered both itself.
        // SAFETY: `c <= CHUNKS` for every handle (five bits; `handle` never makes one
        // above `CHUNKS`).
        let chunk = unsafe { self.chunks.get_unchecked(c) }.load(Relaxed);
        debug_assert!(!chunk.is_null(), "handle {h:#x} of an unallocated chunk");
        // SAFETY: the offset is below the chunk's length (`handle`).
        unsafe { chunk.add((h & OFFSET_MASK) as usize) }
    }

    /// The handle of slab index `i`.
    #[inline]
    pub(crate) fn handle(&self, i: usize) -> u32 {
        let j = i + self.base();
        let c = (usize::BITS - 1 - j.leading_zeros() - self.base_log2) as usize;
        ((c as u32 + 1) << OFFSET_BITS) | (j - (self.base() << c)) as u32
    }

    /// The slab index of handle `h`.
    #[inline]
    pub(crate) fn index(&self, h: u32) -> usize {
        let c = (h >> OFFSET_BITS) as usize - 1;
        (self.base() << c) - self.base() + (h & OFFSET_MASK) as usize
    }

    /// A shared reference to the entry at handle `i`.
    ///
    /// # Safety
    /// The slot holds an entry that stays there (not dropped, not overwritten) for `'a`:
    /// linked while the caller holds the lock, or linked after the caller pinned and not
    /// yet reclaimed.
    #[inline(always)]
    pub(crate) unsafe fn entry<'a>(&self, i: u32) -> &'a (K, V) {
        // SAFETY: the slot is in an allocated chunk (it holds an entry); the caller
        // guarantees the entry is initialised and stays put for `'a`.
        unsafe { &*(*self.slot(i)).with(|p| (*p).as_ptr()) }
    }

    /// Writes `entry` into free slot `i`.
    ///
    /// # Safety
    /// The caller holds the shard lock and `i` is free: unlinked and reclaimed, so no
    /// reader can reach it until the caller publishes its index.
    pub(crate) unsafe fn write(&self, i: u32, entry: (K, V)) {
        // SAFETY: the caller guarantees exclusive access to the free slot.
        unsafe { (*self.slot(i)).with_mut(|p| (*p).write(entry)) };
    }

    /// Drops the entry at `i` in place; the slot is then free storage.
    ///
    /// # Safety
    /// The entry was unlinked and its grace period has passed (no reader can reach it),
    /// and nobody else drops or frees it.
    pub(crate) unsafe fn drop_in_place(&self, i: u32) {
        // SAFETY: the caller guarantees the entry is initialised and exclusively ours.
        unsafe { (*self.slot(i)).with_mut(|p| (*p).assume_init_drop()) };
    }

    /// Moves the entry at `i` out; the slot is then free storage.
    ///
    /// # Safety
    /// As [`drop_in_place`](Self::drop_in_place).
    pub(crate) unsafe fn take(&self, i: u32) -> (K, V) {
        // SAFETY: the caller guarantees the entry is initialised and exclusively ours.
        unsafe { (*self.slot(i)).with_mut(|p| (*p).assume_init_read()) }
    }

    /// Allocates chunk `c` (the next one). Writer only.
    fn add_chunk(&self, c: usize) {
        let cells = crate::sync::uninit_cells::<(K, V)>(self.chunk_len(c));
        let p = Box::into_raw(cells).cast::<Slot<K, V>>();
        // Ordering: Relaxed: see `slot`; the lane store that first publishes a handle in
        // this chunk is a Release store sequenced after this one.
        self.chunks[c + 1].store(p, Relaxed);
    }

    /// Whether chunk `c` can be added: within `CHUNKS`, and small enough for a handle's
    /// offset bits.
    fn can_add_chunk(&self, c: usize) -> bool {
        c < CHUNKS && self.chunk_len(c) <= 1 << OFFSET_BITS
    }

    /// Frees chunk `c`, whose slots hold no entry and which no reader can reach (every
    /// index in it was reclaimed after its grace period, or never handed out).
    fn free_chunk(&self, c: usize) {
        // Ordering: writer only (or the owner at drop).
        let p = self.chunks[c + 1].swap(ptr::null_mut(), Relaxed);
        // SAFETY: the chunk came from `Box::into_raw` of `chunk_len(c)` cells; its slots
        // are uninitialised storage (no entry to drop) and no reader holds an index in it.
        drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, self.chunk_len(c))) });
    }
}

impl<K, V> core::fmt::Debug for Slab<K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Slab")
            .field("base", &self.base())
            .finish_non_exhaustive()
    }
}

/// The writer's half: which slots are free, and the hash of each slot's entry.
#[derive(Debug)]
pub(crate) struct SlabAlloc {
    free: Free,
    /// The hash of the entry in each slot (meaningful for slots holding an entry).
    hashes: Vec<u64>,
    /// Allocated chunks.
    chunks: usize,
}

/// How free slots are found. A stack costs a push and a pop; an earlier design kept a
/// bitmap of linked slots and handed out the lowest free slot for every policy, and the
/// bitmaps cost a remove 49 instructions and 0.9 D1 misses (callgrind, 512K keys,
/// foldhash: 268 -> 219 instructions, 3.33 -> 2.44 misses per remove).
#[derive(Debug)]
enum Free {
    /// Reclaimed slots, last in first out (a pop and a push: the cheapest), then the
    /// slots never handed out, in order (`fresh..`).
    Stack { reclaimed: Vec<u32>, fresh: usize },
    /// Lowest first, so live entries gather at the front of the slab and a shrinking
    /// shard can free its last chunks (`ResizePolicy::GrowShrink`).
    Lowest(FreeSet),
}

impl SlabAlloc {
    /// `compact`: hand out the lowest free slot first (for shards that shrink).
    pub(crate) fn new(compact: bool) -> Self {
        SlabAlloc {
            free: if compact {
                Free::Lowest(FreeSet::default())
            } else {
                Free::Stack {
                    reclaimed: Vec::new(),
                    fresh: 0,
                }
            },
            hashes: Vec::new(),
            chunks: 0,
        }
    }

    /// Slots in the allocated chunks.
    pub(crate) fn capacity(&self) -> usize {
        self.hashes.len()
    }

    /// Takes a free slot for an entry hashed `hash`, adding a chunk when none is free;
    /// returns its handle. The caller writes the entry and links it.
    ///
    /// # Panics
    /// When the slab cannot grow any more (about 2^28 entries, live and awaiting
    /// reclamation, in one shard).
    #[inline(always)]
    pub(crate) fn alloc<K, V>(&mut self, slab: &Slab<K, V>, hash: u64) -> u32 {
        let i = match self.take() {
            Some(i) => i,
            None => {
                self.add_chunk(slab);
                self.take().expect("a new chunk has free slots")
            }
        };
        debug_assert!(i < self.hashes.len());
        // SAFETY: every slot handed out is below the capacity, which `hashes` covers.
        *unsafe { self.hashes.get_unchecked_mut(i) } = hash;
        slab.handle(i)
    }

    #[inline(always)]
    fn take(&mut self) -> Option<usize> {
        match &mut self.free {
            Free::Stack { reclaimed, fresh } => match reclaimed.pop() {
                Some(i) => Some(i as usize),
                None if *fresh < self.hashes.len() => {
                    *fresh += 1;
                    Some(*fresh - 1)
                }
                None => None,
            },
            Free::Lowest(set) => set.pop(),
        }
    }

    /// Grows the slab until it has at least `slots` slots.
    pub(crate) fn reserve<K, V>(&mut self, slab: &Slab<K, V>, slots: usize) {
        while self.capacity() < slots {
            self.add_chunk(slab);
        }
    }

    #[cold]
    fn add_chunk<K, V>(&mut self, slab: &Slab<K, V>) {
        let c = self.chunks;
        assert!(
            slab.can_add_chunk(c),
            "fencepost::HashMap: a shard cannot hold more than {} entries (live and \
             awaiting reclamation); use more shards",
            self.capacity()
        );
        slab.add_chunk(c);
        self.chunks += 1;
        let end = self.capacity() + slab.chunk_len(c);
        if self.hashes.is_empty() {
            // A zeroed allocation: the pages are touched only as slots fill.
            self.hashes = vec![0; end];
        } else {
            self.hashes.resize(end, 0);
        }
        if let Free::Lowest(set) = &mut self.free {
            set.grow(end);
        }
    }

    /// Marks reclaimed slot `h` (its entry dropped or never linked) free for reuse.
    #[inline]
    pub(crate) fn free<K, V>(&mut self, slab: &Slab<K, V>, h: u32) {
        let i = slab.index(h);
        match &mut self.free {
            Free::Stack { reclaimed, .. } => reclaimed.push(i as u32),
            Free::Lowest(set) => set.push(i),
        }
    }

    /// The hash of the entry in slot `h` (one that holds an entry).
    #[inline]
    pub(crate) fn hash<K, V>(&self, slab: &Slab<K, V>, h: u32) -> u64 {
        self.hashes[slab.index(h)]
    }

    /// Frees the last chunks while every slot in them is free, keeping the first (only
    /// with lowest-first allocation, where the last chunks empty out).
    pub(crate) fn release_free_chunks<K, V>(&mut self, slab: &Slab<K, V>) {
        let Free::Lowest(set) = &mut self.free else {
            return;
        };
        while self.chunks > 1 {
            let c = self.chunks - 1;
            let end = self.hashes.len();
            let start = end - slab.chunk_len(c);
            if !set.all_free(start, end) {
                return;
            }
            slab.free_chunk(c);
            self.chunks = c;
            self.hashes.truncate(start);
            self.hashes.shrink_to_fit();
            set.shrink(start);
        }
    }

    /// Frees every chunk (the owner is being dropped; entries already dropped).
    pub(crate) fn free_all<K, V>(&mut self, slab: &Slab<K, V>) {
        while self.chunks > 0 {
            self.chunks -= 1;
            slab.free_chunk(self.chunks);
        }
    }
}

/// A growable bit vector.
#[derive(Debug, Default)]
struct Bits {
    words: Vec<u64>,
}

impl Bits {
    fn resize(&mut self, bits: usize) {
        if self.words.is_empty() {
            // A zeroed allocation: the pages are touched only as bits are used.
            self.words = vec![0; bits.div_ceil(64)];
        }
        self.words.resize(bits.div_ceil(64), 0);
        if bits % 64 != 0 {
            // Bits past the end stay clear.
            let last = self.words.len() - 1;
            self.words[last] &= (1 << (bits % 64)) - 1;
        }
    }

    #[inline]
    fn get(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 != 0
    }

    #[inline]
    fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    #[inline]
    fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
    }
}

/// Free slots, handed out lowest first: two levels of bits (a word per 64 slots, a
/// summary bit per word) and a cursor below which no summary word has a bit.
///
/// Lowest first keeps the live entries packed at the front of the slab, which keeps
/// them dense in the cache after churn and lets a shrinking shard free its last chunks.
#[derive(Debug, Default)]
struct FreeSet {
    /// Bit `i % 64` of word `i / 64`: slot `i` is free.
    words: Bits,
    /// Bit `w % 64` of word `w / 64`: word `w` has a free slot.
    summary: Bits,
    /// No summary word before this one has a bit set.
    cursor: usize,
    /// Slots covered.
    len: usize,
}

impl FreeSet {
    /// Covers `len` slots, the new ones free.
    fn grow(&mut self, len: usize) {
        let old = self.len;
        self.len = len;
        self.words.resize(len);
        self.summary.resize(len.div_ceil(64));
        let mut i = old;
        while i < len {
            let w = i / 64;
            let end = len.min((w + 1) * 64);
            let run = end - i;
            self.words.words[w] |= if run == 64 {
                !0
            } else {
                ((1 << run) - 1) << (i % 64)
            };
            self.summary.set(w);
            i = end;
        }
        self.cursor = self.cursor.min(old / 64 / 64);
    }

    /// Covers only the first `len` slots (the rest are free and forgotten).
    fn shrink(&mut self, len: usize) {
        self.len = len;
        self.words.resize(len);
        self.summary.resize(len.div_ceil(64));
        for w in (len / 64)..self.words.words.len() {
            if self.words.words[w] == 0 {
                self.summary.clear(w);
            }
        }
        self.cursor = self.cursor.min(self.summary.words.len());
    }

    #[inline]
    fn push(&mut self, i: usize) {
        debug_assert!(i < self.len && !self.words.get(i));
        self.words.set(i);
        self.summary.set(i / 64);
        self.cursor = self.cursor.min(i / 64 / 64);
    }

    #[inline]
    fn pop(&mut self) -> Option<usize> {
        let summary = &mut self.summary.words;
        while self.cursor < summary.len() && summary[self.cursor] == 0 {
            self.cursor += 1;
        }
        let top = *summary.get(self.cursor)?;
        let w = self.cursor * 64 + top.trailing_zeros() as usize;
        let word = &mut self.words.words[w];
        let i = w * 64 + word.trailing_zeros() as usize;
        *word &= *word - 1;
        if *word == 0 {
            summary[w / 64] &= !(1 << (w % 64));
        }
        Some(i)
    }

    /// Whether every slot in `from..to` is free.
    fn all_free(&self, from: usize, to: usize) -> bool {
        (from..to).all(|i| self.words.get(i))
    }
}

#[cfg(all(test, not(fencepost_loom)))]
mod tests {
    use super::*;

    #[test]
    fn free_slots_are_handed_out_lowest_first() {
        let mut f = FreeSet::default();
        f.grow(200);
        let first: Vec<_> = (0..130).map(|_| f.pop().unwrap()).collect();
        assert_eq!(first, (0..130).collect::<Vec<_>>());
        for i in [129, 3, 64, 100] {
            f.push(i);
        }
        assert_eq!(
            (0..5).map(|_| f.pop().unwrap()).collect::<Vec<_>>(),
            [3, 64, 100, 129, 130]
        );
        assert!(f.all_free(131, 200));
        assert!(!f.all_free(129, 200));
        while f.pop().is_some() {}
        assert!(f.pop().is_none());
    }

    #[test]
    fn slab_indices_map_to_distinct_slots_across_chunks() {
        for compact in [false, true] {
            let slab = Slab::<u32, u32>::new(4);
            let mut alloc = SlabAlloc::new(compact);
            let n = 4 * (1 << 5) - 4; // chunks 0..5: 4 + 8 + 16 + 32 + 64 slots
            let slots: Vec<u32> = (0..n).map(|i| alloc.alloc(&slab, i as u64)).collect();
            let indices: Vec<usize> = slots.iter().map(|&h| slab.index(h)).collect();
            assert_eq!(indices, (0..n).collect::<Vec<_>>());
            for &i in &slots {
                // SAFETY: each slot is freshly allocated and written once, by this thread.
                unsafe { slab.write(i, (i, !i)) };
            }
            let mut addrs: Vec<_> = slots.iter().map(|&i| slab.slot(i) as usize).collect();
            for (k, &i) in slots.iter().enumerate() {
                // SAFETY: written above, read by the writing thread.
                assert_eq!(unsafe { slab.entry(i) }, &(i, !i));
                assert_eq!(slab.handle(slab.index(i)), i);
                assert_eq!(alloc.hash(&slab, i), k as u64);
            }
            addrs.sort_unstable();
            addrs.dedup();
            assert_eq!(addrs.len(), n);
            for &i in &slots {
                // SAFETY: written above; nobody else can reach it.
                unsafe { slab.drop_in_place(i) };
                alloc.free(&slab, i);
            }
            alloc.release_free_chunks(&slab);
            let kept = if compact { 4 } else { alloc.capacity() };
            assert_eq!(
                alloc.capacity(),
                kept,
                "a compacting slab keeps only the first chunk"
            );
            // Freed slots are handed out again before the slab grows.
            let again: Vec<u32> = (0..kept).map(|i| alloc.alloc(&slab, i as u64)).collect();
            assert_eq!(alloc.capacity(), kept);
            for &i in &again {
                alloc.free(&slab, i);
            }
            alloc.free_all(&slab);
        }
    }
}

//! Zero-copy chunks, as in rtrb: a producer reserves `n` free slots as up to two
//! `&mut [MaybeUninit<T>]` slices (two when the run crosses the end of the ring), writes
//! them in place and commits the first `k`; a consumer views `n` ready items as up to
//! two `&[T]` slices and commits (drops) or moves out the first `k`. One publishing
//! store per commit. A chunk dropped without a commit moves nothing.
//!
//! Commits on [`Producer`]/[`Consumer`] chunks check for a sleeping peer as `push` and
//! `pop` do; commits on the real-time sides' chunks do not.
//!
//! Not built under loom (loom's cells give no slices); the protocol is the sides'
//! `free`/`available` and `advance_by`, which the loom models exercise through the
//! slice operations.

use super::consumer::ConsumerSide;
use super::errors::ChunkError;
use super::producer::ProducerSide;
use super::{Consumer, INDEX, Producer, RealTimeConsumer, RealTimeProducer};
use crate::sync;
use core::fmt;
use core::mem::MaybeUninit;

/// `n` slots from `index` around a ring of `capacity`: the length of the first run.
fn first_run(index: usize, n: usize, capacity: usize) -> usize {
    n.min(capacity - index)
}

fn commit_too_long(k: usize, n: usize) -> ! {
    panic!("spsc chunk commit: k ({k}) exceeds the chunk's length n ({n})")
}

/// `n` free slots of the ring, reserved by
/// [`Producer::write_chunk_uninit`] or [`RealTimeProducer::write_chunk_uninit`].
///
/// Write items into [`as_mut_slices`](Self::as_mut_slices) and publish the first `k`
/// with [`commit`](Self::commit), or let [`fill_from_iter`](Self::fill_from_iter) do
/// both safely. Dropping the chunk without a commit publishes nothing; items written
/// into uncommitted slots are then neither published nor dropped (they are
/// `MaybeUninit`: the slots are simply reused).
pub struct WriteChunkUninit<'a, T> {
    side: &'a mut ProducerSide<T>,
    index: usize,
    first: usize,
    len: usize,
    wake: bool,
}

impl<T> ProducerSide<T> {
    fn write_chunk(&mut self, n: usize, wake: bool) -> Result<WriteChunkUninit<'_, T>, ChunkError> {
        let free = self.free(n);
        if free < n {
            return Err(ChunkError::TooFewSlots(free));
        }
        let index = self.tail & INDEX;
        Ok(WriteChunkUninit {
            first: first_run(index, n, self.capacity),
            index,
            len: n,
            wake,
            side: self,
        })
    }
}

impl<T> Producer<T> {
    /// Reserves `n` free slots as a [`WriteChunkUninit`]: up to two slices of
    /// uninitialised items, written in place, so that items move into the queue with
    /// no intermediate copy. Its commit wakes a sleeping consumer as `push` does.
    ///
    /// # Errors
    ///
    /// [`ChunkError::TooFewSlots`] with the number of free slots if fewer than `n` are
    /// free now (always if `n` exceeds the capacity).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel::<String>(4);
    /// let chunk = tx.write_chunk_uninit(3).unwrap();
    /// let written = chunk.fill_from_iter(["a", "b"].map(String::from));
    /// assert_eq!(written, 2);
    /// assert_eq!(rx.pop().as_deref(), Some("a"));
    /// ```
    pub fn write_chunk_uninit(&mut self, n: usize) -> Result<WriteChunkUninit<'_, T>, ChunkError> {
        self.side.write_chunk(n, true)
    }
}

impl<T> RealTimeProducer<T> {
    /// [`Producer::write_chunk_uninit`] for the real-time side: its commit publishes
    /// with one store and checks for no sleeper (no system call).
    ///
    /// # Errors
    ///
    /// As [`Producer::write_chunk_uninit`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel_real_time_producer::<u64>(4);
    /// let mut chunk = tx.write_chunk_uninit(2).unwrap();
    /// let (first, second) = chunk.as_mut_slices();
    /// for (i, slot) in first.iter_mut().chain(second).enumerate() {
    ///     slot.write(i as u64 * 10);
    /// }
    /// // SAFETY: both slots were written just above.
    /// unsafe { chunk.commit_all() };
    /// assert_eq!(rx.pop(), Some(0));
    /// assert_eq!(rx.pop(), Some(10));
    /// ```
    pub fn write_chunk_uninit(&mut self, n: usize) -> Result<WriteChunkUninit<'_, T>, ChunkError> {
        self.side.write_chunk(n, false)
    }
}

impl<T> WriteChunkUninit<'_, T> {
    /// The reserved slots, oldest first: the second slice is empty unless the run
    /// crosses the end of the ring.
    pub fn as_mut_slices(&mut self) -> (&mut [MaybeUninit<T>], &mut [MaybeUninit<T>]) {
        let shared = &self.side.shared;
        // SAFETY: both runs are in bounds (`index + first <= capacity`,
        // `len - first <= index`) and are free slots after `tail`, which the consumer
        // does not touch until they are published (the Acquire load of `head` in
        // `free` ordered its last reads of them before our writes); `&mut self` makes
        // these the only references to them.
        unsafe {
            (
                sync::cells_as_mut(shared.run(self.index, self.first)),
                sync::cells_as_mut(shared.run(0, self.len - self.first)),
            )
        }
    }

    /// The number of reserved slots, `n`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chunk reserved no slot.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Publishes the first `k` reserved slots, in order; the rest stay free.
    ///
    /// # Safety
    ///
    /// The first `k` slots (counting through the first slice, then the second) have
    /// been initialised.
    ///
    /// # Panics
    ///
    /// If `k` exceeds the chunk's length `n`.
    pub unsafe fn commit(self, k: usize) {
        if k > self.len {
            commit_too_long(k, self.len);
        }
        if k == 0 {
            return;
        }
        if self.wake {
            self.side.advance_by::<true>(k);
        } else {
            self.side.advance_by::<false>(k);
        }
    }

    /// Publishes every reserved slot.
    ///
    /// # Safety
    ///
    /// Every reserved slot has been initialised.
    pub unsafe fn commit_all(self) {
        let n = self.len;
        // SAFETY: the caller initialised all `n`.
        unsafe { self.commit(n) }
    }

    /// Moves items from `iter` into the reserved slots, in order, until either runs
    /// out, and publishes them. Returns how many were written.
    pub fn fill_from_iter<I: IntoIterator<Item = T>>(mut self, iter: I) -> usize {
        let mut iter = iter.into_iter();
        let mut written = 0;
        let (first, second) = self.as_mut_slices();
        for slot in first.iter_mut().chain(second.iter_mut()) {
            let Some(value) = iter.next() else { break };
            slot.write(value);
            written += 1;
        }
        // If `iter.next()` panicked above, the chunk is dropped uncommitted: the items
        // already written are leaked, never dropped twice.
        // SAFETY: the first `written` slots were written in order above.
        unsafe { self.commit(written) };
        written
    }
}

impl<T> fmt::Debug for WriteChunkUninit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteChunkUninit")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// `n` ready items of the ring, from [`Consumer::read_chunk`] or
/// [`RealTimeConsumer::read_chunk`], viewed in place.
///
/// [`commit`](Self::commit) drops the first `k` and frees their slots; iterating the
/// chunk by value ([`IntoIterator`]) moves items out one at a time and frees those
/// taken when the iterator is dropped. Dropping the chunk without either leaves every
/// item in the queue.
pub struct ReadChunk<'a, T> {
    side: &'a mut ConsumerSide<T>,
    index: usize,
    first: usize,
    len: usize,
    wake: bool,
}

impl<T> ConsumerSide<T> {
    fn read_chunk(&mut self, n: usize, wake: bool) -> Result<ReadChunk<'_, T>, ChunkError> {
        let available = self.available(n);
        if available < n {
            return Err(ChunkError::TooFewSlots(available));
        }
        let index = self.head & INDEX;
        Ok(ReadChunk {
            first: first_run(index, n, self.capacity),
            index,
            len: n,
            wake,
            side: self,
        })
    }
}

impl<T> Consumer<T> {
    /// Views the `n` oldest items in place as a [`ReadChunk`]. Its commit wakes a
    /// sleeping producer as `pop` does.
    ///
    /// # Errors
    ///
    /// [`ChunkError::TooFewSlots`] with the number of ready items if fewer than `n` are
    /// ready now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel(4);
    /// tx.push_slice(&[1, 2, 3]);
    /// let chunk = rx.read_chunk(3).unwrap();
    /// assert_eq!(chunk.as_slices().0.iter().chain(chunk.as_slices().1).sum::<i32>(), 6);
    /// chunk.commit(2);
    /// assert_eq!(rx.pop(), Some(3));
    /// ```
    pub fn read_chunk(&mut self, n: usize) -> Result<ReadChunk<'_, T>, ChunkError> {
        self.side.read_chunk(n, true)
    }
}

impl<T> RealTimeConsumer<T> {
    /// [`Consumer::read_chunk`] for the real-time side: its commit frees the slots with
    /// one store and wakes no one (no system call).
    ///
    /// # Errors
    ///
    /// As [`Consumer::read_chunk`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, mut rx) = fencepost::spsc::channel_real_time_consumer::<String>(4);
    /// tx.push("moved, not copied".to_string()).unwrap();
    /// let mut items = rx.read_chunk(1).unwrap().into_iter();
    /// assert_eq!(items.next().as_deref(), Some("moved, not copied"));
    /// ```
    pub fn read_chunk(&mut self, n: usize) -> Result<ReadChunk<'_, T>, ChunkError> {
        self.side.read_chunk(n, false)
    }
}

impl<T> ReadChunk<'_, T> {
    /// The items, oldest first: the second slice is empty unless the run crosses the
    /// end of the ring.
    pub fn as_slices(&self) -> (&[T], &[T]) {
        let shared = &self.side.shared;
        // SAFETY: both runs are in bounds and are the first `len` items after `head`:
        // initialised and published by the producer (its Release store of `tail`,
        // acquired in `available`, ordered those writes before these reads), which does
        // not write them again until we free them; `MaybeUninit<T>` has `T`'s layout.
        unsafe {
            let first = sync::cells_as_ref(shared.run(self.index, self.first));
            let second = sync::cells_as_ref(shared.run(0, self.len - self.first));
            (
                core::slice::from_raw_parts(first.as_ptr().cast::<T>(), first.len()),
                core::slice::from_raw_parts(second.as_ptr().cast::<T>(), second.len()),
            )
        }
    }

    /// The number of items in the chunk, `n`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chunk holds no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops the first `k` items, in order, and frees their slots with one store.
    ///
    /// If an item's destructor panics, the items before it and it are freed, the
    /// later ones stay in the queue; none is dropped twice.
    ///
    /// # Panics
    ///
    /// If `k` exceeds the chunk's length `n`.
    pub fn commit(self, k: usize) {
        if k > self.len {
            commit_too_long(k, self.len);
        }
        let mut items = self.into_iter();
        for _ in 0..k {
            drop(items.next());
        }
    }

    /// Drops every item of the chunk and frees the slots.
    pub fn commit_all(self) {
        let n = self.len;
        self.commit(n);
    }
}

impl<'a, T> IntoIterator for ReadChunk<'a, T> {
    type Item = T;
    type IntoIter = ReadChunkIntoIter<'a, T>;

    /// Moves the items out one at a time; the slots of those taken are freed (with one
    /// store) when the iterator is dropped.
    fn into_iter(self) -> ReadChunkIntoIter<'a, T> {
        ReadChunkIntoIter {
            chunk: self,
            taken: 0,
        }
    }
}

/// The by-value iterator of a [`ReadChunk`]: moves items out; frees the slots of the
/// items taken when dropped, leaving the others in the queue.
pub struct ReadChunkIntoIter<'a, T> {
    chunk: ReadChunk<'a, T>,
    taken: usize,
}

impl<T> Iterator for ReadChunkIntoIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.taken == self.chunk.len {
            return None;
        }
        let c = &self.chunk;
        let index = if self.taken < c.first {
            c.index + self.taken
        } else {
            self.taken - c.first
        };
        // Count it taken before reading: if the caller's use of it panics, it is
        // freed, not read again.
        self.taken += 1;
        // SAFETY: `index` is the `taken`-th item of the chunk (in bounds, initialised
        // and published as in `as_slices`); counting it in `taken` first means it is
        // read out exactly once and its slot freed without another drop.
        Some(unsafe { c.side.shared.slot(index) }.with(|p| unsafe { (*p).assume_init_read() }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.chunk.len - self.taken;
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for ReadChunkIntoIter<'_, T> {}

impl<T> Drop for ReadChunkIntoIter<'_, T> {
    fn drop(&mut self) {
        let k = self.taken;
        if k == 0 {
            return;
        }
        if self.chunk.wake {
            self.chunk.side.advance_by::<true>(k);
        } else {
            self.chunk.side.advance_by::<false>(k);
        }
    }
}

impl<T> fmt::Debug for ReadChunk<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadChunk")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for ReadChunkIntoIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadChunkIntoIter")
            .field("left", &(self.chunk.len - self.taken))
            .finish_non_exhaustive()
    }
}

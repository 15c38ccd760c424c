//! The seqlock's payload: a `T` kept in memory that is only ever accessed through
//! atomics, so a reader racing a writer is a race between atomic accesses (defined
//! behaviour, possibly a torn *copy*) and never a data race.
//!
//! Outside loom the `T` is stored in place and copied in chunks: whole words
//! (`AtomicUsize`), then at most one `AtomicU32`, `AtomicU16` and `AtomicU8` for the
//! tail. The storage is aligned to at least a word, so every chunk is naturally
//! aligned, and the split depends only on `size_of::<T>()`: a byte is always accessed
//! with the same chunk width, by readers and writers alike, so no two atomic accesses
//! of different sizes ever overlap (Miri reports racing mixed-size atomics as UB).
//! Every chunk lies inside `T`'s own bytes, which `NoUninit` guarantees are all
//! initialised: no padding or tail byte is ever read.
//!
//! Under loom the `T` is kept as an array of loom `AtomicUsize` words (the last one
//! zero-padded), because loom atomics cannot be laid over existing memory; loom then
//! sees, and checks, every word the protocol copies.
//!
//! Both versions copy *out* into a `MaybeUninit<T>`: the copy may be torn, so it
//! becomes a `T` only after the caller has validated it.

use bytemuck::NoUninit;
use core::mem::size_of;

#[cfg(not(fencepost_loom))]
pub(super) use in_place::Payload;
#[cfg(fencepost_loom)]
pub(super) use loom_words::Payload;

/// Bytes per word.
const WORD: usize = size_of::<usize>();

#[cfg(not(fencepost_loom))]
mod in_place {
    use super::{NoUninit, WORD, size_of};
    use crate::sync::UnsafeCell;
    use crate::sync::atomic::Ordering::Relaxed;
    use crate::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicUsize};
    use core::mem::MaybeUninit;

    /// An atomic integer that can be laid over existing, suitably aligned memory.
    trait Chunk {
        /// The plain integer of the same size.
        type Int: Copy;

        /// Loads the chunk at `at`, `Relaxed`.
        ///
        /// # Safety
        /// `at` is valid, aligned to `size_of::<Self::Int>()`, initialised, and only
        /// accessed atomically, with this width, while other threads may access it.
        unsafe fn load(at: *mut u8) -> Self::Int;

        /// Stores `value` to the chunk at `at`, `Relaxed`.
        ///
        /// # Safety
        /// As for [`Chunk::load`].
        unsafe fn store(at: *mut u8, value: Self::Int);
    }

    macro_rules! chunk {
        ($atomic:ty, $int:ty) => {
            impl Chunk for $atomic {
                type Int = $int;

                #[inline(always)]
                unsafe fn load(at: *mut u8) -> $int {
                    // SAFETY: the caller guarantees `at` is valid, aligned and accessed
                    // only atomically with this width while shared, which is exactly
                    // `from_ptr`'s contract.
                    unsafe { <$atomic>::from_ptr(at.cast::<$int>()) }.load(Relaxed)
                }

                #[inline(always)]
                unsafe fn store(at: *mut u8, value: $int) {
                    // SAFETY: as in `load`.
                    unsafe { <$atomic>::from_ptr(at.cast::<$int>()) }.store(value, Relaxed)
                }
            }
        };
    }
    chunk!(AtomicUsize, usize);
    chunk!(AtomicU32, u32);
    chunk!(AtomicU16, u16);
    chunk!(AtomicU8, u8);

    /// Calls `copy::<C>(offset)` for every chunk of a `size`-byte payload, in order:
    /// whole words, then one `u32` (64-bit targets only), `u16` and `u8` as needed.
    /// The offsets depend only on `size`, so every access to a given byte uses the
    /// same width.
    macro_rules! for_each_chunk {
        ($size:expr, |$c:ident, $offset:ident| $body:expr) => {{
            let size: usize = $size;
            let mut $offset = 0;
            while $offset + WORD <= size {
                {
                    type $c = AtomicUsize;
                    $body;
                }
                $offset += WORD;
            }
            if WORD > 4 && $offset + 4 <= size {
                {
                    type $c = AtomicU32;
                    $body;
                }
                $offset += 4;
            }
            if $offset + 2 <= size {
                {
                    type $c = AtomicU16;
                    $body;
                }
                $offset += 2;
            }
            if $offset < size {
                type $c = AtomicU8;
                $body;
            }
        }};
    }

    /// A `T` stored in place, aligned to at least a word, accessed only through
    /// atomic chunks while shared.
    #[repr(C)]
    pub(crate) struct Payload<T> {
        /// Raises the alignment to at least a word's; takes no space.
        _align: [AtomicUsize; 0],
        /// At offset 0, so its address has the alignment of the whole struct.
        value: UnsafeCell<T>,
    }

    impl<T: NoUninit> Payload<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> Self {
            Self {
                _align: [],
                value: UnsafeCell::new(value),
            }
        }

        /// A possibly torn copy: every chunk is read `Relaxed`, independently.
        #[inline(always)]
        pub(crate) fn load(&self) -> MaybeUninit<T> {
            let mut out = MaybeUninit::<T>::uninit();
            self.load_into(&mut out);
            out
        }

        /// As [`load`](Self::load), into `out` (the caller's return slot, so that the
        /// copy is not copied again on the way out).
        #[inline(always)]
        pub(crate) fn load_into(&self, out: &mut MaybeUninit<T>) {
            let dst = out.as_mut_ptr().cast::<u8>();
            self.value.with_mut(|src| {
                let src = src.cast::<u8>();
                for_each_chunk!(size_of::<T>(), |C, offset| {
                    // SAFETY:
                    // - `src + offset` is inside the payload (the chunks tile
                    //   `0..size_of::<T>()`), aligned to the chunk (`value` is at least
                    //   word-aligned and every offset is a multiple of the chunk
                    //   width), initialised (`NoUninit`: `T` has no padding), and
                    //   shared only through atomics of this same width;
                    // - `dst + offset` is inside `out`, which we borrow exclusively,
                    //   written with an unaligned store because `T` may be less aligned
                    //   than the chunk.
                    unsafe {
                        let chunk = <C as Chunk>::load(src.add(offset));
                        dst.add(offset)
                            .cast::<<C as Chunk>::Int>()
                            .write_unaligned(chunk);
                    }
                });
            });
        }

        /// Stores `value`, chunk by chunk, `Relaxed`. Only the writer holding the
        /// seqlock calls it, so stores never race each other; they may race loads.
        #[inline(always)]
        pub(crate) fn store(&self, value: &T) {
            let src = (value as *const T).cast::<u8>();
            self.value.with_mut(|dst| {
                let dst = dst.cast::<u8>();
                for_each_chunk!(size_of::<T>(), |C, offset| {
                    // SAFETY:
                    // - `src + offset` is inside `value`, whose bytes are all
                    //   initialised (`NoUninit`), read unaligned because `T` may be
                    //   less aligned than the chunk;
                    // - `dst + offset` is a chunk of the payload, valid, aligned and
                    //   shared only through atomics of this width, as in `load`.
                    unsafe {
                        let chunk = src.add(offset).cast::<<C as Chunk>::Int>().read_unaligned();
                        <C as Chunk>::store(dst.add(offset), chunk);
                    }
                });
            });
        }

        /// The value, through exclusive access.
        #[inline]
        pub(crate) fn get_mut(&mut self) -> &mut T {
            // SAFETY: `&mut self` excludes every other access for the borrow's
            // lifetime, and the cell always holds a valid `T` (only whole values are
            // ever stored in it).
            self.value.with_mut(|p| unsafe { &mut *p })
        }

        /// The value, by ownership.
        #[inline]
        pub(crate) fn into_inner(self) -> T {
            // SAFETY: owning `self` excludes every other access; the cell holds a valid
            // `T`, and `T: Copy` so reading it out leaves nothing to drop.
            self.value.with(|p| unsafe { p.read() })
        }
    }
}

#[cfg(fencepost_loom)]
mod loom_words {
    use super::{NoUninit, WORD, size_of};
    use crate::sync::atomic::AtomicUsize;
    use crate::sync::atomic::Ordering::Relaxed;
    use core::marker::PhantomData;
    use core::mem::MaybeUninit;

    /// A `T` as `ceil(size_of::<T>() / WORD)` loom words, the last one zero-padded.
    pub(crate) struct Payload<T> {
        words: Box<[AtomicUsize]>,
        _value: PhantomData<*const T>,
    }

    impl<T: NoUninit> Payload<T> {
        pub(crate) fn new(value: T) -> Self {
            let bytes = bytemuck::bytes_of(&value);
            let words = bytes
                .chunks(WORD)
                .map(|chunk| AtomicUsize::new(word_from(chunk)))
                .collect();
            Self {
                words,
                _value: PhantomData,
            }
        }

        /// A possibly torn copy: every word is read `Relaxed`, independently.
        pub(crate) fn load(&self) -> MaybeUninit<T> {
            let mut out = MaybeUninit::<T>::uninit();
            self.load_into(&mut out);
            out
        }

        /// As [`load`](Self::load), into `out`.
        pub(crate) fn load_into(&self, out: &mut MaybeUninit<T>) {
            let dst = out.as_mut_ptr().cast::<u8>();
            for (i, word) in self.words.iter().enumerate() {
                let bytes = word.load(Relaxed).to_ne_bytes();
                let n = WORD.min(size_of::<T>() - i * WORD);
                // SAFETY: `dst + i * WORD .. + n` lies inside `out`, which we borrow
                // exclusively; `bytes` is a distinct local.
                unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.add(i * WORD), n) };
            }
        }

        /// Stores `value`, word by word, `Relaxed`.
        pub(crate) fn store(&self, value: &T) {
            for (word, chunk) in self
                .words
                .iter()
                .zip(bytemuck::bytes_of(value).chunks(WORD))
            {
                word.store(word_from(chunk), Relaxed);
            }
        }

        /// The value, by ownership.
        pub(crate) fn into_inner(self) -> T {
            // SAFETY: owning `self` excludes concurrent stores, and only whole values
            // are ever stored, so the words hold a valid `T`.
            unsafe { self.load().assume_init() }
        }
    }

    /// A word from up to `WORD` bytes, zero-padded.
    fn word_from(chunk: &[u8]) -> usize {
        let mut bytes = [0; WORD];
        bytes[..chunk.len()].copy_from_slice(chunk);
        usize::from_ne_bytes(bytes)
    }
}

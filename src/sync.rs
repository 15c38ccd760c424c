//! The one switch between `std` and `loom`.
//!
//! Every other module imports atomics, `UnsafeCell`, `Arc`, spin hints and thread
//! yields from here, so that `RUSTFLAGS="--cfg fencepost_loom"` swaps the whole crate
//! onto loom's model checker at once. Only this file and `src/futex/` may name
//! `core::sync::atomic`, `UnsafeCell`, `spin_loop`, `std::thread` or `loom`;
//! `scripts/check` greps for violations.
//!
//! The `UnsafeCell` wrapper has loom's `with`/`with_mut` shape outside loom too, so call
//! sites are written once. Under loom, spin hints become `yield_now`, or loom would
//! explore a spinning thread forever.

#[cfg(not(fencepost_loom))]
pub(crate) use std_impl::*;

#[cfg(fencepost_loom)]
pub(crate) use loom_impl::*;

#[cfg(not(fencepost_loom))]
mod std_impl {
    pub(crate) mod atomic {
        pub(crate) use core::sync::atomic::AtomicPtr;
        #[allow(
            unused_imports,
            reason = "offered to every primitive; not all use each"
        )]
        pub(crate) use core::sync::atomic::{
            AtomicBool, AtomicU8, AtomicU16, AtomicU32, AtomicUsize, Ordering, fence,
        };
        // Only where the target has 64-bit atomics: `lib.rs` leaves out the modules
        // that need it elsewhere.
        #[cfg(target_has_atomic = "64")]
        pub(crate) use core::sync::atomic::AtomicU64;
    }

    use core::mem::MaybeUninit;
    pub(crate) use std::sync::Arc;
    #[cfg(test)]
    pub(crate) use std::thread;
    pub(crate) use std::thread::panicking;
    pub(crate) use std::thread_local;

    /// `core::cell::UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline(always)]
        #[allow(
            dead_code,
            reason = "offered to every primitive; the queue allocates cells in bulk"
        )]
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        /// Unwraps the value (loom's `UnsafeCell::into_inner`).
        #[inline(always)]
        #[allow(dead_code, reason = "offered to every primitive; the mutex uses it")]
        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a mutable raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// `n` uninitialised cells, without touching them (O(1) for zero-sized `T`).
    pub(crate) fn uninit_cells<T>(n: usize) -> Box<[UnsafeCell<MaybeUninit<T>>]> {
        let cells: Box<[MaybeUninit<UnsafeCell<MaybeUninit<T>>>]> = Box::new_uninit_slice(n);
        // SAFETY: `UnsafeCell<MaybeUninit<T>>` is valid in any state, uninitialised
        // included (`MaybeUninit` has no validity invariant and `UnsafeCell` adds none),
        // so every element of `cells` is already a valid value.
        unsafe { cells.assume_init() }
    }

    /// Copies `src` into `dst` (same length), as one `memcpy`.
    ///
    /// # Safety
    /// No other thread accesses `dst` during the call.
    #[inline(always)]
    pub(crate) unsafe fn copy_to_cells<T: Copy>(dst: &[UnsafeCell<MaybeUninit<T>>], src: &[T]) {
        debug_assert_eq!(dst.len(), src.len());
        // SAFETY: `UnsafeCell<MaybeUninit<T>>` is `repr(transparent)` over `T`'s storage,
        // so `dst` is `src.len()` contiguous `T` slots, writable through the cells'
        // interior mutability; the caller guarantees nobody else touches them; `src` is a
        // distinct borrow, so the ranges do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_ptr() as *mut T, src.len()) }
    }

    /// Copies `src` (same length, every cell initialised) into `dst`, as one `memcpy`.
    ///
    /// # Safety
    /// Every cell of `src` is initialised and no other thread writes it during the call.
    #[inline(always)]
    pub(crate) unsafe fn copy_from_cells<T: Copy>(
        dst: &mut [T],
        src: &[UnsafeCell<MaybeUninit<T>>],
    ) {
        debug_assert_eq!(dst.len(), src.len());
        // SAFETY: as in `copy_to_cells`; the caller guarantees the cells are initialised
        // and not written concurrently; `dst` is an exclusive borrow, so no overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr() as *const T, dst.as_mut_ptr(), dst.len())
        }
    }

    /// The cells `cells` as a slice of their contents, for the SPSC queue's chunks
    /// (loom has no equivalent: the chunk API is not built under loom).
    ///
    /// # Safety
    /// For the lifetime of the result, no other thread accesses these cells, and no
    /// other reference to their contents exists.
    #[inline(always)]
    #[allow(
        clippy::mut_from_ref,
        reason = "interior mutability: the cells are `UnsafeCell`s, exclusive by the caller's promise"
    )]
    pub(crate) unsafe fn cells_as_mut<T>(cells: &[UnsafeCell<T>]) -> &mut [T] {
        // SAFETY: `UnsafeCell<T>` (ours and core's) is `repr(transparent)` over `T`, so
        // the cells are `cells.len()` contiguous `T`s, writable through the cells'
        // interior mutability; exclusive by the caller's promise.
        unsafe { core::slice::from_raw_parts_mut(cells.as_ptr() as *mut T, cells.len()) }
    }

    /// The cells `cells` as a shared slice of their contents.
    ///
    /// # Safety
    /// No thread writes these cells for the lifetime of the result.
    #[inline(always)]
    pub(crate) unsafe fn cells_as_ref<T>(cells: &[UnsafeCell<T>]) -> &[T] {
        // SAFETY: as in `cells_as_mut`; nobody writes them by the caller's promise.
        unsafe { core::slice::from_raw_parts(cells.as_ptr() as *const T, cells.len()) }
    }

    /// `n` values of an all-atomic `T`, all zero, from one zeroed allocation (large
    /// tables then cost no initialising pass: the allocator hands out pages the kernel
    /// already zeroed). Under loom the caller builds each value instead.
    ///
    /// # Safety
    /// All-zero bytes are a valid `T` (true of the std atomics and of structs of them).
    pub(crate) unsafe fn zeroed_slice<T>(n: usize) -> Box<[T]> {
        // `Box::new_zeroed_slice(n).assume_init()` needs Rust 1.92.
        let layout = std::alloc::Layout::array::<T>(n).expect("table size overflows");
        if layout.size() == 0 {
            // SAFETY: a dangling, aligned pointer is a valid empty or zero-sized slice,
            // and `Box` does not free zero-sized allocations.
            return unsafe {
                Box::from_raw(core::ptr::slice_from_raw_parts_mut(
                    core::ptr::NonNull::<T>::dangling().as_ptr(),
                    n,
                ))
            };
        }
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `p` is a zeroed allocation of `n` `T`s from the global allocator with
        // `T`'s array layout, which is what `Box<[T]>` frees it with; the caller
        // guarantees zero bytes are valid `T`s.
        unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(p, n)) }
    }

    /// A busy-wait hint: `pause` on x86, `isb` on aarch64.
    #[inline(always)]
    pub(crate) fn spin_loop() {
        core::hint::spin_loop();
    }

    /// Gives the rest of this time slice to another runnable thread.
    #[inline]
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }

    /// The number of CPUs this process may run on (1 if unknown).
    pub(crate) fn available_parallelism() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

#[cfg(fencepost_loom)]
mod loom_impl {
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::AtomicPtr;
        #[allow(
            unused_imports,
            reason = "offered to every primitive; not all use each"
        )]
        pub(crate) use loom::sync::atomic::{
            AtomicBool, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };
    }

    use core::mem::MaybeUninit;
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::Arc;
    pub(crate) use loom::{lazy_static, thread_local};
    pub(crate) use std::thread::panicking;

    /// `n` uninitialised cells, each tracked by loom.
    pub(crate) fn uninit_cells<T>(n: usize) -> Box<[UnsafeCell<MaybeUninit<T>>]> {
        (0..n)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect()
    }

    /// Copies `src` into `dst` cell by cell, so loom checks every access.
    ///
    /// # Safety
    /// No other thread accesses `dst` during the call.
    pub(crate) unsafe fn copy_to_cells<T: Copy>(dst: &[UnsafeCell<MaybeUninit<T>>], src: &[T]) {
        for (cell, value) in dst.iter().zip(src) {
            // SAFETY: the caller guarantees exclusive access to the cells.
            cell.with_mut(|p| unsafe { p.write(MaybeUninit::new(*value)) });
        }
    }

    /// Copies initialised cells out cell by cell, so loom checks every access.
    ///
    /// # Safety
    /// Every cell of `src` is initialised and no other thread writes it during the call.
    pub(crate) unsafe fn copy_from_cells<T: Copy>(
        dst: &mut [T],
        src: &[UnsafeCell<MaybeUninit<T>>],
    ) {
        for (value, cell) in dst.iter_mut().zip(src) {
            // SAFETY: the caller guarantees the cell is initialised and not written now.
            *value = cell.with(|p| unsafe { (*p).assume_init() });
        }
    }

    /// Under loom a spin is a yield, so the model checker switches threads.
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    /// Yields to loom's scheduler.
    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }

    /// Models see one CPU.
    pub(crate) fn available_parallelism() -> usize {
        1
    }
}

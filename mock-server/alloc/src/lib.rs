//! The global allocator of `mor-mock` and `mor-conformance`: mimalloc, as the `mimalloc` crate
//! gives it, except that a layout whose alignment is at most a machine word goes to `mi_malloc`
//! (and `mi_zalloc`, `mi_realloc`) instead of the `_aligned` functions.
//!
//! Why: the `mimalloc` crate sends every allocation to `mi_malloc_aligned(size, align)`. In
//! mimalloc 3 that function takes its fast path only when the free block at hand happens to be
//! aligned; when the page's free list is empty it falls back to a generic path that over-allocates
//! a size that is not a power of two and marks the page as holding aligned blocks. On mor-mock's
//! keep-alive quickstats_get this cost about 700 of ~23,800 instructions per request (callgrind,
//! issue 15). Every mimalloc block is a whole number of machine words from a page start aligned
//! to 16 bytes, so `mi_malloc` already returns word-aligned memory: Rust's layouts of alignment
//! 1, 2, 4 or 8 (nearly all: strings, vectors, boxes of plain structs) need nothing more. Larger
//! alignments still go to the `_aligned` functions. Freeing is `mi_free` either way.
//!
//! The workspace forbids `unsafe` everywhere else; this crate is the one place that implements
//! `GlobalAlloc`, and it holds nothing else.

#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every mimalloc block has: a machine word.
const WORD: usize = core::mem::size_of::<usize>();

/// mimalloc as the global allocator (see the crate's documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct MiMalloc;

/// Whether mimalloc's plain functions give memory aligned enough for `align`.
#[inline(always)]
fn word_aligned(align: usize) -> bool {
    align <= WORD
}

// SAFETY: every function below returns memory from mimalloc (or null on failure) that is at least
// `layout.size()` bytes and aligned to `layout.align()`: plain mimalloc blocks are word-aligned
// (see the crate's documentation) and are used only for alignments up to a word, the `_aligned`
// functions for the rest. `dealloc` and `realloc` get pointers this allocator returned, which
// `mi_free` and `mi_realloc(_aligned)` accept whichever function allocated them.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if word_aligned(layout.align()) {
            // SAFETY: a plain allocation of `layout.size()` bytes; word alignment suffices.
            unsafe { mi::mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: `layout.align()` is a power of two, as mimalloc requires.
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if word_aligned(layout.align()) {
            // SAFETY: as in `alloc`, zeroed.
            unsafe { mi::mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: as in `alloc`, zeroed.
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (the caller's contract), so from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if word_aligned(layout.align()) {
            // SAFETY: `ptr` came from mimalloc; the block it returns is word-aligned.
            unsafe { mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast() }
        } else {
            // SAFETY: `ptr` came from mimalloc; `layout.align()` is a power of two.
            unsafe { mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast() }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    /// Sizes around mimalloc's word-sized bins, a page, and a large block.
    const SIZES: [usize; 12] = [1, 3, 8, 12, 24, 40, 56, 100, 1000, 4096, 5000, 300_000];

    fn layouts() -> impl Iterator<Item = Layout> {
        SIZES.into_iter().flat_map(|size| {
            [1, 2, 4, 8, 16, 32, 64, 4096]
                .into_iter()
                .map(move |align| Layout::from_size_align(size, align).expect("valid layout"))
        })
    }

    #[test]
    fn every_block_has_its_layouts_alignment_and_size() {
        // Many blocks of each layout at once, so that pages fill and mimalloc's slow paths run.
        for layout in layouts() {
            let blocks: Vec<*mut u8> = (0..64)
                .map(|i| {
                    // SAFETY: the layout's size is not zero.
                    let p = unsafe { MiMalloc.alloc(layout) };
                    assert!(!p.is_null(), "{layout:?}");
                    assert_eq!(p as usize % layout.align(), 0, "{layout:?}");
                    // SAFETY: `p` holds `layout.size()` bytes.
                    unsafe { p.write_bytes(i as u8, layout.size()) };
                    p
                })
                .collect();
            for (i, p) in blocks.into_iter().enumerate() {
                // SAFETY: written above; still allocated.
                let last = unsafe { *p.add(layout.size() - 1) };
                assert_eq!(last, i as u8, "{layout:?}");
                // SAFETY: allocated by this allocator with this layout.
                unsafe { MiMalloc.dealloc(p, layout) };
            }
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_and_aligned() {
        for layout in layouts() {
            // SAFETY: the layout's size is not zero.
            let p = unsafe { MiMalloc.alloc_zeroed(layout) };
            assert_eq!(p as usize % layout.align(), 0, "{layout:?}");
            // SAFETY: `p` holds `layout.size()` initialised bytes.
            let bytes = unsafe { core::slice::from_raw_parts(p, layout.size()) };
            assert!(bytes.iter().all(|&b| b == 0), "{layout:?}");
            // SAFETY: allocated by this allocator with this layout.
            unsafe { MiMalloc.dealloc(p, layout) };
        }
    }

    #[test]
    fn realloc_keeps_the_contents_and_the_alignment() {
        for layout in layouts() {
            for new_size in [layout.size() * 3 + 5, layout.size().div_ceil(2)] {
                // SAFETY: the layout's size is not zero.
                let p = unsafe { MiMalloc.alloc(layout) };
                // SAFETY: `p` holds `layout.size()` bytes.
                unsafe { p.write_bytes(0xA5, layout.size()) };
                // SAFETY: `p` came from this allocator with `layout`; the new size is not zero.
                let q = unsafe { MiMalloc.realloc(p, layout, new_size) };
                assert_eq!(q as usize % layout.align(), 0, "{layout:?} -> {new_size}");
                let kept = layout.size().min(new_size);
                // SAFETY: the first `kept` bytes were written and realloc keeps them.
                let bytes = unsafe { core::slice::from_raw_parts(q, kept) };
                assert!(bytes.iter().all(|&b| b == 0xA5), "{layout:?} -> {new_size}");
                let new_layout = Layout::from_size_align(new_size, layout.align()).expect("valid");
                // SAFETY: `q` is the block now (`p` is no longer), with the new size.
                unsafe { MiMalloc.dealloc(q, new_layout) };
            }
        }
    }
}

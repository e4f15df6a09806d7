//! The allocator of the `shipcheck` binary (and the jq fuzz target): the system allocator, metered per thread, so
//! that a jq evaluation can be held to its memory budget (`shipcheck_core::jq`).
//!
//! Hand-written: the metering crates count process-wide totals, and the budget needs what
//! one thread holds. Each thread keeps a signed count of the bytes it allocated minus those
//! it freed; a jq evaluation runs on one thread and compares the count with its start.
#![allow(unsafe_code)]
// The only crate with unsafe code: a `GlobalAlloc` cannot be written without it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Metered;

thread_local! {
    // Const-initialised with no destructor: safe to touch from inside the allocator, and
    // during thread teardown.
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    let _ = HELD.try_with(|h| h.set(h.get().wrapping_add(bytes)));
}

/// Bytes the calling thread holds: allocated minus freed, since it started.
pub fn thread_held() -> isize {
    HELD.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every call is forwarded to `System` unchanged; the metering only updates a
// thread-local counter, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Metered {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which is `System.alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` obeys `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

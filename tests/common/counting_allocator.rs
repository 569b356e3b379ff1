//! A counting global allocator for the tests that measure allocations: included by path
//! (`#[path = "common/counting_allocator.rs"] mod counting_allocator;`) by a test file, which
//! then installs it with `#[global_allocator]`.
//!
//! It counts two things, forwarding every call unchanged to the system allocator:
//! - the allocations (and reallocations) made by the current thread while [`counting`] is on,
//!   so that tests running in parallel do not count each other's (`tests/no_allocation.rs`);
//! - the bytes live in the whole process and their peak ([`peak_bytes_of`]), every thread
//!   included (rayon's workers allocate the products' buffers), for the memory bounds of
//!   `tests/predict_memory.rs`. A test that measures the peak runs alone in its binary, or
//!   holds a lock that keeps the binary's other tests out.
// Each includer uses only some of them.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CountingAllocator;

thread_local! {
    // `const` thread-locals without destructors never allocate when accessed.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Bytes allocated and not yet freed, in the whole process.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The largest `LIVE` since the last [`peak_bytes_of`] began.
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn record() {
    // `try_with`: the thread-locals may be gone while a thread exits.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        }
    });
}

fn grow(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrink(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only
// `Cell`s of this thread and atomics.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        let p = System.alloc(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            shrink(layout.size());
            grow(new_size);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        System.dealloc(ptr, layout)
    }
}

/// Switches counting on or off for this thread; switching it off returns the count.
pub fn counting(on: bool) -> usize {
    COUNTING.with(|c| c.set(on));
    if on {
        ALLOCATIONS.with(|a| a.set(0));
    }
    ALLOCATIONS.with(|a| a.get())
}

/// The allocations `f` makes on this thread.
pub fn allocations_of(f: impl FnOnce()) -> usize {
    counting(true);
    f();
    counting(false)
}

/// What `f` returns, and the most bytes the process held at once while it ran, beyond what it
/// held when `f` began (all threads).
pub fn peak_bytes_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = f();
    let peak = PEAK.load(Ordering::Relaxed);
    (result, peak.saturating_sub(before))
}

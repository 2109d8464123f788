//! The global allocator of the `codex` binary: the system's, except in processes that only set
//! up one sandboxed command (the helper, `codex sandbox …`), which call [`enable`] first thing.
//! From then on allocations are carved from a fixed region in `.bss` and never given back.
//!
//! Why: such a process allocates a few hundred kilobytes and is gone (or replaced by the
//! command) a millisecond later, yet musl's allocator maps and unmaps memory for it as it goes
//! (24 `mmap` and 15 `munmap` calls per workspace-write start, each with its page faults).
//! Bumping a pointer costs nothing, and the region's pages are faulted in only as used.
//!
//! Safe to switch on at any moment and from any thread: whether a pointer is the region's is
//! told by its address, so memory the system allocator gave out earlier still goes back to it,
//! and an allocation the region cannot hold (it is full, or the alignment is over a page) comes
//! from the system allocator too. A process that waits for its command keeps what it
//! allocated until it ends — at most the region's size.

#![allow(unsafe_code)] // the region and the GlobalAlloc implementation; see the SAFETY notes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const SIZE: usize = 8 << 20;
const PAGE: usize = 4096;

#[repr(C, align(4096))]
struct Region(UnsafeCell<[u8; SIZE]>);

// SAFETY: bytes of the region are handed out once each (the offset only grows, atomically), so
// no two owners ever share one.
unsafe impl Sync for Region {}

static REGION: Region = Region(UnsafeCell::new([0; SIZE]));
/// Offset of the first byte not yet handed out.
static NEXT: AtomicUsize = AtomicUsize::new(0);
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Allocations come from the region from now on.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// The allocator; install it with `#[global_allocator]`.
pub struct HelperArena;

fn base() -> *mut u8 {
    REGION.0.get().cast()
}

fn owns(ptr: *mut u8) -> bool {
    let start = base() as usize;
    (start..start + SIZE).contains(&(ptr as usize))
}

/// `size` bytes aligned to `align` (a power of two of at most a page), or `None` when the
/// region cannot hold them.
fn carve(size: usize, align: usize) -> Option<*mut u8> {
    if align > PAGE {
        return None;
    }
    let mut next = NEXT.load(Ordering::Relaxed);
    loop {
        // The region starts on a page boundary, so aligning the offset aligns the address.
        let start = next.checked_add(align - 1)? & !(align - 1);
        let end = start.checked_add(size)?;
        if end > SIZE {
            return None;
        }
        match NEXT.compare_exchange_weak(next, end, Ordering::Relaxed, Ordering::Relaxed) {
            // SAFETY: start < SIZE, inside the region.
            Ok(_) => return Some(unsafe { base().add(start) }),
            Err(now) => next = now,
        }
    }
}

/// Grows the region's last allocation in place to `new_size`, if it is the last one.
fn grow_last(ptr: *mut u8, old_size: usize, new_size: usize) -> bool {
    let start = ptr as usize - base() as usize;
    let Some(end) = start.checked_add(new_size) else {
        return false;
    };
    end <= SIZE
        && NEXT
            .compare_exchange(start + old_size, end, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

// SAFETY: every pointer returned is either the system allocator's, or a range of the region
// handed out once (never freed, so never reused), aligned as asked and zero until written
// (the region is in .bss and no byte of it is handed out twice).
unsafe impl GlobalAlloc for HelperArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ENABLED.load(Ordering::Relaxed)
            && let Some(ptr) = carve(layout.size(), layout.align())
        {
            return ptr;
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if ENABLED.load(Ordering::Relaxed)
            && let Some(ptr) = carve(layout.size(), layout.align())
        {
            return ptr; // never handed out before, so still zero
        }
        // SAFETY: as in alloc.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !owns(ptr) {
            // SAFETY: not the region's, so the system allocator's, with the caller's layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !owns(ptr) {
            // SAFETY: the system allocator's pointer, with the caller's layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if new_size <= layout.size() || grow_last(ptr, layout.size(), new_size) {
            return ptr;
        }
        // SAFETY: `new_size` with the old alignment is a valid layout (the caller's contract);
        // the old and new blocks do not overlap (the new one is carved after every other).
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tests use the functions directly: the test binary's own allocator is the system's.
    #[test]
    fn carving_aligns_grows_in_place_and_stops_at_the_end() {
        let a = carve(3, 1).unwrap();
        let b = carve(16, 16).unwrap();
        assert!(owns(a) && owns(b));
        assert_eq!(b as usize % 16, 0);
        assert!(b as usize >= a as usize + 3);
        // `b` is the last allocation: it grows in place; `a` is not, so it cannot.
        assert!(grow_last(b, 16, 64));
        assert!(!grow_last(a, 3, 8));
        let c = carve(8, 8).unwrap();
        assert!(c as usize >= b as usize + 64);
        assert!(carve(SIZE, 1).is_none(), "more than the region holds");
        assert!(carve(8, 2 * PAGE).is_none(), "alignment over a page");
        assert!(!owns(Box::into_raw(Box::new(0u8))));
    }
}

//! The vat heap allocator: exact, machine-independent accounting and a hard limit.
//!
//! QuickJS asks its allocator for every block's usable size; libc's `malloc_usable_size`
//! differs between machines, which would make the out-of-memory point nondeterministic.
//! `RustAllocator` records each block's (8-byte-rounded) size in a header, so the total
//! here is the same everywhere. Past the limit, allocation fails and the `exceeded` flag
//! stays set: the worker then fails the delivery even if the vat caught the JS error.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::rc::Rc;

use rquickjs::allocator::{Allocator, RustAllocator};

/// Shared view of a vat heap's accounting.
#[derive(Default)]
pub(crate) struct HeapMeter {
    pub(crate) used: Cell<usize>,
    pub(crate) limit: Cell<usize>,
    pub(crate) exceeded: Cell<bool>,
}

pub(crate) struct MeteredAlloc {
    inner: RustAllocator,
    meter: Rc<HeapMeter>,
}

impl MeteredAlloc {
    pub(crate) fn new(meter: Rc<HeapMeter>) -> MeteredAlloc {
        MeteredAlloc {
            inner: RustAllocator,
            meter,
        }
    }

    fn admit(&self, bytes: usize) -> bool {
        let m = &self.meter;
        if m.used.get().saturating_add(bytes) > m.limit.get() {
            m.exceeded.set(true);
            false
        } else {
            true
        }
    }
}

// SAFETY: every call is forwarded to `RustAllocator`, which upholds the trait's contract;
// this wrapper only refuses requests (returning null, which the contract allows) and
// counts sizes that `RustAllocator::usable_size` reports for its own blocks.
unsafe impl Allocator for MeteredAlloc {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.admit(size) {
            return std::ptr::null_mut();
        }
        let p = self.inner.alloc(size);
        if !p.is_null() {
            // SAFETY: `p` was just allocated by `RustAllocator`.
            let n = unsafe { RustAllocator::usable_size(p) };
            self.meter.used.set(self.meter.used.get() + n);
        }
        p
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if !self.admit(count.saturating_mul(size)) {
            return std::ptr::null_mut();
        }
        let p = self.inner.calloc(count, size);
        if !p.is_null() {
            // SAFETY: as in `alloc`.
            let n = unsafe { RustAllocator::usable_size(p) };
            self.meter.used.set(self.meter.used.get() + n);
        }
        p
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: the caller passes a block of this allocator (trait contract).
        let n = unsafe { RustAllocator::usable_size(ptr) };
        self.meter.used.set(self.meter.used.get().saturating_sub(n));
        unsafe { self.inner.dealloc(ptr) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a block of this allocator (trait contract).
        let old = unsafe { RustAllocator::usable_size(ptr) };
        if new_size > old && !self.admit(new_size - old) {
            return std::ptr::null_mut();
        }
        let p = unsafe { self.inner.realloc(ptr, new_size) };
        if !p.is_null() {
            let n = unsafe { RustAllocator::usable_size(p) };
            self.meter.used.set(self.meter.used.get() - old + n);
        }
        p
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: the caller passes a block of this allocator (trait contract).
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

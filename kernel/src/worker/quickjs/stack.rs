//! The stack vat code runs on, and the limits that make its depth deterministic.
//!
//! QuickJS checks recursion against the native stack pointer, so where a native limit is
//! reached depends on how the compiler laid out QuickJS's frames: two binaries of the same
//! source built by different compilers would let a vat recurse to different depths, and a
//! vat that catches the overflow turns that depth into data (a fork). Our QuickJS carries a
//! patch (`kernel/vendor/rquickjs-sys/VATCHAIN.md`): every frame is also charged a fixed
//! cost plus the bytes of its locals, which depend on the bytecode alone, and a limit on
//! that sum (`JS_SetJSStackLimit`) throws the usual `RangeError`. That limit is the one vat
//! code meets, the same on every machine.
//!
//! The native limit stays behind it as a safety net and must not be reached first by JS
//! recursion, whatever the native frame sizes and whatever stack the embedding thread has
//! (test threads have 2 MiB). So vat code runs on a stack of its own, [`VatStack`]: mapped
//! once per worker with a guard page below, committed by the OS only as it is touched, and
//! large enough that the deterministic limit comes first with a wide margin. Native-only
//! recursion (deeply nested data given to `JSON.stringify`, chains of proxies or bound
//! functions) can still reach the native limit; the patch records that, and the worker fails
//! the delivery as a resource limit whatever the vat caught ([`take_native_exhausted`]).
#![allow(unsafe_code)]

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use rquickjs::qjs::JSRuntime;
use rquickjs::Ctx;

// The patch's two entry points (kernel/vendor/rquickjs-sys/quickjs/quickjs.h). rquickjs's
// pregenerated bindings predate them; the symbols are in the same static library.
extern "C" {
    fn JS_SetJSStackLimit(rt: *mut JSRuntime, limit: u32);
    fn JS_TakeNativeStackExhausted(rt: *mut JSRuntime) -> bool;
}

/// Sets the deterministic stack limit of `ctx`'s runtime (bytes of frame costs; 0: none).
pub(crate) fn set_js_stack_limit(ctx: &Ctx<'_>, limit: u32) {
    // SAFETY: `ctx` is live and used on its runtime's thread; the function writes one field
    // of the runtime.
    unsafe { JS_SetJSStackLimit(raw_runtime(ctx), limit) }
}

/// Whether `ctx`'s runtime reached its native limit since the last call (and forgets it).
pub(crate) fn take_native_exhausted(ctx: &Ctx<'_>) -> bool {
    // SAFETY: as in `set_js_stack_limit`; the function reads and clears one field.
    unsafe { JS_TakeNativeStackExhausted(raw_runtime(ctx)) }
}

/// Measures the vat's stack from here. QuickJS checks its stack limit against the native
/// stack pointer it recorded last, which rquickjs records afresh only when it runs a job: a
/// delivery's first call would otherwise find its room decided by where on the native
/// stack the previous job happened to run (a replay's call path is deeper than a live
/// crank's), and the depth at which a vat's recursion overflows, which a vat can observe,
/// would differ between nodes that took different paths. Called at the same place for
/// every delivery, the room is the same for all of them.
pub(crate) fn set_stack_top(ctx: &Ctx<'_>) {
    // SAFETY: `ctx` is a live context of this runtime, used on the runtime's own thread
    // (it is inside `Context::with`); JS_UpdateStackTop only reads the stack pointer and
    // writes two fields of the runtime.
    unsafe { rquickjs::qjs::JS_UpdateStackTop(raw_runtime(ctx)) }
}

/// The QuickJS runtime of `ctx`.
fn raw_runtime(ctx: &Ctx<'_>) -> *mut rquickjs::qjs::JSRuntime {
    // SAFETY: `ctx` is a live context; JS_GetRuntime reads one of its fields.
    unsafe { rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr()) }
}

/// Room for Rust code running above the deepest JS frame: the syscall bridge and the
/// kernel's syscall handling, which run on this stack too.
const HOST_HEADROOM: usize = 4 << 20;

/// A private native stack: `len` bytes mapped at `map`, the lowest page a guard.
pub(crate) struct VatStack {
    map: *mut u8,
    len: usize,
    page: usize,
    /// Code is running on this stack now.
    in_use: Cell<bool>,
}

impl VatStack {
    /// Maps a stack with `js_native_bytes` for QuickJS (its native limit) plus headroom for
    /// the host. Fails only when the OS refuses the mapping (a node-local failure).
    pub(crate) fn new(js_native_bytes: usize) -> Result<VatStack, String> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096);
        let usable = js_native_bytes
            .saturating_add(HOST_HEADROOM)
            .next_multiple_of(page);
        let len = usable + page;
        // SAFETY: an anonymous private mapping at an address of the OS's choosing touches no
        // existing memory; the result is checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(format!(
                "cannot map a {len}-byte stack for vat code: {}",
                std::io::Error::last_os_error()
            ));
        }
        let stack = VatStack {
            map: map.cast(),
            len,
            page,
            in_use: Cell::new(false),
        };
        // The guard page: running past the stack faults instead of writing over whatever
        // the OS mapped below it.
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(map, page, libc::PROT_NONE) } != 0 {
            return Err(format!(
                "cannot protect the vat stack's guard page: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(stack)
    }

    /// Runs `f` on this stack (directly if it is running on it already). A panic in `f` is
    /// carried back across the switch and resumed here.
    pub(crate) fn on_stack<R>(&self, f: impl FnOnce() -> R) -> R {
        if self.in_use.replace(true) {
            return f();
        }
        let _release = Release(&self.in_use);
        let mut result = None;
        let mut f = Some(f);
        // SAFETY: the region above the guard page is ours, page-aligned at both ends, and
        // not in use (`in_use` was false); it outlives the call, which borrows `self`.
        unsafe {
            psm::on_stack(self.map.add(self.page), self.len - self.page, || {
                if let Some(f) = f.take() {
                    result = Some(catch_unwind(AssertUnwindSafe(f)));
                }
            });
        }
        match result {
            Some(Ok(r)) => r,
            Some(Err(panic)) => resume_unwind(panic),
            // `psm::on_stack` calls its callback exactly once.
            None => unreachable!("the vat stack's callback did not run"),
        }
    }
}

/// Marks the stack free again, however `on_stack` returns.
struct Release<'a>(&'a Cell<bool>);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl Drop for VatStack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, not in use (`on_stack` borrows `self`).
        unsafe {
            libc::munmap(self.map.cast(), self.len);
        }
    }
}

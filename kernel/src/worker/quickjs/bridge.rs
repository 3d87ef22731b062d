//! The syscall bridge: lets JS reach the kernel's syscall handler of the delivery under way.
//!
//! The handler is borrowed only for the length of `VatWorker::deliver`, but the native
//! function QuickJS calls lives as long as the runtime. The bridge holds a pointer to the
//! handler exactly while a delivery runs (`with_handler`) and clears it on the way out, even
//! on unwind; outside a delivery a syscall fails cleanly.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use crate::worker::{SyscallError, SyscallHandler, SyscallReply, VatSyscall};

type HandlerPtr = NonNull<dyn SyscallHandler + 'static>;

#[derive(Clone, Default)]
pub(crate) struct Bridge(Rc<Cell<Option<HandlerPtr>>>);

struct Clear<'a>(&'a Cell<Option<HandlerPtr>>);

impl Drop for Clear<'_> {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

impl Bridge {
    /// Runs `f` with `handler` reachable through [`Bridge::call`].
    pub(crate) fn with_handler<R>(
        &self,
        handler: &mut dyn SyscallHandler,
        f: impl FnOnce() -> R,
    ) -> R {
        let ptr: NonNull<dyn SyscallHandler + '_> = NonNull::from(handler);
        // SAFETY: only the lifetime is erased. The pointer is dereferenced solely by `call`,
        // which can only run inside `f` (JS runs only inside a delivery), and `Clear` removes
        // it before this function returns or unwinds, while `handler` is still borrowed.
        let ptr: HandlerPtr =
            unsafe { std::mem::transmute::<NonNull<dyn SyscallHandler + '_>, HandlerPtr>(ptr) };
        self.0.set(Some(ptr));
        let _clear = Clear(&self.0);
        f()
    }

    /// Makes one syscall on behalf of JS.
    pub(crate) fn call(&self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        // Taken out while in use, so a re-entrant call cannot alias the `&mut`.
        let Some(mut ptr) = self.0.take() else {
            return Err(SyscallError("syscall made outside a delivery".into()));
        };
        // SAFETY: set by `with_handler`, whose borrow of the handler is live (see there).
        let reply = unsafe { ptr.as_mut() }.syscall(sc);
        self.0.set(Some(ptr));
        reply
    }
}

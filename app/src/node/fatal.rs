//! Stopping the node for a failure of its own (its disk, its machine), as opposed to
//! anything the chain did: the process ends with the reason and a distinct exit code, and
//! nothing is committed or answered, so the consensus engine treats the node as crashed and
//! sends the block again after a restart.

use std::any::Any;

/// The exit code when a block cannot be written to the DB (`EX_IOERR` of sysexits.h).
pub const EXIT_STORE_WRITE: i32 = 74;
/// The exit code when the kernel halted for a failure of this node's own (a worker that
/// cannot be built, a transcript that no longer replays): `EX_TEMPFAIL`, start it again
/// once the cause is gone.
pub const EXIT_KERNEL_HALTED: i32 = 75;

/// Why the node must stop, holding the reply channel of the request that cannot be
/// answered (dropping it would wake the waiting connection thread, which would then abort
/// the process with a less useful message).
pub struct Fatal {
    code: i32,
    reason: String,
    _unanswered: Box<dyn Any>,
}

impl Fatal {
    pub fn new(code: i32, reason: String, unanswered: Box<dyn Any>) -> Fatal {
        Fatal {
            code,
            reason,
            _unanswered: unanswered,
        }
    }
}

/// Logs the reason and ends the process with its code.
pub fn stop(fatal: &Fatal) -> ! {
    tracing::error!(code = fatal.code, "stopping: {}", fatal.reason);
    eprintln!("vatd: stopping: {}", fatal.reason);
    std::process::exit(fatal.code)
}

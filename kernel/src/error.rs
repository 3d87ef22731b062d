//! The kernel's host-API errors, apart from the kernel so that the modules below it
//! (vat creation, state) can return them without depending on the kernel.

use crate::refs::KRef;
use crate::worker::bundle::BundleError;

/// Errors of the kernel's host API (bad requests from the host, or a DB this binary cannot
/// use). Vat misbehaviour is never an error here: it terminates the vat.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("the kernel stopped for a failure of this node's own, and runs nothing more: {0}")]
    Halted(String),
    #[error(
        "kernel DB has schema version {found}, but this binary runs version {expected}: {hint}"
    )]
    SchemaVersion {
        found: u32,
        expected: u32,
        hint: &'static str,
    },
    #[error(
        "the kernel DB awaits its migration from schema version {from} to {to}: nothing runs \
         until the host migrates it"
    )]
    MigrationPending { from: u32, to: u32 },
    #[error("a vat named {0:?} already exists")]
    DuplicateVatName(String),
    #[error("bad vat name {0:?}: use 1 to 200 characters of [A-Za-z0-9._-]")]
    BadVatName(String),
    #[error("{0} does not exist in the kernel")]
    UnknownKRef(KRef),
    #[error("{0} is not a live vat")]
    UnknownVat(String),
    #[error("bad bundle: {0}")]
    Bundle(#[from] BundleError),
    #[error("bundle {0} is not installed")]
    UnknownBundle(String),
    #[error("bad bundle name {0:?}: use 1 to 200 characters")]
    BadBundleName(String),
    #[error("bootstrap() was already queued, to {0}")]
    AlreadyBootstrapped(String),
    #[error("cannot open the slog file {path}: {reason}")]
    Slog { path: String, reason: String },
}

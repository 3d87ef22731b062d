//! Vatchain's kernel: a SwingSet-style object-capability kernel.
//!
//! - [`store`]: RocksDB column families under crank and block buffers, one `WriteBatch`
//!   per block, and the app-hash chain.
//! - [`Kernel`]: vats, c-lists, kernel objects and promises, queues, syscalls, GC,
//!   termination, and [`Kernel::audit`].
//! - [`worker`]: the seam to whatever runs a vat (raw Rust vats for tests, QuickJS vats).
//! - Vat upgrade ([`Kernel::upgrade_vat`], `E(adminNode).upgrade(…)`), with rollback.
//!
//! Architecture invariant: this crate knows nothing of ABCI, Cosmos or the chain.

mod audit;
pub mod capdata;
mod error;
mod events;
mod host_store;
mod kernel;
pub mod legacy;
pub mod migrate;
pub mod refs;
mod slog;
mod state;
pub mod store;
mod syscall;
mod transcript;
mod upgrade;
mod warehouse;
pub mod worker;

pub use audit::AuditReport;
pub use events::{KCapData, KMessage, KernelEvent, UpgradeRequest};
pub use host_store::{BlockTx, HostRead, HostStore, HostView};
pub use kernel::{
    kcapdata, CrankKind, CrankReport, Kernel, KernelConfig, KernelError, RunBudget, RunReport,
    DEFAULT_REAP_INTERVAL,
};
pub use refs::{KRef, VRef, VatId};
pub use state::keys;
pub use state::objects::RefCount;
pub use state::promises::PromiseState;
pub use state::vat_admin::{VAT_ADMIN_JS, VAT_ADMIN_NAME};
pub use state::vats::VatOptions;
pub use state::SCHEMA_VERSION;
pub use store::IoStats;
pub use syscall::{MAX_SLOTS, MAX_VATSTORE_KEY, MAX_VATSTORE_VALUE};
pub use transcript::{Span, SyscallRecord, TranscriptItem};
pub use upgrade::{DryRun, UpgradeError, UpgradeReport};

//! The swingset module, the only one that calls the kernel: executing messages against
//! it (`exec.rs`) and recording the results of deliveries as they settle (`results.rs`).
//! Its host keys are in `keys.rs`.

pub mod exec;
pub mod keys;
pub mod results;

use vatchain_kernel::KernelError;

/// Why a swingset message failed (a tx fault: the message fails with it, and nothing of
/// the tx is applied).
#[derive(Debug, thiserror::Error)]
pub enum SwingsetError {
    #[error("{0} is not a published object")]
    NotPublished(String),
    #[error("nothing is published under {0:?}")]
    NothingPublished(String),
    #[error("bundle {0} is not installed")]
    NoBundle(String),
    #[error("the name {0:?} is already published")]
    NameTaken(String),
    #[error("{0}")]
    Parameters(String),
    #[error("{0}")]
    Inbound(String),
    #[error("upgrade of vat {vat} failed: {why}")]
    Upgrade { vat: String, why: String },
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

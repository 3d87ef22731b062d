//! The seam between the kernel and whatever runs a vat's code.
//!
//! A worker receives deliveries in the vat's own names (vrefs) and answers with syscalls,
//! made synchronously through a [`SyscallHandler`] while the delivery runs. Everything a
//! worker sends is untrusted: the kernel parses and checks each syscall, and an illegal one
//! terminates the vat. Raw (Rust) vats come through this seam for tests; JavaScript vats
//! come through it too.

pub mod bundle;
mod quickjs;
mod raw;

pub use quickjs::{BytecodeCache, JsLimits, JsWorker};
pub use raw::{RawVat, RawWorker, RawWorkers};

use serde::{Deserialize, Serialize};

use crate::capdata::CapData;
use crate::refs::VatId;

/// Where liveslots confines a vat's own vatstore keys (`worker/js/liveslots.js`, `USER`);
/// everything else in a vat's vatstore is liveslots' bookkeeping.
pub const USER_VATSTORE_PREFIX: &str = "vvs.";

/// Vat-side capdata: slots are vrefs as strings (checked by the kernel when they come back).
pub type VCapData = CapData<String>;

/// One promise resolution: `(vpid, rejected, data)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VResolution {
    pub vpid: String,
    pub rejected: bool,
    pub data: VCapData,
}

/// What the kernel delivers to a vat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum VatDelivery {
    Message {
        target: String,
        methargs: VCapData,
        result: Option<String>,
    },
    Notify {
        resolutions: Vec<VResolution>,
    },
    DropExports {
        vrefs: Vec<String>,
    },
    RetireExports {
        vrefs: Vec<String>,
    },
    RetireImports {
        vrefs: Vec<String>,
    },
    StartVat {
        #[serde(rename = "vatParameters")]
        vat_parameters: VCapData,
    },
    BringOutYourDead,
}

impl VatDelivery {
    /// Short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            VatDelivery::Message { .. } => "message",
            VatDelivery::Notify { .. } => "notify",
            VatDelivery::DropExports { .. } => "dropExports",
            VatDelivery::RetireExports { .. } => "retireExports",
            VatDelivery::RetireImports { .. } => "retireImports",
            VatDelivery::StartVat { .. } => "startVat",
            VatDelivery::BringOutYourDead => "bringOutYourDead",
        }
    }
}

/// What a vat asks of the kernel. Fields are raw strings: nothing here has been checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum VatSyscall {
    Send {
        target: String,
        methargs: VCapData,
        result: Option<String>,
    },
    Subscribe {
        vpid: String,
    },
    Resolve {
        resolutions: Vec<VResolution>,
    },
    Exit {
        failure: bool,
        info: VCapData,
    },
    VatstoreGet {
        key: String,
    },
    VatstoreSet {
        key: String,
        value: String,
    },
    VatstoreDelete {
        key: String,
    },
    VatstoreGetNextKey {
        prior: String,
    },
    DropImports {
        vrefs: Vec<String>,
    },
    RetireImports {
        vrefs: Vec<String>,
    },
    RetireExports {
        vrefs: Vec<String>,
    },
    AbandonExports {
        vrefs: Vec<String>,
    },
    /// Privileged: only the vat-admin vat may call the kernel's hooks (`createVat`,
    /// `terminate`), as upstream's vat-admin vat calls its device.
    KernelHook {
        name: String,
        args: VCapData,
    },
}

impl VatSyscall {
    /// The bytes the syscall carries into the kernel (keys, values, capdata, vrefs): what
    /// it is charged for beyond its base cost (see `worker::quickjs`'s meter).
    pub fn carried_bytes(&self) -> usize {
        let cap = |c: &VCapData| c.body.len() + c.slots.iter().map(String::len).sum::<usize>();
        let list = |v: &[String]| v.iter().map(String::len).sum::<usize>();
        match self {
            VatSyscall::Send {
                target,
                methargs,
                result,
            } => target.len() + cap(methargs) + result.as_ref().map_or(0, String::len),
            VatSyscall::Subscribe { vpid } => vpid.len(),
            VatSyscall::Resolve { resolutions } => resolutions
                .iter()
                .map(|r| r.vpid.len() + cap(&r.data))
                .sum(),
            VatSyscall::Exit { info, .. } => cap(info),
            VatSyscall::VatstoreGet { key }
            | VatSyscall::VatstoreDelete { key }
            | VatSyscall::VatstoreGetNextKey { prior: key } => key.len(),
            VatSyscall::VatstoreSet { key, value } => key.len() + value.len(),
            VatSyscall::DropImports { vrefs }
            | VatSyscall::RetireImports { vrefs }
            | VatSyscall::RetireExports { vrefs }
            | VatSyscall::AbandonExports { vrefs } => list(vrefs),
            VatSyscall::KernelHook { name, args } => name.len() + cap(args),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            VatSyscall::Send { .. } => "send",
            VatSyscall::Subscribe { .. } => "subscribe",
            VatSyscall::Resolve { .. } => "resolve",
            VatSyscall::Exit { .. } => "exit",
            VatSyscall::VatstoreGet { .. } => "vatstoreGet",
            VatSyscall::VatstoreSet { .. } => "vatstoreSet",
            VatSyscall::VatstoreDelete { .. } => "vatstoreDelete",
            VatSyscall::VatstoreGetNextKey { .. } => "vatstoreGetNextKey",
            VatSyscall::DropImports { .. } => "dropImports",
            VatSyscall::RetireImports { .. } => "retireImports",
            VatSyscall::RetireExports { .. } => "retireExports",
            VatSyscall::AbandonExports { .. } => "abandonExports",
            VatSyscall::KernelHook { .. } => "kernelHook",
        }
    }
}

/// The kernel's answer to a legal syscall. Only the vatstore reads return data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyscallReply {
    Done,
    Value(Option<String>),
    /// A kernel hook's answer.
    Data(VCapData),
}

/// An illegal syscall: the vat will be terminated when its delivery returns, and every
/// later syscall of this delivery fails too.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("illegal syscall: {0}")]
pub struct SyscallError(pub String);

/// Where a worker sends its syscalls during a delivery.
pub trait SyscallHandler {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError>;
}

/// How a delivery ended, as the worker reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// `Err(reason)`: the vat failed this delivery.
    pub status: Result<(), String>,
    /// The failure was a resource limit the delivery reached (its computron limit, the
    /// heap limit), not an error of the vat's own making: the kernel may roll such a
    /// message back instead of terminating the vat (docs/ARCHITECTURE.md, "Where the line
    /// is drawn").
    pub resource_limit: bool,
    /// Work done, in computrons (counted toward the block budget and the vat's meter).
    pub computrons: u64,
    /// What the vat wrote to its `console`, in order. Never consensus state: the kernel
    /// writes it to the slog for a live delivery and drops it in replay.
    pub console: Vec<ConsoleLine>,
}

/// One line of a vat's console output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleLine {
    /// `log`, `info`, `warn`, `error`, `debug` or `trace`.
    pub level: String,
    pub text: String,
}

/// A running incarnation of a vat.
///
/// # Invariants
/// A worker MUST be deterministic: the same deliveries with the same syscall replies
/// produce the same syscalls, on every machine.
pub trait VatWorker {
    fn deliver(
        &mut self,
        delivery: &VatDelivery,
        syscalls: &mut dyn SyscallHandler,
    ) -> DeliveryOutcome;

    /// Replaying a transcript (`true`) or running live deliveries (`false`). A replayed
    /// delivery succeeded once under the limits of its day, which a later binary may have
    /// tightened: a worker replays without a computron limit (the delivery ends, as it
    /// did), so that stricter metering never turns history into a divergence.
    fn set_replaying(&mut self, _replaying: bool) {}

    /// The computron limit of the next live deliveries: `Some(n)` as the kernel computed
    /// it (the chain's per-delivery limit, lowered by the allowance a message carries),
    /// `None` for the worker's own default.
    fn set_delivery_limit(&mut self, _computrons: Option<u64>) {}
}

/// Where a vat's code comes from (`vN.source`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VatSource {
    #[serde(rename = "bundleID")]
    pub bundle_id: String,
}

/// Why a worker could not be made (or brought up to date from its transcript). The kernel
/// must tell the two apart: what follows from one may change consensus state, what follows
/// from the other must not.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// The vat's code cannot run on this binary: its bundle no longer loads, or a recorded
    /// delivery now fails when replayed (a later binary's tighter heap limit, say). The
    /// same on every node running this binary, so an upgrade may go on without the old
    /// incarnation (`crate::upgrade`).
    #[error("{0}")]
    Code(String),
    /// This node's own failure: no runtime could be made, the bundle is missing from its
    /// store, or its replay made other syscalls than its transcript recorded. Other nodes
    /// do not see it, so the kernel halts (`Kernel::halted`) rather than act on it.
    #[error("{0}")]
    Node(String),
}

impl WorkerError {
    /// The reason, prefixed (the kind is kept).
    pub fn context(self, what: &str) -> WorkerError {
        match self {
            WorkerError::Code(e) => WorkerError::Code(format!("{what}: {e}")),
            WorkerError::Node(e) => WorkerError::Node(format!("{what}: {e}")),
        }
    }
}

/// Parses and checks bundle bytes of either format, and that this kernel can run the
/// bundle (an `endoZipBase64` archive may hold modules it cannot: CommonJS, host modules),
/// so that what cannot run is refused when it is installed rather than when a vat starts.
pub fn parse_bundle(bytes: &[u8]) -> Result<bundle::AnyBundle, bundle::BundleError> {
    let b = bundle::AnyBundle::parse(bytes)?;
    quickjs::VatModules::of_any(&b).map_err(bundle::BundleError::Unrunnable)?;
    Ok(b)
}

/// Makes workers for vats: the kernel calls it when a vat has no live worker, with the
/// bundle's bytes when the `bundles` family holds them.
pub trait WorkerFactory {
    fn make_worker(
        &mut self,
        vat: VatId,
        source: &VatSource,
        bundle: Option<&[u8]>,
    ) -> Result<Box<dyn VatWorker>, WorkerError>;
}

/// Makes QuickJS workers from stored bundles, sharing one bytecode cache.
#[derive(Clone, Debug, Default)]
pub struct JsWorkers {
    pub limits: JsLimits,
    pub cache: BytecodeCache,
}

impl WorkerFactory for JsWorkers {
    fn make_worker(
        &mut self,
        _vat: VatId,
        source: &VatSource,
        bundle: Option<&[u8]>,
    ) -> Result<Box<dyn VatWorker>, WorkerError> {
        // Bundles are consensus state: one missing here is this node's store's fault.
        let bytes = bundle.ok_or_else(|| {
            WorkerError::Node(format!("bundle {} is not installed", source.bundle_id))
        })?;
        // It parsed when it was installed: if this binary refuses it, every node with this
        // binary does.
        let b = bundle::AnyBundle::parse(bytes).map_err(|e| WorkerError::Code(e.to_string()))?;
        let modules = quickjs::VatModules::of_any(&b).map_err(WorkerError::Code)?;
        // Only vat-independent set-up runs here (the vat's code loads at startVat), so a
        // failure is this node's (no runtime, no memory).
        let w = JsWorker::with_modules(&modules, self.limits, self.cache.clone())
            .map_err(WorkerError::Node)?;
        Ok(Box::new(w))
    }
}

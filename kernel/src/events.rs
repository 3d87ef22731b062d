//! Kernel-side messages and queue events, as stored (JSON) in the run-queue, the
//! acceptance-queue and promise queues.

use serde::{Deserialize, Serialize};

use crate::capdata::CapData;
use crate::refs::{KRef, VatId};

/// Capdata whose slots are kernel refs.
pub type KCapData = CapData<KRef>;

/// A message in kernel names: method and arguments, and the promise for its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KMessage {
    pub methargs: KCapData,
    pub result: Option<KRef>,
    /// Computrons the message's delivery may use, lower than the per-delivery limit:
    /// given by the host for a tx's messages (their declared gas), absent for vats' sends.
    /// Travels with the message through routing and promise queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowance: Option<u64>,
}

impl KMessage {
    /// Every kref the message holds: result, then argument slots (the target is separate).
    pub(crate) fn krefs(&self) -> impl Iterator<Item = KRef> + '_ {
        self.result
            .iter()
            .copied()
            .chain(self.methargs.slots.iter().copied())
    }
}

/// An event on the run-queue or the acceptance-queue.
///
/// # Invariants
/// While queued, a `Send` holds one refcount on its target, its result and each argument
/// slot (objects: reachable and recognizable); a `Notify` holds one on its promise.
/// An `UpgradeVat` holds one on each slot of its vat parameters.
/// Moving an event between queues (or onto a promise queue) moves those holds; delivering
/// or discarding it releases them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", try_from = "StoredEvent")]
pub enum KernelEvent {
    Send {
        target: KRef,
        msg: KMessage,
    },
    Notify {
        #[serde(rename = "vatID")]
        vat_id: VatId,
        kpid: KRef,
    },
    /// Starts a vat with the parameters recorded in `vN.vatParameters`.
    StartVat {
        #[serde(rename = "vatID")]
        vat_id: VatId,
    },
    /// Upgrades a vat (from `E(adminNode).upgrade(…)`); holds the parameters' slots.
    UpgradeVat {
        #[serde(rename = "vatID")]
        vat_id: VatId,
        #[serde(rename = "upgradeID")]
        upgrade_id: u64,
        request: UpgradeRequest,
    },
}

/// A queued event as read back: every variant's fields, flat. Reading through this instead
/// of serde's internally tagged enum support (which buffers the whole record first) makes
/// the queue pop that starts every crank markedly cheaper; the JSON is the same.
#[derive(Deserialize)]
struct StoredEvent {
    #[serde(rename = "type")]
    kind: String,
    target: Option<KRef>,
    msg: Option<KMessage>,
    #[serde(rename = "vatID")]
    vat_id: Option<VatId>,
    kpid: Option<KRef>,
    #[serde(rename = "upgradeID")]
    upgrade_id: Option<u64>,
    request: Option<UpgradeRequest>,
}

impl TryFrom<StoredEvent> for KernelEvent {
    type Error = String;

    fn try_from(e: StoredEvent) -> Result<KernelEvent, String> {
        let StoredEvent {
            kind,
            target,
            msg,
            vat_id,
            kpid,
            upgrade_id,
            request,
        } = e;
        let missing = |field: &str| format!("a {kind} event without {field}");
        Ok(match kind.as_str() {
            "send" => KernelEvent::Send {
                target: target.ok_or_else(|| missing("target"))?,
                msg: msg.ok_or_else(|| missing("msg"))?,
            },
            "notify" => KernelEvent::Notify {
                vat_id: vat_id.ok_or_else(|| missing("vatID"))?,
                kpid: kpid.ok_or_else(|| missing("kpid"))?,
            },
            "startVat" => KernelEvent::StartVat {
                vat_id: vat_id.ok_or_else(|| missing("vatID"))?,
            },
            "upgradeVat" => KernelEvent::UpgradeVat {
                vat_id: vat_id.ok_or_else(|| missing("vatID"))?,
                upgrade_id: upgrade_id.ok_or_else(|| missing("upgradeID"))?,
                request: request.ok_or_else(|| missing("request"))?,
            },
            other => return Err(format!("unknown kernel event type {other:?}")),
        })
    }
}

/// What the new incarnation should be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRequest {
    #[serde(rename = "bundleID")]
    pub bundle_id: String,
    pub vat_parameters: KCapData,
    pub upgrade_message: String,
}

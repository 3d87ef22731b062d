//! Executing messages against the kernel: installing bundles, publishing and sending to
//! published objects, and the vat work governance may do (create and upgrade vats). The
//! bridge does the kernel-side translation; this module decides what is allowed.

use serde_json::Value;
use vatchain_bridge::{chain_storage, inbound};
use vatchain_kernel::worker::VatSource;
use vatchain_kernel::{KRef, Kernel, UpgradeRequest, VatOptions};

use crate::host::{self, HostRead};
use crate::modules::swingset::{keys, results, SwingsetError};

/// A kref as the host keeps it. Only this module writes them, from krefs.
fn kref(key: &str, s: String) -> KRef {
    s.parse()
        .unwrap_or_else(|_| panic!("host state is damaged: {key:?} holds {s:?}, not a kref"))
}

/// The chainStorage vat's root, which genesis and governance hand to the vats they create.
pub fn chain_storage_root(h: &impl HostRead) -> Option<KRef> {
    host::get::<String>(h, keys::CHAIN_STORAGE).map(|s| kref(keys::CHAIN_STORAGE, s))
}

/// Installs the chainStorage vat and holds its root for the host.
pub fn install_chain_storage(kernel: &mut Kernel) -> Result<(), SwingsetError> {
    let root = chain_storage::install(kernel)?;
    kernel.pin(root)?;
    kernel.update_host(|h| host::put(h, keys::CHAIN_STORAGE, &root.to_string()));
    Ok(())
}

/// The object published under `name` (a genesis or governance-created vat's root).
pub fn published(h: &impl HostRead, name: &str) -> Option<KRef> {
    let key = keys::published(name);
    host::get::<String>(h, &key).map(|s| kref(&key, s))
}

/// Resolves a `MsgDeliverInbound` target: a published name, or the kref of a published
/// object. Any other kref is refused: a client naming an arbitrary kernel object would
/// forge a capability it was never given.
pub fn resolve_target(h: &impl HostRead, target: &str) -> Result<KRef, SwingsetError> {
    if let Some(k) = published(h, target) {
        return Ok(k);
    }
    if let Ok(k) = target.parse::<KRef>() {
        let is_published = host::scan::<String>(h, keys::PUBLISHED)
            .iter()
            .any(|(_, v)| *v == k.to_string());
        if is_published {
            return Ok(k);
        }
        return Err(SwingsetError::NotPublished(target.to_string()));
    }
    Err(SwingsetError::NothingPublished(target.to_string()))
}

/// Publishes `k` under `name`, holding it for as long as it is published.
pub fn publish(kernel: &mut Kernel, name: &str, k: KRef) -> Result<(), SwingsetError> {
    kernel.pin(k)?;
    kernel.update_host(|h| host::put(h, &keys::published(name), &k.to_string()));
    Ok(())
}

/// Hands the kernel the parameters it keeps as its own consensus state (the per-delivery
/// limit, the default reap interval), at genesis and whenever governance changes them.
pub fn set_kernel_params(
    kernel: &mut Kernel,
    params: &crate::host::params::Params,
) -> Result<(), SwingsetError> {
    kernel.set_delivery_limit(params.delivery_computrons)?;
    kernel.set_default_reap_interval(params.default_reap_interval)?;
    Ok(())
}

/// Installs a bundle (`MsgInstallBundle`); returns its id.
pub fn install_bundle(kernel: &mut Kernel, bundle: &[u8]) -> Result<String, SwingsetError> {
    Ok(kernel.install_bundle(bundle)?)
}

/// Sends `method(args)` to a published object (`MsgDeliverInbound`) and waits for its
/// answer: the result promise is recorded when it settles (see `results`). Each delivery
/// may use at most `allowance` computrons (the tx's gas).
pub fn deliver_inbound(
    kernel: &mut Kernel,
    target: &str,
    method: &str,
    args: &Value,
    allowance: Option<u64>,
    height: u64,
) -> Result<KRef, SwingsetError> {
    let target = resolve_target(&kernel.host(), target)?;
    let kp =
        inbound::send(kernel, target, method, args, allowance).map_err(SwingsetError::Inbound)?;
    kernel.update_host(|h| results::track(h, kp, height));
    Ok(kp)
}

/// Creates a vat from installed bundle `bundle_id`, gives it `chainStorage` in its
/// parameters and publishes its root under `name`. Its `startVat` runs with the next
/// kernel run.
pub fn create_vat(
    kernel: &mut Kernel,
    name: &str,
    bundle_id: &str,
    params: &Value,
) -> Result<String, SwingsetError> {
    if !kernel.has_bundle(bundle_id) {
        return Err(SwingsetError::NoBundle(bundle_id.to_string()));
    }
    if published(&kernel.host(), name).is_some() {
        return Err(SwingsetError::NameTaken(name.to_string()));
    }
    let storage = chain_storage(kernel);
    let vat_parameters =
        chain_storage::vat_parameters(params, storage).map_err(SwingsetError::Parameters)?;
    let v = kernel.create_vat(
        VatSource {
            bundle_id: bundle_id.into(),
        },
        VatOptions {
            name: name.into(),
            ..VatOptions::default()
        },
        vat_parameters,
    )?;
    let root = kernel
        .vat_root(v)
        .expect("the kernel makes a new vat's root with the vat");
    publish(kernel, name, root)?;
    Ok(format!("created vat {name} as {v}"))
}

/// The chainStorage root, which genesis installs before anything can ask for it.
fn chain_storage(kernel: &Kernel) -> KRef {
    chain_storage_root(&kernel.host()).expect("genesis installs the chainStorage vat first")
}

/// Upgrades vat `vat_name` to `bundle_id` (a passed proposal's `MsgUpgradeVat`), giving the
/// new incarnation `chainStorage` in its parameters.
pub fn upgrade_vat(
    kernel: &mut Kernel,
    vat_name: &str,
    bundle_id: String,
    vat_parameters: &Value,
    upgrade_message: String,
) -> Result<String, SwingsetError> {
    let storage = chain_storage(kernel);
    let req = UpgradeRequest {
        bundle_id,
        vat_parameters: chain_storage::vat_parameters(vat_parameters, storage)
            .map_err(SwingsetError::Parameters)?,
        upgrade_message,
    };
    let report = kernel
        .upgrade_vat_by_name(vat_name, req)
        .map_err(|e| SwingsetError::Upgrade {
            vat: vat_name.to_string(),
            why: e.to_string(),
        })?;
    Ok(format!(
        "upgraded vat {vat_name} to incarnation {} ({} promises rejected, {} exports abandoned)",
        report.new_incarnation,
        report.rejected_promises.len(),
        report.abandoned_exports.len()
    ))
}

/// One `(seq, path, value)` per change vats made to chainStorage since the last call (what
/// the block reports as `published` events).
pub fn published_changes(kernel: &mut Kernel) -> Vec<(u64, String, Value)> {
    let seen: u64 = host::get(&kernel.host(), keys::PUBLISHED_SEEN).unwrap_or(0);
    let last = chain_storage::change_count(kernel);
    if last == seen {
        return Vec::new();
    }
    let changes = chain_storage::changes_since(kernel, seen, last);
    kernel.update_host(|h| host::put(h, keys::PUBLISHED_SEEN, &last));
    changes
}

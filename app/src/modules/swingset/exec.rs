//! Executing messages against the kernel: installing bundles, publishing and sending to
//! published objects, and what governance may do (create and upgrade vats, schedule a
//! software upgrade). The bridge does the kernel-side translation; this module decides
//! what is allowed.

use cosmrs::Any;
use serde_json::Value;
use vatchain_bridge::chain_storage;
use vatchain_kernel::worker::VatSource;
use vatchain_kernel::{KRef, Kernel, UpgradeRequest, VatOptions};

use crate::host;
use crate::modules::upgrade::{self as upgrade_plan, Handler, Plan};
use crate::msgs::{decode_gov_msg, GovMsg};

/// Where the chainStorage root is held. Not under `pub/`: publishing it would let any
/// account write any path.
const CHAIN_STORAGE_KEY: &str = "app/chainStorage";

/// The chainStorage vat's root, which genesis and governance hand to the vats they create.
pub fn chain_storage_root(kernel: &Kernel) -> Option<KRef> {
    host::get::<String>(kernel.store(), CHAIN_STORAGE_KEY).and_then(|s| s.parse().ok())
}

/// Installs the chainStorage vat and holds its root for the host.
pub fn install_chain_storage(kernel: &mut Kernel) -> Result<(), String> {
    let root = chain_storage::install(kernel).map_err(|e| e.to_string())?;
    kernel.pin(root).map_err(|e| e.to_string())?;
    host::put(kernel.store_mut(), CHAIN_STORAGE_KEY, &root.to_string());
    kernel.store_mut().commit_crank();
    Ok(())
}

/// The object published under `name` (a genesis or governance-created vat's root).
pub fn published(kernel: &Kernel, name: &str) -> Option<KRef> {
    host::get::<String>(kernel.store(), &format!("pub/{name}")).and_then(|s| s.parse().ok())
}

/// Resolves a `MsgDeliverInbound` target: a published name, or the kref of a published
/// object. Any other kref is refused: a client naming an arbitrary kernel object would
/// forge a capability it was never given.
pub fn resolve_target(kernel: &Kernel, target: &str) -> Result<KRef, String> {
    if let Some(k) = published(kernel, target) {
        return Ok(k);
    }
    if let Ok(k) = target.parse::<KRef>() {
        let is_published = host::scan::<String>(kernel.store(), "pub/")
            .iter()
            .any(|(_, v)| *v == k.to_string());
        if is_published {
            return Ok(k);
        }
        return Err(format!("{target} is not a published object"));
    }
    Err(format!("nothing is published under {target:?}"))
}

/// Publishes `k` under `name`, holding it for as long as it is published.
pub fn publish(kernel: &mut Kernel, name: &str, k: KRef) -> Result<(), String> {
    kernel.pin(k).map_err(|e| e.to_string())?;
    host::put(kernel.store_mut(), &format!("pub/{name}"), &k.to_string());
    kernel.store_mut().commit_crank();
    Ok(())
}

/// Creates a vat from installed bundle `bundle_id`, gives it `chainStorage` in its
/// parameters and publishes its root under `name`. Its `startVat` runs with the next
/// kernel run.
pub fn create_vat(
    kernel: &mut Kernel,
    name: &str,
    bundle_id: &str,
    params: &Value,
) -> Result<String, String> {
    if !kernel.has_bundle(bundle_id) {
        return Err(format!("bundle {bundle_id} is not installed"));
    }
    if published(kernel, name).is_some() {
        return Err(format!("the name {name:?} is already published"));
    }
    let storage = chain_storage_root(kernel)
        .ok_or("the chainStorage vat is missing (genesis did not run)")?;
    let vat_parameters = chain_storage::vat_parameters(params, storage)?;
    let v = kernel
        .create_vat(
            VatSource {
                bundle_id: bundle_id.into(),
            },
            VatOptions {
                name: name.into(),
                ..VatOptions::default()
            },
            vat_parameters,
        )
        .map_err(|e| e.to_string())?;
    let root = kernel.vat_root(v).ok_or("a new vat has no root")?;
    publish(kernel, name, root)?;
    Ok(format!("created vat {name} as {v}"))
}

/// Runs one governance message; `Ok` says what it did. `handlers` are this binary's
/// software-upgrade handlers.
fn execute_one(
    kernel: &mut Kernel,
    msg: GovMsg,
    height: u64,
    handlers: &[Handler],
) -> Result<String, String> {
    match msg {
        GovMsg::UpgradeVat {
            vat_name,
            bundle_id,
            vat_parameters,
            upgrade_message,
        } => {
            let storage = chain_storage_root(kernel).ok_or("the chainStorage vat is missing")?;
            let req = UpgradeRequest {
                bundle_id,
                vat_parameters: chain_storage::vat_parameters(&vat_parameters, storage)?,
                upgrade_message,
            };
            let report = kernel
                .upgrade_vat_by_name(&vat_name, req)
                .map_err(|e| format!("upgrade of vat {vat_name} failed: {e}"))?;
            Ok(format!(
                "upgraded vat {vat_name} to incarnation {} ({} promises rejected, {} exports abandoned)",
                report.new_incarnation,
                report.rejected_promises.len(),
                report.abandoned_exports.len()
            ))
        }
        GovMsg::CreateVat {
            name,
            bundle_id,
            vat_parameters,
        } => create_vat(kernel, &name, &bundle_id, &vat_parameters),
        GovMsg::SoftwareUpgrade {
            name,
            height: at,
            info,
        } => {
            if at <= height {
                return Err(format!(
                    "upgrade plan {name:?} is for height {at}, which is not after this block ({height})"
                ));
            }
            if upgrade_plan::is_done(kernel.store(), &name) {
                return Err(format!("upgrade {name:?} has already been applied"));
            }
            if handlers.iter().any(|h| h.name == name) {
                // The running binary is that release already: it would refuse every block
                // before the plan's height (BINARY UPDATED BEFORE TRIGGER), and no older
                // binary can run this chain's state, so the chain would stop for good.
                return Err(format!(
                    "this binary already carries upgrade {name:?}: the chain runs that release, \
                     so a plan for it would only stop the chain; name the next release's upgrade"
                ));
            }
            upgrade_plan::schedule(
                kernel.store_mut(),
                &Plan {
                    name: name.clone(),
                    height: at,
                    info,
                },
            );
            kernel.store_mut().commit_crank();
            Ok(format!(
                "scheduled software upgrade {name:?} at height {at}"
            ))
        }
    }
}

/// Executes a passed proposal's messages in order, all or nothing: if one fails, every
/// effect of the earlier ones is undone and the error names the failing message.
pub fn execute_proposal(
    kernel: &mut Kernel,
    msgs: &[Any],
    height: u64,
    handlers: &[Handler],
) -> Result<Vec<String>, String> {
    kernel.store_mut().commit_crank();
    let Some(sp) = kernel.block_savepoint() else {
        return Err("internal: a crank is open at end of block".into());
    };
    let mut lines = Vec::new();
    for (i, any) in msgs.iter().enumerate() {
        let result = decode_gov_msg(any).and_then(|m| execute_one(kernel, m, height, handlers));
        kernel.store_mut().commit_crank();
        match result {
            Ok(line) => lines.push(line),
            Err(why) => {
                // Upgrades and vat creation ran vat code: drop the workers too.
                kernel.rollback_block(sp);
                return Err(format!(
                    "message {i} ({}): {why}; no message of the proposal was applied",
                    any.type_url
                ));
            }
        }
    }
    kernel.release_block(sp);
    Ok(lines)
}

//! End-of-block governance: gov closes the proposals whose period ended; the chain runs
//! the messages of those that passed, all or nothing, and gov records how that went.
//!
//! The order of work (and so of cranks, which the app hash chains) is per proposal:
//! dequeue → close (drop, or tally and refund) → execute → record.

use cosmrs::Any;
use vatchain_kernel::Kernel;

use crate::host::events::AppEvent;
use crate::host::params::{GovParams, Params};
use crate::modules::gov::{self, Closed};
use crate::modules::swingset::exec;
use crate::modules::upgrade::{self as upgrade_plan, Handler, Plan};
use crate::msgs::{decode_gov_msg, GovMsg};

/// Closes every proposal whose period ended by `now` (block `height`), running what passed.
pub fn end_block(
    kernel: &mut Kernel,
    params: &GovParams,
    now: u64,
    height: u64,
    handlers: &[Handler],
) -> Vec<AppEvent> {
    let mut events = Vec::new();
    for id in gov::due(&kernel.host(), now) {
        let Some(p) = kernel.update_host(|h| gov::dequeue(h, id)) else {
            continue;
        };
        match kernel.update_host(|h| gov::close(h, p, params)) {
            Closed::Ended(event) => events.push(event),
            Closed::Passed(p) => {
                let outcome = execute(kernel, &p.messages(), height, handlers);
                events.push(kernel.update_host(|h| gov::record_outcome(h, *p, outcome)));
            }
        }
    }
    events
}

/// Executes a passed proposal's messages in order, all or nothing: if one fails, every
/// effect of the earlier ones is undone and the error names the failing message.
fn execute(
    kernel: &mut Kernel,
    msgs: &[Any],
    height: u64,
    handlers: &[Handler],
) -> Result<Vec<String>, String> {
    let mut tx = kernel.begin_block_tx();
    let mut lines = Vec::new();
    for (i, any) in msgs.iter().enumerate() {
        let done = decode_gov_msg(any)
            .map_err(|e| e.to_string())
            .and_then(|m| execute_one(&mut tx, m, height, handlers));
        match done {
            Ok(line) => lines.push(line),
            // Dropping `tx` undoes the earlier messages (and drops the workers that ran).
            Err(why) => {
                return Err(format!(
                    "message {i} ({}): {why}; no message of the proposal was applied",
                    any.type_url
                ))
            }
        }
    }
    tx.keep();
    Ok(lines)
}

/// Runs one governance message; `Ok` says what it did.
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
        } => exec::upgrade_vat(
            kernel,
            &vat_name,
            bundle_id,
            &vat_parameters,
            upgrade_message,
        )
        .map_err(|e| e.to_string()),
        GovMsg::CreateVat {
            name,
            bundle_id,
            vat_parameters,
        } => {
            exec::create_vat(kernel, &name, &bundle_id, &vat_parameters).map_err(|e| e.to_string())
        }
        GovMsg::UpdateParams { changes } => {
            let next = Params::load(&kernel.host()).with_changes(&changes)?;
            kernel.update_host(|h| next.save(h));
            exec::set_kernel_params(kernel, &next).map_err(|e| e.to_string())?;
            Ok(format!("parameters changed: {changes}"))
        }
        GovMsg::SoftwareUpgrade {
            name,
            height: at,
            info,
        } => kernel.update_host(|h| {
            upgrade_plan::schedule(
                h,
                Plan {
                    name,
                    height: at,
                    info,
                },
                height,
                handlers,
            )
            .map_err(|e| e.to_string())
        }),
    }
}

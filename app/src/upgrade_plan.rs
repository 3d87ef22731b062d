//! Software upgrades, as Cosmos SDK's x/upgrade does them: governance schedules a plan
//! `{name, height, info}`; at that height a binary that has no handler for `name` stops
//! before executing the block, saying `UPGRADE "<name>" NEEDED at height: <h>` and writing
//! `upgrade-info.json` (what Cosmovisor reads); a binary that has one runs it, once, inside
//! that block's batch, and records `upg/done/<name>`.
//!
//! Exactly once, crash or not: the handler's writes and the `done` record commit in the
//! same `WriteBatch` as the rest of the block, so a crash before Commit loses both and the
//! re-executed block runs the handler again; after Commit, `done` is on disk.

use std::path::Path;

use serde::{Deserialize, Serialize};
use vatchain_kernel::store::Store;
use vatchain_kernel::Kernel;

use crate::host;

/// A scheduled upgrade (`upg/plan`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub height: u64,
    pub info: String,
}

/// An upgrade handler: migrates state at the plan height; `Ok` says what it did.
pub type Handler = fn(&mut Kernel) -> Result<String, String>;

/// The handlers this binary carries, by plan name. The schema-migration work adds the
/// first real one.
pub const HANDLERS: &[(&str, Handler)] = &[];

pub fn scheduled(store: &Store) -> Option<Plan> {
    host::get(store, "upg/plan")
}

/// Schedules `plan`, replacing any plan not yet applied (as x/upgrade does).
pub fn schedule(store: &mut Store, plan: &Plan) {
    host::put(store, "upg/plan", plan);
}

pub fn is_done(store: &Store, name: &str) -> bool {
    done_height(store, name).is_some()
}

/// The height at which upgrade `name` ran.
pub fn done_height(store: &Store, name: &str) -> Option<u64> {
    host::get(store, &format!("upg/done/{name}"))
}

/// What the start of block `height` must do about a plan.
#[derive(Debug, PartialEq, Eq)]
pub enum AtHeight {
    /// No plan for this height.
    Nothing,
    /// The handler ran; the message says what it did.
    Applied(String),
    /// This binary has no handler: the node must stop before executing the block.
    Halt(String),
}

/// The last upgrade this chain applied.
pub fn last_applied(store: &Store) -> Option<String> {
    host::get(store, "upg/last")
}

fn has_handler(handlers: &[(&str, Handler)], name: &str) -> bool {
    handlers.iter().any(|(n, _)| *n == name)
}

/// Checks the plan at the start of block `height` and runs its handler if this binary
/// has one. `home` receives `data/upgrade-info.json` when the node must stop.
/// `first_block` (the first block this process executes) also checks, as Cosmos does,
/// that the binary is not older than the last upgrade applied.
pub fn begin_block(
    kernel: &mut Kernel,
    height: u64,
    handlers: &[(&str, Handler)],
    home: &Path,
    first_block: bool,
) -> AtHeight {
    if first_block {
        if let Some(last) = last_applied(kernel.store()) {
            if !has_handler(handlers, &last) {
                return AtHeight::Halt(format!(
                    "wrong binary: this chain applied upgrade {last:?}, for which this binary has \
                     no handler (run the upgraded binary)"
                ));
            }
        }
    }
    let Some(plan) = scheduled(kernel.store()) else {
        return AtHeight::Nothing;
    };
    if plan.height > height {
        // A new binary started early would run old blocks with new code.
        if has_handler(handlers, &plan.name) {
            return AtHeight::Halt(format!(
                "BINARY UPDATED BEFORE TRIGGER! UPGRADE \"{}\" - in binary but not executed on \
                 chain (planned for height {}). Downgrade your binary",
                plan.name, plan.height
            ));
        }
        return AtHeight::Nothing;
    }
    if plan.height < height {
        // Cannot happen: plans are scheduled for later heights and run at theirs.
        return AtHeight::Nothing;
    }
    let Some((_, handler)) = handlers.iter().find(|(n, _)| *n == plan.name) else {
        let msg = format!(
            "UPGRADE \"{}\" NEEDED at height: {}: {}",
            plan.name, plan.height, plan.info
        );
        let info = serde_json::json!({"name": plan.name, "height": plan.height, "info": plan.info});
        let path = home.join("data").join("upgrade-info.json");
        if let Err(e) = std::fs::write(&path, info.to_string()) {
            tracing::error!(path = %path.display(), error = %e, "cannot write upgrade-info.json");
        }
        return AtHeight::Halt(msg);
    };
    kernel.store_mut().commit_crank();
    match handler(kernel) {
        Ok(what) => {
            let store = kernel.store_mut();
            store.commit_crank();
            host::delete(store, "upg/plan");
            host::put(store, &format!("upg/done/{}", plan.name), &height);
            host::put(store, "upg/last", &plan.name);
            store.commit_crank();
            AtHeight::Applied(format!(
                "upgrade {:?} applied at height {height}: {what}",
                plan.name
            ))
        }
        // A failing migration must not be skipped, nor leave the chain half migrated: the
        // node stops (its block never commits) and the operator fixes the binary.
        Err(why) => AtHeight::Halt(format!(
            "upgrade {:?} handler failed at height {height}: {why}",
            plan.name
        )),
    }
}

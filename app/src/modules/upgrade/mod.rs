//! Software upgrades, as Cosmos SDK's x/upgrade does them: governance schedules a plan
//! `{name, height, info}`; at that height a binary that has no handler for `name` stops
//! before executing the block, saying `UPGRADE "<name>" NEEDED at height: <h>` and writing
//! `upgrade-info.json` (what Cosmovisor reads); a binary that has one runs it, once, inside
//! that block's batch, and records `upg/done/<name>`.
//!
//! Exactly once, crash or not: the handler's writes and the `done` record commit in the
//! same `WriteBatch` as the rest of the block, so a crash before Commit loses both and the
//! re-executed block runs the handler again; after Commit, `done` is on disk.
//!
//! A handler may carry a kernel schema migration ([`Handler::migrates_kernel_from`]). The
//! new binary then opens the old DB *pending migration* (the kernel runs nothing), and
//! accepts it only when the chain's scheduled plan is for the very next block and names
//! such a handler ([`check_pending_migration`]); the handler migrates at the start of that
//! block, before any tx, so every validator repairs the same state in the same block.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vatchain_kernel::Kernel;

use crate::host::{self, HostRead, HostStore};

pub mod keys;

/// A scheduled upgrade (`upg/plan`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub height: u64,
    pub info: String,
}

/// An upgrade handler: what this binary does at the height of plan `name`.
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    pub name: &'static str,
    /// The kernel schema version a DB is at when this upgrade's migration is due: the
    /// binary opens such a DB pending migration only for this plan, and `run` migrates it.
    pub migrates_kernel_from: Option<u32>,
    /// Migrates state at the plan height; `Ok` says what it did (recorded on chain and
    /// shown by `vatd query upgrade applied`).
    pub run: fn(&mut Kernel) -> Result<Value, String>,
}

/// The plan that repairs promise c-list entries leaked by schema-version-2 vat upgrades.
pub const V3_REMEDIATION: &str = "v3-remediation";

/// The handlers this binary carries.
pub const HANDLERS: &[Handler] = &[Handler {
    name: V3_REMEDIATION,
    migrates_kernel_from: Some(2),
    run: v3_remediation,
}];

/// Migrates a schema-version-2 kernel DB to version 3 (the v2→v3 remediation of leaked
/// promise c-list entries, upstream #9039). On a chain whose DB is already at 3 (it
/// started on a v3 binary) there is nothing to repair, and the handler says so.
fn v3_remediation(k: &mut Kernel) -> Result<Value, String> {
    if k.pending_migration().is_none() {
        return Ok(json!({"migrated": false, "schemaVersion": k.db_version()}));
    }
    // Progress on large DBs: at most a line a second (logs only, not consensus state).
    let mut last = std::time::Instant::now();
    let report = k
        .migrate(&mut |p| {
            if last.elapsed() >= std::time::Duration::from_secs(1) || p.vats_done == p.vats {
                last = std::time::Instant::now();
                tracing::info!(
                    "kernel migration {}->{}: {}/{} vats, {} promise entries examined",
                    p.from,
                    p.to,
                    p.vats_done,
                    p.vats,
                    p.entries
                );
            }
        })
        .map_err(|e| e.to_string())?;
    tracing::info!(
        reads = report.io.reads,
        scans = report.io.scans,
        writes = report.io.writes,
        "kernel migration done"
    );
    let mut v = json!(report);
    v["migrated"] = json!(true);
    Ok(v)
}

/// What an applied upgrade recorded (`upg/done/<name>` holds the height; this is
/// `upg/result/<name>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub name: String,
    pub height: u64,
    pub result: Value,
}

impl Applied {
    /// One line for logs and the `upgrade_applied` event.
    pub fn summary(&self) -> String {
        let what = match &self.result {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        format!(
            "upgrade {:?} applied at height {}: {what}",
            self.name, self.height
        )
    }
}

pub fn scheduled(h: &impl HostRead) -> Option<Plan> {
    host::get(h, keys::PLAN)
}

/// Why governance cannot schedule a plan (the proposal fails with it).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("upgrade plan {name:?} is for height {at}, which is not after this block ({height})")]
    NotAfter { name: String, at: u64, height: u64 },
    #[error("upgrade {0:?} has already been applied")]
    Applied(String),
    /// The running binary is that release already: it would refuse every block before the
    /// plan's height (BINARY UPDATED BEFORE TRIGGER), and no older binary can run this
    /// chain's state, so the chain would stop for good.
    #[error(
        "this binary already carries upgrade {0:?}: the chain runs that release, so a plan \
         for it would only stop the chain; name the next release's upgrade"
    )]
    Running(String),
}

/// Schedules `plan` as governance asked in block `height`, replacing any plan not yet
/// applied (as x/upgrade does). Refuses a plan that could only stop the chain for good.
pub fn schedule(
    h: &mut HostStore<'_>,
    plan: Plan,
    height: u64,
    handlers: &[Handler],
) -> Result<String, PlanError> {
    let Plan {
        name, height: at, ..
    } = &plan;
    if *at <= height {
        return Err(PlanError::NotAfter {
            name: name.clone(),
            at: *at,
            height,
        });
    }
    if is_done(h, name) {
        return Err(PlanError::Applied(name.clone()));
    }
    if has_handler(handlers, name) {
        return Err(PlanError::Running(name.clone()));
    }
    let line = format!("scheduled software upgrade {name:?} at height {at}");
    host::put(h, keys::PLAN, &plan);
    Ok(line)
}

pub fn is_done(h: &impl HostRead, name: &str) -> bool {
    done_height(h, name).is_some()
}

/// The height at which upgrade `name` ran.
pub fn done_height(h: &impl HostRead, name: &str) -> Option<u64> {
    host::get(h, &keys::done(name))
}

/// What the start of block `height` must do about a plan.
#[derive(Debug, PartialEq)]
pub enum AtHeight {
    /// No plan for this height.
    Nothing,
    /// The handler ran; what it reported.
    Applied(Applied),
    /// This binary has no handler: the node must stop before executing the block.
    Halt(String),
}

/// The last upgrade this chain applied.
pub fn last_applied(h: &impl HostRead) -> Option<String> {
    host::get(h, keys::LAST)
}

/// Every upgrade this chain applied, oldest first, with what its handler reported.
pub fn applied(h: &impl HostRead) -> Vec<Applied> {
    let mut all: Vec<Applied> = host::scan::<Applied>(h, keys::RESULTS)
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    all.sort_by(|a, b| (a.height, &a.name).cmp(&(b.height, &b.name)));
    all
}

fn has_handler(handlers: &[Handler], name: &str) -> bool {
    handlers.iter().any(|h| h.name == name)
}

/// For a kernel DB that awaits a schema migration: `Ok` when the chain's plan is for the
/// block after the last committed one and this binary's handler for it migrates from the
/// DB's version; otherwise why the node must not start, naming the binary and the height
/// the DB needs.
pub fn check_pending_migration(kernel: &Kernel, handlers: &[Handler]) -> Result<(), String> {
    let Some(p) = kernel.pending_migration() else {
        return Ok(());
    };
    let next = kernel.committed().height + 1;
    let migrating: Vec<&str> = handlers
        .iter()
        .filter(|h| h.migrates_kernel_from == Some(p.from))
        .map(|h| h.name)
        .collect();
    let with = if migrating.is_empty() {
        "no upgrade in this binary migrates it".to_string()
    } else {
        format!(
            "this binary migrates it only at the height of software-upgrade plan {}",
            migrating
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        )
    };
    let head = format!(
        "the kernel DB has schema version {} and this binary runs version {}; {with}",
        p.from, p.to
    );
    let old = format!(
        "run the binary that wrote it (kernel schema version {}, e.g. vatd-legacy-v2 for version 2)",
        p.from
    );
    match scheduled(&kernel.host()) {
        None => Err(format!(
            "{head}, and the chain has scheduled no upgrade: {old} until governance passes that \
             plan and the node halts at its height"
        )),
        Some(plan) if !migrating.contains(&plan.name.as_str()) => Err(format!(
            "{head}, but the chain's plan is {:?} at height {}: run the binary that has its handler",
            plan.name, plan.height
        )),
        Some(plan) if plan.height != next => Err(format!(
            "{head}: plan {:?} is for height {}, but the DB's next block is {next}: {old} until \
             it halts at height {}, then start this binary",
            plan.name, plan.height, plan.height
        )),
        Some(_) => Ok(()),
    }
}

/// Checks the plan at the start of block `height` and runs its handler if this binary
/// has one. `home` receives `data/upgrade-info.json` when the node must stop.
/// `first_block` (the first block this process executes) also checks, as Cosmos does,
/// that the binary is not older than the last upgrade applied.
pub fn begin_block(
    kernel: &mut Kernel,
    height: u64,
    handlers: &[Handler],
    home: &Path,
    first_block: bool,
) -> AtHeight {
    if first_block {
        if let Some(last) = last_applied(&kernel.host()) {
            if !has_handler(handlers, &last) {
                return AtHeight::Halt(format!(
                    "wrong binary: this chain applied upgrade {last:?}, for which this binary has \
                     no handler (run the upgraded binary)"
                ));
            }
        }
    }
    // The node opened a DB awaiting migration only for this block's plan (see
    // `check_pending_migration`); nothing else may run on it.
    if let Err(why) = check_pending_migration(kernel, handlers) {
        return AtHeight::Halt(why);
    }
    let Some(plan) = scheduled(&kernel.host()) else {
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
    let Some(handler) = handlers.iter().find(|h| h.name == plan.name) else {
        let msg = format!(
            "UPGRADE \"{}\" NEEDED at height: {}: {}",
            plan.name, plan.height, plan.info
        );
        let info = serde_json::json!({"name": plan.name, "height": plan.height, "info": plan.info});
        let path = home.join("data").join("upgrade-info.json");
        let written = crate::files::write(
            &path,
            info.to_string().as_bytes(),
            crate::files::Mode::Replace,
        );
        if let Err(e) = written {
            tracing::error!(path = %path.display(), error = %e, "cannot write upgrade-info.json");
        }
        return AtHeight::Halt(msg);
    };
    match (handler.run)(kernel) {
        Ok(_) if kernel.pending_migration().is_some() => AtHeight::Halt(format!(
            "upgrade {:?} handler left the kernel DB awaiting its migration",
            plan.name
        )),
        Ok(result) => {
            kernel.update_host(|h| {
                host::delete(h, keys::PLAN);
                host::put(h, &keys::done(&plan.name), &height);
                host::put(
                    h,
                    &keys::result(&plan.name),
                    &Applied {
                        name: plan.name.clone(),
                        height,
                        result: result.clone(),
                    },
                );
                host::put(h, keys::LAST, &plan.name);
            });
            AtHeight::Applied(Applied {
                name: plan.name,
                height,
                result,
            })
        }
        // A failing migration must not be skipped, nor leave the chain half migrated: the
        // node stops (its block never commits) and the operator fixes the binary.
        Err(why) => AtHeight::Halt(format!(
            "upgrade {:?} handler failed at height {height}: {why}",
            plan.name
        )),
    }
}

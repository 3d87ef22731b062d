//! Kernel schema migrations (DESIGN §9): the ordered steps that bring a DB written by an
//! older kernel to [`SCHEMA_VERSION`].
//!
//! A DB older than this binary opens *pending migration* (`Kernel::pending_migration`):
//! the kernel reads but runs nothing (no crank, no delivery, no host send) until
//! `Kernel::migrate` has run every step from the DB's version on. The host decides when
//! that happens: on a chain, only the software-upgrade handler that carries the migration
//! calls it, at the plan height, so every validator migrates in the same block. The steps
//! write through the crank buffer like any crank, so the block's one `WriteBatch` carries
//! them (and the app hash covers them); a crash before that block commits loses them
//! together with the block, and the migration runs again when the block is re-executed.
//!
//! This module knows kernel state only (`KState`); the host API around it (the pending
//! flag, the crank) is `Kernel::migrate` in `kernel.rs`.
//!
//! Opening rules (`Kernel::new`): a fresh DB gets [`SCHEMA_VERSION`]; a DB at this version
//! opens ready; an older one for which a chain of steps exists opens pending; anything
//! else (newer, or older than the first step) is refused.

mod v2_to_v3;

use std::time::Duration;

use serde::Serialize;

pub use v2_to_v3::RemediationCounts;

use crate::state::{keys, KState};
use crate::store::IoStats;

/// A step's body: it changes kernel state in the open crank and says what it did.
type StepFn =
    fn(&mut KState, &mut dyn FnMut(Progress)) -> Result<(StepCounts, Timing), MigrateError>;

/// One step: what it turns a `from` DB into a `to` DB.
struct Step {
    from: u32,
    to: u32,
    /// What it does, for logs and reports.
    what: &'static str,
    run: StepFn,
}

/// Every step this binary knows, in order: each one's `to` is the next one's `from`.
const STEPS: &[Step] = &[Step {
    from: 2,
    to: 3,
    what: "remove settled promises left in vats' c-lists by pre-v3 vat upgrades (upstream #9039)",
    run: v2_to_v3::run,
}];

/// The oldest schema version this binary can migrate from.
pub fn oldest_migratable() -> u32 {
    STEPS.first().map_or(crate::SCHEMA_VERSION, |s| s.from)
}

/// Whether a chain of steps leads from `version` to `target`.
pub(crate) fn has_path(version: u32, target: u32) -> bool {
    let mut v = version;
    while v < target {
        match STEPS.iter().find(|s| s.from == v) {
            Some(s) => v = s.to,
            None => return false,
        }
    }
    v == target
}

/// What a DB awaiting migration needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingMigration {
    /// The DB's schema version.
    pub from: u32,
    /// The version this binary runs at.
    pub to: u32,
}

/// Progress of a long step, reported every [`PROGRESS_EVERY`] entries and at the end of
/// each vat (so a host can print it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub from: u32,
    pub to: u32,
    /// Vats scanned so far, of `vats`.
    pub vats_done: u64,
    pub vats: u64,
    /// Entries examined so far.
    pub entries: u64,
}

/// How often a step reports progress, in entries examined.
pub const PROGRESS_EVERY: u64 = 100_000;

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "camelCase")]
pub enum StepCounts {
    #[serde(rename = "v2->v3")]
    V2ToV3(RemediationCounts),
}

/// Where a step's time went (benchmarks and logs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    /// Finding what to change (the reads).
    pub scan: Duration,
    /// Changing it (the writes, and the reads they need from memory).
    pub fix: Duration,
}

/// What `Kernel::migrate` did. Its JSON (the steps' counts) is the same on every node and
/// goes on chain; `io` and `timing` describe this run only and are never serialized.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationReport {
    pub from: u32,
    pub to: u32,
    pub steps: Vec<StepCounts>,
    /// Store work of the whole migration.
    #[serde(skip)]
    pub io: IoStats,
    /// Per step, in order.
    #[serde(skip)]
    pub timing: Vec<Timing>,
}

impl MigrationReport {
    /// The v2→v3 step's counts, if it ran.
    pub fn remediation(&self) -> Option<&RemediationCounts> {
        self.steps
            .iter()
            .map(|s| match s {
                StepCounts::V2ToV3(c) => c,
            })
            .next()
    }
}

/// Why a migration could not run. Nothing it wrote survives: the crank is aborted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MigrateError {
    #[error("the kernel DB is already at schema version {0}: there is nothing to migrate")]
    NothingPending(u32),
    #[error("migrate must be called between cranks")]
    CrankOpen,
    /// The DB holds something no kernel could have written; a person must look at it.
    #[error("the kernel DB is inconsistent: {0}")]
    Corrupt(String),
}

/// Runs every step from schema version `from` to `target` on `st`, in its open crank,
/// writing the version after each step; on error the caller aborts the crank.
pub(crate) fn run_steps(
    st: &mut KState,
    from: u32,
    target: u32,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Vec<StepCounts>, Vec<Timing>), MigrateError> {
    let mut steps = Vec::new();
    let mut timing = Vec::new();
    let mut v = from;
    while v < target {
        let step = STEPS
            .iter()
            .find(|s| s.from == v)
            .expect("Kernel::new opens pending only with a path of steps");
        tracing::info!(
            from = step.from,
            to = step.to,
            "kernel schema migration: {}",
            step.what
        );
        let (counts, t) = (step.run)(st, progress)?;
        steps.push(counts);
        timing.push(t);
        v = step.to;
        st.set(keys::VERSION, &v.to_string());
    }
    Ok((steps, timing))
}

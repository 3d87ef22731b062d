//! Vat upgrade (DESIGN §6, seeds 000–003): the kernel alone retires the old incarnation
//! and starts the new one, in one crank; if anything fails, every change is rolled back and
//! the old incarnation goes on as if nothing happened.
//!
//! Steps, all after one savepoint in the crank buffer:
//! 1. `bringOutYourDead` to the old incarnation (recorded in its span), an optimization
//!    only: when it fails, or the old incarnation cannot be rebuilt, it is skipped
//!    (slog `upgrade-boyd-skipped`), since nothing below needs the old incarnation's help;
//! 2. reject every unresolved promise the vat decides with the disconnection value
//!    `{ name: "vatUpgraded", upgradeMessage, incarnationNumber: old }`, deleting the vat's
//!    c-list entry unless the vat subscribed to it itself (then the notify queued to the new
//!    incarnation removes it); abandon every non-durable export (`o+N` but `o+0`, `o+v…`),
//!    whose sends from then on reject with upstream's `Error('vat terminated')`; drop and retire
//!    every import no stored data names (only the old heap held it);
//! 3. close the transcript span (kept, never erased) and open one with incarnation + 1,
//!    recording the new bundle and vat parameters;
//! 4. deliver `startVat` to a worker of the new bundle; liveslots checks that every durable
//!    kind was redefined.
//!
//! Success keeps everything; failure (or a dry run) rolls back to the savepoint and drops
//! both workers, so the old incarnation is rebuilt from its span when next needed.
//!
//! Invariant: after either outcome and the crank's refcount processing, `audit()` is clean;
//! no record or c-list entry of a rejected promise is left (but self-subscribed ones, until
//! their notify is delivered).

use crate::events::KCapData;
use crate::kernel::{CrankKind, CrankReport, Kernel};
use crate::refs::{KRef, VatId};
use crate::state::{keys, KState};
use crate::store::Cf;
use crate::worker::{VatDelivery, VatSource, WorkerError};

pub use crate::events::UpgradeRequest;

/// What an upgrade did (or, for a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeReport {
    pub vat: Option<VatId>,
    pub old_incarnation: u64,
    pub new_incarnation: u64,
    /// Promises the vat decided, rejected with the disconnection value.
    pub rejected_promises: Vec<KRef>,
    /// Non-durable exports abandoned (vref in the old incarnation, kernel object).
    pub abandoned_exports: Vec<(String, KRef)>,
    /// Imports only the old incarnation's heap held (no stored data names them), dropped
    /// and retired on its behalf (vref in the old incarnation, kernel object).
    pub released_imports: Vec<(String, KRef)>,
    /// Why the pre-upgrade bringOutYourDead was skipped, when it was (it failed, or the
    /// old incarnation could not be rebuilt): the upgrade went on without it.
    pub boyd_skipped: Option<String>,
    /// Computrons of the pre-upgrade bringOutYourDead and of startVat.
    pub computrons: u64,
}

/// Why an upgrade did not happen. Every variant leaves the vat exactly as it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeError {
    #[error("{0} is not a live vat")]
    NotLive(String),
    #[error("the kernel DB awaits its schema migration; nothing runs until then")]
    MigrationPending,
    #[error("bundle {0} is not installed")]
    UnknownBundle(String),
    #[error("vat parameters name {0}, which does not exist")]
    BadParameters(KRef),
    #[error("this node cannot run the upgrade (a failure of its own; it must stop): {0}")]
    Halted(String),
    /// Upstream's wording first (what an upgrade's caller sees there), then the reason.
    #[error("vat-upgrade failure: the new version failed startVat: {0}")]
    StartVat(String),
}

/// What a dry run found: what the upgrade would do, and whether it would succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRun {
    pub report: UpgradeReport,
    pub outcome: Result<(), UpgradeError>,
}

/// The value an upgraded vat's decided promises are rejected with (its abandoned objects'
/// sends reject with `Error('vat terminated')`, as upstream's do).
pub(crate) fn disconnection(upgrade_message: &str, old_incarnation: u64) -> KCapData {
    crate::capdata::json(&serde_json::json!({
        "incarnationNumber": old_incarnation,
        "name": "vatUpgraded",
        "upgradeMessage": upgrade_message,
    }))
}

impl Kernel {
    /// Every transcript span of `v`, closed ones first, the current one last: each
    /// incarnation's history is kept (with its bundle id), never erased by an upgrade.
    pub fn transcript_spans(&self, v: VatId) -> Vec<crate::transcript::Span> {
        let mut spans = self.st.past_spans(v);
        spans.extend(self.st.current_span(v));
        spans
    }

    /// Upgrades vat `v` now, in a crank of its own (host API: the chain's governance calls
    /// it). Must be called between cranks. On error nothing changed.
    pub fn upgrade_vat(
        &mut self,
        v: VatId,
        req: UpgradeRequest,
    ) -> Result<UpgradeReport, UpgradeError> {
        if self.pending {
            return Err(UpgradeError::MigrationPending);
        }
        if let Some(why) = self.halted() {
            return Err(UpgradeError::Halted(why.to_string()));
        }
        let (report, outcome) = self.upgrade_in_crank(v, &req, false);
        self.end_crank();
        outcome.map(|()| report)
    }

    /// Upgrades the live vat named `name` (see [`Kernel::upgrade_vat`]).
    pub fn upgrade_vat_by_name(
        &mut self,
        name: &str,
        req: UpgradeRequest,
    ) -> Result<UpgradeReport, UpgradeError> {
        let v = self
            .vat_id(name)
            .ok_or_else(|| UpgradeError::NotLive(format!("vat {name:?}")))?;
        self.upgrade_vat(v, req)
    }

    /// Runs the whole upgrade and rolls it back: reports what would be rejected and
    /// abandoned and whether the new version starts. Changes no state (the old worker is
    /// rebuilt from its transcript when next needed).
    pub fn upgrade_dry_run(&mut self, v: VatId, req: UpgradeRequest) -> DryRun {
        if self.pending {
            return DryRun {
                report: UpgradeReport::default(),
                outcome: Err(UpgradeError::MigrationPending),
            };
        }
        if let Some(why) = self.halted() {
            return DryRun {
                report: UpgradeReport::default(),
                outcome: Err(UpgradeError::Halted(why.to_string())),
            };
        }
        let (report, outcome) = self.upgrade_in_crank(v, &req, true);
        self.end_crank();
        DryRun { report, outcome }
    }

    /// The upgrade steps inside the current crank (see the module docs).
    pub(crate) fn upgrade_in_crank(
        &mut self,
        v: VatId,
        req: &UpgradeRequest,
        dry_run: bool,
    ) -> (UpgradeReport, Result<(), UpgradeError>) {
        let mut report = UpgradeReport {
            vat: Some(v),
            ..UpgradeReport::default()
        };
        if self.pending {
            return (report, Err(UpgradeError::MigrationPending));
        }
        if !self.st.vat_is_live(v) {
            return (report, Err(UpgradeError::NotLive(v.to_string())));
        }
        let Some(bundle) = self.st.store.get(Cf::Bundles, req.bundle_id.as_bytes()) else {
            return (
                report,
                Err(UpgradeError::UnknownBundle(req.bundle_id.clone())),
            );
        };
        if let Some(k) = req
            .vat_parameters
            .slots
            .iter()
            .find(|k| !self.st.kref_exists(**k))
        {
            return (report, Err(UpgradeError::BadParameters(*k)));
        }
        report.old_incarnation = self.st.current_span(v).map_or(0, |s| s.incarnation);
        let sp = self.st.store.savepoint();
        let outcome = self.upgrade_steps(v, req, &bundle, &mut report);
        // The old worker saw a bringOutYourDead and the new one a startVat: after a
        // rollback neither matches the store, and on success only the new one may live.
        if outcome.is_err() || dry_run {
            self.st.store.rollback_to(sp);
            self.drop_worker(v);
        }
        (report, outcome)
    }

    fn upgrade_steps(
        &mut self,
        v: VatId,
        req: &UpgradeRequest,
        bundle: &[u8],
        report: &mut UpgradeReport,
    ) -> Result<(), UpgradeError> {
        // 1. The old incarnation may drop what it can (an optimization only).
        self.pre_upgrade_boyd(v, report)?;
        self.st.set_u64(&keys::vat_reap_dirt(v), 0);

        // 2. Kernel-side cleanup of the old incarnation.
        let why = disconnection(&req.upgrade_message, report.old_incarnation);
        let leak = self.legacy_v2();
        report.rejected_promises = self.st.reject_decided_promises(v, &why, leak);
        report.abandoned_exports = self.st.abandon_non_durable_exports(v);
        report.released_imports = self.st.release_heap_only_imports(v);

        // 3. A new span, source and parameters.
        report.new_incarnation = self.st.begin_incarnation(v, req);

        // 4. The new version starts from baggage.
        let source = VatSource {
            bundle_id: req.bundle_id.clone(),
        };
        // The bundle was checked when installed; what fails here is this node's (QuickJS
        // could not make a runtime), not the new version's.
        let mut worker = match self.factory().make_worker(v, &source, Some(bundle)) {
            Ok(w) => w,
            Err(WorkerError::Code(why)) => {
                return Err(UpgradeError::StartVat(format!(
                    "this binary cannot load the new bundle: {why}"
                )));
            }
            Err(WorkerError::Node(why)) => {
                let why = format!("cannot start a worker for {v}'s new version: {why}");
                self.halt(why.clone());
                return Err(UpgradeError::Halted(why));
            }
        };
        let start = self.st.translate_start_vat(v);
        let run = self.run_delivery(v, worker.as_mut(), &start, None);
        report.computrons += run.computrons;
        self.keep_or_refuse(
            v,
            start,
            run,
            "the new version asked to exit (or to terminate others) while starting",
        )
        .map_err(UpgradeError::StartVat)?;
        self.keep_worker(v, worker);
        Ok(())
    }

    /// Step 1: `bringOutYourDead` to the old incarnation, recorded in its span when it
    /// succeeds. Nothing the upgrade needs depends on it (liveslots writes its counters and
    /// kind descriptors as they change, and step 2 releases the imports the old heap held),
    /// so when the old incarnation cannot run it (the delivery fails: meter, heap, its own
    /// error; or it asks to exit) its writes are undone and the upgrade goes on; the same
    /// when its worker cannot be rebuilt for a reason of its code's (`WorkerError::Code`,
    /// the same on every node). Only this node's own failure stops it (the kernel halts).
    /// Either way the old worker is done with: only the new incarnation may live.
    fn pre_upgrade_boyd(
        &mut self,
        v: VatId,
        report: &mut UpgradeReport,
    ) -> Result<(), UpgradeError> {
        let skipped = match self.worker(v) {
            Err(WorkerError::Node(why)) => {
                self.halt(why.clone());
                return Err(UpgradeError::Halted(why));
            }
            Err(WorkerError::Code(why)) => Some(format!("the old incarnation cannot run: {why}")),
            Ok(mut old) => {
                let sp = self.st.store.savepoint();
                let boyd = VatDelivery::BringOutYourDead;
                let run = self.run_delivery(v, old.as_mut(), &boyd, None);
                report.computrons += run.computrons;
                let kept = self.keep_or_refuse(
                    v,
                    boyd,
                    run,
                    "the vat asked to exit (or to terminate others) during bringOutYourDead",
                );
                kept.err().map(|why| {
                    self.st.store.rollback_to(sp);
                    format!("its bringOutYourDead failed: {why}")
                })
            }
        };
        self.drop_worker(v);
        if let Some(why) = &skipped {
            tracing::info!(vat = %v, reason = %why, "pre-upgrade bringOutYourDead skipped");
            if let Some(slog) = &mut self.slog {
                let crank = self.st.get_u64(keys::CRANK_NUMBER).unwrap_or(0);
                slog.note(crank, v, "upgrade-boyd-skipped", why);
            }
        }
        report.boyd_skipped = skipped;
        Ok(())
    }

    /// The run-queue's `upgradeVat` event (from `E(adminNode).upgrade(…)`): upgrade, then
    /// tell vat-admin how it went. The event's holds on the parameters are released after
    /// the rollback point, so a failed upgrade leaks nothing (upstream leaks them).
    pub(crate) fn process_upgrade_event(
        &mut self,
        vat_id: VatId,
        upgrade_id: u64,
        req: UpgradeRequest,
        report: &mut CrankReport,
    ) {
        report.kind = CrankKind::Delivery {
            vat: vat_id,
            delivery: "upgradeVat",
        };
        let (r, outcome) = self.upgrade_in_crank(vat_id, &req, false);
        for k in &req.vat_parameters.slots {
            self.st.decref(*k, true);
        }
        report.computrons = r.computrons;
        if let Err(e) = &outcome {
            tracing::warn!(vat = %vat_id, reason = %e, "vat upgrade failed; the old version goes on");
            // The caller's rejection says only `vat-upgrade failure`; the reason is here.
            if let Some(slog) = &mut self.slog {
                let crank = self.st.get_u64(keys::CRANK_NUMBER).unwrap_or(0);
                slog.note(crank, vat_id, "upgrade-failed", &e.to_string());
            }
        }
        upgrade_callback(
            &mut self.st,
            upgrade_id,
            outcome.map(|()| r.new_incarnation),
        );
    }
}

/// Queues `vatUpgradeCallback(upgradeID, success, error, incarnationNumber)` to the
/// vat-admin vat.
fn upgrade_callback(st: &mut KState, upgrade_id: u64, outcome: Result<u64, UpgradeError>) {
    let args = match outcome {
        Ok(n) => vec![
            serde_json::json!(upgrade_id),
            serde_json::json!(true),
            serde_json::json!("#undefined"),
            serde_json::json!(n),
        ],
        Err(e) => {
            // The new version failed: upstream's value exactly (vat code cannot see why; the
            // reason is in the slog, as upstream keeps it in the console), which upstream
            // code compares. A request the kernel refused before trying (no such bundle, bad
            // parameters) names its cause, as upstream's vat-admin refuses a bad bundlecap
            // with its own error before any upgrade starts.
            let msg = match e {
                UpgradeError::StartVat(_) => "vat-upgrade failure".to_string(),
                other => format!("vat-upgrade failure: {other}"),
            };
            vec![
                serde_json::json!(upgrade_id),
                serde_json::json!(false),
                crate::capdata::error_value(&msg),
                serde_json::json!("#undefined"),
            ]
        }
    };
    st.send_to_vat_admin(crate::capdata::methargs(
        "vatUpgradeCallback",
        args,
        Vec::new(),
    ));
}

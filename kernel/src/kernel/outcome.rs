//! A delivery and its outcome, applied in one place: run it on the vat's worker with its
//! syscalls recorded, then keep it, roll a message back at a resource limit, or terminate
//! the vat (docs/ARCHITECTURE.md, "Where the line is drawn").

use super::{CrankKind, CrankReport, Kernel};
use crate::capdata;
use crate::events::{KCapData, KMessage};
use crate::refs::{KRef, VatId};
use crate::state::{keys, KState};
use crate::syscall::SyscallCtx;
use crate::transcript::{Recorder, TranscriptItem};
use crate::worker::{VatDelivery, VatWorker};

/// What one delivery did, before the kernel decides what follows from it.
pub(crate) struct DeliveryRun {
    pub(crate) records: Vec<crate::transcript::SyscallRecord>,
    pub(crate) computrons: u64,
    /// Why the delivery failed (an illegal syscall, or the worker's error), if it did.
    pub(crate) failure: Option<String>,
    /// The failure was a resource limit (meter, heap, a syscall cap or size, the storage
    /// quota) rather than the vat's own fault.
    pub(crate) by_limit: bool,
    pub(crate) exit: Option<crate::syscall::ExitRequest>,
    pub(crate) terminations: Vec<(VatId, KCapData)>,
}

/// What rolling back a message delivery needs: the savepoint taken before it was
/// translated, and the message as it was queued.
pub(super) struct Undo<'a> {
    pub(super) sp: crate::store::Savepoint,
    pub(super) target: KRef,
    pub(super) msg: &'a KMessage,
}

impl Kernel {
    /// Runs one delivery on `worker`, with syscalls applied to the crank buffer and
    /// recorded, and logs it to the slog. Decides nothing: the caller applies the outcome.
    pub(crate) fn run_delivery(
        &mut self,
        v: VatId,
        worker: &mut dyn VatWorker,
        vd: &VatDelivery,
        allowance: Option<u64>,
    ) -> DeliveryRun {
        let limit = match (self.delivery_limit(), allowance) {
            (Some(l), Some(a)) => Some(l.min(a)),
            (l, a) => l.or(a),
        };
        worker.set_delivery_limit(limit);
        let mut ctx = SyscallCtx::new(&mut self.st, v);
        let mut rec = Recorder {
            inner: &mut ctx,
            records: Vec::new(),
        };
        let outcome = worker.deliver(vd, &mut rec);
        let records = std::mem::take(&mut rec.records);
        ctx.finish();
        let (fault, exit) = (ctx.fault.take(), ctx.exit.take());
        let limit_hit = ctx.limit.take();
        let terminations = std::mem::take(&mut ctx.terminations);
        for l in &outcome.console {
            tracing::debug!(target: "vat_console", vat = %v, level = %l.level, "{}", l.text);
        }
        if let Some(slog) = &mut self.slog {
            let crank = self.st.get_u64(keys::CRANK_NUMBER).unwrap_or(0);
            slog.console(crank, v, &outcome.console);
            let status = fault
                .clone()
                .or_else(|| limit_hit.clone())
                .or_else(|| outcome.status.clone().err());
            slog.delivery(
                crank,
                v,
                vd,
                &records,
                outcome.computrons,
                status.as_deref(),
            );
        }
        // An illegal syscall is the vat's fault even if a limit was reached afterwards (a
        // limit refuses every later syscall, so at most one of the two is set).
        let by_limit = fault.is_none() && (limit_hit.is_some() || outcome.resource_limit);
        let failure = fault.map(|f| format!("illegal {f}")).or_else(|| {
            let status = match limit_hit {
                Some(l) => Err(l),
                None => outcome.status,
            };
            status.err().map(|e| {
                format!(
                    "{} delivery failed: {}",
                    vd.name(),
                    crate::syscall::show(&e)
                )
            })
        });
        DeliveryRun {
            records,
            computrons: outcome.computrons,
            failure,
            by_limit,
            exit,
            terminations,
        }
    }

    /// Delivers `vd` (anything but a message) to `v`; see [`Kernel::deliver_with`].
    pub(super) fn deliver(&mut self, v: VatId, vd: VatDelivery, report: &mut CrankReport) {
        self.deliver_with(v, vd, None, report)
    }

    /// Delivers `vd` to `v` and applies the outcome: commit-ready state on success; on an
    /// illegal syscall or a failed delivery, the crank is aborted and the vat terminated.
    /// A message (`undo` given) that fails by a resource limit is rolled back instead
    /// (see [`Kernel::roll_back_message`]).
    pub(super) fn deliver_with(
        &mut self,
        v: VatId,
        vd: VatDelivery,
        undo: Option<Undo<'_>>,
        report: &mut CrankReport,
    ) {
        report.kind = CrankKind::Delivery {
            vat: v,
            delivery: vd.name(),
        };
        let mut worker = match self.worker(v) {
            Ok(w) => w,
            // Building and replaying a worker is this node's business: its failure is not
            // the vat's fault, and other nodes do not have it (see `Kernel::halted`).
            Err(why) => {
                self.halt(why.to_string());
                return;
            }
        };
        let allowance = undo.as_ref().and_then(|u| u.msg.allowance);
        let run = self.run_delivery(v, worker.as_mut(), &vd, allowance);
        report.computrons = run.computrons;
        self.keep_worker(v, worker);
        if let Some(why) = run.failure {
            if let (true, Some(undo)) = (run.by_limit, undo) {
                self.roll_back_message(v, undo, &why, report);
                return;
            }
            let rejection = capdata::error(&format!("vat terminated: {why}"));
            self.abort_and_terminate(v, &why, &rejection, report);
            return;
        }
        self.apply_terminations(run.terminations);
        if run.exit.is_none() {
            self.record_delivery(v, vd, run.records, run.computrons);
        }
        if let Some(exit) = run.exit {
            let why = if exit.failure {
                "vat exited with failure"
            } else {
                "vat exited"
            };
            if exit.failure {
                // The info may name objects allocated by the crank being rolled back; then
                // only a plain error can survive the abort.
                let info = exit.info;
                let survives = |st: &KState| info.slots.iter().all(|k| st.kref_exists(*k));
                self.st.store.abort_crank();
                let rejection = if survives(&self.st) {
                    info
                } else {
                    capdata::error("vat exited with failure (its exit info named objects of the aborted crank)")
                };
                self.abort_and_terminate(v, why, &rejection, report);
            } else {
                self.drop_worker(v);
                self.st.notify_vat_admin(v, false, &exit.info);
                self.st.terminate_vat(v);
                report.terminated = Some((v, why.to_string()));
            }
        }
    }

    /// Applies the outcome of a delivery that must succeed outright (an upgrade's
    /// bringOutYourDead and the new incarnation's startVat): recorded in the transcript if
    /// it did; otherwise why not, and the caller unwinds the whole upgrade. Asking to exit
    /// or to terminate other vats is a failure here (`exiting` says what was asked when).
    pub(crate) fn keep_or_refuse(
        &mut self,
        v: VatId,
        vd: VatDelivery,
        run: DeliveryRun,
        exiting: &str,
    ) -> Result<(), String> {
        if let Some(why) = run.failure {
            return Err(why);
        }
        if run.exit.is_some() || !run.terminations.is_empty() {
            return Err(exiting.to_string());
        }
        self.record_delivery(v, vd, run.records, run.computrons);
        Ok(())
    }

    /// Appends a delivery that succeeded to the vat's current span.
    fn record_delivery(
        &mut self,
        v: VatId,
        vd: VatDelivery,
        records: Vec<crate::transcript::SyscallRecord>,
        computrons: u64,
    ) {
        let item = TranscriptItem {
            d: vd,
            sc: records,
            computrons,
        };
        self.st.append_transcript(v, &item);
    }

    /// Undoes a message delivery that reached a resource limit, as if the message had been
    /// refused at the door: the vat's state goes back to before it (kernel state by the
    /// crank savepoint; the worker, whose heap the delivery changed, is rebuilt from the
    /// transcript, where the failed delivery was never recorded), the result is rejected
    /// with the reason, and the message's holds are released. The rebuild is charged to
    /// the crank at the span's recorded cost.
    ///
    /// Why a limit is not the vat's fault: how much a message costs depends on what it
    /// carries, so the sender, not the receiver, chose to reach the limit. The line
    /// (docs/ARCHITECTURE.md, "Where the line is drawn"): messages roll back; every other
    /// delivery (startVat, notify, GC, bringOutYourDead) runs the vat's own code on the
    /// vat's own schedule and still terminates it.
    fn roll_back_message(&mut self, v: VatId, undo: Undo<'_>, why: &str, report: &mut CrankReport) {
        self.st.store.rollback_to(undo.sp);
        self.drop_worker(v);
        match self.build_worker(v) {
            Ok((worker, cost)) => {
                report.computrons = report.computrons.saturating_add(cost);
                self.keep_worker(v, worker);
            }
            Err(e) => {
                self.halt(e.to_string());
                return;
            }
        }
        tracing::info!(vat = %v, reason = why, "message rolled back at a resource limit");
        let reason = capdata::error(&format!("the message was rolled back: {why}"));
        self.splat(undo.target, undo.msg, &reason);
        report.rolled_back = Some((v, why.to_string()));
    }

    /// Terminates the vats a delivery asked to end (vat-admin's `terminateWithFailure`).
    fn apply_terminations(&mut self, terminations: Vec<(VatId, KCapData)>) {
        for (t, reason) in terminations {
            if self.st.vat_is_live(t) {
                self.st.notify_vat_admin(t, true, &reason);
                self.drop_worker(t);
                self.st.terminate_vat(t);
            }
        }
    }

    /// Rolls the whole crank back (the event stays queued and will find the vat dead) and
    /// terminates `v`.
    fn abort_and_terminate(
        &mut self,
        v: VatId,
        why: &str,
        rejection: &KCapData,
        report: &mut CrankReport,
    ) {
        tracing::warn!(vat = %v, reason = why, "terminating vat");
        self.st.store.abort_crank();
        self.st.maybe_free.clear();
        self.drop_worker(v);
        self.st.notify_vat_admin(v, true, rejection);
        self.st.terminate_vat(v);
        report.terminated = Some((v, why.to_string()));
    }
}

//! The crank loop: choosing the next unit of work (routing, GC, reaping, the two lanes),
//! routing sends to their targets, and turning queue events into deliveries. What a
//! delivery's outcome does is in [`super::outcome`].

use super::outcome::Undo;
use super::{CrankKind, CrankReport, Kernel, RunBudget, RunReport};
use crate::capdata;
use crate::events::{KCapData, KMessage, KernelEvent};
use crate::refs::{KRef, VatId};
use crate::state::gc::GcStep;
use crate::state::keys;
use crate::state::promises::PromiseState;
use crate::worker::VatDelivery;

/// The next unit of work, in upstream's priority order.
enum Work {
    Accept(KernelEvent),
    Gc(crate::state::gc::GcDelivery),
    GcNegated,
    Reap(VatId),
    /// A send from the host: delivered now if its target is a live object, else routed.
    Host(KernelEvent),
    Run(KernelEvent),
}

impl Kernel {
    /// Runs cranks until there is no work left or `budget` is spent.
    pub fn run(&mut self, budget: RunBudget) -> RunReport {
        let mut report = RunReport::default();
        loop {
            if self.halted.is_some() {
                return report;
            }
            if report.computrons >= budget.computrons || report.cranks >= budget.cranks {
                report.idle = !self.has_work();
                return report;
            }
            let Some(crank) = self.step() else {
                report.idle = true;
                return report;
            };
            report.cranks += 1;
            // Every crank costs something (routing, GC, a dead target's splat), so a block
            // budget bounds the number of cranks, not only the JS work.
            report.computrons += crank.computrons.max(1);
            if matches!(crank.kind, CrankKind::Delivery { .. }) {
                report.deliveries += 1;
            }
            report.terminated.extend(crank.terminated);
            report.rolled_back.extend(crank.rolled_back);
        }
    }

    /// Whether any queue holds work.
    pub fn has_work(&self) -> bool {
        self.st.queue_len(keys::ACCEPTANCE_QUEUE) > 0
            || self.st.queue_len(keys::RUN_QUEUE) > 0
            || self.st.queue_len(keys::HOST_QUEUE) > 0
            || !self.st.gc_actions().is_empty()
            || !self.st.reap_queue().is_empty()
    }

    fn next_work(&mut self) -> Option<Work> {
        if let Some(ev) = self.st.pop_acceptance() {
            return Some(Work::Accept(ev));
        }
        match self.st.next_gc_step() {
            GcStep::Deliver(d) => return Some(Work::Gc(d)),
            GcStep::Negated => return Some(Work::GcNegated),
            GcStep::Idle => {}
        }
        let mut reap = self.st.reap_queue();
        if !reap.is_empty() {
            let v = reap.remove(0);
            self.st.set_reap_queue(&reap);
            return Some(Work::Reap(v));
        }
        // Two lanes take turns: the host's sends (clients' txs) and the run-queue (work
        // vats made, carried over from earlier blocks). While both hold work they
        // alternate, so neither a vat that feeds itself forever nor a flood of txs can take
        // every delivery of a block. Whose turn it is lives in `laneTurn` (consensus
        // state, so every node, restarted or not, takes the same turns), written only when
        // both lanes compete.
        if self.st.queue_len(keys::HOST_QUEUE) == 0 {
            return self.st.pop_run().map(Work::Run);
        }
        if self.st.queue_len(keys::RUN_QUEUE) == 0 {
            return self.st.pop_host().map(Work::Host);
        }
        // A host send to a vat that has not started waits (its lane with it, keeping the
        // host's order) until the vat's startVat, which is in the run-queue, has run.
        if !self.host_head_ready() {
            return self.st.pop_run().map(Work::Run);
        }
        let host_turn = self.st.get(keys::LANE_TURN).as_deref() != Some("run");
        self.st
            .set(keys::LANE_TURN, if host_turn { "run" } else { "host" });
        if host_turn {
            self.st.pop_host().map(Work::Host)
        } else {
            self.st.pop_run().map(Work::Run)
        }
    }

    /// Whether the host lane's head may go now: anything but a send to a live vat that
    /// has not started yet.
    fn host_head_ready(&self) -> bool {
        match self.st.peek_host() {
            Some(KernelEvent::Send { target, .. }) if target.is_object() => {
                match self.st.object_owner(target) {
                    Some(o) if self.st.vat_is_live(o) => self.vat_started(o),
                    _ => true,
                }
            }
            _ => true,
        }
    }

    /// Whether `v`'s current incarnation has had its `startVat`.
    fn vat_started(&self, v: VatId) -> bool {
        self.st
            .current_span(v)
            .is_some_and(|s| s.end_pos > s.start_pos)
    }

    /// Runs one crank; `None` when there was no work.
    ///
    /// # Panics
    /// On a kernel whose DB awaits migration: the host must migrate first (a host bug; it
    /// stops the node rather than run cranks over a DB of another schema).
    pub fn step(&mut self) -> Option<CrankReport> {
        assert!(
            !self.pending,
            "host bug: a crank was asked of a kernel whose DB awaits migration"
        );
        debug_assert!(!self.st.store.crank_is_dirty(), "a crank is already open");
        if self.halted.is_some() {
            return None;
        }
        let work = self.next_work()?;
        let mut report = CrankReport {
            kind: CrankKind::NoDelivery,
            computrons: 0,
            terminated: None,
            rolled_back: None,
        };
        match work {
            Work::Accept(ev) => {
                self.route(ev);
                report.kind = CrankKind::Routed;
            }
            Work::GcNegated => {}
            Work::Gc(gc) => {
                let vd = self.st.translate_gc(&gc);
                self.deliver(gc.vat, vd, &mut report);
            }
            Work::Reap(v) => {
                if self.st.vat_is_live(v) {
                    self.st.set_u64(&keys::vat_reap_dirt(v), 0);
                    self.deliver(v, VatDelivery::BringOutYourDead, &mut report);
                }
            }
            Work::Host(ev) => self.process_host(ev, &mut report),
            Work::Run(ev) => self.process(ev, &mut report),
        }
        self.end_crank();
        // A node-local failure struck this crank: none of it happened (end_crank aborted
        // it; the event it took stays queued), so a restart runs it as every other node does.
        if self.halted.is_some() {
            return None;
        }
        Some(report)
    }

    /// Halts the kernel if a read of the store failed (the read answered "absent", so what
    /// the crank computed from it must not stand).
    pub(crate) fn check_store(&mut self) {
        if let Some(f) = self.st.store.read_fault() {
            self.halt(format!("the store could not be read: {f}"));
        }
    }

    /// Ends the crank: commits it into the block, unless the kernel halted during it (a
    /// node-local failure, a failed store read), when none of it happened.
    pub(crate) fn end_crank(&mut self) {
        self.check_store();
        if self.halted.is_some() {
            self.st.store.abort_crank();
            self.st.maybe_free.clear();
            return;
        }
        debug_assert!(
            !self.pending,
            "a crank ended on a kernel awaiting migration"
        );
        self.st.process_refcounts();
        let n = self.st.get_u64(keys::CRANK_NUMBER).unwrap_or(0);
        self.st.set_u64(keys::CRANK_NUMBER, n + 1);
        self.st.store.commit_crank();
    }

    /// Routes an acceptance-queue event: sends find their target (or wait on a promise, or
    /// fail), everything else moves to the run-queue.
    fn route(&mut self, ev: KernelEvent) {
        let KernelEvent::Send { target, msg } = ev else {
            self.st.push_run(&ev);
            return;
        };
        match target {
            KRef::Object(_) => match self.st.object_owner(target) {
                Some(owner) if self.st.vat_is_live(owner) => {
                    self.st.push_run(&KernelEvent::Send { target, msg })
                }
                _ => {
                    let why = crate::state::KState::orphan_rejection();
                    self.splat(target, &msg, &why);
                }
            },
            KRef::Promise(_) => match self.st.promise_state(target) {
                Some(PromiseState::Unresolved { decider }) => {
                    let pipelined = decider.is_some_and(|d| {
                        self.st.vat_is_live(d)
                            && self.st.vat_options(d).is_some_and(|o| o.enable_pipelining)
                    });
                    if pipelined {
                        self.st.push_run(&KernelEvent::Send { target, msg });
                    } else {
                        self.st.enqueue_on_promise(target, &msg);
                    }
                }
                Some(PromiseState::Fulfilled(data)) => match capdata::single_presence(&data) {
                    Some(obj) => {
                        // Retarget to the presence the promise became; the hold moves.
                        let obj = *obj;
                        self.st.incref(obj, true);
                        self.st.decref(target, true);
                        self.route(KernelEvent::Send { target: obj, msg });
                    }
                    None => self.splat(
                        target,
                        &msg,
                        &capdata::error("cannot send a message to a promise fulfilled to data"),
                    ),
                },
                Some(PromiseState::Rejected(data)) => self.splat(target, &msg, &data),
                None => panic!("queued send to missing promise {target}"),
            },
        }
    }

    /// A host send's crank: to a live object of a vat that has started it is delivered
    /// at once (skipping the run-queue, which is the other lane); anything else is routed
    /// as any send is (a vat not yet started gets it after its `startVat`, which waits in
    /// the run-queue).
    fn process_host(&mut self, ev: KernelEvent, report: &mut CrankReport) {
        let deliverable = match &ev {
            KernelEvent::Send { target, .. } if target.is_object() => self
                .st
                .object_owner(*target)
                .is_some_and(|o| self.st.vat_is_live(o) && self.vat_started(o)),
            _ => false,
        };
        if deliverable {
            self.process(ev, report);
        } else {
            self.route(ev);
            report.kind = CrankKind::Routed;
        }
    }

    /// A message that cannot be delivered: its result (if any) is rejected with `reason`
    /// and its holds are released.
    pub(super) fn splat(&mut self, target: KRef, msg: &KMessage, reason: &KCapData) {
        if let Some(kp) = msg.result {
            if self.st.promise_state(kp).is_some_and(|s| s.is_unresolved()) {
                self.st.settle_promise(kp, true, reason);
            }
        }
        self.st.decref(target, true);
        for k in msg.krefs().collect::<Vec<_>>() {
            self.st.decref(k, true);
        }
    }

    /// Processes a run-queue event.
    fn process(&mut self, ev: KernelEvent, report: &mut CrankReport) {
        match ev {
            KernelEvent::Send { target, msg } => {
                let receiver = match target {
                    KRef::Object(_) => self
                        .st
                        .object_owner(target)
                        .filter(|o| self.st.vat_is_live(*o)),
                    KRef::Promise(_) => match self.st.promise_state(target) {
                        Some(PromiseState::Unresolved { decider: Some(d) })
                            if self.st.vat_is_live(d) =>
                        {
                            Some(d)
                        }
                        _ => {
                            // Settled (or its decider gone) since routing: route it again.
                            self.st.push_acceptance(&KernelEvent::Send { target, msg });
                            return;
                        }
                    },
                };
                match receiver {
                    None => {
                        let why = crate::state::KState::orphan_rejection();
                        self.splat(target, &msg, &why);
                    }
                    Some(v) => {
                        // Where a message that reaches a resource limit is rolled back
                        // to: the event popped, nothing of its delivery done.
                        let sp = self.st.store.savepoint();
                        let vd = self.st.translate_message(v, target, &msg);
                        let undo = Undo {
                            sp,
                            target,
                            msg: &msg,
                        };
                        self.deliver_with(v, vd, Some(undo), report);
                        self.add_reap_dirt(v);
                    }
                }
            }
            KernelEvent::Notify { vat_id, kpid } => {
                if !self.st.vat_is_live(vat_id) {
                    self.st.decref(kpid, true);
                    return;
                }
                if let Some(vd) = self.st.translate_notify(vat_id, kpid) {
                    self.deliver(vat_id, vd, report);
                    self.add_reap_dirt(vat_id);
                }
            }
            KernelEvent::StartVat { vat_id } => {
                if self.st.vat_is_live(vat_id) {
                    let vd = self.st.translate_start_vat(vat_id);
                    self.deliver(vat_id, vd, report);
                }
            }
            KernelEvent::UpgradeVat {
                vat_id,
                upgrade_id,
                request,
            } => self.process_upgrade_event(vat_id, upgrade_id, request, report),
        }
    }

    pub(super) fn add_reap_dirt(&mut self, v: VatId) {
        if !self.st.vat_is_live(v) {
            return;
        }
        let dirt = self.st.get_u64(&keys::vat_reap_dirt(v)).unwrap_or(0) + 1;
        self.st.set_u64(&keys::vat_reap_dirt(v), dirt);
        let interval = self
            .st
            .vat_options(v)
            .and_then(|o| o.reap_interval)
            .unwrap_or_else(|| self.default_reap_interval());
        if dirt >= interval {
            let mut q = self.st.reap_queue();
            if !q.contains(&v) {
                q.push(v);
                self.st.set_reap_queue(&q);
            }
        }
    }
}

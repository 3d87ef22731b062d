//! Kernel → vat translation: what a run-queue event or GC action becomes in the vat's own
//! names. Translation creates import entries as needed and releases the holds of the event
//! being delivered.

use crate::events::{KCapData, KMessage};
use crate::refs::{KRef, VatId};
use crate::state::gc::{GcDelivery, GcKind};
use crate::state::promises::PromiseState;
use crate::state::KState;
use crate::worker::{VCapData, VResolution, VatDelivery};

impl KState {
    fn capdata_for_vat(&mut self, v: VatId, data: &KCapData) -> VCapData {
        VCapData {
            body: data.body.clone(),
            slots: data
                .slots
                .iter()
                .map(|k| self.map_kernel_to_vat(v, *k, true).to_string())
                .collect(),
        }
    }

    /// Translates a message to `v` (the owner of `target`, or its decider when pipelining)
    /// and releases the holds the queued event had.
    pub(crate) fn translate_message(
        &mut self,
        v: VatId,
        target: KRef,
        msg: &KMessage,
    ) -> VatDelivery {
        let t = self.map_kernel_to_vat(v, target, true).to_string();
        let methargs = self.capdata_for_vat(v, &msg.methargs);
        let result = msg.result.map(|kp| {
            // The recipient now decides the result.
            self.set_decider(kp, Some(v));
            self.map_kernel_to_vat(v, kp, true).to_string()
        });
        self.decref(target, true);
        for k in msg.krefs().collect::<Vec<_>>() {
            self.decref(k, true);
        }
        VatDelivery::Message {
            target: t,
            methargs,
            result,
        }
    }

    /// The settled promises a notify of `root` resolves for the vat: `root` and, transitively,
    /// every settled promise its data mentions (upstream `getKpidsToRetire`), first seen
    /// first.
    pub(crate) fn kpids_to_retire(&self, root: KRef) -> Vec<KRef> {
        let mut seen = vec![root];
        let mut i = 0;
        while i < seen.len() {
            if let Some(PromiseState::Fulfilled(d) | PromiseState::Rejected(d)) =
                self.promise_state(seen[i])
            {
                for s in d.slots {
                    if s.is_promise()
                        && !seen.contains(&s)
                        && self.promise_state(s).is_some_and(|p| !p.is_unresolved())
                    {
                        seen.push(s);
                    }
                }
            }
            i += 1;
        }
        seen
    }

    /// Translates a notify of settled `kpid` for `v`; `None` when the vat no longer knows
    /// the promise. Deletes the vat's entries for every promise it resolves, and releases
    /// the event's hold either way.
    pub(crate) fn translate_notify(&mut self, v: VatId, kpid: KRef) -> Option<VatDelivery> {
        let delivery = if self.clist_vref(v, kpid).is_some() {
            let targets = self.kpids_to_retire(kpid);
            let mut resolutions = Vec::with_capacity(targets.len());
            for k in &targets {
                let (rejected, data) = match self.promise_state(*k) {
                    Some(PromiseState::Fulfilled(d)) => (false, d),
                    Some(PromiseState::Rejected(d)) => (true, d),
                    other => panic!("notify of {k} in state {other:?}"),
                };
                let vpid = self.map_kernel_to_vat(v, *k, true).to_string();
                let data = self.capdata_for_vat(v, &data);
                resolutions.push(VResolution {
                    vpid,
                    rejected,
                    data,
                });
            }
            for k in &targets {
                self.delete_clist_entry(v, *k);
            }
            Some(VatDelivery::Notify { resolutions })
        } else {
            None
        };
        self.decref(kpid, true);
        delivery
    }

    /// Translates a GC action set for its vat, updating c-lists as upstream does.
    pub(crate) fn translate_gc(&mut self, gc: &GcDelivery) -> VatDelivery {
        let v = gc.vat;
        let mut vrefs = Vec::with_capacity(gc.krefs.len());
        for k in &gc.krefs {
            let (_, vref) = self
                .clist_vref(v, *k)
                .expect("gc action filtered to c-list entries");
            vrefs.push(vref.to_string());
            match gc.kind {
                GcKind::DropExports => self.clear_reachable_flag(v, *k),
                GcKind::RetireExports => {
                    self.delete_object(*k);
                    self.delete_clist_entry(v, *k);
                }
                GcKind::RetireImports => self.delete_clist_entry(v, *k),
            }
        }
        match gc.kind {
            GcKind::DropExports => VatDelivery::DropExports { vrefs },
            GcKind::RetireExports => VatDelivery::RetireExports { vrefs },
            GcKind::RetireImports => VatDelivery::RetireImports { vrefs },
        }
    }

    /// Translates `startVat`: the vat parameters' slots become imports.
    pub(crate) fn translate_start_vat(&mut self, v: VatId) -> VatDelivery {
        let params = self.vat_parameters(v);
        VatDelivery::StartVat {
            vat_parameters: self.capdata_for_vat(v, &params),
        }
    }
}

//! Garbage collection across vats: end-of-crank refcount processing and the scheduling of
//! GC deliveries (`dropExports`, `retireExports`, `retireImports`), in upstream's order
//! (reference §3).

use crate::refs::{KRef, VatId};
use crate::state::KState;

/// A GC delivery chosen from `gcActions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GcDelivery {
    pub(crate) vat: VatId,
    pub(crate) kind: GcKind,
    /// Sorted as strings, as the action set is.
    pub(crate) krefs: Vec<KRef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GcKind {
    DropExports,
    RetireExports,
    RetireImports,
}

impl GcKind {
    fn parse(s: &str) -> Option<GcKind> {
        match s {
            "dropExport" => Some(GcKind::DropExports),
            "retireExport" => Some(GcKind::RetireExports),
            "retireImport" => Some(GcKind::RetireImports),
            _ => None,
        }
    }
}

/// What the GC scheduler found.
pub(crate) enum GcStep {
    /// Nothing pending.
    Idle,
    /// Only obsolete actions were pending; they were removed (a crank of its own).
    Negated,
    Deliver(GcDelivery),
}

impl KState {
    /// Vats whose c-list names `k` as an import, in vat order.
    pub(crate) fn importers_of(&self, k: KRef) -> Vec<VatId> {
        self.live_vats()
            .into_iter()
            .filter(|v| {
                self.clist_vref(*v, k)
                    .is_some_and(|(_, vref)| !vref.is_export())
            })
            .collect()
    }

    /// Deletes an object that no one can reach any more, telling each vat that can still
    /// recognise it to retire its import.
    pub(crate) fn retire_kernel_object(&mut self, k: KRef) {
        for v in self.importers_of(k) {
            self.add_gc_action(v, "retireImport", k);
        }
        self.delete_object(k);
    }

    /// Frees what reached zero this crank. Runs until no new candidates appear (upstream
    /// TODO #9888: freeing a promise can release the last hold on others).
    pub(crate) fn process_refcounts(&mut self) {
        while !self.maybe_free.is_empty() {
            let batch = std::mem::take(&mut self.maybe_free);
            for k in batch {
                match k {
                    KRef::Promise(_) => {
                        if self.promise_refcount(k) == Some(0) {
                            self.delete_promise(k);
                        }
                    }
                    KRef::Object(_) => self.maybe_free_object(k),
                }
            }
        }
    }

    fn maybe_free_object(&mut self, k: KRef) {
        let Some(rc) = self.object_refcount(k) else {
            return;
        };
        if rc.reachable > 0 {
            return;
        }
        match self.object_owner(k) {
            Some(owner) if self.vat_is_live(owner) => {
                if self.clist_vref(owner, k).is_some_and(|(r, _)| r) {
                    self.add_gc_action(owner, "dropExport", k);
                }
                if rc.recognizable == 0 {
                    self.add_gc_action(owner, "retireExport", k);
                }
            }
            _ => {
                if rc.recognizable > 0 {
                    self.retire_kernel_object(k);
                } else {
                    self.delete_object(k);
                }
            }
        }
    }

    /// Picks the next GC delivery: vats in string order, then dropExport, retireExport,
    /// retireImport (which is also string order). Actions made obsolete since they were
    /// queued are dropped ("negated").
    pub(crate) fn next_gc_step(&mut self) -> GcStep {
        let mut actions = self.gc_actions();
        if actions.is_empty() {
            return GcStep::Idle;
        }
        let parsed: Vec<(String, VatId, GcKind, KRef)> = actions
            .iter()
            .map(|a| {
                let mut it = a.split(' ');
                let (v, t, k) = (it.next(), it.next(), it.next());
                let v = v.and_then(|v| v.parse().ok());
                let t = t.and_then(GcKind::parse);
                let k = k.and_then(|k| k.parse().ok());
                match (v, t, k) {
                    (Some(v), Some(t), Some(k)) => (a.clone(), v, t, k),
                    _ => panic!("malformed gcActions entry {a:?}"),
                }
            })
            .collect();
        // The set is sorted as strings, so each (vat, type) group is contiguous.
        for group in parsed.chunk_by(|a, b| a.1 == b.1 && a.2 == b.2) {
            for (a, ..) in group {
                actions.remove(a);
            }
            let (vat, kind) = (group[0].1, group[0].2);
            let krefs: Vec<KRef> = group
                .iter()
                .map(|(_, _, _, k)| *k)
                .filter(|k| self.gc_action_still_needed(vat, kind, *k))
                .collect();
            if !krefs.is_empty() {
                self.set_gc_actions(&actions);
                return GcStep::Deliver(GcDelivery { vat, kind, krefs });
            }
        }
        self.set_gc_actions(&actions);
        GcStep::Negated
    }

    fn gc_action_still_needed(&self, v: VatId, kind: GcKind, k: KRef) -> bool {
        if !self.vat_is_live(v) {
            return false;
        }
        let entry = self.clist_vref(v, k);
        match kind {
            GcKind::DropExports => {
                let rc = self.object_refcount(k);
                rc.is_some_and(|rc| rc.reachable == 0) && entry.is_some_and(|(r, _)| r)
            }
            GcKind::RetireExports => {
                let rc = self.object_refcount(k);
                rc.is_some_and(|rc| rc.reachable == 0 && rc.recognizable == 0) && entry.is_some()
            }
            GcKind::RetireImports => entry.is_some(),
        }
    }
}

//! Vat termination: everything the kernel holds for a dead vat is released at once.
//!
//! Order (reference §4, with upstream #10261 fixed): reject the promises the vat decides,
//! orphan its exports, delete its imports, delete *and decref* its promise entries, release
//! its vat parameters, then delete every remaining `vN.` key.
//!
//! What others observe is upstream's: the promises it decided reject with
//! `Error('vat terminated')`, as do sends to its exports; only vat-admin's `done()` promise
//! carries the termination's own reason (`KState::notify_vat_admin`).

use crate::refs::{KRef, VatId};
use crate::state::promises::PromiseState;
use crate::state::{keys, KState};

impl KState {
    /// Terminates `v`, rejecting its decided promises with `Error('vat terminated')`.
    /// Returns false if the vat was not live.
    pub(crate) fn terminate_vat(&mut self, v: VatId) -> bool {
        if !self.vat_is_live(v) {
            return false;
        }
        let rejection = &KState::orphan_rejection();
        let clist = keys::clist_prefix(v);
        // 0. The kernel's hold on the vat's root goes with the vat.
        if let Some(root) = self.clist_kref(v, "o+0") {
            self.decref(root, true);
        }
        // 1. Promises it decides, in vref order (p+ before p-), as upstream scans them.
        for (_, kref) in self.scan(&format!("{clist}p")) {
            let k: KRef = kref.parse().expect("c-list holds krefs");
            if let Some(PromiseState::Unresolved { decider: Some(d) }) = self.promise_state(k) {
                if d == v {
                    self.settle_promise(k, true, rejection);
                }
            }
        }
        // 2. Exports lose their owner.
        for (_, kref) in self.scan(&format!("{clist}o+")) {
            let k: KRef = kref.parse().expect("c-list holds krefs");
            self.delete_clist_entry(v, k);
            self.orphan_object(k);
        }
        // 3. Imports and promise entries release what they counted.
        for (_, kref) in self.scan(&format!("{clist}o-")) {
            let k: KRef = kref.parse().expect("c-list holds krefs");
            self.delete_clist_entry(v, k);
        }
        for (_, kref) in self.scan(&format!("{clist}p")) {
            let k: KRef = kref.parse().expect("c-list holds krefs");
            self.delete_clist_entry(v, k);
        }
        // 4. Vat parameters held refcounts.
        for slot in self.vat_parameters(v).slots {
            self.decref(slot, true);
        }
        // 5. Everything else: vatstore, options, counters. The name is freed.
        let name = self.vat_options(v).map(|o| o.name);
        self.delete_prefix(&keys::vat_prefix(v));
        self.delete_transcripts(v);
        if let Some(name) = name {
            if self.vat_id_by_name(&name) == Some(v) {
                self.del(&keys::vat_name(&name));
            }
            let mut names: Vec<String> = self.get_json(keys::VAT_NAMES).unwrap_or_default();
            names.retain(|n| *n != name);
            self.set_json(keys::VAT_NAMES, &names);
        }
        let mut dynamic: Vec<VatId> = self.get_json(keys::VAT_DYNAMIC_IDS).unwrap_or_default();
        if dynamic.contains(&v) {
            dynamic.retain(|d| *d != v);
            self.set_json(keys::VAT_DYNAMIC_IDS, &dynamic);
        }
        let mut reap = self.reap_queue();
        if reap.contains(&v) {
            reap.retain(|d| *d != v);
            self.set_reap_queue(&reap);
        }
        let mut dead = self.terminated_vats();
        dead.push(v);
        self.set_json(keys::VATS_TERMINATED, &dead);
        true
    }
}

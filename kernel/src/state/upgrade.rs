//! The state changes of retiring an incarnation (the steps of `crate::upgrade` that touch
//! kernel tables): rejecting the promises the vat decided, abandoning its non-durable
//! exports, and the next incarnation's source, parameters and span.

use crate::events::{KCapData, UpgradeRequest};
use crate::refs::{KRef, VRef, VatId};
use crate::state::promises::PromiseState;
use crate::state::{keys, KState};
use crate::store::Cf;
use crate::worker::VatSource;

impl KState {
    /// Keys of `v`'s c-list entries for vrefs in `[from, to)` (vref-keyed entries).
    fn clist_range(&self, v: VatId, from: &str, to: Option<&str>) -> Vec<(String, KRef)> {
        let start = keys::clist_v(v, from);
        let end = to
            .map(|t| keys::clist_v(v, t).into_bytes())
            .or_else(|| crate::store::prefix_end(start.as_bytes()));
        self.store
            .range(Cf::Kv, start.as_bytes(), end.as_deref())
            .into_iter()
            .filter_map(|(k, val)| {
                let k = String::from_utf8(k).ok()?;
                let vref = k.strip_prefix(&keys::clist_prefix(v))?.to_string();
                Some((vref, String::from_utf8(val).ok()?.parse().ok()?))
            })
            .collect()
    }

    /// Step 2a: rejects the unresolved promises `v` decides, in vref order (`p+` before
    /// `p-`, as upstream scans them). `leak` keeps every entry, as the v2 kernel did
    /// (upstream #9039; only the `legacy-v2` build asks for it).
    pub(crate) fn reject_decided_promises(
        &mut self,
        v: VatId,
        why: &KCapData,
        leak: bool,
    ) -> Vec<KRef> {
        let mut rejected = Vec::new();
        for (_, k) in self.clist_range(v, "p", None) {
            let Some(PromiseState::Unresolved { decider: Some(d) }) = self.promise_state(k) else {
                continue;
            };
            if d != v {
                continue;
            }
            let self_subscribed = self.subscribers(k).contains(&v);
            self.settle_promise(k, true, why);
            if !self_subscribed && !leak {
                // Seed 001: the old incarnation's entry must not outlive it.
                self.delete_clist_entry(v, k);
            }
            rejected.push(k);
        }
        rejected
    }

    /// Step 2b: abandons `v`'s non-durable exports. The scan skips durable `o+d…` entries,
    /// so its cost does not grow with the number of durable objects others hold.
    pub(crate) fn abandon_non_durable_exports(&mut self, v: VatId) -> Vec<(String, KRef)> {
        let mut entries = self.clist_range(v, "o+", Some("o+d"));
        entries.extend(self.clist_range(v, "o+v", None));
        let mut abandoned = Vec::new();
        for (vref, k) in entries {
            let durable = VRef::parse(&vref).is_ok_and(|r| r.is_durable_export());
            if durable {
                continue;
            }
            self.delete_clist_entry(v, k);
            self.orphan_object(k);
            abandoned.push((vref, k));
        }
        abandoned
    }

    /// Step 2c: releases the imports only the old incarnation's heap held: every `o-` entry
    /// of `v`'s c-list that no stored data names. Liveslots counts every import that
    /// virtual or durable data holds (`vom.rc.<vref>` in the vatstore, written as the data
    /// changes); the new incarnation starts with an empty heap, so the rest it can never
    /// name. Dropping and retiring them here is what the old incarnation's last
    /// bringOutYourDead would have done for the dead ones, and more (the live ones too),
    /// without running any of its code. An import that a weak store still recognizes (a
    /// `vom.ir.<vref>` record: the store's key, not a reference) is only dropped: the
    /// new incarnation retires it when the last such entry goes, or forgets the entries
    /// when the kernel retires it. Returns them (vref, kernel object) in vref order.
    pub(crate) fn release_heap_only_imports(&mut self, v: VatId) -> Vec<(String, KRef)> {
        let mut released = Vec::new();
        for (vref, k) in self.clist_range(v, "o-", Some("o.")) {
            if self
                .get(&keys::vatstore(v, &format!("vom.rc.{vref}")))
                .is_some()
            {
                continue;
            }
            self.clear_reachable_flag(v, k);
            if self
                .get(&keys::vatstore(v, &format!("vom.ir.{vref}")))
                .is_none()
            {
                self.delete_clist_entry(v, k);
            }
            released.push((vref, k));
        }
        released
    }

    /// Step 3: source, parameters and a new transcript span for the next incarnation.
    pub(crate) fn begin_incarnation(&mut self, v: VatId, req: &UpgradeRequest) -> u64 {
        let next = self.roll_over_incarnation(v, &req.bundle_id);
        self.set_json(
            &keys::vat_source(v),
            &VatSource {
                bundle_id: req.bundle_id.clone(),
            },
        );
        for k in &req.vat_parameters.slots {
            self.incref(*k, true);
        }
        for k in self.vat_parameters(v).slots {
            self.decref(k, true);
        }
        self.set_json(&keys::vat_parameters(v), &req.vat_parameters);
        next
    }
}

//! Kernel promises (`kpN`): state, decider, subscribers, queued messages, resolution.

use super::{keys, KState};
use crate::events::{KCapData, KMessage, KernelEvent};
use crate::refs::{KRef, VatId};

/// First kernel promise id (upstream's numbering).
const FIRST_KP: u64 = 40;

/// Where a promise stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromiseState {
    /// Not yet settled; `decider` is the vat that may resolve it (`None`: the kernel).
    Unresolved {
        decider: Option<VatId>,
    },
    Fulfilled(KCapData),
    Rejected(KCapData),
}

impl PromiseState {
    pub fn is_unresolved(&self) -> bool {
        matches!(self, PromiseState::Unresolved { .. })
    }
}

impl KState {
    /// A new unresolved promise with refCount 0.
    pub(crate) fn add_kernel_promise(&mut self, decider: Option<VatId>) -> KRef {
        let k = KRef::Promise(self.allocate(keys::KP_NEXT_ID, FIRST_KP));
        // A fresh kpid: no committed key names it.
        self.set_new(&keys::kp_state(k), "unresolved");
        self.set_new(&keys::refcount(k), "0");
        self.set_new(&keys::kp_decider(k), &decider_text(decider));
        self.set_new(&keys::kp_subscribers(k), "");
        // Nor has it a message queue yet: reads of the counter until then stay in memory.
        self.note_absent(&keys::kp_queue_next(k));
        k
    }

    pub(crate) fn promise_state(&self, k: KRef) -> Option<PromiseState> {
        // `None` while unresolved, else whether it was rejected.
        let settled = self.read(&keys::kp_state(k), |s| match s {
            "unresolved" => None,
            "fulfilled" => Some(false),
            "rejected" => Some(true),
            other => panic!("{k}.state holds {other:?}"),
        })?;
        Some(match settled {
            None => PromiseState::Unresolved {
                decider: self.decider(k),
            },
            Some(false) => PromiseState::Fulfilled(self.promise_data(k)),
            Some(true) => PromiseState::Rejected(self.promise_data(k)),
        })
    }

    /// Primes the store's read cache with the committed records of `ks` (in key order, as
    /// a c-list lists them), before work that reads most of their keys (see
    /// [`crate::store::Store::prefetch`]).
    pub(crate) fn prefetch_promises(&self, ks: &[KRef]) {
        let prefixes: Vec<Vec<u8>> = ks
            .iter()
            .map(|k| keys::kref_prefix(*k).into_bytes())
            .collect();
        self.store.prefetch(&prefixes);
    }

    pub(crate) fn decider(&self, k: KRef) -> Option<VatId> {
        self.read(&keys::kp_decider(k), |d| {
            (!d.is_empty()).then(|| d.parse().expect("kpN.decider holds a vat id"))
        })?
    }

    pub(crate) fn set_decider(&mut self, k: KRef, decider: Option<VatId>) {
        self.set(&keys::kp_decider(k), &decider_text(decider));
    }

    pub(crate) fn subscribers(&self, k: KRef) -> Vec<VatId> {
        self.read(&keys::kp_subscribers(k), |subs| {
            subs.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().expect("kpN.subscribers holds vat ids"))
                .collect()
        })
        .unwrap_or_default()
    }

    pub(crate) fn add_subscriber(&mut self, k: KRef, v: VatId) {
        let mut subs = self.subscribers(k);
        if !subs.contains(&v) {
            subs.push(v);
            // Sorted as strings, as upstream keeps them.
            subs.sort_by_key(|v| v.to_string());
            let joined: Vec<String> = subs.iter().map(VatId::to_string).collect();
            self.set(&keys::kp_subscribers(k), &joined.join(","));
        }
    }

    fn promise_data(&self, k: KRef) -> KCapData {
        let body = self
            .get(&keys::kp_data_body(k))
            .expect("settled promise has data.body");
        let slots = self
            .get(&keys::kp_data_slots(k))
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("data.slots holds krefs"))
            .collect();
        KCapData { body, slots }
    }

    /// Parks a message on an unresolved promise (the message's holds move with it).
    pub(crate) fn enqueue_on_promise(&mut self, k: KRef, msg: &KMessage) {
        let n = self.allocate(&keys::kp_queue_next(k), 1);
        self.set_json(&keys::kp_queue_item(k, n), msg);
    }

    /// The keys of the messages parked on `k`, in arrival (and key) order: items
    /// `1..nextID` all exist until the promise settles, when they all go.
    fn promise_queue_keys(&self, k: KRef) -> Vec<String> {
        let next = self.get_u64(&keys::kp_queue_next(k)).unwrap_or(1);
        (1..next).map(|n| keys::kp_queue_item(k, n)).collect()
    }

    /// The messages parked on `k`, in arrival order (read only).
    pub(crate) fn promise_queue(&self, k: KRef) -> Vec<KMessage> {
        self.promise_queue_keys(k)
            .iter()
            .filter_map(|key| self.get(key))
            .map(|v| serde_json::from_str(&v).expect("queued message parses"))
            .collect()
    }

    /// Every key of `k`'s queue, the counter included, in key order.
    fn promise_queue_and_counter_keys(&self, k: KRef) -> Vec<String> {
        let mut all = self.promise_queue_keys(k);
        all.push(keys::kp_queue_next(k));
        all
    }

    /// Deletes the parked messages and the queue counter (point deletes, in key order,
    /// as a prefix delete would make them: the same writes, without a scan).
    fn delete_promise_queue(&mut self, k: KRef) {
        let doomed = self.promise_queue_and_counter_keys(k);
        self.delete_existing(doomed);
    }

    /// Settles `k`: records the data (which now holds its slots), queues a `notify` to every
    /// subscriber and moves every parked message back onto the acceptance queue, where it
    /// will be routed by the resolution.
    ///
    /// The caller has checked that `k` is unresolved and that the resolver may decide it.
    pub(crate) fn settle_promise(&mut self, k: KRef, rejected: bool, data: &KCapData) {
        let subscribers = self.subscribers(k);
        let queued = self.promise_queue(k);
        for slot in &data.slots {
            self.incref(*slot, true);
        }
        self.set(
            &keys::kp_state(k),
            if rejected { "rejected" } else { "fulfilled" },
        );
        // A promise settles once and has data keys only once settled, so no committed
        // state holds these yet.
        self.set_new(&keys::kp_data_body(k), &data.body);
        let slots: Vec<String> = data.slots.iter().map(KRef::to_string).collect();
        self.set_new(&keys::kp_data_slots(k), &slots.join(","));
        self.del(&keys::kp_decider(k));
        self.del(&keys::kp_subscribers(k));
        self.delete_promise_queue(k);
        for v in subscribers {
            self.incref(k, true);
            self.push_acceptance(&KernelEvent::Notify { vat_id: v, kpid: k });
        }
        for msg in queued {
            self.push_acceptance(&KernelEvent::Send { target: k, msg });
        }
    }

    /// Deletes a promise whose refCount reached zero, releasing what its data held.
    pub(crate) fn delete_promise(&mut self, k: KRef) {
        // Every key the promise can have in its state, in key order (the order a prefix
        // delete would use): see the key table. Settling deleted the decider, subscribers
        // and queue, and only settling writes data, so neither side needs the other's keys
        // looked up.
        let doomed = match self.promise_state(k) {
            Some(PromiseState::Fulfilled(data) | PromiseState::Rejected(data)) => {
                for slot in data.slots {
                    self.decref(slot, true);
                }
                vec![
                    keys::kp_data_body(k),
                    keys::kp_data_slots(k),
                    keys::refcount(k),
                    keys::kp_state(k),
                ]
            }
            _ => {
                // Parked messages cannot exist here (each one holds the promise as its
                // target), but the delete covers them anyway.
                let mut doomed = vec![keys::kp_decider(k)];
                doomed.extend(self.promise_queue_and_counter_keys(k));
                doomed.extend([
                    keys::refcount(k),
                    keys::kp_state(k),
                    keys::kp_subscribers(k),
                ]);
                doomed
            }
        };
        self.delete_existing(doomed);
        debug_assert!(
            self.scan(&keys::kref_prefix(k)).is_empty(),
            "{k} has keys the promise table does not list"
        );
    }
}

/// `kpN.decider`'s value: the vat id, or empty when the kernel decides.
fn decider_text(decider: Option<VatId>) -> String {
    decider.map(|v| v.to_string()).unwrap_or_default()
}

//! Persistent FIFOs (run-queue, acceptance-queue) and the small kernel-wide lists
//! (`gcActions`, `reapQueue`, the host's pins, `pin.<kref>`).

use std::collections::BTreeSet;

use super::{keys, KState};
use crate::events::KernelEvent;
use crate::refs::{KRef, VatId};

impl KState {
    /// A queue's `[head, tail]` (JSON, as upstream keeps it), read and written by hand:
    /// every crank reads several queues' bounds.
    fn bounds(&self, queue: &str) -> (u64, u64) {
        self.read(queue, |s| {
            s.strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.split_once(','))
                .and_then(|(h, t)| Some((h.trim().parse().ok()?, t.trim().parse().ok()?)))
                .expect("queue bounds are [head,tail]")
        })
        .unwrap_or((1, 1))
    }

    fn set_bounds(&mut self, queue: &str, head: u64, tail: u64) {
        self.set(queue, &format!("[{head},{tail}]"));
    }

    fn push(&mut self, queue: &str, ev: &KernelEvent) {
        let (head, tail) = self.bounds(queue);
        // Items live only in [head, tail): no committed item sits at the tail.
        let item = serde_json::to_string(ev).expect("kernel events serialize");
        self.set_new(&keys::queue_item(queue, tail), &item);
        self.set_bounds(queue, head, tail + 1);
    }

    fn pop(&mut self, queue: &str) -> Option<KernelEvent> {
        let (head, tail) = self.bounds(queue);
        if head == tail {
            return None;
        }
        let key = keys::queue_item(queue, head);
        let ev = self
            .get_json(&key)
            .expect("queue item between head and tail exists");
        self.del(&key);
        self.set_bounds(queue, head + 1, tail);
        Some(ev)
    }

    /// Every queued event, head first (read only: audits and migrations).
    pub(crate) fn queue_items(&self, queue: &str) -> Vec<KernelEvent> {
        let (head, tail) = self.bounds(queue);
        (head..tail)
            .map(|n| {
                self.get_json(&keys::queue_item(queue, n))
                    .expect("queue item between head and tail exists")
            })
            .collect()
    }

    pub(crate) fn queue_len(&self, queue: &str) -> u64 {
        let (head, tail) = self.bounds(queue);
        tail - head
    }

    pub(crate) fn push_run(&mut self, ev: &KernelEvent) {
        self.push(keys::RUN_QUEUE, ev);
    }
    pub(crate) fn pop_run(&mut self) -> Option<KernelEvent> {
        self.pop(keys::RUN_QUEUE)
    }
    pub(crate) fn pop_host(&mut self) -> Option<KernelEvent> {
        self.pop(keys::HOST_QUEUE)
    }
    /// The host lane's head, left in place.
    pub(crate) fn peek_host(&self) -> Option<KernelEvent> {
        let (head, tail) = self.bounds(keys::HOST_QUEUE);
        (head < tail).then(|| {
            self.get_json(&keys::queue_item(keys::HOST_QUEUE, head))
                .expect("queue item between head and tail exists")
        })
    }
    pub(crate) fn push_acceptance(&mut self, ev: &KernelEvent) {
        self.push(keys::ACCEPTANCE_QUEUE, ev);
    }

    /// Queues a new send to `target` on `queue` (the acceptance-queue, or the host lane
    /// for a client's tx: see `Kernel::next_work`),
    /// taking the holds a queued send keeps (see `KernelEvent`): one on its target and one
    /// on every kref its message names. The one place that rule is written for new sends.
    pub(crate) fn queue_send(&mut self, queue: &str, target: KRef, msg: crate::events::KMessage) {
        self.incref(target, true);
        for k in msg.krefs().collect::<Vec<_>>() {
            self.incref(k, true);
        }
        self.push(queue, &KernelEvent::Send { target, msg });
    }
    pub(crate) fn pop_acceptance(&mut self) -> Option<KernelEvent> {
        self.pop(keys::ACCEPTANCE_QUEUE)
    }

    /// Pending GC actions, `"vN dropExport|retireExport|retireImport koN"`, sorted.
    pub(crate) fn gc_actions(&self) -> BTreeSet<String> {
        self.get_json::<Vec<String>>(keys::GC_ACTIONS)
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    pub(crate) fn set_gc_actions(&mut self, actions: &BTreeSet<String>) {
        let list: Vec<&String> = actions.iter().collect();
        self.set_json(keys::GC_ACTIONS, &list);
    }

    pub(crate) fn add_gc_action(&mut self, v: VatId, kind: &str, k: KRef) {
        let mut actions = self.gc_actions();
        if actions.insert(format!("{v} {kind} {k}")) {
            self.set_gc_actions(&actions);
        }
    }

    pub(crate) fn reap_queue(&self) -> Vec<VatId> {
        self.get_json(keys::REAP_QUEUE).unwrap_or_default()
    }

    pub(crate) fn set_reap_queue(&mut self, q: &[VatId]) {
        self.set_json(keys::REAP_QUEUE, &q);
    }

    /// Krefs held by the host (e.g. results of external sends), with their pin counts,
    /// in key order (audits).
    pub(crate) fn pinned(&self) -> Vec<(KRef, u64)> {
        self.scan(keys::PIN_PREFIX)
            .into_iter()
            .map(|(k, n)| {
                let kref = k[keys::PIN_PREFIX.len()..]
                    .parse()
                    .expect("pin keys name krefs");
                (kref, n.parse().expect("pin counts are decimal"))
            })
            .collect()
    }

    /// How many times the host pinned `k`.
    pub(crate) fn pin_count(&self, k: KRef) -> u64 {
        self.get_u64(&keys::pin(k)).unwrap_or(0)
    }

    /// Sets `k`'s pin count (zero deletes the record). One key per kref, so pinning costs
    /// the same however many others are pinned.
    pub(crate) fn set_pin_count(&mut self, k: KRef, n: u64) {
        if n == 0 {
            self.del(&keys::pin(k));
        } else {
            self.set_u64(&keys::pin(k), n);
        }
    }
}

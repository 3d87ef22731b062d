//! Kernel state in the `kv` family: the keepers. Only `keys` formats keys, and every
//! `impl KState` is in this folder: the tables (`objects`, `promises`, `clist`, `queues`,
//! `vats`), the state changes built on them (`gc`: refcount processing and GC actions;
//! `terminate`; `translate`: kernel → vat translation; `transcripts`; `upgrade`: retiring
//! an incarnation; `vat_admin`: vat creation and the vat-admin hooks). Outside this folder
//! only scalar records are read or written directly, through `keys` constants (the crank
//! number, the schema version, the delivery limit, a vat's reap dirt).
//!
//! Reference counting follows SwingSet (reference §3): a c-list entry counts toward its
//! kref — for objects only importers count, the exporter never does; for promises every
//! c-list entry counts. Queued messages, notify events, settled promise data, vat
//! parameters and pins count too. A decrement that reaches zero only records the kref in
//! `maybe_free`; the kernel frees at the end of the crank (`gc::process_refcounts`).

pub(crate) mod clist;
pub(crate) mod gc;
pub mod keys;
pub(crate) mod objects;
pub(crate) mod promises;
pub(crate) mod queues;
pub(crate) mod terminate;
pub(crate) mod transcripts;
pub(crate) mod translate;
pub(crate) mod upgrade;
pub(crate) mod vat_admin;
pub(crate) mod vats;

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::refs::KRef;
use crate::store::{Cf, Store};

/// The kernel schema version this binary writes and understands (DESIGN §9).
///
/// Version 3 is upstream's: the v2→v3 remediation of leaked promise c-list entries has been
/// done (a fresh kernel never leaks them, so a fresh DB starts at 3).
pub const SCHEMA_VERSION: u32 = 3;

/// The kernel's view of the store plus crank-scoped bookkeeping.
pub(crate) struct KState {
    pub(crate) store: Store,
    /// Krefs whose counts reached zero this crank; examined at crank end.
    pub(crate) maybe_free: BTreeSet<KRef>,
}

impl KState {
    pub(crate) fn new(store: Store) -> KState {
        KState {
            store,
            maybe_free: BTreeSet::new(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.store.get(Cf::Kv, key.as_bytes()).map(|v| {
            // The kernel writes only UTF-8 (Rust strings); anything else is corruption.
            String::from_utf8(v).expect("kv values are UTF-8")
        })
    }

    /// Lends `key`'s value to `f` (for readers that only parse it: no copy is made).
    pub(crate) fn read<R>(&self, key: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
        self.store.get_with(Cf::Kv, key.as_bytes(), |v| {
            v.map(|b| f(std::str::from_utf8(b).expect("kv values are UTF-8")))
        })
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.store.has(Cf::Kv, key.as_bytes())
    }

    pub(crate) fn set(&mut self, key: &str, value: &str) {
        self.store.set(Cf::Kv, key.as_bytes(), value.as_bytes());
    }

    /// Writes a key that names something just minted (see [`Store::set_new`]): a new
    /// kernel object or promise, a queue slot at the tail, a vref from a vat's counter.
    pub(crate) fn set_new(&mut self, key: &str, value: &str) {
        self.store.set_new(key.as_bytes(), value.as_bytes());
    }

    /// Records that no committed state holds `key` (see [`Store::note_absent`]).
    pub(crate) fn note_absent(&mut self, key: &str) {
        self.store.note_absent(key.as_bytes());
    }

    pub(crate) fn del(&mut self, key: &str) {
        self.store.delete(Cf::Kv, key.as_bytes());
    }

    pub(crate) fn get_u64(&self, key: &str) -> Option<u64> {
        self.read(key, |s| s.parse().expect("kv counter is a decimal number"))
    }

    pub(crate) fn set_u64(&mut self, key: &str, n: u64) {
        self.set(key, &n.to_string());
    }

    /// Reads counter `key` (starting at `first`), stores the next value, returns the read one.
    pub(crate) fn allocate(&mut self, key: &str, first: u64) -> u64 {
        let n = self.get_u64(key).unwrap_or(first);
        self.set_u64(key, n + 1);
        n
    }

    pub(crate) fn get_json<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.read(key, |s| {
            serde_json::from_str(s).expect("kv JSON written by the kernel parses")
        })
    }

    pub(crate) fn set_json<T: Serialize>(&mut self, key: &str, value: &T) {
        let s = serde_json::to_string(value).expect("kernel records serialize");
        self.set(key, &s);
    }

    /// Every live `(key, value)` whose key starts with `prefix`, in key order.
    pub(crate) fn scan(&self, prefix: &str) -> Vec<(String, String)> {
        self.store
            .scan_prefix(Cf::Kv, prefix.as_bytes())
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8(k).expect("kv keys are UTF-8"),
                    String::from_utf8(v).expect("kv values are UTF-8"),
                )
            })
            .collect()
    }

    /// Deletes those of `keys` that exist, in the order given. A known set of keys is
    /// cheaper to delete this way than by a prefix scan, which must merge every layer of
    /// the store; deleting only what exists keeps the writes (and the app hash) the same.
    pub(crate) fn delete_existing(&mut self, keys: impl IntoIterator<Item = String>) {
        for k in keys {
            if self.has(&k) {
                self.del(&k);
            }
        }
    }

    /// Deletes every key starting with `prefix`.
    pub(crate) fn delete_prefix(&mut self, prefix: &str) {
        for (k, _) in self.scan(prefix) {
            self.del(&k);
        }
    }
}

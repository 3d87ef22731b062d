//! Kernel objects (`koN`) and the refcounts of objects and promises.

use super::{keys, KState};
use crate::events::KCapData;
use crate::refs::{KRef, VatId};

/// First kernel object id (upstream's numbering).
const FIRST_KO: u64 = 20;

/// An object's counts.
///
/// # Invariants
/// `reachable <= recognizable` (checked on every read and write).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RefCount {
    pub reachable: u64,
    pub recognizable: u64,
}

impl KState {
    /// A new object owned by `owner`, with counts `0,0`.
    pub(crate) fn add_kernel_object(&mut self, owner: VatId) -> KRef {
        let k = KRef::Object(self.allocate(keys::KO_NEXT_ID, FIRST_KO));
        // A fresh koid: no committed key names it.
        self.set_new(&keys::ko_owner(k), &owner.to_string());
        self.set_new(&keys::refcount(k), "0,0");
        k
    }

    /// Whether the object or promise `k` exists.
    pub(crate) fn kref_exists(&self, k: KRef) -> bool {
        self.has(&keys::refcount(k))
    }

    pub(crate) fn object_owner(&self, k: KRef) -> Option<VatId> {
        self.read(&keys::ko_owner(k), |s| {
            s.parse().expect("koN.owner holds a vat id")
        })
    }

    pub(crate) fn object_refcount(&self, k: KRef) -> Option<RefCount> {
        let rc = self.read(&keys::refcount(k), |s| {
            let (a, b) = s
                .split_once(',')
                .expect("object refCount is `reachable,recognizable`");
            RefCount {
                reachable: a.parse().expect("reachable count is a number"),
                recognizable: b.parse().expect("recognizable count is a number"),
            }
        })?;
        assert!(
            rc.reachable <= rc.recognizable,
            "{k}: reachable > recognizable in the store"
        );
        Some(rc)
    }

    fn set_object_refcount(&mut self, k: KRef, rc: RefCount) {
        assert!(
            rc.reachable <= rc.recognizable,
            "{k}: setting reachable > recognizable"
        );
        self.set(
            &keys::refcount(k),
            &format!("{},{}", rc.reachable, rc.recognizable),
        );
    }

    pub(crate) fn promise_refcount(&self, k: KRef) -> Option<u64> {
        self.get_u64(&keys::refcount(k))
    }

    /// One more holder of `k`. For objects, `reachable` says whether the holder can reach
    /// it (or only recognise it).
    pub(crate) fn incref(&mut self, k: KRef, reachable: bool) {
        match k {
            KRef::Object(_) => {
                let mut rc = self
                    .object_refcount(k)
                    .unwrap_or_else(|| panic!("incref of missing object {k}"));
                rc.recognizable += 1;
                if reachable {
                    rc.reachable += 1;
                }
                self.set_object_refcount(k, rc);
            }
            KRef::Promise(_) => {
                let n = self
                    .promise_refcount(k)
                    .unwrap_or_else(|| panic!("incref of missing promise {k}"));
                self.set_u64(&keys::refcount(k), n + 1);
            }
        }
    }

    /// One holder fewer. A missing kref is tolerated (it was already freed, e.g. an orphan
    /// retired while a c-list entry still named it), as upstream does.
    pub(crate) fn decref(&mut self, k: KRef, reachable: bool) {
        match k {
            KRef::Object(_) => {
                let Some(mut rc) = self.object_refcount(k) else {
                    return;
                };
                rc.recognizable = rc
                    .recognizable
                    .checked_sub(1)
                    .unwrap_or_else(|| panic!("{k}: recognizable count underflow"));
                if reachable {
                    rc.reachable = rc
                        .reachable
                        .checked_sub(1)
                        .unwrap_or_else(|| panic!("{k}: reachable count underflow"));
                }
                self.set_object_refcount(k, rc);
                if rc.reachable == 0 || rc.recognizable == 0 {
                    self.maybe_free.insert(k);
                }
            }
            KRef::Promise(_) => {
                let Some(n) = self.promise_refcount(k) else {
                    return;
                };
                let n = n
                    .checked_sub(1)
                    .unwrap_or_else(|| panic!("{k}: refCount underflow"));
                self.set_u64(&keys::refcount(k), n);
                if n == 0 {
                    self.maybe_free.insert(k);
                }
            }
        }
    }

    /// An importer's c-list entry became reachable (`R`).
    pub(crate) fn incref_reachable(&mut self, k: KRef) {
        if let Some(mut rc) = self.object_refcount(k) {
            rc.reachable += 1;
            self.set_object_refcount(k, rc);
        }
    }

    /// An importer's c-list entry stopped being reachable (dropImports, or deletion).
    pub(crate) fn decref_reachable(&mut self, k: KRef) {
        if let Some(mut rc) = self.object_refcount(k) {
            rc.reachable = rc
                .reachable
                .checked_sub(1)
                .unwrap_or_else(|| panic!("{k}: reachable count underflow"));
            self.set_object_refcount(k, rc);
            if rc.reachable == 0 {
                self.maybe_free.insert(k);
            }
        }
    }

    /// The object loses its owner (owner terminated, upgraded away, or it abandoned it).
    /// Counts are unchanged; the crank's end decides whether it can be freed. Sends to it
    /// are rejected with [`KState::orphan_rejection`].
    pub(crate) fn orphan_object(&mut self, k: KRef) {
        self.del(&keys::ko_owner(k));
        self.maybe_free.insert(k);
    }

    /// What a send to an orphan is rejected with, however it lost its owner: upstream's
    /// `Error('vat terminated')`, which upstream code checks for (reference §6, "Observable
    /// afterwards"; an object abandoned by an upgrade too, upstream issue 9582).
    pub(crate) fn orphan_rejection() -> KCapData {
        crate::capdata::error("vat terminated")
    }

    pub(crate) fn delete_object(&mut self, k: KRef) {
        // Every key of the object, in key order (as a prefix delete would, without a scan).
        // `koN.disconnect` is no longer written, but DBs of earlier versions have it.
        self.delete_existing([keys::ko_disconnect(k), keys::ko_owner(k), keys::refcount(k)]);
        debug_assert!(
            self.scan(&keys::kref_prefix(k)).is_empty(),
            "{k} has keys the object table does not list"
        );
    }
}

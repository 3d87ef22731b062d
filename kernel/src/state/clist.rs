//! C-lists: each vat's two-way table between its vrefs and kernel refs, with the
//! reachable flag (`R` / `_`) on the kref side.
//!
//! # Invariants
//! - `vN.c.<kref>` = `"<R|_> <vref>"` exists iff `vN.c.<vref>` = `kref` exists.
//! - An import entry counts +1 recognizable toward its object, and +1 reachable while
//!   flagged `R`; an export entry never counts toward its object (the owner cannot keep its
//!   own object alive); every promise entry counts +1 toward its promise.
//! - The flag on an export means "the kernel has not sent dropExports for it".

use super::{keys, KState};
use crate::refs::{KRef, VKind, VRef, VatId};

/// First import ids, as upstream: `o-50`, `p-60`.
const FIRST_O_IMPORT: u64 = 50;
const FIRST_P_IMPORT: u64 = 60;

/// How a vat's use of a vref is checked when mapping it to a kernel ref.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VatUse {
    /// May an unknown export (`o+…`, `p+…`) be allocated now?
    pub(crate) allocate: bool,
    /// Does this use make (exports) or require (imports) the entry reachable?
    pub(crate) reachable: bool,
}

impl VatUse {
    /// An ordinary use in a send, a resolution or an argument.
    pub(crate) const NORMAL: VatUse = VatUse {
        allocate: true,
        reachable: true,
    };
    /// A GC syscall: the entry must exist already; reachability is not asserted.
    pub(crate) const GC: VatUse = VatUse {
        allocate: false,
        reachable: false,
    };
}

impl KState {
    /// The vat's name for `k`, with its reachable flag.
    pub(crate) fn clist_vref(&self, v: VatId, k: KRef) -> Option<(bool, VRef)> {
        self.read(&keys::clist_k(v, k), |s| {
            let (flag, vref) = s.split_once(' ').expect("c-list value is `<flag> <vref>`");
            let vref = VRef::parse(vref).expect("c-list holds valid vrefs");
            (flag == "R", vref)
        })
    }

    /// The kernel ref for the vat's `vref`.
    pub(crate) fn clist_kref(&self, v: VatId, vref: &str) -> Option<KRef> {
        self.read(&keys::clist_v(v, vref), |s| {
            s.parse().expect("c-list holds valid krefs")
        })
    }

    /// A new entry for a kref or vref just minted, whose key therefore no committed state
    /// holds; the other key's absence the read that found no entry showed.
    fn write_new_clist(&mut self, v: VatId, k: KRef, vref: &VRef, minted: Minted, reachable: bool) {
        let flag = if reachable { "R" } else { "_" };
        let (kkey, vkey) = (keys::clist_k(v, k), keys::clist_v(v, vref.as_str()));
        let (kval, vval) = (format!("{flag} {vref}"), k.to_string());
        match minted {
            Minted::Kref => {
                self.set_new(&kkey, &kval);
                self.set(&vkey, &vval);
            }
            Minted::Vref => {
                self.set(&kkey, &kval);
                self.set_new(&vkey, &vval);
            }
        }
    }

    /// Marks the entry reachable; for an import, counts the new reachability.
    pub(crate) fn set_reachable_flag(&mut self, v: VatId, k: KRef) {
        if let Some((false, vref)) = self.clist_vref(v, k) {
            self.flag_reachable(v, k, &vref);
        }
    }

    /// Rewrites the flag of entry `k` ⇄ `vref`; only the kref side records it.
    fn write_flag(&mut self, v: VatId, k: KRef, vref: &VRef, reachable: bool) {
        let flag = if reachable { "R" } else { "_" };
        self.set(&keys::clist_k(v, k), &format!("{flag} {vref}"));
    }

    /// Flags the (unreachable) entry `k` ⇄ `vref` reachable.
    fn flag_reachable(&mut self, v: VatId, k: KRef, vref: &VRef) {
        self.write_flag(v, k, vref, true);
        if k.is_object() && !vref.is_export() {
            self.incref_reachable(k);
        }
    }

    /// Clears the flag; for an import, releases its reachability.
    pub(crate) fn clear_reachable_flag(&mut self, v: VatId, k: KRef) {
        if let Some((true, vref)) = self.clist_vref(v, k) {
            self.write_flag(v, k, &vref, false);
            if k.is_object() && !vref.is_export() {
                self.decref_reachable(k);
            }
        }
    }

    /// Removes both directions of an entry and releases what it counted.
    pub(crate) fn delete_clist_entry(&mut self, v: VatId, k: KRef) {
        let Some((reachable, vref)) = self.clist_vref(v, k) else {
            return;
        };
        self.delete_clist_entry_as(v, k, reachable, &vref);
    }

    /// [`KState::delete_clist_entry`] for an entry the caller has just read (`vN.c.<k>` =
    /// `<reachable> <vref>`), without reading it again.
    pub(crate) fn delete_clist_entry_as(
        &mut self,
        v: VatId,
        k: KRef,
        reachable: bool,
        vref: &VRef,
    ) {
        // What clearing the flag would release, without writing a flag about to be deleted.
        if reachable && k.is_object() && !vref.is_export() {
            self.decref_reachable(k);
        }
        self.del(&keys::clist_k(v, k));
        self.del(&keys::clist_v(v, vref.as_str()));
        match k {
            KRef::Object(_) if !vref.is_export() => self.decref(k, false),
            KRef::Object(_) => {}
            KRef::Promise(_) => self.decref(k, false),
        }
    }

    /// Translates a vat's ref into the kernel's, allocating a kernel object or promise for a
    /// new export when `use_.allocate`. Errors name what the vat did wrong.
    pub(crate) fn map_vat_to_kernel(
        &mut self,
        v: VatId,
        vref: &VRef,
        use_: VatUse,
    ) -> Result<KRef, String> {
        let k = match self.clist_kref(v, vref.as_str()) {
            Some(k) => k,
            None if vref.is_export() && use_.allocate => {
                let k = match vref.kind() {
                    VKind::Object => self.add_kernel_object(v),
                    VKind::Promise => {
                        let k = self.add_kernel_promise(Some(v));
                        self.incref(k, false);
                        k
                    }
                };
                // A new export, written with its final flag (exports count no reachability).
                self.write_new_clist(v, k, vref, Minted::Kref, use_.reachable);
                return Ok(k);
            }
            None => return Err(format!("unknown vref {vref} (not in {v}'s c-list)")),
        };
        if use_.reachable {
            if vref.is_export() {
                self.set_reachable_flag(v, k);
            } else if k.is_object() && self.clist_vref(v, k).is_some_and(|(r, _)| !r) {
                return Err(format!(
                    "{vref} is an import the vat already dropped (unreachable)"
                ));
            }
        }
        Ok(k)
    }

    /// Translates a kernel ref into the vat's name for it, creating an import entry if the
    /// vat has none.
    pub(crate) fn map_kernel_to_vat(&mut self, v: VatId, k: KRef, set_reachable: bool) -> VRef {
        // One read of the entry: this runs for every ref of every delivery.
        let (reachable, vref) = match self.clist_vref(v, k) {
            Some(entry) => entry,
            None => {
                let vref = match k {
                    KRef::Object(_) => VRef::import(
                        VKind::Object,
                        self.allocate(&keys::vat_o_next(v), FIRST_O_IMPORT),
                    ),
                    KRef::Promise(_) => VRef::import(
                        VKind::Promise,
                        self.allocate(&keys::vat_p_next(v), FIRST_P_IMPORT),
                    ),
                };
                self.incref(k, false);
                // Written with its final flag: one write, not two.
                self.write_new_clist(v, k, &vref, Minted::Vref, set_reachable);
                if set_reachable && k.is_object() {
                    self.incref_reachable(k);
                }
                return vref;
            }
        };
        if set_reachable && !reachable {
            self.flag_reachable(v, k, &vref);
        }
        vref
    }
}

/// Which side of a new c-list entry was just minted.
#[derive(Clone, Copy)]
enum Minted {
    /// A new kernel object or promise, exported by the vat.
    Kref,
    /// A new import vref, from the vat's counter.
    Vref,
}

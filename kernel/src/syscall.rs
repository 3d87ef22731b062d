//! Syscalls: each one a vat makes is parsed, checked, translated into kernel refs and
//! applied to the crank buffer at once. The first illegal one marks the delivery faulted;
//! the kernel then aborts the crank and terminates the vat (reference §4). One refused by
//! a resource limit (sizes, per-delivery caps, the storage quota) marks it `limit`: the
//! delivery fails as if out of computrons (a message is rolled back, see `kernel`).

use crate::capdata::{self, CapData};
use crate::events::{KCapData, KMessage, KernelEvent};
use crate::refs::{truncate, KRef, VKind, VRef, VatId};
use crate::state::clist::VatUse;
use crate::state::promises::PromiseState;
use crate::state::{keys, KState};
use crate::store::Cf;
use crate::worker::{
    SyscallError, SyscallHandler, SyscallReply, VCapData, VResolution, VatSyscall,
};

/// Longest vatstore key, and largest value, a vat may write: bounds what one syscall can
/// make the kernel store.
pub const MAX_VATSTORE_KEY: usize = 1024;
pub const MAX_VATSTORE_VALUE: usize = 1 << 20;
/// The vatstore bytes (keys plus values) a vat may hold unless its options say otherwise
/// (`VatOptions::vatstore_quota`, consensus state like all options).
pub const DEFAULT_VATSTORE_QUOTA: u64 = 256 << 20;
/// Most slots one capdata may carry.
pub const MAX_SLOTS: usize = 10_000;
/// Most messages one delivery may send (`syscall.send`): bounds the run-queue growth a
/// single delivery can cause, whatever the meter would still allow.
pub const MAX_SENDS_PER_DELIVERY: u32 = 1_000;
/// Most vatstore writes (sets and deletes) one delivery may make, and the bytes (keys
/// plus values) its sets may carry in all.
pub const MAX_WRITES_PER_DELIVERY: u32 = 10_000;
pub const MAX_WRITE_BYTES_PER_DELIVERY: u64 = 16 << 20;

/// A vat's request to end itself (`syscall.exit`).
#[derive(Clone, Debug)]
pub(crate) struct ExitRequest {
    pub(crate) failure: bool,
    pub(crate) info: KCapData,
}

/// The syscall side of one delivery.
pub(crate) struct SyscallCtx<'a> {
    st: &'a mut KState,
    vat: VatId,
    /// The first illegal syscall, if any: the vat's own fault.
    pub(crate) fault: Option<String>,
    /// The first syscall refused by a resource limit (a size, a per-delivery cap, the
    /// storage quota): the delivery fails, but what reached the limit may be what the vat
    /// was sent, so the kernel treats it as it treats running out of computrons.
    pub(crate) limit: Option<String>,
    /// This delivery's sends, vatstore writes and bytes written (for the caps above).
    sends: u32,
    writes: u32,
    written_bytes: u64,
    pub(crate) exit: Option<ExitRequest>,
    /// Vats to terminate after this delivery (vat-admin's `terminateWithFailure`).
    pub(crate) terminations: Vec<(VatId, KCapData)>,
    /// The vat's vatstore bytes and quota, read at its first write of the delivery; the
    /// total is written back once, at the end (`finish`).
    vatstore: Option<VatstoreUse>,
}

#[derive(Clone, Copy)]
struct VatstoreUse {
    used: u64,
    quota: u64,
    changed: bool,
}

impl<'a> SyscallCtx<'a> {
    pub(crate) fn new(st: &'a mut KState, vat: VatId) -> SyscallCtx<'a> {
        SyscallCtx {
            st,
            vat,
            fault: None,
            limit: None,
            sends: 0,
            writes: 0,
            written_bytes: 0,
            exit: None,
            terminations: Vec::new(),
            vatstore: None,
        }
    }

    /// Writes back what the delivery did to the vat's vatstore total (call once it ended;
    /// a delivery that fails is rolled back, total and all).
    pub(crate) fn finish(&mut self) {
        if let Some(u) = self.vatstore.filter(|u| u.changed) {
            self.st.set_u64(&keys::vat_vatstore_bytes(self.vat), u.used);
        }
    }

    fn vatstore_use(&mut self) -> VatstoreUse {
        if let Some(u) = self.vatstore {
            return u;
        }
        let u = VatstoreUse {
            used: self
                .st
                .get_u64(&keys::vat_vatstore_bytes(self.vat))
                .unwrap_or(0),
            quota: self
                .st
                .vat_options(self.vat)
                .and_then(|o| o.vatstore_quota)
                .unwrap_or(DEFAULT_VATSTORE_QUOTA),
            changed: false,
        };
        self.vatstore = Some(u);
        u
    }

    /// Accounts for `key` changing from `old` bytes to `new` (key included), refusing to
    /// pass the quota.
    fn account_vatstore(&mut self, old: usize, new: usize) -> Result<(), String> {
        let mut u = self.vatstore_use();
        let used = u.used.saturating_sub(old as u64).saturating_add(new as u64);
        if used > u.quota && new > old {
            return Err(self.reached(format!(
                "the vat's storage quota of {} bytes would be exceeded ({used} bytes)",
                u.quota
            )));
        }
        u.used = used;
        u.changed = true;
        self.vatstore = Some(u);
        Ok(())
    }

    /// Records that a resource limit refused the current syscall; returns the reason.
    fn reached(&mut self, why: String) -> String {
        self.limit = Some(why.clone());
        why
    }

    /// Counts the per-delivery caps before a syscall runs.
    fn count(&mut self, sc: &VatSyscall) -> Result<(), String> {
        match sc {
            VatSyscall::Send { .. } => {
                self.sends += 1;
                if self.sends > MAX_SENDS_PER_DELIVERY {
                    return Err(self.reached(format!(
                        "a delivery may send at most {MAX_SENDS_PER_DELIVERY} messages"
                    )));
                }
            }
            VatSyscall::VatstoreSet { .. } | VatSyscall::VatstoreDelete { .. } => {
                self.writes += 1;
                if let VatSyscall::VatstoreSet { key, value } = sc {
                    self.written_bytes += (key.len() + value.len()) as u64;
                }
                if self.writes > MAX_WRITES_PER_DELIVERY {
                    return Err(self.reached(format!(
                        "a delivery may make at most {MAX_WRITES_PER_DELIVERY} vatstore writes"
                    )));
                }
                if self.written_bytes > MAX_WRITE_BYTES_PER_DELIVERY {
                    return Err(self.reached(format!(
                        "a delivery may write at most {MAX_WRITE_BYTES_PER_DELIVERY} vatstore bytes"
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl SyscallHandler for SyscallCtx<'_> {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        if let Some(f) = &self.fault {
            return Err(SyscallError(format!(
                "the vat already made an illegal syscall ({f})"
            )));
        }
        if let Some(l) = &self.limit {
            return Err(SyscallError(format!(
                "the delivery already reached a limit ({l})"
            )));
        }
        let name = sc.name();
        let done = self.count(&sc).and_then(|()| self.execute(sc));
        done.map_err(|why| {
            let msg = format!("syscall.{name}: {why}");
            // A refusal by a limit was recorded as such (`reached`); anything else is
            // illegal.
            match &mut self.limit {
                Some(l) => *l = msg.clone(),
                None => self.fault = Some(msg.clone()),
            }
            SyscallError(msg)
        })
    }
}

type Outcome = Result<SyscallReply, String>;

impl SyscallCtx<'_> {
    fn execute(&mut self, sc: VatSyscall) -> Outcome {
        match sc {
            VatSyscall::Send {
                target,
                methargs,
                result,
            } => self.send(&target, &methargs, result.as_deref()),
            VatSyscall::Subscribe { vpid } => self.subscribe(&vpid),
            VatSyscall::Resolve { resolutions } => self.resolve(&resolutions),
            VatSyscall::Exit { failure, info } => self.exit(failure, &info),
            VatSyscall::VatstoreGet { key } => {
                let k = self.vatstore_key(&key)?;
                Ok(SyscallReply::Value(self.st.get(&k)))
            }
            VatSyscall::VatstoreSet { key, value } => {
                let k = self.vatstore_key(&key)?;
                if value.len() > MAX_VATSTORE_VALUE {
                    return Err(self.reached(format!(
                        "value of {} bytes is over the {MAX_VATSTORE_VALUE}-byte limit",
                        value.len()
                    )));
                }
                let old = self.st.read(&k, |v| key.len() + v.len()).unwrap_or(0);
                self.account_vatstore(old, key.len() + value.len())?;
                self.st.set(&k, &value);
                Ok(SyscallReply::Done)
            }
            VatSyscall::VatstoreDelete { key } => {
                let k = self.vatstore_key(&key)?;
                if let Some(old) = self.st.read(&k, |v| key.len() + v.len()) {
                    self.account_vatstore(old, 0)?;
                    self.st.del(&k);
                }
                Ok(SyscallReply::Done)
            }
            VatSyscall::VatstoreGetNextKey { prior } => {
                let k = self.vatstore_key(&prior)?;
                let prefix = keys::vatstore_prefix(self.vat);
                let end = crate::store::prefix_end(prefix.as_bytes());
                let next = self
                    .st
                    .store
                    .first_between(
                        Cf::Kv,
                        std::ops::Bound::Excluded(k.as_bytes()),
                        end.as_deref(),
                    )
                    .and_then(|(n, _)| String::from_utf8(n).ok())
                    .and_then(|n| n.strip_prefix(&prefix).map(str::to_string));
                Ok(SyscallReply::Value(next))
            }
            VatSyscall::DropImports { vrefs } => self.drop_imports(&vrefs),
            VatSyscall::RetireImports { vrefs } => self.retire_imports(&vrefs),
            VatSyscall::RetireExports { vrefs } => self.retire_exports(&vrefs),
            VatSyscall::AbandonExports { vrefs } => self.abandon_exports(&vrefs),
            VatSyscall::KernelHook { name, args } => {
                let args = self.map_capdata(&args)?;
                match self.st.kernel_hook(self.vat, &name, &args)? {
                    crate::state::vat_admin::HookEffect::Reply(data) => {
                        let slots = data
                            .slots
                            .iter()
                            .map(|k| self.st.map_kernel_to_vat(self.vat, *k, true).to_string())
                            .collect();
                        Ok(SyscallReply::Data(CapData {
                            body: data.body,
                            slots,
                        }))
                    }
                    crate::state::vat_admin::HookEffect::Terminate(v, reason) => {
                        self.terminations.push((v, reason));
                        Ok(SyscallReply::Data(crate::capdata::undefined()))
                    }
                }
            }
        }
    }

    fn vatstore_key(&mut self, key: &str) -> Result<String, String> {
        if key.len() > MAX_VATSTORE_KEY {
            return Err(self.reached(format!(
                "key of {} bytes is over the {MAX_VATSTORE_KEY}-byte limit",
                key.len()
            )));
        }
        Ok(keys::vatstore(self.vat, key))
    }

    fn map(&mut self, vref: &str, use_: VatUse) -> Result<(VRef, KRef), String> {
        let v = VRef::parse(vref)?;
        let k = self.st.map_vat_to_kernel(self.vat, &v, use_)?;
        Ok((v, k))
    }

    fn map_capdata(&mut self, data: &VCapData) -> Result<KCapData, String> {
        if data.slots.len() > MAX_SLOTS {
            return Err(format!(
                "{} slots is over the limit of {MAX_SLOTS}",
                data.slots.len()
            ));
        }
        let mut slots = Vec::with_capacity(data.slots.len());
        for s in &data.slots {
            slots.push(self.map(s, VatUse::NORMAL)?.1);
        }
        Ok(CapData {
            body: data.body.clone(),
            slots,
        })
    }

    fn send(&mut self, target: &str, methargs: &VCapData, result: Option<&str>) -> Outcome {
        let (_, kt) = self.map(target, VatUse::NORMAL)?;
        let methargs = self.map_capdata(methargs)?;
        let result = match result {
            None => None,
            Some(r) => {
                let (rv, kr) = self.map(r, VatUse::NORMAL)?;
                if !rv.is_promise() {
                    return Err(format!("result {rv} is not a promise"));
                }
                match self.st.promise_state(kr) {
                    Some(PromiseState::Unresolved { decider }) if decider == Some(self.vat) => {}
                    _ => {
                        return Err(format!(
                            "result {rv} must be unresolved and decided by the sender"
                        ))
                    }
                }
                // The queued message now holds the authority to resolve it.
                self.st.set_decider(kr, None);
                Some(kr)
            }
        };
        let msg = KMessage {
            methargs,
            result,
            allowance: None,
        };
        self.st.queue_send(keys::ACCEPTANCE_QUEUE, kt, msg);
        Ok(SyscallReply::Done)
    }

    fn subscribe(&mut self, vpid: &str) -> Outcome {
        let (v, k) = self.map(vpid, VatUse::NORMAL)?;
        if !v.is_promise() {
            return Err(format!("{v} is not a promise"));
        }
        match self.st.promise_state(k) {
            Some(PromiseState::Unresolved { .. }) => self.st.add_subscriber(k, self.vat),
            Some(_) => {
                self.st.incref(k, true);
                self.st.push_acceptance(&KernelEvent::Notify {
                    vat_id: self.vat,
                    kpid: k,
                });
            }
            None => unreachable!("a promise in a c-list exists"),
        }
        Ok(SyscallReply::Done)
    }

    fn resolve(&mut self, resolutions: &[VResolution]) -> Outcome {
        if resolutions.is_empty() {
            return Err("no resolutions".into());
        }
        for r in resolutions {
            let (v, k) = self.map(&r.vpid, VatUse::NORMAL)?;
            if !v.is_promise() {
                return Err(format!("{v} is not a promise"));
            }
            match self.st.promise_state(k) {
                Some(PromiseState::Unresolved { decider }) if decider == Some(self.vat) => {}
                Some(PromiseState::Unresolved { .. }) => {
                    return Err(format!("{v} ({k}) is decided by another vat or the kernel"))
                }
                _ => return Err(format!("{v} ({k}) is already resolved")),
            }
            let data = self.map_capdata(&r.data)?;
            if !r.rejected && capdata::single_promise(&data).is_some() {
                return Err(format!(
                    "{v} cannot be fulfilled to a promise; forward it instead"
                ));
            }
            // The resolver's entry goes now: the vat will not hear of this promise again.
            self.st.delete_clist_entry(self.vat, k);
            self.st.settle_promise(k, r.rejected, &data);
        }
        Ok(SyscallReply::Done)
    }

    fn exit(&mut self, failure: bool, info: &VCapData) -> Outcome {
        if self.exit.is_some() {
            return Err("exit called twice".into());
        }
        let info = self.map_capdata(info)?;
        self.exit = Some(ExitRequest { failure, info });
        Ok(SyscallReply::Done)
    }

    /// Parses GC syscall vrefs: objects only, imports or exports as `export` says, each in
    /// the c-list.
    fn gc_refs(&mut self, vrefs: &[String], export: bool) -> Result<Vec<(VRef, KRef)>, String> {
        if vrefs.len() > MAX_SLOTS {
            return Err(format!(
                "{} vrefs is over the limit of {MAX_SLOTS}",
                vrefs.len()
            ));
        }
        let mut out = Vec::with_capacity(vrefs.len());
        for s in vrefs {
            let v = VRef::parse(s)?;
            if v.kind() != VKind::Object || v.is_export() != export {
                let want = if export {
                    "an exported object (o+)"
                } else {
                    "an imported object (o-)"
                };
                return Err(format!("{v} is not {want}"));
            }
            let k = self.st.map_vat_to_kernel(self.vat, &v, VatUse::GC)?;
            out.push((v, k));
        }
        Ok(out)
    }

    fn is_reachable(&self, k: KRef) -> bool {
        self.st.clist_vref(self.vat, k).is_some_and(|(r, _)| r)
    }

    fn drop_imports(&mut self, vrefs: &[String]) -> Outcome {
        for (_, k) in self.gc_refs(vrefs, false)? {
            self.st.clear_reachable_flag(self.vat, k);
        }
        Ok(SyscallReply::Done)
    }

    fn retire_imports(&mut self, vrefs: &[String]) -> Outcome {
        for (v, k) in self.gc_refs(vrefs, false)? {
            if self.is_reachable(k) {
                return Err(format!("{v} is still reachable: drop it first"));
            }
            self.st.delete_clist_entry(self.vat, k);
        }
        Ok(SyscallReply::Done)
    }

    fn retire_exports(&mut self, vrefs: &[String]) -> Outcome {
        for (v, k) in self.gc_refs(vrefs, true)? {
            if self.is_reachable(k) {
                return Err(format!(
                    "{v} is still reachable: the kernel has not dropped it"
                ));
            }
            self.st.delete_clist_entry(self.vat, k);
            self.st.retire_kernel_object(k);
        }
        Ok(SyscallReply::Done)
    }

    fn abandon_exports(&mut self, vrefs: &[String]) -> Outcome {
        for (_, k) in self.gc_refs(vrefs, true)? {
            self.st.delete_clist_entry(self.vat, k);
            self.st.orphan_object(k);
        }
        Ok(SyscallReply::Done)
    }
}

/// A short, bounded rendering of vat-supplied text for error messages.
pub(crate) fn show(s: &str) -> &str {
    truncate(s, 120)
}

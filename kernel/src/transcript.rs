//! Transcripts: every committed delivery of a vat with the syscalls it made and the
//! replies it got, so a worker can be rebuilt by replaying them (after a restart, or when
//! an idle worker was evicted) — there are no heap snapshots.
//!
//! Items live in the `transcript` family under `vatID ‖ 0x00 ‖ u64 BE position`; the
//! current span is `vN.t.current` = `{startPos, incarnation, bundleID}` plus its end,
//! `vN.t.endPos` (a key of its own: it changes on every delivery, the rest only at an
//! upgrade), in kv, and each closed one (an upgrade closes one) stays as `vN.t.<startPos, 20 digits>` with its
//! items: an upgrade never erases history. A
//! span records the bundle it ran (upstream records neither bundle nor, in items, the
//! incarnation: seed 003), so a vat's whole history can be re-executed and checked.
//!
//! This file holds the types and the record/replay wrappers; reading and writing them is
//! `state/transcripts.rs`.

use serde::{Deserialize, Serialize};

use crate::worker::{SyscallError, SyscallHandler, SyscallReply, VatDelivery, VatSyscall};

/// One syscall and the kernel's reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallRecord {
    pub s: VatSyscall,
    pub r: SyscallReply,
}

/// One committed delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptItem {
    pub d: VatDelivery,
    pub sc: Vec<SyscallRecord>,
    pub computrons: u64,
}

/// A vat's current transcript span: positions `[start_pos, end_pos)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub start_pos: u64,
    pub end_pos: u64,
    pub incarnation: u64,
    #[serde(rename = "bundleID")]
    pub bundle_id: String,
}

/// Forwards syscalls to the kernel and records each with its reply.
pub(crate) struct Recorder<'a> {
    pub(crate) inner: &'a mut dyn SyscallHandler,
    pub(crate) records: Vec<SyscallRecord>,
}

impl SyscallHandler for Recorder<'_> {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        let r = self.inner.syscall(sc.clone())?;
        self.records.push(SyscallRecord {
            s: sc,
            r: r.clone(),
        });
        Ok(r)
    }
}

/// Answers a replayed delivery's syscalls from its record, checking that the vat makes
/// exactly the recorded ones.
pub(crate) struct Replayer<'a> {
    pub(crate) expected: &'a [SyscallRecord],
    pub(crate) next: usize,
    pub(crate) divergence: Option<String>,
}

impl SyscallHandler for Replayer<'_> {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        if self.divergence.is_some() {
            return Err(SyscallError("replay already diverged".into()));
        }
        match self.expected.get(self.next) {
            Some(rec) if rec.s == sc => {
                self.next += 1;
                Ok(rec.r.clone())
            }
            Some(rec) => {
                let d = format!(
                    "syscall #{} was recorded as {:?} but replay made {:?}",
                    self.next, rec.s, sc
                );
                self.divergence = Some(d.clone());
                Err(SyscallError(d))
            }
            None => {
                let d = format!("replay made an extra syscall #{}: {:?}", self.next, sc);
                self.divergence = Some(d.clone());
                Err(SyscallError(d))
            }
        }
    }
}

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

use serde::{Deserialize, Serialize};

use crate::refs::VatId;
use crate::state::{keys, KState};
use crate::store::Cf;
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

/// What `vN.t.current` holds: the current span without its end.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpanHead {
    start_pos: u64,
    incarnation: u64,
    #[serde(rename = "bundleID")]
    bundle_id: String,
}

/// The transcript family's key prefix of one vat.
pub(crate) fn item_prefix(v: VatId) -> Vec<u8> {
    let mut k = v.to_string().into_bytes();
    k.push(0);
    k
}

fn item_key(v: VatId, pos: u64) -> Vec<u8> {
    let mut k = item_prefix(v);
    k.extend_from_slice(&pos.to_be_bytes());
    k
}

impl KState {
    pub(crate) fn current_span(&self, v: VatId) -> Option<Span> {
        let head: SpanHead = self.get_json(&keys::transcript_current(v))?;
        Some(Span {
            end_pos: self
                .get_u64(&keys::transcript_end(v))
                .unwrap_or(head.start_pos),
            start_pos: head.start_pos,
            incarnation: head.incarnation,
            bundle_id: head.bundle_id,
        })
    }

    fn set_current_span(&mut self, v: VatId, span: &Span) {
        let head = SpanHead {
            start_pos: span.start_pos,
            incarnation: span.incarnation,
            bundle_id: span.bundle_id.clone(),
        };
        self.set_json(&keys::transcript_current(v), &head);
        self.set_u64(&keys::transcript_end(v), span.end_pos);
    }

    /// Opens the first span of a new vat.
    pub(crate) fn start_transcript(&mut self, v: VatId, bundle_id: &str) {
        let span = Span {
            start_pos: 0,
            end_pos: 0,
            incarnation: 0,
            bundle_id: bundle_id.to_string(),
        };
        self.set_current_span(v, &span);
    }

    /// Closes the current span (kept as history under `vN.t.<startPos>`, items and all)
    /// and opens the next incarnation's at the same position. Returns its incarnation.
    pub(crate) fn roll_over_incarnation(&mut self, v: VatId, bundle_id: &str) -> u64 {
        let old = self.current_span(v).unwrap_or(Span {
            start_pos: 0,
            end_pos: 0,
            incarnation: 0,
            bundle_id: String::new(),
        });
        self.set_json(&keys::transcript_closed(v, old.start_pos), &old);
        let next = Span {
            start_pos: old.end_pos,
            end_pos: old.end_pos,
            incarnation: old.incarnation + 1,
            bundle_id: bundle_id.to_string(),
        };
        self.set_current_span(v, &next);
        next.incarnation
    }

    /// Every closed span of `v`, oldest first.
    pub(crate) fn past_spans(&self, v: VatId) -> Vec<Span> {
        self.scan(&keys::transcript_closed_prefix(v))
            .into_iter()
            .filter_map(|(_, s)| serde_json::from_str(&s).ok())
            .collect()
    }

    pub(crate) fn append_transcript(&mut self, v: VatId, item: &TranscriptItem) {
        let key = keys::transcript_end(v);
        let Some(end) = self.get_u64(&key) else {
            return;
        };
        let bytes = serde_json::to_vec(item).expect("transcript items serialize");
        self.store.set(Cf::Transcript, &item_key(v, end), &bytes);
        self.set_u64(&key, end + 1);
    }

    /// The items of the current span, in order.
    pub(crate) fn span_items(&self, v: VatId) -> Vec<TranscriptItem> {
        let Some(span) = self.current_span(v) else {
            return Vec::new();
        };
        let (start, end) = (item_key(v, span.start_pos), item_key(v, span.end_pos));
        self.store
            .range(Cf::Transcript, &start, Some(&end))
            .into_iter()
            .map(|(_, b)| serde_json::from_slice(&b).expect("stored transcript items parse"))
            .collect()
    }

    /// Deletes every transcript item of a (terminated) vat.
    pub(crate) fn delete_transcripts(&mut self, v: VatId) {
        for (k, _) in self.store.scan_prefix(Cf::Transcript, &item_prefix(v)) {
            self.store.delete(Cf::Transcript, &k);
        }
    }
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

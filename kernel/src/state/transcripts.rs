//! The transcript keeper: spans in kv (`vN.t.current`, `vN.t.endPos`, closed spans
//! `vN.t.<startPos>`) and items in the `transcript` family (see `crate::transcript` for
//! the layout and the types).

use serde::{Deserialize, Serialize};

use crate::refs::VatId;
use crate::state::{keys, KState};
use crate::store::Cf;
use crate::transcript::{Span, TranscriptItem};

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

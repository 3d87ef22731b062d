//! Capability data: a marshalled body plus the refs it mentions (`slots`).
//!
//! The kernel treats bodies as opaque strings except for what it must create or inspect
//! itself: error values for rejections it decides, and whether a resolution is exactly one
//! presence (so sends to the promise can be retargeted). Bodies use upstream's smallcaps
//! encoding: `#` followed by JSON, `"$N…"` for a remotable slot, `"&N"` for a promise slot.

use serde::{Deserialize, Serialize};

/// Capdata with slots of type `S` (`String` from a vat, `KRef` in the kernel).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapData<S> {
    pub body: String,
    pub slots: Vec<S>,
}

impl<S> CapData<S> {
    /// Data without slots.
    pub fn data(body: impl Into<String>) -> CapData<S> {
        CapData {
            body: body.into(),
            slots: Vec::new(),
        }
    }
}

/// Smallcaps `undefined`.
pub fn undefined<S>() -> CapData<S> {
    CapData::data("#\"#undefined\"")
}

/// Smallcaps encoding of `Error(message)`: what the kernel rejects promises with.
pub fn error<S>(message: &str) -> CapData<S> {
    let msg = serde_json::to_string(message).expect("a string always serializes");
    CapData::data(format!("#{{\"#error\":{msg},\"name\":\"Error\"}}"))
}

/// Smallcaps encoding of a JSON value with no slots (records' keys must already be sorted).
pub fn json<S>(value: &serde_json::Value) -> CapData<S> {
    CapData::data(format!("#{value}"))
}

/// If `data` is exactly one presence (`"$0…"` with one slot), that slot.
pub fn single_presence<S>(data: &CapData<S>) -> Option<&S> {
    single_slot(data, '$')
}

/// If `data` is exactly one promise (`"&0"` with one slot), that slot.
pub fn single_promise<S>(data: &CapData<S>) -> Option<&S> {
    single_slot(data, '&')
}

fn single_slot<S>(data: &CapData<S>, sigil: char) -> Option<&S> {
    if data.slots.len() != 1 {
        return None;
    }
    let json = data.body.strip_prefix('#')?;
    let s: String = serde_json::from_str(json).ok()?;
    let rest = s.strip_prefix(sigil)?.strip_prefix('0')?;
    (rest.is_empty() || rest.starts_with('.')).then(|| &data.slots[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_single_slots() {
        let p: CapData<u8> = CapData {
            body: "#\"$0.Alleged: counter\"".into(),
            slots: vec![7],
        };
        assert_eq!(single_presence(&p), Some(&7));
        assert_eq!(single_promise(&p), None);
        let q: CapData<u8> = CapData {
            body: "#\"&0\"".into(),
            slots: vec![9],
        };
        assert_eq!(single_promise(&q), Some(&9));
        let r: CapData<u8> = CapData {
            body: "#[\"$0\"]".into(),
            slots: vec![1],
        };
        assert_eq!(single_presence(&r), None);
        assert_eq!(
            error::<u8>("a \"b\"").body,
            r##"#{"#error":"a \"b\"","name":"Error"}"##
        );
    }
}

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
    CapData::data(format!("#{}", error_value(message)))
}

/// `Error(message)` as the JSON inside a smallcaps body, for the kernel's methargs that
/// carry one.
pub fn error_value(message: &str) -> serde_json::Value {
    serde_json::json!({
        "#error": encode_value(&serde_json::Value::String(message.into())),
        "name": "Error",
    })
}

/// Smallcaps encoding of plain JSON data with no slots (strings escaped, records sorted).
pub fn json<S>(value: &serde_json::Value) -> CapData<S> {
    CapData::data(format!("#{}", encode_value(value)))
}

/// Whether smallcaps reserves a string's first character (`!` through `-` mark special
/// values: `#undefined`, `$0` remotables, `&0` promises, `+7` bigints…).
fn reserved(s: &str) -> bool {
    matches!(s.as_bytes().first(), Some(b'!'..=b'-'))
}

/// Encodes plain JSON data as the JSON value inside a smallcaps body: a string that begins
/// with a reserved character is escaped with `!`. Records come out with sorted keys, as
/// smallcaps requires (serde_json's map is ordered by key: no `preserve_order`). The one
/// smallcaps encoder: the kernel's own capdata and the bridge's client data both use it.
pub fn encode_value(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if reserved(s) => Value::String(format!("!{s}")),
        Value::Array(a) => Value::Array(a.iter().map(encode_value).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), encode_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The JSON of a smallcaps body (`None`: not smallcaps, or not JSON).
pub fn decode_body(body: &str) -> Option<serde_json::Value> {
    serde_json::from_str(body.strip_prefix('#')?).ok()
}

/// Nesting the kernel accepts in a body it passes on (liveslots decodes at most 64).
const MAX_PASSED_DEPTH: usize = 60;

/// Whether `v` (a decoded body with `slots` slots) may be embedded in capdata the kernel
/// makes: every slot reference (`"$N…"`, `"&N"`) names an existing slot, and it nests
/// less than liveslots decodes. A vat's text checked this way cannot make the kernel send
/// malformed capdata.
pub fn fits_slots(v: &serde_json::Value, slots: usize) -> bool {
    fn walk(v: &serde_json::Value, slots: usize, depth: usize) -> bool {
        if depth > MAX_PASSED_DEPTH {
            return false;
        }
        match v {
            serde_json::Value::String(s) => match s.chars().next() {
                Some('$' | '&') => s[1..]
                    .split('.')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n < slots),
                _ => true,
            },
            serde_json::Value::Array(a) => a.iter().all(|x| walk(x, slots, depth + 1)),
            serde_json::Value::Object(o) => o.values().all(|x| walk(x, slots, depth + 1)),
            _ => true,
        }
    }
    walk(v, slots, 0)
}

/// Smallcaps methargs `[method, args]` with `slots`; `args` are already smallcaps JSON
/// (decoded bodies, or values the kernel made). `method` is a plain method name.
pub fn methargs<S>(method: &str, args: Vec<serde_json::Value>, slots: Vec<S>) -> CapData<S> {
    debug_assert!(
        !method.starts_with(|c: char| "!\"#$%&'()*+,-".contains(c)),
        "a method name the kernel sends needs no smallcaps escape"
    );
    let body = serde_json::Value::Array(vec![
        serde_json::Value::String(method.into()),
        serde_json::Value::Array(args),
    ]);
    CapData {
        body: format!("#{body}"),
        slots,
    }
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
        let m = methargs(
            "hi",
            vec![serde_json::json!("$0"), serde_json::json!(1)],
            vec![3u8],
        );
        assert_eq!(m.body, "#[\"hi\",[\"$0\",1]]");
        assert_eq!(m.slots, vec![3]);
        assert_eq!(
            error::<u8>("a \"b\"").body,
            r##"#{"#error":"a \"b\"","name":"Error"}"##
        );
        // A message that looks like a slot or a special value stays a string.
        assert_eq!(
            error::<u8>("$0 is gone").body,
            r##"#{"#error":"!$0 is gone","name":"Error"}"##
        );
        assert_eq!(
            json::<u8>(&serde_json::json!({"b": "&1", "a": ["#x", "ok"]})).body,
            r##"#{"a":["!#x","ok"],"b":"!&1"}"##
        );
    }

    #[test]
    fn passed_bodies_must_fit_their_slots() {
        let ok = decode_body("#{\"a\":[\"$0.Alleged: x\",\"&1\",\"plain\"]}").expect("json");
        assert!(fits_slots(&ok, 2));
        assert!(!fits_slots(&ok, 1), "&1 names a missing slot");
        assert!(!fits_slots(&decode_body("#\"$x\"").expect("json"), 5));
        let deep = format!("#{}1{}", "[".repeat(70), "]".repeat(70));
        assert!(!fits_slots(&decode_body(&deep).expect("json"), 0));
        assert_eq!(decode_body("not smallcaps"), None);
        assert_eq!(decode_body("#{broken"), None);
    }
}

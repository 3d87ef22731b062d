//! Smallcaps: the capdata body encoding SwingSet vats use (`#` + JSON).
//!
//! Plain JSON maps onto it directly except for strings, which are escaped with `!` when
//! they begin with one of the characters smallcaps reserves (`!` through `-`), because
//! those mark special values (`#undefined`, `$0` remotables, `&0` promises, `+7` bigints…).

use serde_json::{Map, Value};

/// A body that is not smallcaps capdata we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("a smallcaps body starts with '#'")]
    NoPrefix,
    #[error("body is not JSON: {0}")]
    Json(String),
    #[error("slot index {0} is out of range ({1} slots)")]
    Slot(usize, usize),
    #[error("unknown special value {0:?}")]
    Special(String),
}

/// The first record key of `value` (at any depth) that smallcaps reserves: a key starting
/// with `#` marks a tagged value or an error (`{"#tag": …}`, `{"#error": …}`), so client
/// data with one would reach a vat as something it is not.
pub fn reserved_key(value: &Value) -> Option<&str> {
    match value {
        Value::Array(a) => a.iter().find_map(reserved_key),
        Value::Object(o) => o.iter().find_map(|(k, v)| {
            if k.starts_with('#') {
                Some(k.as_str())
            } else {
                reserved_key(v)
            }
        }),
        _ => None,
    }
}

/// How deeply `value` nests arrays and records (a scalar is 0, `[]` is 1). serde_json
/// refuses input nested past 128 levels, so the recursion is bounded.
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Encodes plain JSON data (no slots) as a smallcaps body. Callers refuse data with a
/// [`reserved_key`] first.
pub fn encode(value: &Value) -> String {
    format!("#{}", encode_value(value))
}

/// Encodes plain JSON data as the JSON value inside a smallcaps body (strings escaped):
/// for callers that add special values (slots) around plain data. The kernel's encoder,
/// so that there is one.
pub use vatchain_kernel::capdata::encode_value;

/// Decodes a smallcaps body to JSON for clients. Special values become JSON a client can
/// read: `undefined` → null, bigints → `{"@bigint": "123"}`, slots →
/// `{"@slot": <slot>, "iface": …}`, errors → `{"@error": message, "name": …}`.
pub fn decode(body: &str, slots: &[String]) -> Result<Value, DecodeError> {
    let json = body.strip_prefix('#').ok_or(DecodeError::NoPrefix)?;
    let v: Value = serde_json::from_str(json).map_err(|e| DecodeError::Json(e.to_string()))?;
    decode_value(&v, slots)
}

fn slot(idx: &str, slots: &[String]) -> Result<Value, DecodeError> {
    let (n, iface) = match idx.split_once('.') {
        Some((n, i)) => (n, Some(i)),
        None => (idx, None),
    };
    let n: usize = n
        .parse()
        .map_err(|_| DecodeError::Special(idx.to_string()))?;
    let s = slots.get(n).ok_or(DecodeError::Slot(n, slots.len()))?;
    let mut m = Map::new();
    m.insert("@slot".into(), Value::String(s.clone()));
    if let Some(i) = iface {
        m.insert("iface".into(), Value::String(i.to_string()));
    }
    Ok(Value::Object(m))
}

fn decode_value(v: &Value, slots: &[String]) -> Result<Value, DecodeError> {
    Ok(match v {
        Value::String(s) => match s.as_bytes().first() {
            Some(b'!') => Value::String(s[1..].to_string()),
            Some(b'#') => match s.as_str() {
                "#undefined" => Value::Null,
                "#NaN" | "#Infinity" | "#-Infinity" | "#-0" => Value::String(s[1..].to_string()),
                _ => return Err(DecodeError::Special(s.clone())),
            },
            Some(b'$') | Some(b'&') => slot(&s[1..], slots)?,
            Some(b'+') | Some(b'-') => {
                let mut m = Map::new();
                let digits = s.strip_prefix('+').unwrap_or(s);
                m.insert("@bigint".into(), Value::String(digits.to_string()));
                Value::Object(m)
            }
            Some(b'%') => {
                let mut m = Map::new();
                m.insert("@symbol".into(), Value::String(s[1..].to_string()));
                Value::Object(m)
            }
            Some(c) if (b'!'..=b'-').contains(c) => return Err(DecodeError::Special(s.clone())),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| decode_value(x, slots))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) if o.contains_key("#error") => {
            let mut m = Map::new();
            m.insert("@error".into(), decode_value(&o["#error"], slots)?);
            if let Some(n) = o.get("name") {
                m.insert("name".into(), decode_value(n, slots)?);
            }
            Value::Object(m)
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), decode_value(x, slots)?)))
                .collect::<Result<_, DecodeError>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_json_round_trips() {
        let v = json!({"b": [1, "x", "#not-special", "$money", null], "a": {"n": -2.5}});
        let body = encode(&v);
        assert_eq!(
            body,
            r##"#{"a":{"n":-2.5},"b":[1,"x","!#not-special","!$money",null]}"##
        );
        assert_eq!(decode(&body, &[]), Ok(v));
    }

    #[test]
    fn special_values_decode_to_readable_json() {
        let slots = vec!["ko20".to_string()];
        let v = decode(
            r##"#["#undefined","+7","$0.Alleged: counter",{"#error":"no","name":"Error"}]"##,
            &slots,
        );
        assert_eq!(
            v,
            Ok(
                json!([null, {"@bigint": "7"}, {"@slot": "ko20", "iface": "Alleged: counter"}, {"@error": "no", "name": "Error"}])
            )
        );
        assert_eq!(decode("#\"$1\"", &slots), Err(DecodeError::Slot(1, 1)));
        assert_eq!(decode("[]", &slots), Err(DecodeError::NoPrefix));
        assert!(matches!(
            decode("#\"#weird\"", &slots),
            Err(DecodeError::Special(_))
        ));
    }
}

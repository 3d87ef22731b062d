//! Inbound chain messages become kernel sends.

use serde_json::Value;
use vatchain_kernel::{KCapData, KRef, Kernel};

use crate::smallcaps;

/// A bad inbound message (rejected with this reason, never delivered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("method name must be 1 to 100 characters")]
    BadMethod,
    #[error("arguments must be a JSON array, got {0}")]
    ArgsNotArray(&'static str),
    #[error("record key {0:?}: keys starting with '#' are reserved by smallcaps")]
    ReservedKey(String),
    #[error("arguments nest {0} deep; at most {MAX_ARG_DEPTH} levels are accepted")]
    TooDeep(usize),
}

/// How deeply arguments may nest (arrays and records within each other). Vats decode and
/// print what they are sent recursively; deeper data would only let a client exhaust a
/// vat's stack.
pub const MAX_ARG_DEPTH: usize = 32;

/// Builds the `methargs` capdata of a send from a method name and JSON arguments.
/// The arguments carry no object references (clients hold none); `slots` is empty.
pub fn methargs(method: &str, args: &Value) -> Result<KCapData, InboundError> {
    if method.is_empty() || method.len() > 100 {
        return Err(InboundError::BadMethod);
    }
    let Value::Array(items) = args else {
        let kind = match args {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Object(_) => "an object",
            Value::Array(_) => unreachable!("handled above"),
        };
        return Err(InboundError::ArgsNotArray(kind));
    };
    let depth = smallcaps::depth(args);
    if depth > MAX_ARG_DEPTH {
        return Err(InboundError::TooDeep(depth));
    }
    if let Some(k) = smallcaps::reserved_key(args) {
        return Err(InboundError::ReservedKey(k.to_string()));
    }
    let body = smallcaps::encode(&Value::Array(vec![
        Value::String(method.to_string()),
        Value::Array(items.clone()),
    ]));
    Ok(KCapData {
        body,
        slots: Vec::<KRef>::new(),
    })
}

/// Queues `method(...args)` to `target` from the host; returns the kernel promise for the
/// answer (pinned: release it with [`Kernel::unpin`] once its settlement is recorded).
/// `allowance` caps the computrons its delivery may use (the tx's gas share).
pub fn send(
    kernel: &mut Kernel,
    target: KRef,
    method: &str,
    args: &Value,
    allowance: Option<u64>,
) -> Result<KRef, String> {
    let m = methargs(method, args).map_err(|e| e.to_string())?;
    match kernel.queue_to_kref_metered(target, m, true, allowance) {
        Ok(Some(kp)) => Ok(kp),
        Ok(None) => Err("the kernel gave no result promise".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_upstream_methargs() {
        let m = methargs("increment", &json!([2, "$x"])).expect("valid");
        assert_eq!(m.body, r#"#["increment",[2,"!$x"]]"#);
        assert!(m.slots.is_empty());
        assert_eq!(methargs("", &json!([])), Err(InboundError::BadMethod));
        assert_eq!(
            methargs("m", &json!({})),
            Err(InboundError::ArgsNotArray("an object"))
        );
        assert_eq!(
            methargs("m", &json!([{"a": {"#error": "forged"}}])),
            Err(InboundError::ReservedKey("#error".into()))
        );
        let mut deep = json!(1);
        for _ in 0..MAX_ARG_DEPTH {
            deep = json!([deep]);
        }
        assert!(methargs("m", &deep).is_ok(), "{MAX_ARG_DEPTH} levels pass");
        assert_eq!(
            methargs("m", &json!([deep])),
            Err(InboundError::TooDeep(MAX_ARG_DEPTH + 1))
        );
    }
}

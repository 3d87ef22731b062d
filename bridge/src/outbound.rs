//! Kernel results back to clients: a settled promise as JSON.

use serde_json::{json, Value};
use vatchain_kernel::PromiseState;

use crate::smallcaps;

/// A settled promise as client JSON: `{"status": "fulfilled"|"rejected", "value": …}`;
/// `None` while unresolved. Object references in the value appear as
/// `{"@slot": "ko…"}` (clients cannot use them, but can see that they are there).
pub fn settlement(state: &PromiseState) -> Option<Value> {
    let (status, data) = match state {
        PromiseState::Unresolved { .. } => return None,
        PromiseState::Fulfilled(d) => ("fulfilled", d),
        PromiseState::Rejected(d) => ("rejected", d),
    };
    let slots: Vec<String> = data.slots.iter().map(ToString::to_string).collect();
    let value = smallcaps::decode(&data.body, &slots)
        .unwrap_or_else(|e| json!({"@undecodable": data.body, "error": e.to_string()}));
    Some(json!({"status": status, "value": value}))
}

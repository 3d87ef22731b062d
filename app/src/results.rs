//! Results of `MsgDeliverInbound`: the host holds each answer's kernel promise until it
//! settles, then records it (`res/<kpid>`) for queries and reports it as an event. An
//! answer that has not settled within [`RESULT_TTL_BLOCKS`] is given up: the host lets the
//! promise go and records it as expired, so the pending list (scanned every block) stays
//! bounded by the blocks' traffic.

use serde_json::{json, Value};
use vatchain_bridge::outbound;
use vatchain_kernel::store::Store;
use vatchain_kernel::{KRef, Kernel};

use crate::host;

/// Blocks an answer may take before the host stops waiting for it.
pub const RESULT_TTL_BLOCKS: u64 = 100;

const PENDING: &str = "res/pending";

/// (kpid, height of the delivery), oldest first.
fn pending(store: &Store) -> Vec<(String, u64)> {
    host::get(store, PENDING).unwrap_or_default()
}

/// Starts waiting for `kp`, the answer to a delivery in block `height`.
pub fn track(store: &mut Store, kp: KRef, height: u64) {
    let mut p = pending(store);
    p.push((kp.to_string(), height));
    host::put(store, PENDING, &p);
}

/// A result as queries show it: settled, pending, or expired.
pub fn get(store: &Store, kp: &str) -> Option<Value> {
    if let Some(r) = host::get::<Value>(store, &format!("res/{kp}")) {
        return Some(r);
    }
    pending(store)
        .iter()
        .any(|(p, _)| p == kp)
        .then(|| json!({"status": "pending"}))
}

/// Records the answers that settled (or expired) by the end of block `height`, releases
/// their promises, and returns them.
pub fn settle(kernel: &mut Kernel, height: u64) -> Vec<(KRef, Value)> {
    let waiting = pending(kernel.store());
    if waiting.is_empty() {
        return Vec::new();
    }
    let mut still = Vec::new();
    let mut done = Vec::new();
    for (s, at) in waiting {
        let Ok(kp) = s.parse::<KRef>() else { continue };
        // Gone: nothing will ever settle it (cannot happen while it is pinned).
        let Some(state) = kernel.promise_state(kp) else {
            continue;
        };
        match outbound::settlement(&state) {
            Some(v) => done.push((kp, v)),
            None if height.saturating_sub(at) >= RESULT_TTL_BLOCKS => done.push((
                kp,
                json!({"status": "expired", "value": null, "afterBlocks": RESULT_TTL_BLOCKS}),
            )),
            None => still.push((s, at)),
        }
    }
    let store = kernel.store_mut();
    for (kp, v) in &done {
        host::put(store, &format!("res/{kp}"), v);
    }
    host::put(store, PENDING, &still);
    store.commit_crank();
    for (kp, _) in &done {
        kernel.unpin(*kp);
    }
    done
}

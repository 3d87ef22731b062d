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

/// `res/pending/<kpid>` → the height of the delivery: one key per answer awaited, so that
/// tracking one costs the same however many are pending.
const PENDING: &str = "res/pending/";

/// (kpid, height of the delivery), in kpid order.
fn pending(store: &Store) -> Vec<(String, u64)> {
    host::scan::<u64>(store, PENDING)
        .into_iter()
        .map(|(k, h)| (k[PENDING.len()..].to_string(), h))
        .collect()
}

/// Starts waiting for `kp`, the answer to a delivery in block `height`.
pub fn track(store: &mut Store, kp: KRef, height: u64) {
    host::put(store, &format!("{PENDING}{kp}"), &height);
}

/// A result as queries show it: settled, pending, or expired.
pub fn get(store: &Store, kp: &str) -> Option<Value> {
    if let Some(r) = host::get::<Value>(store, &format!("res/{kp}")) {
        return Some(r);
    }
    host::get::<u64>(store, &format!("{PENDING}{kp}")).map(|_| json!({"status": "pending"}))
}

/// Records the answers that settled (or expired) by the end of block `height`, releases
/// their promises, and returns them.
pub fn settle(kernel: &mut Kernel, height: u64) -> Vec<(KRef, Value)> {
    let waiting = pending(kernel.store());
    if waiting.is_empty() {
        return Vec::new();
    }
    let mut done = Vec::new();
    let mut gone = Vec::new();
    for (s, at) in waiting {
        // Unparsable or gone: nothing will ever settle it (cannot happen while the host
        // pins it); stop waiting.
        let Some((kp, state)) = s
            .parse::<KRef>()
            .ok()
            .and_then(|kp| Some((kp, kernel.promise_state(kp)?)))
        else {
            gone.push(s);
            continue;
        };
        match outbound::settlement(&state) {
            Some(v) => done.push((kp, v)),
            None if height.saturating_sub(at) >= RESULT_TTL_BLOCKS => done.push((
                kp,
                json!({"status": "expired", "value": null, "afterBlocks": RESULT_TTL_BLOCKS}),
            )),
            None => {}
        }
    }
    let store = kernel.store_mut();
    for s in &gone {
        host::delete(store, &format!("{PENDING}{s}"));
    }
    for (kp, v) in &done {
        host::put(store, &format!("res/{kp}"), v);
        host::delete(store, &format!("{PENDING}{kp}"));
    }
    store.commit_crank();
    for (kp, _) in &done {
        kernel.unpin(*kp);
    }
    done
}

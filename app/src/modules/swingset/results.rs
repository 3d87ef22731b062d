//! Results of `MsgDeliverInbound`: the host holds each answer's kernel promise until it
//! settles, then records it (`res/<kpid>`) for queries and reports it as an event. An
//! answer that has not settled within [`RESULT_TTL_BLOCKS`] is given up: the host lets the
//! promise go and records it as expired, so the pending list (scanned every block) stays
//! bounded by the blocks' traffic.

use serde_json::{json, Value};
use vatchain_bridge::outbound;
use vatchain_kernel::{KRef, Kernel};

use crate::host::{self, HostRead, HostStore};
use crate::modules::swingset::keys;

/// Blocks an answer may take before the host stops waiting for it.
pub const RESULT_TTL_BLOCKS: u64 = 100;

/// (kpid, height of the delivery), in kpid order: one key per answer awaited, so that
/// tracking one costs the same however many are pending.
fn pending(h: &impl HostRead) -> Vec<(String, u64)> {
    host::scan::<u64>(h, keys::PENDING_RESULTS)
        .into_iter()
        .map(|(k, height)| (k[keys::PENDING_RESULTS.len()..].to_string(), height))
        .collect()
}

/// Starts waiting for `kp`, the answer to a delivery in block `height`.
pub fn track(h: &mut HostStore<'_>, kp: KRef, height: u64) {
    host::put(h, &keys::pending_result(&kp.to_string()), &height);
}

/// A result as queries show it: settled, pending, or expired.
pub fn get(h: &impl HostRead, kp: &str) -> Option<Value> {
    if let Some(r) = host::get::<Value>(h, &keys::result(kp)) {
        return Some(r);
    }
    host::get::<u64>(h, &keys::pending_result(kp)).map(|_| json!({"status": "pending"}))
}

/// Records the answers that settled (or expired) by the end of block `height`, releases
/// their promises, and returns them.
pub fn settle(kernel: &mut Kernel, height: u64) -> Vec<(KRef, Value)> {
    let waiting = pending(&kernel.host());
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
    kernel.update_host(|h| {
        for s in &gone {
            host::delete(h, &keys::pending_result(s));
        }
        for (kp, v) in &done {
            let kp = kp.to_string();
            host::put(h, &keys::result(&kp), v);
            host::delete(h, &keys::pending_result(&kp));
        }
    });
    for (kp, _) in &done {
        kernel.unpin(*kp);
    }
    done
}

//! v2 → v3: the remediation of promise c-list entries leaked by pre-v3 vat upgrades
//! (upstream bug #9039; DESIGN §9; reference §9).
//!
//! A v2 kernel's upgrade rejected the promises the upgraded vat decided but left them in
//! that vat's c-list, so each entry kept one reference, and with it the promise record
//! (`kpN.state`, `kpN.data.*`, `kpN.refCount`), forever. The refcounts are right (the
//! entry is a real holder); the entry itself is what must go.
//!
//! For every live vat (static and dynamic, not terminated), for every promise entry
//! `vN.c.kpM` whose promise is settled and for which no `notify(vN, kpM)` waits in the
//! run-queue or the acceptance-queue, the step deletes the entry (both directions) and
//! drops its reference; promises left with no holder are freed at once. Unresolved
//! promises are skipped (the vat may still be told of them), and so are entries with a
//! notify pending (delivering it removes the entry the normal way). A promise that other
//! holders keep (queued messages, other vats' c-lists, a notify to another vat) loses only
//! this one reference.
//!
//! Unlike upstream, which queues a spurious `notify` per entry and lets later cranks clean
//! up, the step removes the entries itself: the repair is complete inside the upgrade block,
//! and the new incarnation hears nothing it did not ask for.
//!
//! Cost: one prefix scan of `vN.c.kp` per live vat, one state read per entry found, and
//! the deletions; the queues are read once. Nothing else is scanned, so the work is linear
//! in promise c-list entries (plus queued events), however large the rest of the DB is.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Serialize;

use super::{MigrateError, Progress, StepCounts, Timing, PROGRESS_EVERY};
use crate::events::KernelEvent;
use crate::refs::{KRef, VatId};
use crate::state::{keys, KState};
use crate::store::Cf;

/// What the v2→v3 step did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationCounts {
    /// Live vats whose c-lists were scanned.
    pub vats_scanned: u64,
    /// Promise c-list entries examined.
    pub entries_examined: u64,
    /// Entries of settled promises removed (each both directions), per vat (vat id, count),
    /// for vats that had any.
    pub removed_by_vat: Vec<(String, u64)>,
    /// Entries removed in all.
    pub entries_removed: u64,
    /// Promise records freed because the removed entry was their last holder.
    pub records_freed: u64,
    /// Settled promises left alone because a notify to that vat is pending.
    pub skipped_pending_notify: u64,
    /// Unresolved promises left alone.
    pub skipped_unresolved: u64,
}

pub(super) fn run(
    st: &mut KState,
    progress: &mut dyn FnMut(Progress),
) -> Result<(StepCounts, Timing), MigrateError> {
    let t0 = Instant::now();
    let mut c = RemediationCounts::default();
    let doomed = scan(st, &mut c, progress)?;
    let scanned = t0.elapsed();
    for (v, k) in &doomed {
        st.delete_clist_entry(*v, *k);
    }
    // Free what lost its last holder now, to count it (the crank's end would anyway).
    st.process_refcounts();
    let mut removed: Vec<KRef> = doomed.iter().map(|(_, k)| *k).collect();
    removed.sort();
    removed.dedup();
    c.records_freed = removed
        .iter()
        .filter(|k| !st.has(&keys::kp_state(**k)))
        .count() as u64;
    let timing = Timing {
        scan: scanned,
        fix: t0.elapsed() - scanned,
    };
    Ok((StepCounts::V2ToV3(c), timing))
}

/// The entries to remove, in vat then key order (reads only).
fn scan(
    st: &KState,
    c: &mut RemediationCounts,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<(VatId, KRef)>, MigrateError> {
    let pending = pending_notifies(st);
    let vats = st.live_vats();
    let mut doomed = Vec::new();
    for (i, &v) in vats.iter().enumerate() {
        let mut here = 0u64;
        for k in promise_entries(st, v)? {
            c.entries_examined += 1;
            if c.entries_examined.is_multiple_of(PROGRESS_EVERY) {
                progress(Progress {
                    from: 2,
                    to: 3,
                    vats_done: i as u64,
                    vats: vats.len() as u64,
                    entries: c.entries_examined,
                });
            }
            match st.promise_state_is_settled(k) {
                None => {
                    return Err(MigrateError::Corrupt(format!(
                        "{v}'s c-list names {k}, which has no state"
                    )))
                }
                Some(false) => c.skipped_unresolved += 1,
                Some(true) if pending.contains(&(v, k)) => c.skipped_pending_notify += 1,
                Some(true) => {
                    doomed.push((v, k));
                    here += 1;
                }
            }
        }
        c.vats_scanned += 1;
        if here > 0 {
            c.removed_by_vat.push((v.to_string(), here));
            c.entries_removed += here;
        }
        progress(Progress {
            from: 2,
            to: 3,
            vats_done: i as u64 + 1,
            vats: vats.len() as u64,
            entries: c.entries_examined,
        });
    }
    Ok(doomed)
}

/// `(vat, promise)` pairs with a `notify` waiting in either queue.
fn pending_notifies(st: &KState) -> BTreeSet<(VatId, KRef)> {
    [keys::RUN_QUEUE, keys::ACCEPTANCE_QUEUE]
        .into_iter()
        .flat_map(|q| st.queue_items(q))
        .filter_map(|ev| match ev {
            KernelEvent::Notify { vat_id, kpid } => Some((vat_id, kpid)),
            _ => None,
        })
        .collect()
}

/// The promises in `v`'s c-list, from its kref-keyed entries (`vN.c.kp…`), in key order.
fn promise_entries(st: &KState, v: VatId) -> Result<Vec<KRef>, MigrateError> {
    let prefix = format!("{}kp", keys::clist_prefix(v));
    st.store
        .scan_prefix(Cf::Kv, prefix.as_bytes())
        .into_iter()
        .map(|(key, _)| {
            let name = std::str::from_utf8(&key)
                .ok()
                .and_then(|s| s.strip_prefix(keys::clist_prefix(v).as_str()));
            name.and_then(|n| n.parse::<KRef>().ok())
                .filter(|k| k.is_promise())
                .ok_or_else(|| {
                    MigrateError::Corrupt(format!(
                        "malformed c-list key {:?}",
                        String::from_utf8_lossy(&key)
                    ))
                })
        })
        .collect()
}

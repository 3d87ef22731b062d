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
//! Cost: one prefix scan of `vN.c.kp` per live vat, one range read of each named promise's
//! record (which answers every later read of it), and the deletions; the queues are read
//! once. Nothing else is scanned, so the work is linear in promise c-list entries (plus
//! queued events), however large the rest of the DB is. Entries are removed as the scan
//! finds them: a removal touches only its own entry and promise (and, through GC, what the
//! promise's data held, which is queued, not deleted), never an entry the scan has yet to
//! reach.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Serialize;

use super::{MigrateError, Progress, StepCounts, Timing, PROGRESS_EVERY};
use crate::events::KernelEvent;
use crate::refs::{KRef, VRef, VatId};
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
    let mut c = RemediationCounts::default();
    let mut timing = Timing::default();
    let t = Instant::now();
    let pending = pending_notifies(st);
    let vats = st.live_vats();
    timing.scan += t.elapsed();
    for (i, &v) in vats.iter().enumerate() {
        let t = Instant::now();
        let entries = promise_entries(st, v)?;
        timing.scan += t.elapsed();
        let mut here = 0u64;
        // At most seven writes an entry: a crank buffer that never regrows.
        st.store.reserve_writes(entries.len() * 7);
        for (n, (kp, reachable, vref)) in entries.iter().enumerate() {
            let (kp, reachable) = (*kp, *reachable);
            if n % PREFETCH == 0 {
                // The records of the next entries, with one iterator seeking forward (a
                // c-list lists krefs in the key order of their records).
                let t = Instant::now();
                let next: Vec<KRef> = entries[n..].iter().take(PREFETCH).map(|e| e.0).collect();
                st.prefetch_promises(&next);
                timing.scan += t.elapsed();
            }
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
            // The prefetched record answers this read, and those of the decrement and (at
            // zero) the freeing below.
            let t = Instant::now();
            let settled = st.promise_state_is_settled(kp);
            timing.scan += t.elapsed();
            match settled {
                None => {
                    return Err(MigrateError::Corrupt(format!(
                        "{v}'s c-list names {kp}, which has no state"
                    )))
                }
                Some(false) => c.skipped_unresolved += 1,
                Some(true) if pending.contains(&(v, kp)) => c.skipped_pending_notify += 1,
                Some(true) => {
                    let t = Instant::now();
                    st.delete_clist_entry_as(v, kp, reachable, vref);
                    st.process_refcounts();
                    // The entry held the record until now: gone now, it was freed here.
                    if !st.has(&keys::kp_state(kp)) {
                        c.records_freed += 1;
                    }
                    timing.fix += t.elapsed();
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
    Ok((StepCounts::V2ToV3(c), timing))
}

/// Entries whose promise records are read ahead at once (few enough for the read cache).
const PREFETCH: usize = 1024;

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

/// The promise entries of `v`'s c-list, from its kref-keyed side (`vN.c.kp…` = `<R|_>
/// <vref>`), in key order.
fn promise_entries(st: &KState, v: VatId) -> Result<Vec<(KRef, bool, VRef)>, MigrateError> {
    let head = keys::clist_prefix(v);
    let corrupt = |key: &[u8], value: &[u8]| {
        MigrateError::Corrupt(format!(
            "malformed c-list entry {:?} = {:?}",
            String::from_utf8_lossy(key),
            String::from_utf8_lossy(value)
        ))
    };
    st.store
        .scan_prefix(Cf::Kv, format!("{head}kp").as_bytes())
        .into_iter()
        .map(|(key, value)| {
            let parsed = (|| {
                let kp: KRef = std::str::from_utf8(&key)
                    .ok()?
                    .strip_prefix(head.as_str())?
                    .parse()
                    .ok()
                    .filter(|k: &KRef| k.is_promise())?;
                let (flag, vref) = std::str::from_utf8(&value).ok()?.split_once(' ')?;
                Some((kp, flag == "R", VRef::parse(vref).ok()?))
            })();
            parsed.ok_or_else(|| corrupt(&key, &value))
        })
        .collect()
}

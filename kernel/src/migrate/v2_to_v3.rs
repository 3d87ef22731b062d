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
        let reverse = vref_side(st, v);
        timing.scan += t.elapsed();
        let mut here = 0u64;
        // At most seven writes an entry (an upper bound: unresolved ones write nothing),
        // so that the crank buffer never regrows, which rehashes every key so far.
        st.store.reserve_writes(entries.len() * 7);
        for (n, (kp, reachable, vref)) in entries.iter().enumerate() {
            if n % PREFETCH == 0 {
                let t = Instant::now();
                prefetch(st, &entries[n..(n + PREFETCH).min(entries.len())]);
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
            let t = Instant::now();
            let settled = is_settled(st, v, *kp)?;
            let remove = settled && !pending.contains(&(v, *kp));
            if remove {
                check_removable(st, v, *kp, vref, &reverse)?;
            }
            timing.scan += t.elapsed();
            if !settled {
                c.skipped_unresolved += 1;
            } else if !remove {
                c.skipped_pending_notify += 1;
            } else {
                let t = Instant::now();
                st.delete_clist_entry_as(v, *kp, *reachable, vref);
                st.process_refcounts();
                // The entry held the record until now: gone now, it was freed here.
                if !st.has(&keys::kp_state(*kp)) {
                    c.records_freed += 1;
                }
                timing.fix += t.elapsed();
                here += 1;
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

/// Reads ahead the records of the promises `entries` name, with one iterator seeking
/// forward (a c-list lists krefs in the key order of their records): every read of them
/// below is then answered from memory.
fn prefetch(st: &KState, entries: &[(KRef, bool, VRef)]) {
    let kps: Vec<KRef> = entries.iter().map(|e| e.0).collect();
    st.prefetch_promises(&kps);
}

/// `v`'s vref-side promise entries (`vN.c.p±N` = kref), sorted by vref: one sequential
/// scan, where looking each one up would be a random read.
fn vref_side(st: &KState, v: VatId) -> Vec<(Vec<u8>, Vec<u8>)> {
    st.store
        .scan_prefix(Cf::Kv, format!("{}p", keys::clist_prefix(v)).as_bytes())
}

/// Whether `kp` (named by `v`'s c-list) is settled; a missing or unknown state is
/// corruption no kernel writes.
fn is_settled(st: &KState, v: VatId, kp: KRef) -> Result<bool, MigrateError> {
    match st.get(&keys::kp_state(kp)).as_deref() {
        Some("unresolved") => Ok(false),
        Some("fulfilled" | "rejected") => Ok(true),
        Some(other) => Err(MigrateError::Corrupt(format!(
            "{kp}.state is {other:?}, named by {v}'s c-list"
        ))),
        None => Err(MigrateError::Corrupt(format!(
            "{v}'s c-list names {kp}, which has no state"
        ))),
    }
}

/// What removing `v`'s entry for settled `kp` relies on, checked rather than trusted (a
/// corrupt DB stops the migration, which the node then refuses to commit): the entry names
/// a promise vref whose reverse entry names `kp` back, and the promise has its data and a
/// count that includes the entry.
fn check_removable(
    st: &KState,
    v: VatId,
    kp: KRef,
    vref: &VRef,
    reverse: &[(Vec<u8>, Vec<u8>)],
) -> Result<(), MigrateError> {
    let corrupt = |what: String| Err(MigrateError::Corrupt(what));
    if !vref.is_promise() {
        return corrupt(format!(
            "{v}.c.{kp} names {vref}, which is not a promise vref"
        ));
    }
    let key = keys::clist_v(v, vref.as_str());
    let back = reverse
        .binary_search_by(|(k, _)| k.as_slice().cmp(key.as_bytes()))
        .ok()
        .map(|i| String::from_utf8_lossy(&reverse[i].1));
    if back.as_deref() != Some(kp.to_string().as_str()) {
        return corrupt(format!(
            "{v}.c.{kp} names {vref}, but {v}.c.{vref} is {back:?}"
        ));
    }
    if !st.has(&keys::kp_data_body(kp)) {
        return corrupt(format!("settled {kp} has no data"));
    }
    match st
        .get(&keys::refcount(kp))
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(n) if n >= 1 => Ok(()),
        other => corrupt(format!(
            "{kp}.refCount is {other:?}, though {v}'s c-list holds it"
        )),
    }
}

/// Entries whose promise records are read ahead at once (few enough for the read cache).
const PREFETCH: usize = 1024;

/// `(vat, promise)` pairs a `notify` waiting in either queue will retire: the notify's
/// promise and every settled promise its data leads to (`kpids_to_retire`, as delivering
/// it will), so that the migration leaves every such entry to that delivery.
fn pending_notifies(st: &KState) -> BTreeSet<(VatId, KRef)> {
    let mut pairs = BTreeSet::new();
    for q in [keys::RUN_QUEUE, keys::ACCEPTANCE_QUEUE] {
        for ev in st.queue_items(q) {
            if let KernelEvent::Notify { vat_id, kpid } = ev {
                for k in st.kpids_to_retire(kpid) {
                    pairs.insert((vat_id, k));
                }
            }
        }
    }
    pairs
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

//! Every kv key the kernel writes is built here, and only here.
//!
//! | key | value | notes |
//! |---|---|---|
//! | `version` | schema version, decimal | written at kernel init |
//! | `crankNumber` | decimal | cranks run so far |
//! | `vat.nextID`, `ko.nextID`, `kp.nextID` | decimal | id counters (first vat `v1`, ko 20, kp 40) |
//! | `vat.names` | JSON array of names | static vats, creation order |
//! | `vat.name.<name>` | vatID | |
//! | `vat.dynamicIDs` | JSON array of vatIDs | dynamic vats, creation order |
//! | `vat.nextUpgradeID` | decimal | ids of `upgradeVat` events (vat-admin matches replies) |
//! | `vats.terminated` | JSON array of vatIDs | terminated vats (cleanup is immediate) |
//! | `bundle.name.<name>` | bundleID | named bundles (`getNamedBundleCap`, `createVatByName`) |
//! | `bootstrap` | vatID | the bootstrap vat, once `bootstrap()` was queued to it |
//! | `vN.source` | JSON `{"bundleID"}` | |
//! | `vN.options` | JSON `VatOptions` | |
//! | `vN.vatParameters` | JSON kernel capdata | slots hold refcounts |
//! | `vN.o.nextID`, `vN.p.nextID` | decimal | import counters (`o-50`, `p-60`); presence = vat live |
//! | `vN.reapDirt` | decimal | deliveries since the last bringOutYourDead |
//! | `vN.t.current` | JSON `{startPos, incarnation, bundleID}` | current transcript span |
//! | `vN.t.endPos` | decimal | its end (one past the last item); written every delivery |
//! | `vN.t.<startPos>` | JSON span | a closed span (one per upgrade), 20-digit position |
//! | `vN.c.<kref>` | `R <vref>` or `_ <vref>` | c-list, kernel → vat, with reachable flag |
//! | `vN.c.<vref>` | kref | c-list, vat → kernel |
//! | `vN.vs.<key>` | string | the vat's vatstore |
//! | `vN.vsBytes` | decimal | the vatstore's keys and values, in bytes (absent: 0), against its quota |
//! | `koN.owner` | vatID | absent = orphaned |
//! | `koN.refCount` | `reachable,recognizable` | presence = object exists |
//! | `koN.disconnect` | smallcaps body | legacy, no longer written (orphans of earlier versions); deleted with the object |
//! | `kpN.state` | `unresolved` / `fulfilled` / `rejected` | presence = promise exists |
//! | `kpN.refCount` | decimal | |
//! | `kpN.decider` | vatID or empty | unresolved only |
//! | `kpN.subscribers` | comma-joined sorted vatIDs | unresolved only |
//! | `kpN.queue.nextID`, `kpN.queue.<N>` | decimal, JSON message | unresolved only; N zero-padded |
//! | `kpN.data.body`, `kpN.data.slots` | body, comma-joined krefs | settled only |
//! | `runQueue`, `acceptanceQueue` | JSON `[head, tail]` | |
//! | `runQueue.<N>`, `acceptanceQueue.<N>` | JSON event | N zero-padded |
//! | `hostQueue`, `hostQueue.<N>` | as above | the host's sends, not yet routed (absent: empty) |
//! | `laneTurn` | `host` / `run` | which lane goes next while both hold work (absent: host) |
//! | `gcActions` | JSON sorted array of `"vN type koN"` | |
//! | `reapQueue` | JSON array of vatIDs | |
//! | `pin.<kref>` | decimal | how many times the host pinned the kref; each pin holds one refcount |
//!
//! Besides its c-list entries, a live vat's root object (`o+0`) holds one count: the kernel
//! keeps every live vat reachable. Every key is consensus state. Numbers inside keys are zero-padded to 20 digits where
//! their order matters (queue positions), so lexical order is numeric order.

use crate::refs::{KRef, VatId};

pub const VERSION: &str = "version";
pub const CRANK_NUMBER: &str = "crankNumber";
pub const VAT_NEXT_ID: &str = "vat.nextID";
pub const KO_NEXT_ID: &str = "ko.nextID";
pub const KP_NEXT_ID: &str = "kp.nextID";
pub const VAT_NAMES: &str = "vat.names";
pub const VAT_DYNAMIC_IDS: &str = "vat.dynamicIDs";
pub const VAT_NEXT_UPGRADE_ID: &str = "vat.nextUpgradeID";
pub const VATS_TERMINATED: &str = "vats.terminated";
pub const GC_ACTIONS: &str = "gcActions";
pub const REAP_QUEUE: &str = "reapQueue";
pub const PIN_PREFIX: &str = "pin.";
/// Where an earlier pre-release layout kept every pin in one list; a DB holding it is
/// refused at open (see `Kernel::new`), never written.
pub const LEGACY_PINNED_LIST: &str = "pinnedObjects";
pub const RUN_QUEUE: &str = "runQueue";
pub const ACCEPTANCE_QUEUE: &str = "acceptanceQueue";
pub const HOST_QUEUE: &str = "hostQueue";
pub const LANE_TURN: &str = "laneTurn";
/// The computron limit of one live delivery, set by the host from its chain parameters
/// (absent: the worker's default).
pub const DELIVERY_LIMIT: &str = "deliveryLimit";
/// Deliveries between bringOutYourDead for vats whose options set none, set by the host
/// from its chain parameters (absent: [`crate::DEFAULT_REAP_INTERVAL`]).
pub const DEFAULT_REAP_INTERVAL: &str = "defaultReapInterval";

// Keys are built by hand rather than with `format!`: the kernel builds several for every
// syscall and delivery, and the formatting machinery was a visible part of that cost.

/// `vN` followed by `rest`.
fn of_vat(v: VatId, rest: &str) -> String {
    let mut s = String::with_capacity(24 + rest.len());
    v.write_to(&mut s);
    s.push_str(rest);
    s
}

/// `koN`/`kpN` followed by `rest`.
fn of_kref(k: KRef, rest: &str) -> String {
    let mut s = String::with_capacity(24 + rest.len());
    k.write_to(&mut s);
    s.push_str(rest);
    s
}

/// `n` as 20 zero-padded digits (every u64 fits), so that key order is numeric order.
fn push_padded(s: &mut String, n: u64) {
    let digits = crate::refs::decimal(n);
    for _ in digits.len()..20 {
        s.push('0');
    }
    s.push_str(&digits);
}

pub fn vat_name(name: &str) -> String {
    format!("vat.name.{name}")
}

pub fn named_bundle(name: &str) -> String {
    format!("bundle.name.{name}")
}

pub const BOOTSTRAP: &str = "bootstrap";

/// Prefix of every key of one vat (`vN.`).
pub fn vat_prefix(v: VatId) -> String {
    of_vat(v, ".")
}
pub fn vat_source(v: VatId) -> String {
    of_vat(v, ".source")
}
pub fn vat_options(v: VatId) -> String {
    of_vat(v, ".options")
}
pub fn vat_parameters(v: VatId) -> String {
    of_vat(v, ".vatParameters")
}
pub fn vat_o_next(v: VatId) -> String {
    of_vat(v, ".o.nextID")
}
pub fn vat_p_next(v: VatId) -> String {
    of_vat(v, ".p.nextID")
}
pub fn vat_reap_dirt(v: VatId) -> String {
    of_vat(v, ".reapDirt")
}
/// The vat's current transcript span (start, incarnation, bundle).
pub fn transcript_current(v: VatId) -> String {
    of_vat(v, ".t.current")
}
/// The current span's end: one past its last item.
pub fn transcript_end(v: VatId) -> String {
    of_vat(v, ".t.endPos")
}
/// A closed span, by its start position.
pub fn transcript_closed(v: VatId, start_pos: u64) -> String {
    let mut s = of_vat(v, ".t.");
    push_padded(&mut s, start_pos);
    s
}
/// Prefix of every closed span (their positions are zero-padded).
pub fn transcript_closed_prefix(v: VatId) -> String {
    of_vat(v, ".t.0")
}
/// Prefix of the vat's c-list (both directions).
pub fn clist_prefix(v: VatId) -> String {
    of_vat(v, ".c.")
}
pub fn clist_k(v: VatId, k: KRef) -> String {
    let mut s = of_vat(v, ".c.");
    k.write_to(&mut s);
    s
}
pub fn clist_v(v: VatId, vref: &str) -> String {
    let mut s = of_vat(v, ".c.");
    s.push_str(vref);
    s
}
/// The vat's vatstore bytes (keys plus values), kept against its quota.
pub fn vat_vatstore_bytes(v: VatId) -> String {
    of_vat(v, ".vsBytes")
}
pub fn vatstore_prefix(v: VatId) -> String {
    of_vat(v, ".vs.")
}
pub fn vatstore(v: VatId, key: &str) -> String {
    let mut s = of_vat(v, ".vs.");
    s.push_str(key);
    s
}

pub fn pin(k: KRef) -> String {
    let mut s = String::from(PIN_PREFIX);
    k.write_to(&mut s);
    s
}

pub fn ko_owner(k: KRef) -> String {
    of_kref(k, ".owner")
}
pub fn ko_disconnect(k: KRef) -> String {
    of_kref(k, ".disconnect")
}
pub fn refcount(k: KRef) -> String {
    of_kref(k, ".refCount")
}
pub fn kp_state(k: KRef) -> String {
    of_kref(k, ".state")
}
pub fn kp_decider(k: KRef) -> String {
    of_kref(k, ".decider")
}
pub fn kp_subscribers(k: KRef) -> String {
    of_kref(k, ".subscribers")
}
pub fn kp_queue_next(k: KRef) -> String {
    of_kref(k, ".queue.nextID")
}
pub fn kp_queue_item(k: KRef, n: u64) -> String {
    let mut s = of_kref(k, ".queue.");
    push_padded(&mut s, n);
    s
}
pub fn kp_data_body(k: KRef) -> String {
    of_kref(k, ".data.body")
}
pub fn kp_data_slots(k: KRef) -> String {
    of_kref(k, ".data.slots")
}
/// Prefix of every key of one kernel object or promise (`koN.` / `kpN.`).
pub fn kref_prefix(k: KRef) -> String {
    of_kref(k, ".")
}

pub fn queue_item(queue: &str, n: u64) -> String {
    let mut s = String::with_capacity(queue.len() + 21);
    s.push_str(queue);
    s.push('.');
    push_padded(&mut s, n);
    s
}

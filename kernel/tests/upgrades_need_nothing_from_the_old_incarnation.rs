//! Seed 000: the vat most in need of an upgrade is one whose old code cannot run, and it
//! must not be able to stop its own upgrade. Here the old incarnation's pre-upgrade
//! bringOutYourDead runs out of meter, runs out of heap, or its worker cannot even be
//! rebuilt; each time the upgrade goes on without it (`UpgradeReport::boyd_skipped`), and
//! afterwards durable objects keep working, no vref is handed out twice (liveslots wrote
//! its counters as they changed), the import the old heap alone held is dropped and
//! retired on its behalf, and the audit is clean.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::js::{audit, call, call_for_objects, create, fixture, fulfilled, named};
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::{
    JsLimits, JsWorkers, VatSource, VatWorker, WorkerError, WorkerFactory,
};
use vatchain_kernel::{KRef, Kernel, KernelConfig, RunBudget, UpgradeReport, VatId};

/// JavaScript workers, except that the bundle named in `refused` cannot be loaded (as if
/// this binary no longer ran it: the same on every node, `WorkerError::Code`).
struct Refusing {
    inner: JsWorkers,
    refused: Rc<RefCell<Option<String>>>,
}

impl WorkerFactory for Refusing {
    fn make_worker(
        &mut self,
        vat: VatId,
        source: &VatSource,
        bundle: Option<&[u8]>,
    ) -> Result<Box<dyn VatWorker>, WorkerError> {
        if self.refused.borrow().as_deref() == Some(source.bundle_id.as_str()) {
            return Err(WorkerError::Code(
                "this binary no longer loads the bundle (injected)".into(),
            ));
        }
        self.inner.make_worker(vat, source, bundle)
    }
}

/// A kernel with a 16 MiB vat heap (so a hog reaches it quickly) and one live worker at a
/// time (so switching vats rebuilds workers).
fn kernel(refused: &Rc<RefCell<Option<String>>>) -> Kernel {
    let f = Refusing {
        inner: JsWorkers {
            limits: JsLimits {
                heap_bytes: 16 << 20,
                ..JsLimits::default()
            },
            ..JsWorkers::default()
        },
        refused: refused.clone(),
    };
    let config = KernelConfig {
        max_live_workers: 1,
        ..KernelConfig::default()
    };
    Kernel::new(Store::in_memory(), Box::new(f), config).expect("kernel")
}

/// The vrefs of `v`'s c-list (`vN.c.o…`/`vN.c.p…` entries).
fn clist_vrefs(k: &Kernel, v: VatId) -> Vec<String> {
    let prefix = format!("{v}.c.");
    k.kv_scan(&prefix)
        .into_iter()
        .filter_map(|(key, _)| {
            let vref = key.strip_prefix(&prefix)?.to_string();
            (vref.starts_with('o') || vref.starts_with('p')).then_some(vref)
        })
        .collect()
}

/// `k`'s vref in `v`'s c-list, if `v` has it.
fn vref_of(k: &Kernel, v: VatId, kref: KRef) -> Option<String> {
    let entry = k.kv_get(&format!("{v}.c.{kref}"))?;
    Some(entry.split(' ').nth(1)?.to_string())
}

struct World {
    k: Kernel,
    refused: Rc<RefCell<Option<String>>>,
    v: VatId,
    root: KRef,
    peer: VatId,
    v1: String,
    v2: String,
    /// A durable counter made by the old incarnation after its last bringOutYourDead.
    counter: KRef,
    /// Two of the peer's objects: the first held in the vat's heap only, the second kept
    /// in its baggage.
    held: KRef,
    kept: KRef,
    /// Every vref the vat's c-list had just before the upgrade.
    before: Vec<String>,
}

fn world() -> World {
    let refused = Rc::new(RefCell::new(None));
    let mut k = kernel(&refused);
    let v1 = k.install_bundle(&fixture("stubborn-v1")).expect("v1");
    let v2 = k.install_bundle(&fixture("stubborn-v2")).expect("v2");
    let (peer, peer_root) = create(&mut k, &v1, named("peer"), "#{}");
    let (v, root) = create(&mut k, &v1, named("stubborn"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let held = call_for_objects(&mut k, peer_root, "#[\"make\",[0]]", &[])[1];
    let kept = call_for_objects(&mut k, peer_root, "#[\"make\",[0]]", &[])[1];
    assert_eq!(
        call(&mut k, root, "#[\"hold\",[\"$0.Alleged: eph\"]]", &[held]),
        fulfilled("#\"#undefined\"")
    );
    assert_eq!(
        call(&mut k, root, "#[\"keep\",[\"$0.Alleged: eph\"]]", &[kept]),
        fulfilled("#\"#undefined\"")
    );
    // From here only the vat holds the peer's objects.
    k.unpin(held);
    k.unpin(kept);
    k.run(RunBudget::UNLIMITED);
    // Allocations after the last bringOutYourDead (there was none since startVat): a
    // durable instance, an ephemeral export, a promise for the send to `held`.
    let made = call_for_objects(&mut k, root, "#[\"make\",[5]]", &[]);
    let counter = made[0];
    assert_eq!(
        call(&mut k, counter, "#[\"increment\",[]]", &[]),
        fulfilled("#\"v1:6\"")
    );
    let before = clist_vrefs(&k, v);
    assert!(
        vref_of(&k, v, held).is_some(),
        "the vat imports the held object"
    );
    World {
        k,
        refused,
        v,
        root,
        peer,
        v1,
        v2,
        counter,
        held,
        kept,
        before,
    }
}

/// Leaves the old incarnation a finalizer that exhausts `mode` ("meter" or "heap") at the
/// next full collection, i.e. in its pre-upgrade bringOutYourDead.
fn arm(w: &mut World, mode: &str) {
    let body = format!("#[\"arm\",[\"{mode}\"]]");
    assert_eq!(
        call(&mut w.k, w.root, &body, &[]),
        fulfilled("#\"#undefined\"")
    );
}

fn upgrade(w: &mut World) -> UpgradeReport {
    let req = support::js::upgrade_request(&w.v2, "fix", "#{}");
    w.k.upgrade_vat(w.v, req).expect("the upgrade succeeds")
}

/// What every scenario checks after the upgrade.
fn check_after(w: &mut World, report: &UpgradeReport) {
    let k = &mut w.k;
    assert_eq!(
        call(k, w.root, "#[\"version\",[]]", &[]),
        fulfilled("#\"v2\"")
    );
    // The durable counter made after the last flush point keeps its state and identity.
    assert_eq!(
        call(k, w.counter, "#[\"increment\",[]]", &[]),
        fulfilled("#\"v2:7\"")
    );
    // New allocations never reuse a vref of the old incarnation.
    let made = call_for_objects(k, w.root, "#[\"make\",[100]]", &[]);
    assert_ne!(made[0], w.counter, "a new counter, not the old one again");
    assert_eq!(call(k, made[0], "#[\"read\",[]]", &[]), fulfilled("#100"));
    assert_eq!(call(k, w.counter, "#[\"read\",[]]", &[]), fulfilled("#7"));
    for kref in &made {
        let vref = vref_of(k, w.v, *kref).expect("exported");
        assert!(
            !w.before.contains(&vref),
            "{vref} was the old incarnation's already"
        );
    }
    // The import the old heap alone held is released, and the peer retired it; the one
    // baggage keeps is still there and works.
    assert!(
        vref_of(k, w.v, w.held).is_none(),
        "heap-only import left in the c-list"
    );
    assert!(
        report.released_imports.iter().any(|(_, kr)| *kr == w.held),
        "{report:?}"
    );
    assert!(
        k.kv_get(&format!("{}.owner", w.held)).is_none(),
        "the peer's object outlived its last importer"
    );
    assert!(
        vref_of(k, w.peer, w.held).is_none(),
        "the peer still exports it"
    );
    let kept = call_for_objects(k, w.root, "#[\"kept\",[]]", &[])[0];
    assert_eq!(kept, w.kept);
    assert_eq!(call(k, kept, "#[\"hi\",[]]", &[]), fulfilled("#\"v1 eph\""));
    audit(k);
}

#[test]
fn a_bringoutyourdead_out_of_meter_is_skipped_and_the_upgrade_goes_on() {
    let mut w = world();
    arm(&mut w, "meter");
    let span_before = w.k.transcript_spans(w.v).last().cloned().expect("span");
    let report = upgrade(&mut w);
    let why = report.boyd_skipped.clone().expect("the BOYD was skipped");
    assert!(why.contains("computron limit"), "{why}");
    // The failed delivery was not recorded in the old span.
    let spans = w.k.transcript_spans(w.v);
    assert_eq!(spans[spans.len() - 2].end_pos, span_before.end_pos);
    check_after(&mut w, &report);
}

#[test]
fn a_bringoutyourdead_out_of_heap_is_skipped_and_the_upgrade_goes_on() {
    let mut w = world();
    arm(&mut w, "heap");
    let report = upgrade(&mut w);
    let why = report.boyd_skipped.clone().expect("the BOYD was skipped");
    assert!(why.contains("memory limit"), "{why}");
    check_after(&mut w, &report);
}

#[test]
fn an_old_incarnation_that_cannot_be_rebuilt_is_upgraded_without_it() {
    let mut w = world();
    // The peer's delivery evicts the vat's worker; from now on v1 cannot be loaded.
    let peer_root = w.k.vat_root(w.peer).expect("root");
    assert_eq!(
        call(&mut w.k, peer_root, "#[\"version\",[]]", &[]),
        fulfilled("#\"v1\"")
    );
    *w.refused.borrow_mut() = Some(w.v1.clone());
    let report = upgrade(&mut w);
    let why = report.boyd_skipped.clone().expect("the BOYD was skipped");
    assert!(why.contains("no longer loads"), "{why}");
    assert!(
        w.k.halted().is_none(),
        "a failure of the vat's code is not the node's"
    );
    // The peer runs v1 too: it is not touched until something is sent to it.
    *w.refused.borrow_mut() = None;
    check_after(&mut w, &report);
}

#[test]
fn a_healthy_old_incarnation_still_gets_its_bringoutyourdead() {
    let mut w = world();
    let span_before = w.k.transcript_spans(w.v).last().cloned().expect("span");
    let report = upgrade(&mut w);
    assert_eq!(report.boyd_skipped, None);
    let spans = w.k.transcript_spans(w.v);
    assert_eq!(
        spans[spans.len() - 2].end_pos,
        span_before.end_pos + 1,
        "the BOYD is recorded in the old span"
    );
    check_after(&mut w, &report);
}

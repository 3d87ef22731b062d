//! A worker that cannot be built (QuickJS could not allocate a runtime on this node, say)
//! is this node's failure, not the vat's: other nodes build theirs. So it must not change
//! state: the kernel halts (`Kernel::halted`), the crank it struck is undone, no vat is
//! terminated, nothing more runs; after a restart without the cause the same work runs as
//! on every other node. Injected here with a worker factory that can be made to fail.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::store::{Cf, Store};
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::{JsWorkers, VatSource, VatWorker, WorkerFactory};
use vatchain_kernel::{KRef, Kernel, KernelConfig, PromiseState, RunBudget, VatId};

/// JavaScript workers, unless `broken` is set.
struct Flaky {
    inner: JsWorkers,
    broken: Rc<Cell<bool>>,
}

impl WorkerFactory for Flaky {
    fn make_worker(
        &mut self,
        vat: VatId,
        source: &VatSource,
        bundle: Option<&[u8]>,
    ) -> Result<Box<dyn VatWorker>, vatchain_kernel::worker::WorkerError> {
        if self.broken.get() {
            return Err(vatchain_kernel::worker::WorkerError::Node(
                "cannot create a QuickJS runtime: out of memory (injected)".into(),
            ));
        }
        self.inner.make_worker(vat, source, bundle)
    }
}

/// A kernel whose workers fail while the switch is on; one live worker at a time, so that
/// every switch between vats builds one.
fn kernel(store: Store, broken: &Rc<Cell<bool>>) -> Kernel {
    let config = KernelConfig {
        max_live_workers: 1,
        ..KernelConfig::default()
    };
    let f = Flaky {
        inner: JsWorkers::default(),
        broken: broken.clone(),
    };
    Kernel::new(store, Box::new(f), config).expect("kernel")
}

#[test]
fn a_worker_that_cannot_be_built_halts_the_kernel_and_terminates_nobody() {
    let broken = Rc::new(Cell::new(false));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kernel(Store::open(dir.path()).expect("open"), &broken);
    let (a, b) = support::js::pingpong_pair(&mut k);
    let pingpong_id = Bundle::parse(&support::js::fixture("pingpong"))
        .expect("bundle")
        .id();
    let ping = |n: u64| CapData {
        body: format!("#[\"ping\",[\"$0\",{n}]]"),
        slots: vec![b],
    };
    let kp = k
        .queue_to_kref(a, ping(1), true)
        .expect("send")
        .expect("kp");
    k.run(RunBudget::UNLIMITED);
    assert!(matches!(
        k.promise_state(kp),
        Some(PromiseState::Fulfilled(_))
    ));
    let committed = k.commit_block(1).expect("commit");

    // This node cannot build workers any more; alice's was evicted by bob's.
    broken.set(true);
    let kp = k
        .queue_to_kref(a, ping(2), true)
        .expect("send")
        .expect("kp");
    let run = k.run(RunBudget::UNLIMITED);
    let why = k.halted().expect("halted").to_string();
    assert!(why.contains("out of memory (injected)"), "{why}");
    assert_eq!(k.vats().len(), 2, "no vat terminated (alice and bob live)");
    assert!(matches!(
        k.promise_state(kp),
        Some(PromiseState::Unresolved { .. })
    ));
    assert!(k.has_work(), "the ping is still queued");
    assert!(
        !run.terminated.iter().any(|_| true),
        "nothing terminated: {:?}",
        run.terminated
    );
    assert!(
        k.upgrade_vat(
            k.vat_id("alice").expect("alice"),
            support::js::upgrade_request(&pingpong_id, "", "#{}")
        )
        .is_err(),
        "a halted kernel upgrades nothing"
    );
    // The host stops without committing; the node restarts, the cause gone.
    drop(k);
    broken.set(false);
    let mut k = kernel(Store::open(dir.path()).expect("reopen"), &broken);
    assert_eq!(k.committed().app_hash, committed);
    assert!(k.halted().is_none());
    let answer = support::js::call(&mut k, a, &ping(2).body, &[b]);
    assert_eq!(answer, support::js::fulfilled("#\"alice:3/2\""));
    support::js::audit(&k);
}

#[test]
fn an_upgrade_whose_new_worker_cannot_be_built_halts_instead_of_failing() {
    let broken = Rc::new(Cell::new(false));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kernel(Store::open(dir.path()).expect("open"), &broken);
    let v1 = k
        .install_bundle(&support::js::fixture("durable-v1"))
        .expect("install");
    let v2 = k
        .install_bundle(&support::js::fixture("durable-v2"))
        .expect("install");
    let (v, _root) = support::js::create(&mut k, &v1, support::js::named("d"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let committed = k.commit_block(1).expect("commit");
    // The old worker is live; only the new version's cannot be made.
    broken.set(true);
    let err = k
        .upgrade_vat(v, support::js::upgrade_request(&v2, "up", "#{}"))
        .expect_err("cannot upgrade here");
    assert!(err.to_string().contains("failure of its own"), "{err}");
    assert!(
        k.halted().is_some(),
        "the node must stop, not record a failed upgrade"
    );
    drop(k);
    broken.set(false);
    let mut k = kernel(Store::open(dir.path()).expect("reopen"), &broken);
    assert_eq!(k.committed().app_hash, committed);
    k.upgrade_vat(v, support::js::upgrade_request(&v2, "up", "#{}"))
        .expect("the upgrade runs once the node can build workers");
    support::js::audit(&k);
}

/// A read of the store that fails (a broken disk; injected) answers "absent", so nothing
/// computed after it may stand: the kernel halts at the crank's end, undoes the crank,
/// terminates nobody, and refuses to commit; reopened with the disk healthy, the same work
/// runs and reaches the app hash of a node whose disk never failed.
#[test]
fn a_store_read_that_fails_halts_the_kernel_and_commits_nothing() {
    let broken = Rc::new(Cell::new(false));
    let run_to_block_2 = |k: &mut Kernel, a: KRef, b: KRef| {
        let answer = support::js::call(k, a, "#[\"ping\",[\"$0\",2]]", &[b]);
        assert_eq!(answer, support::js::fulfilled("#\"alice:3/2\""));
        k.commit_block(2).expect("commit")
    };
    // The twin whose disk never fails.
    let twin_dir = tempfile::tempdir().expect("tempdir");
    let mut twin = kernel(Store::open(twin_dir.path()).expect("open"), &broken);
    let (a, b) = support::js::pingpong_pair(&mut twin);
    support::js::call(&mut twin, a, "#[\"ping\",[\"$0\",1]]", &[b]);
    twin.commit_block(1).expect("commit");
    let twin_hash = run_to_block_2(&mut twin, a, b);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = kernel(Store::open(dir.path()).expect("open"), &broken);
    assert_eq!(support::js::pingpong_pair(&mut k), (a, b));
    support::js::call(&mut k, a, "#[\"ping\",[\"$0\",1]]", &[b]);
    let committed = k.commit_block(1).expect("commit");
    drop(k);

    // Reopened (nothing cached), with alice's c-list on a sector that no longer reads.
    let mut store = Store::open(dir.path()).expect("reopen");
    let alice: VatId = "v1".parse().expect("vat id");
    let clist = format!("{alice}.c.");
    store.inject_read_faults(Some((Cf::Kv, clist.as_bytes())));
    let mut k = kernel(store, &broken);
    assert_eq!(k.vat_id("alice"), Some(alice), "alice is v1");
    let kp = k
        .queue_to_kref(
            a,
            CapData {
                body: "#[\"ping\",[\"$0\",2]]".into(),
                slots: vec![b],
            },
            true,
        )
        .expect("send")
        .expect("kp");
    let run = k.run(RunBudget::UNLIMITED);
    let why = k.halted().expect("halted").to_string();
    assert!(
        why.contains("store could not be read") && why.contains("injected"),
        "{why}"
    );
    assert!(run.terminated.is_empty(), "{:?}", run.terminated);
    assert_eq!(k.vats().len(), 2, "no vat terminated");
    assert!(matches!(
        k.promise_state(kp),
        Some(PromiseState::Unresolved { .. })
    ));
    assert!(
        k.commit_block(2).is_err(),
        "a halted kernel commits nothing"
    );
    drop(k);

    // The disk is healthy again: the node runs on, as the twin did.
    let mut k = kernel(Store::open(dir.path()).expect("reopen"), &broken);
    assert_eq!(k.committed().app_hash, committed);
    assert!(k.halted().is_none());
    assert_eq!(run_to_block_2(&mut k, a, b), twin_hash);
    support::js::audit(&k);
}

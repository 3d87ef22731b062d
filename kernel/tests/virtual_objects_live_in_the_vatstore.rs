//! A virtual object's state lives in the vatstore, not in the JS heap: a vat can make far
//! more instances than its heap could hold as JS objects, because each representative is
//! freed as soon as the vat stops using it (and its table entry with it).

mod support;

use support::js::{audit, call, create, fixture, fulfilled};
use vatchain_kernel::worker::JsLimits;
use vatchain_kernel::RunBudget;

#[test]
fn thirty_thousand_virtual_objects_fit_in_a_small_heap() {
    let mut k = support::js::js_kernel_with_limits(JsLimits {
        heap_bytes: 1 << 20,
        delivery_computrons: 10_000_000,
        ..JsLimits::default()
    });
    let id = k.install_bundle(&fixture("durable-v1")).expect("install");
    let (v, root) = create(
        &mut k,
        &id,
        vatchain_kernel::VatOptions {
            name: "churner".into(),
            ..Default::default()
        },
        "#{}",
    );
    k.run(RunBudget::UNLIMITED);
    for _ in 0..30 {
        // Each instance carries a 200-character string: 30k of them held as JS objects
        // would need several times the heap this vat has. (Within one synchronous turn the
        // engine keeps every new WeakRef's target alive until the turn ends, as the spec
        // says; so a turn that makes many thousands of instances peaks higher.)
        assert_eq!(
            call(&mut k, root, "#[\"churn\",[1000]]", &[]),
            fulfilled("#999")
        );
    }
    assert!(k.vats().contains(&v), "the vat is still alive");
    let records = k.kv_scan(&format!("{v}.vs.vom.o+v")).len();
    assert_eq!(records, 30_000, "every instance's state is in the vatstore");
    audit(&k);
}

//! Helpers for JavaScript-vat scenarios: fixture bundles and host calls.

use std::path::Path;

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::VatSource;
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget, VatId, VatOptions};

/// The canonical bytes of the bundle made from `tests/fixtures/vats/<name>/` (entry `main.js`).
pub fn fixture(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vats")
        .join(name);
    Bundle::from_dir(&dir, "main.js")
        .expect("fixture bundle")
        .canonical_bytes()
}

/// Creates a vat from installed bundle `bundle_id` with vat parameters `params` (a
/// smallcaps body); returns its id and root object.
pub fn create(k: &mut Kernel, bundle_id: &str, options: VatOptions, params: &str) -> (VatId, KRef) {
    let v = k
        .create_vat(
            VatSource {
                bundle_id: bundle_id.into(),
            },
            options,
            CapData::data(params),
        )
        .expect("create vat");
    (v, k.vat_root(v).expect("a vat has a root"))
}

/// Options with just a name.
pub fn named(name: &str) -> VatOptions {
    VatOptions {
        name: name.into(),
        ..VatOptions::default()
    }
}

/// Sends methargs `body` (with `slots`) to `target` from the host, runs until idle, and
/// returns how the result settled (the result promise is released afterwards).
pub fn call(k: &mut Kernel, target: KRef, body: &str, slots: &[KRef]) -> PromiseState {
    let kp = k
        .queue_to_kref(
            target,
            CapData {
                body: body.into(),
                slots: slots.to_vec(),
            },
            true,
        )
        .expect("send")
        .expect("result");
    assert!(k.run(RunBudget::UNLIMITED).idle);
    let s = k.promise_state(kp).expect("result exists");
    k.unpin(kp);
    s
}

/// A fulfilment with slot-free data.
pub fn fulfilled(body: &str) -> PromiseState {
    PromiseState::Fulfilled(CapData::data(body))
}

/// Asserts a clean kernel audit.
pub fn audit(k: &Kernel) {
    let a = k.audit();
    assert!(a.is_clean(), "audit:\n{}", a.problems.join("\n"));
}

/// Sends like [`call`], expects a fulfilment carrying objects, pins each of them for the
/// caller (so they outlive the result promise) and returns them in slot order.
pub fn call_for_objects(k: &mut Kernel, target: KRef, body: &str, slots: &[KRef]) -> Vec<KRef> {
    let kp = k
        .queue_to_kref(
            target,
            CapData {
                body: body.into(),
                slots: slots.to_vec(),
            },
            true,
        )
        .expect("send")
        .expect("result");
    assert!(k.run(RunBudget::UNLIMITED).idle);
    let PromiseState::Fulfilled(data) = k.promise_state(kp).expect("result exists") else {
        panic!("{body} was not fulfilled: {:?}", k.promise_state(kp));
    };
    for s in &data.slots {
        k.pin(*s).expect("pin");
    }
    k.unpin(kp);
    data.slots
}

/// A kernel on an in-memory store running JavaScript vats.
pub fn js_kernel() -> Kernel {
    Kernel::new(
        vatchain_kernel::store::Store::in_memory(),
        Box::new(vatchain_kernel::worker::JsWorkers::default()),
        vatchain_kernel::KernelConfig::default(),
    )
    .expect("kernel")
}

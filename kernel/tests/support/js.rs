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
    let (kp, s) = settle(k, target, body, slots);
    k.unpin(kp);
    s
}

/// Sends methargs `body` from the host, runs until idle; returns the (still pinned) result
/// promise and how it settled.
fn settle(k: &mut Kernel, target: KRef, body: &str, slots: &[KRef]) -> (KRef, PromiseState) {
    let methargs = CapData {
        body: body.into(),
        slots: slots.to_vec(),
    };
    let kp = k
        .queue_to_kref(target, methargs, true)
        .expect("send")
        .expect("result");
    assert!(k.run(RunBudget::UNLIMITED).idle);
    (kp, k.promise_state(kp).expect("result exists"))
}

/// A fulfilment with slot-free data.
pub fn fulfilled(body: &str) -> PromiseState {
    PromiseState::Fulfilled(CapData::data(body))
}

/// Asserts a clean kernel audit with no stale promise entries (liveslots subscribes to
/// every promise it imports, so a JS vat leaves none).
pub fn audit(k: &Kernel) {
    let a = k.audit();
    assert!(a.is_healthy(), "audit:\n{a}");
}

/// Sends like [`call`], expects a fulfilment carrying objects, pins each of them for the
/// caller (so they outlive the result promise) and returns them in slot order.
pub fn call_for_objects(k: &mut Kernel, target: KRef, body: &str, slots: &[KRef]) -> Vec<KRef> {
    let (kp, state) = settle(k, target, body, slots);
    let PromiseState::Fulfilled(data) = state else {
        panic!("{body} was not fulfilled: {state:?}");
    };
    for s in &data.slots {
        k.pin(*s).expect("pin");
    }
    k.unpin(kp);
    data.slots
}

/// An upgrade request with slot-free vat parameters `params`.
pub fn upgrade_request(
    bundle_id: &str,
    message: &str,
    params: &str,
) -> vatchain_kernel::UpgradeRequest {
    vatchain_kernel::UpgradeRequest {
        bundle_id: bundle_id.into(),
        vat_parameters: CapData::data(params),
        upgrade_message: message.into(),
    }
}

/// Every entry of every family but the crank counter (a rolled-back crank still counts).
pub fn dump_without_crank_number(
    k: &Kernel,
) -> Vec<(vatchain_kernel::store::Cf, Vec<u8>, Vec<u8>)> {
    let mut d = k.store().dump();
    d.retain(|(cf, key, _)| !(*cf == vatchain_kernel::store::Cf::Kv && key == b"crankNumber"));
    d
}

/// A kernel on an in-memory store running JavaScript vats with tight limits (16 MiB of
/// heap, 2,000 computrons a delivery), so that hostile vats reach them quickly.
pub fn limited_js_kernel() -> Kernel {
    js_kernel_with_limits(vatchain_kernel::worker::JsLimits {
        heap_bytes: 16 << 20,
        delivery_computrons: 2_000,
        ..vatchain_kernel::worker::JsLimits::default()
    })
}

/// A kernel on an in-memory store running JavaScript vats under `limits`.
pub fn js_kernel_with_limits(limits: vatchain_kernel::worker::JsLimits) -> Kernel {
    Kernel::new(
        vatchain_kernel::store::Store::in_memory(),
        Box::new(vatchain_kernel::worker::JsWorkers {
            limits,
            ..vatchain_kernel::worker::JsWorkers::default()
        }),
        vatchain_kernel::KernelConfig::default(),
    )
    .expect("kernel")
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

/// Two dynamic vats of the `pingpong` fixture, `alice` and `bob`, started; their roots.
pub fn pingpong_pair(k: &mut Kernel) -> (KRef, KRef) {
    let id = k.install_bundle(&fixture("pingpong")).expect("install");
    let mut roots = Vec::new();
    for name in ["alice", "bob"] {
        let opts = VatOptions {
            dynamic: true,
            ..named(name)
        };
        let params = format!("#{{\"name\":\"{name}\"}}");
        roots.push(create(k, &id, opts, &params).1);
    }
    k.run(RunBudget::UNLIMITED);
    (roots[0], roots[1])
}

/// A kernel like [`js_kernel`] that writes its slog to `path`.
pub fn js_kernel_with_slog(path: &Path) -> Kernel {
    Kernel::new(
        vatchain_kernel::store::Store::in_memory(),
        Box::new(vatchain_kernel::worker::JsWorkers::default()),
        vatchain_kernel::KernelConfig {
            slog: Some(path.to_path_buf()),
            ..vatchain_kernel::KernelConfig::default()
        },
    )
    .expect("kernel")
}

/// The slog's lines at `path` (flushed when the kernel commits or drops), parsed.
pub fn slog_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a slog line is JSON"))
        .collect()
}

/// A vat of installed bundle `bundle_id` named `name` that reaps (bringOutYourDead) after
/// every delivery, with null vat parameters; its id and root.
pub fn reaping_vat(k: &mut Kernel, bundle_id: &str, name: &str) -> (VatId, KRef) {
    let options = VatOptions {
        reap_interval: Some(1),
        ..named(name)
    };
    create(k, bundle_id, options, "#null")
}

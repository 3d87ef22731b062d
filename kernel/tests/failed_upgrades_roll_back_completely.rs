//! A failed upgrade leaves the vat exactly as it was (DESIGN §6 step 5): for each failure
//! mode — unknown bundle, syntax error, `buildRootObject` throws or never settles, a
//! durable kind not redefined, an incompatible facet change, the meter exceeded, an illegal
//! syscall during `startVat` — a full dump of every column family equals the one before,
//! the vat answers with its old code and old ephemeral state, and the error names the cause.

mod support;

use std::collections::BTreeMap;

use support::js::{
    audit, call, call_for_objects, create, dump_without_crank_number, fixture, fulfilled,
    js_kernel, js_kernel_with_slog, named, slog_lines, upgrade_request,
};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::store::Cf;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget, UpgradeRequest, VatId};

const V1: &str = include_str!("fixtures/vats/durable-v1/main.js");

/// A one-module bundle from `src`.
fn bundle(src: &str) -> Vec<u8> {
    let modules = BTreeMap::from([("main.js".to_string(), src.to_string())]);
    Bundle::new("main.js", modules)
        .expect("bundle")
        .canonical_bytes()
}

fn request(bundle_id: &str) -> UpgradeRequest {
    upgrade_request(bundle_id, "should fail", "#{}")
}

struct World {
    k: Kernel,
    v: VatId,
    root: KRef,
    counter: KRef,
    eph: KRef,
    hung: KRef,
}

/// A v1 vat with durable, ephemeral and promise state, and ephemeral JS state (`bump`).
fn world() -> World {
    let mut k = js_kernel();
    let v1 = k.install_bundle(&fixture("durable-v1")).expect("v1");
    let (v, root) = create(&mut k, &v1, named("counter"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let counter = call_for_objects(&mut k, root, "#[\"makeCounter\",[5]]", &[])[0];
    let eph = call_for_objects(&mut k, root, "#[\"makeEphemeral\",[]]", &[])[0];
    assert_eq!(
        call(&mut k, counter, "#[\"increment\",[]]", &[]),
        fulfilled("#\"v1:6\"")
    );
    assert_eq!(call(&mut k, root, "#[\"bump\",[]]", &[]), fulfilled("#1"));
    assert_eq!(
        call(&mut k, root, "#[\"watchOwn\",[\"w\"]]", &[]),
        fulfilled("#\"w\"")
    );
    let hung = k
        .queue_to_kref(root, CapData::data("#[\"hang\",[]]"), true)
        .expect("send")
        .expect("result");
    k.run(RunBudget::UNLIMITED);
    World {
        k,
        v,
        root,
        counter,
        eph,
        hung,
    }
}

/// Tries an upgrade to `bundle_bytes` (or to an uninstalled id) and checks the rollback.
fn fails_and_rolls_back(bundle_bytes: Option<Vec<u8>>, cause: &str) {
    let mut w = world();
    let id = match bundle_bytes {
        Some(b) => w.k.install_bundle(&b).expect("install"),
        None => "b1-0000".into(),
    };
    let before = dump_without_crank_number(&w.k);
    let err =
        w.k.upgrade_vat(w.v, request(&id))
            .expect_err("the upgrade fails");
    assert!(
        err.to_string().contains(cause),
        "wanted {cause:?} in: {err}"
    );
    assert!(
        dump_without_crank_number(&w.k) == before,
        "{cause}: the store changed"
    );
    // The old incarnation goes on: old code, old ephemeral state, old promises.
    let k = &mut w.k;
    assert_eq!(k.transcript_spans(w.v).len(), 1);
    assert_eq!(
        call(k, w.root, "#[\"version\",[]]", &[]),
        fulfilled("#\"v1\"")
    );
    assert_eq!(call(k, w.root, "#[\"bump\",[]]", &[]), fulfilled("#2"));
    assert_eq!(
        call(k, w.counter, "#[\"increment\",[]]", &[]),
        fulfilled("#\"v1:7\"")
    );
    assert_eq!(
        call(k, w.eph, "#[\"hi\",[]]", &[]),
        fulfilled("#\"ephemeral hi\"")
    );
    assert_eq!(
        call(k, w.root, "#[\"log\",[\"w\"]]", &[]),
        fulfilled("#\"none\"")
    );
    assert!(matches!(
        k.promise_state(w.hung),
        Some(PromiseState::Unresolved { .. })
    ));
    audit(k);
}

#[test]
fn an_unknown_bundle() {
    fails_and_rolls_back(None, "bundle b1-0000 is not installed");
}

#[test]
fn a_syntax_error() {
    fails_and_rolls_back(
        Some(bundle("export function buildRootObject( {")),
        "SyntaxError (in main.js",
    );
}

#[test]
fn build_root_object_throws() {
    let src = "export function buildRootObject() { throw Error('v2 refuses to start'); }";
    fails_and_rolls_back(Some(bundle(src)), "v2 refuses to start");
}

#[test]
fn build_root_object_never_settles() {
    let src = "export function buildRootObject() { return new Promise(() => {}); }";
    fails_and_rolls_back(Some(bundle(src)), "buildRootObject did not settle");
}

#[test]
fn a_durable_kind_is_not_redefined() {
    let src = "import { Far } from '@endo/far';\n\
               export function buildRootObject() { return Far('root', {}); }";
    fails_and_rolls_back(
        Some(bundle(src)),
        "defineDurableKind not called for \"Counter\"",
    );
}

#[test]
fn a_facet_is_dropped() {
    let src = V1.replace("writer: {", "author: {");
    fails_and_rolls_back(
        Some(bundle(&src)),
        "\"Pair\" facets (author, reader) is missing \"writer\"",
    );
}

#[test]
fn the_meter_runs_out() {
    let src = "export function buildRootObject() { for (;;) {} }";
    fails_and_rolls_back(Some(bundle(src)), "computron limit exceeded");
}

#[test]
fn an_illegal_syscall_during_start_vat() {
    let src = "import { Far } from '@endo/far';\n\
               export function buildRootObject(vatPowers) {\n\
                 vatPowers.kernelHook('createVat', 'b1-x', { name: 'forged' });\n\
                 return Far('root', {});\n\
               }";
    fails_and_rolls_back(
        Some(bundle(src)),
        "illegal syscall.kernelHook: only the vat-admin vat may call kernel hooks",
    );
}

#[test]
fn a_limit_reached_during_start_vat() {
    // Not the vat's fault in a message (it would be rolled back), but startVat is the
    // new version's own code: the upgrade fails and unwinds.
    let src = "import { Far } from '@endo/far';\n\
               export function buildRootObject(vatPowers) {\n\
                 vatPowers.vatstore.set('k'.repeat(5000), 'v');\n\
                 return Far('root', {});\n\
               }";
    fails_and_rolls_back(
        Some(bundle(src)),
        "startVat delivery failed: syscall.vatstoreSet: key of 5004 bytes",
    );
}

#[test]
fn through_vat_admin_the_requester_gets_upstreams_failure_and_the_slog_the_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slog = dir.path().join("slog");
    let mut k = js_kernel_with_slog(&slog);
    k.install_vat_admin().expect("vat-admin");
    let service = k.vat_admin_service().expect("service");
    let v1 = k.install_bundle(&fixture("durable-v1")).expect("v1");
    let broken = k
        .install_bundle(&bundle(
            "export function buildRootObject() { throw Error('v2 refuses to start'); }",
        ))
        .expect("install");
    let creator_bundle = k.install_bundle(&fixture("creator")).expect("creator");
    let (_, creator) = create(&mut k, &creator_bundle, named("creator"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let spawn = format!("#[\"spawnOnly\",[\"$0.Alleged: vatAdminService\",\"{v1}\",\"kid\"]]");
    call(&mut k, creator, &spawn, &[service]);
    let kid = k.vat_id("kid").expect("kid");
    let child = |method: &str| format!("#[\"callChild\",[\"{method}\"]]");
    assert_eq!(call(&mut k, creator, &child("bump"), &[]), fulfilled("#1"));

    // The vat's own records: its kv keys and its transcript.
    let vat_state = |k: &Kernel| {
        let mut d = k.store().dump();
        let (kv, tr) = (format!("{kid}."), format!("{kid}\0"));
        d.retain(|(cf, key, _)| match cf {
            Cf::Kv => key.starts_with(kv.as_bytes()),
            Cf::Transcript => key.starts_with(tr.as_bytes()),
            _ => false,
        });
        d
    };
    let before = vat_state(&k);
    let up = format!("#[\"upgrade\",[\"{broken}\",{{}}]]");
    let PromiseState::Fulfilled(answer) = call(&mut k, creator, &up, &[]) else {
        panic!("upgrade() should settle");
    };
    // Upstream's rejection exactly: `Error('vat-upgrade failure')`, no details for vat code.
    assert_eq!(answer.body, "#\"upgrade failed: vat-upgrade failure\"");
    assert!(vat_state(&k) == before, "the vat's records changed");
    assert_eq!(call(&mut k, creator, &child("bump"), &[]), fulfilled("#2"));
    audit(&k);
    // The cause goes to the operator.
    drop(k);
    let noted = slog_lines(&slog).into_iter().any(|l| {
        l["type"] == "upgrade-failed"
            && l["vatID"] == kid.to_string()
            && l["reason"]
                .as_str()
                .is_some_and(|r| r.contains("v2 refuses to start"))
    });
    assert!(noted, "the slog names the cause");
}

//! Bundles as upstream makes them: `fixtures/endo/bundles/*.json` were made by the real
//! `@endo/bundle-source` 4.3.2 (its default `endoZipBase64` format) from
//! `fixtures/endo/vats/` (`scripts/test.sh` re-makes them and fails if they differ). They
//! install under upstream's id, their vats run (liveslots-coupled packages from the
//! kernel's built-ins, the rest from the bundle), upgrade from one to the other, and a
//! bundle that was tampered with, or that holds what this kernel cannot run, is refused
//! with the reason.

mod support;

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha512};
use support::js::{audit, call, call_for_objects, create, js_kernel, named, upgrade_request};
use vatchain_kernel::{KRef, Kernel, KernelError, PromiseState, RunBudget};

fn bundle_bytes(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/endo/bundles")
        .join(format!("{name}.json"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn bundle_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&bundle_bytes(name)).expect("bundle JSON")
}

/// The zip's members, by name.
fn members(bundle: &serde_json::Value) -> BTreeMap<String, Vec<u8>> {
    let zip = base64::engine::general_purpose::STANDARD
        .decode(bundle["endoZipBase64"].as_str().expect("a string"))
        .expect("base64");
    let mut z = zip::ZipArchive::new(Cursor::new(zip)).expect("zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("member");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read");
            (f.name().expect("a name").to_string(), data)
        })
        .collect()
}

/// A bundle of these members, its `endoZipBase64Sha512` the hash of their compartment map
/// (so that only what a test changed on purpose is wrong).
fn rebundle(members: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        w.start_file(name.as_str(), opts).expect("start");
        w.write_all(data).expect("write");
    }
    let zip = w.finish().expect("finish").into_inner();
    let sha = hex::encode(Sha512::digest(&members["compartment-map.json"]));
    serde_json::to_vec(&serde_json::json!({
        "moduleFormat": "endoZipBase64",
        "endoZipBase64": base64::engine::general_purpose::STANDARD.encode(zip),
        "endoZipBase64Sha512": sha,
    }))
    .expect("JSON")
}

fn refusal(k: &mut Kernel, bytes: &[u8]) -> String {
    match k.install_bundle(bytes) {
        Err(KernelError::Bundle(e)) => e.to_string(),
        other => panic!("expected a bundle error, got {other:?}"),
    }
}

fn ok(body: &str) -> PromiseState {
    support::js::fulfilled(body)
}

fn counter_vat(k: &mut Kernel) -> (String, KRef) {
    let id = k
        .install_bundle(&bundle_bytes("counter-v1"))
        .expect("install");
    let (_, root) = create(k, &id, named("counter"), "#{\"who\":\"test\"}");
    k.run(RunBudget::UNLIMITED);
    assert!(k.halted().is_none(), "{:?}", k.halted());
    (id, root)
}

#[test]
fn an_upstream_bundle_installs_under_upstreams_id() {
    let mut k = js_kernel();
    let bytes = bundle_bytes("counter-v1");
    let sha = bundle_json("counter-v1")["endoZipBase64Sha512"]
        .as_str()
        .expect("a string")
        .to_string();
    // Upstream's id: b1- and the compartment map's hash, which bundle-source computed.
    assert_eq!(
        hex::encode(Sha512::digest(
            &members(&bundle_json("counter-v1"))["compartment-map.json"]
        )),
        sha
    );
    let id = k.install_bundle(&bytes).expect("install");
    assert_eq!(id, format!("b1-{sha}"));
    assert!(k.has_bundle(&id));
    // Installing it again (with other whitespace) is the same bundle.
    let mut pretty = serde_json::to_vec_pretty(&bundle_json("counter-v1")).expect("JSON");
    pretty.push(b'\n');
    assert_eq!(k.install_bundle(&pretty).expect("install again"), id);
}

#[test]
fn its_vat_runs_on_the_built_ins_and_its_own_packages() {
    let mut k = js_kernel();
    let (_, root) = counter_vat(&mut k);
    assert_eq!(call(&mut k, root, "#[\"version\",[]]", &[]), ok("#\"v1\""));
    assert_eq!(
        call(&mut k, root, "#[\"params\",[]]", &[]),
        ok("#{\"who\":\"test\"}")
    );
    // A durable exo from @agoric/vat-data (the built-in), reached by `E` from @endo/far.
    let c = call_for_objects(&mut k, root, "#[\"make\",[\"a\",5]]", &[])[0];
    assert_eq!(call(&mut k, c, "#[\"incr\",[]]", &[]), ok("#6"));
    assert_eq!(
        call(&mut k, root, "#[\"ask\",[\"$0.Alleged: Counter\"]]", &[c]),
        ok("#7")
    );
    // @endo/promise-kit, run from the bundle's own copy.
    assert_eq!(
        call(&mut k, root, "#[\"later\",[3]]", &[]),
        ok("#\"later 3\"")
    );
    // Local modules: a default export, an import cycle, a live binding seen through the
    // module namespace.
    assert_eq!(
        call(&mut k, root, "#[\"modules\",[]]", &[]),
        ok("#[\"counter vat\",\"2 kinds\",1,2,2,\"number\",\"through a cycle of export *\"]")
    );
    // @endo/errors from the bundle, on the global assert: SES's message rules.
    match call(&mut k, root, "#[\"fail\",[\"x\"]]", &[]) {
        PromiseState::Rejected(d) => assert!(
            d.body.contains("no such thing as \\\"x\\\" or (a string)"),
            "{}",
            d.body
        ),
        other => panic!("{other:?}"),
    }
    match call(&mut k, root, "#[\"get\",[\"nobody\"]]", &[]) {
        PromiseState::Rejected(d) => {
            assert!(
                d.body.contains("no counter named \\\"nobody\\\""),
                "{}",
                d.body
            )
        }
        other => panic!("{other:?}"),
    }
    k.unpin(c);
    k.run(RunBudget::UNLIMITED);
    audit(&k);
}

#[test]
fn an_upgrade_between_upstream_bundles_keeps_durable_state() {
    let mut k = js_kernel();
    let (_, root) = counter_vat(&mut k);
    let c = call_for_objects(&mut k, root, "#[\"make\",[\"a\",5]]", &[])[0];
    assert_eq!(call(&mut k, c, "#[\"incr\",[]]", &[]), ok("#6"));
    let v2 = k
        .install_bundle(&bundle_bytes("counter-v2"))
        .expect("install v2");
    let v = k.vat_id("counter").expect("the vat");
    k.upgrade_vat(v, upgrade_request(&v2, "to v2", "#{\"who\":\"v2\"}"))
        .expect("upgrade");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(call(&mut k, root, "#[\"version\",[]]", &[]), ok("#\"v2\""));
    // The same durable counter, now counting by ten.
    assert_eq!(call(&mut k, c, "#[\"incr\",[]]", &[]), ok("#16"));
    let again = call_for_objects(&mut k, root, "#[\"get\",[\"a\"]]", &[])[0];
    assert_eq!(again, c);
    k.unpin(c);
    k.unpin(again);
    k.run(RunBudget::UNLIMITED);
    audit(&k);
}

#[test]
fn tampered_bundles_are_refused_with_the_reason() {
    let mut k = js_kernel();
    let good = bundle_json("counter-v1");
    let m = members(&good);

    let mut wrong_hash = good.clone();
    wrong_hash["endoZipBase64Sha512"] = serde_json::json!("00".repeat(64));
    let e = refusal(&mut k, &serde_json::to_vec(&wrong_hash).expect("JSON"));
    assert!(
        e.contains("compartment map failed its SHA-512 check"),
        "{e}"
    );

    let module = "vatchain-endo-bundles-v1.0.0/vats/lib/label.js";
    let mut changed = m.clone();
    changed
        .get_mut(module)
        .expect("the module is in the zip")
        .extend_from_slice(b" ");
    let e = refusal(&mut k, &rebundle(&changed));
    assert!(
        e.contains("\"vats/lib/label.js\"") && e.contains("failed its SHA-512 check"),
        "{e}"
    );

    let mut extra = m.clone();
    extra.insert("stowaway.js".into(), b"globalThis.x = 1".to_vec());
    let e = refusal(&mut k, &rebundle(&extra));
    assert!(
        e.contains("no module uses") && e.contains("stowaway.js"),
        "{e}"
    );

    let mut missing = m.clone();
    missing.remove(module);
    let e = refusal(&mut k, &rebundle(&missing));
    assert!(e.contains("missing from the zip"), "{e}");

    let mut not_base64 = good.clone();
    not_base64["endoZipBase64"] = serde_json::json!("not base64!");
    let e = refusal(&mut k, &serde_json::to_vec(&not_base64).expect("JSON"));
    assert!(e.contains("not base64"), "{e}");

    let mut extra_field = good.clone();
    extra_field["entry"] = serde_json::json!("main.js");
    let e = refusal(&mut k, &serde_json::to_vec(&extra_field).expect("JSON"));
    assert!(e.contains("unknown field"), "{e}");

    // Nothing refused was stored.
    assert!(k
        .store()
        .dump()
        .iter()
        .all(|(cf, _, _)| *cf != vatchain_kernel::store::Cf::Bundles));
}

/// The compartment map of `members`, changed by `f` (the bundle's hash follows).
fn with_map(
    members: &BTreeMap<String, Vec<u8>>,
    f: impl FnOnce(&mut serde_json::Value),
) -> BTreeMap<String, Vec<u8>> {
    let mut map: serde_json::Value =
        serde_json::from_slice(&members["compartment-map.json"]).expect("JSON");
    f(&mut map);
    let mut out = members.clone();
    out.insert(
        "compartment-map.json".into(),
        serde_json::to_vec(&map).expect("JSON"),
    );
    out
}

#[test]
fn bundles_holding_what_cannot_run_are_refused_at_install() {
    let mut k = js_kernel();
    let m = members(&bundle_json("counter-v1"));
    let root = "vatchain-endo-bundles-v1.0.0";

    // A CommonJS module (upstream's `pre-cjs-json`): the check passes, running cannot.
    let cjs = with_map(&m, |map| {
        map["compartments"][root]["modules"]["./vats/lib/label.js"]["parser"] =
            serde_json::json!("pre-cjs-json");
    });
    let e = refusal(&mut k, &rebundle(&cjs));
    assert!(
        e.contains("cannot run") && e.contains("pre-cjs-json"),
        "{e}"
    );

    // A host module.
    let exit = with_map(&m, |map| {
        map["compartments"][root]["modules"]["./vats/lib/label.js"] =
            serde_json::json!({ "exit": "fs" });
    });
    let mut exit_members = exit;
    exit_members.remove(&format!("{root}/vats/lib/label.js"));
    let e = refusal(&mut k, &rebundle(&exit_members));
    assert!(e.contains("host module \"fs\""), "{e}");

    // An import of a liveslots-coupled package's subpath the kernel has no built-in for
    // (upstream would load it from the bundle's copy of the package).
    let label = format!("{root}/vats/lib/label.js");
    let mut record: serde_json::Value = serde_json::from_slice(&m[&label]).expect("JSON");
    record["imports"] = serde_json::json!(["@endo/far/src/secret.js"]);
    let record = serde_json::to_vec(&record).expect("JSON");
    let hash = hex::encode(Sha512::digest(&record));
    let mut sub = with_map(&m, |map| {
        let modules = &mut map["compartments"][root]["modules"];
        modules["@endo/far/src/secret.js"] = modules["@endo/far"].clone();
        modules["./vats/lib/label.js"]["sha512"] = serde_json::json!(hash);
    });
    sub.insert(label, record);
    let e = refusal(&mut k, &rebundle(&sub));
    assert!(
        e.contains("\"@endo/far/src/secret.js\"") && e.contains("only as a built-in"),
        "{e}"
    );
}

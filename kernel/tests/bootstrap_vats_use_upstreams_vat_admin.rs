//! Upstream bootstrap code runs: the kernel sends the bootstrap vat `bootstrap(vats,
//! devices)`, it gets the vatAdminService with `createVatAdminService(devices.vatAdmin)`,
//! makes a vat from a named bundlecap (no name given), upgrades it with another bundlecap,
//! and meets upstream's errors and rejection values; `waitForBundleCap` settles when the
//! bundle is installed later; `changeOptions` reaches the kernel.

mod support;

use support::js::{audit, call, create, fixture, js_kernel, named};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget, VatId};

fn report(k: &mut Kernel, boot: KRef) -> Vec<String> {
    match call(k, boot, "#[\"report\",[]]", &[]) {
        PromiseState::Fulfilled(d) => serde_json::from_str(&d.body[1..]).expect("a list"),
        other => panic!("report gave {other:?}"),
    }
}

fn ok(k: &mut Kernel, boot: KRef, body: &str, expected: &str) {
    assert_eq!(
        call(k, boot, body, &[]),
        PromiseState::Fulfilled(CapData::data(format!("#\"{expected}\""))),
        "{body}"
    );
}

fn world() -> (Kernel, VatId, KRef) {
    let mut k = js_kernel();
    k.install_vat_admin().expect("vat-admin");
    let child = k.install_bundle(&fixture("child-v1")).expect("child");
    k.name_bundle("child", &child).expect("name");
    let boot_bundle = k.install_bundle(&fixture("bootstrap")).expect("boot");
    let (boot_vat, boot) = create(&mut k, &boot_bundle, named("bootstrap"), "#{}");
    k.run(RunBudget::UNLIMITED);
    (k, boot_vat, boot)
}

#[test]
fn a_bootstrap_vat_creates_and_upgrades_vats_from_bundlecaps() {
    let (mut k, boot_vat, boot) = world();
    k.bootstrap(boot_vat).expect("bootstrap");
    assert!(k.bootstrap(boot_vat).is_err(), "bootstrap happens once");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        report(&mut k, boot),
        [
            "vats: bootstrap,vatAdmin",
            "same cap twice: true",
            "version: v1",
            "params: {\"x\":1}",
        ]
    );
    // The vat was made without a name: the kernel named it after its id.
    let kid = k
        .vats()
        .into_iter()
        .find(|v| k.vat_name(*v).is_some_and(|n| n.starts_with("dynamic-")))
        .expect("a nameless dynamic vat");
    assert_eq!(k.vat_name(kid), Some(format!("dynamic-{kid}")));

    let v2 = k.install_bundle(&fixture("child-v2")).expect("v2");
    ok(
        &mut k,
        boot,
        &format!("#[\"upgradeKid\",[\"{v2}\"]]"),
        "upgraded",
    );
    let broken = k
        .install_bundle(
            &Bundle::new(
                "main.js",
                [(
                    "main.js".to_string(),
                    "export function buildRootObject() { throw Error('no'); }".to_string(),
                )]
                .into(),
            )
            .expect("bundle")
            .canonical_bytes(),
        )
        .expect("broken");
    ok(
        &mut k,
        boot,
        &format!("#[\"failures\",[\"{broken}\"]]"),
        "failed",
    );
    ok(&mut k, boot, "#[\"byName\",[]]", "named");
    let log = report(&mut k, boot);
    assert_eq!(
        log[4..],
        [
            "bump: 1",
            "incarnation: 1",
            "version: v2",
            "bump: 2",
            // Upstream's value for a send to an export the upgrade abandoned.
            "ephemeral: rejected: vat terminated",
            // And @agoric/internal's upgrade API recognizes both rejections.
            "abandoned: true",
            "disconnected: true up 0",
            "unknown id: rejected: bundleID not yet installed: b1-nope",
            "not a cap: rejected: Vat Creation Error: createVat() requires a bundlecap",
            "by name: rejected: unregistered bundle name 'nobody'",
            // Upstream's value exactly; the cause is in the slog.
            "broken upgrade: rejected: vat-upgrade failure",
            "version: v2",
            "bad option: rejected: invalid option \"colour\"",
            "good option: undefined",
            "by name: v1",
        ]
    );
    assert_eq!(
        k.vat_reap_interval(kid),
        Some(5),
        "changeOptions reached the kernel"
    );
    assert!(k.vat_id("named-kid").is_some());
    audit(&k);
}

#[test]
fn wait_for_bundle_cap_settles_when_the_bundle_is_installed() {
    let (mut k, boot_vat, boot) = world();
    k.bootstrap(boot_vat).expect("bootstrap");
    k.run(RunBudget::UNLIMITED);
    let later = Bundle::new(
        "main.js",
        [(
            "main.js".to_string(),
            "export const buildRootObject = () => ({});".to_string(),
        )]
        .into(),
    )
    .expect("bundle");
    ok(
        &mut k,
        boot,
        &format!("#[\"waitFor\",[\"{}\"]]", later.id()),
        "waiting",
    );
    assert!(!report(&mut k, boot).iter().any(|l| l.starts_with("waited")));
    k.install_bundle(&later.canonical_bytes()).expect("install");
    k.run(RunBudget::UNLIMITED);
    assert!(report(&mut k, boot).contains(&"waited: true".to_string()));
    audit(&k);
}

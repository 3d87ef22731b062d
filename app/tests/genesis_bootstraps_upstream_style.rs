//! Genesis can name bundles and a bootstrap vat, as upstream's config does: InitChain
//! installs the named bundles and queues `bootstrap(vats, devices)` to the bootstrap vat,
//! whose upstream-style code creates a vat from a named bundlecap (the kernel's own test
//! fixture `bootstrap`). A wallet's tx then reads what it saw.

mod support;

use std::path::Path;

use serde_json::json;
use support::*;
use vatchain_app::compose;

#[test]
fn the_genesis_bootstrap_vat_gets_vat_admin_and_makes_vats() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut alice = Wallet::new(1, 0);
    let bob = Wallet::new(2, 1);
    let mut state = genesis(&alice, &bob);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernel/tests/fixtures/vats");
    state["vats"]
        .as_array_mut()
        .expect("vats")
        .push(json!({"name": "boot", "bundle": bundle_json(&fixtures.join("bootstrap"))}));
    state["bundles"] =
        json!([{"name": "child", "bundle": bundle_json(&fixtures.join("child-v1"))}]);
    state["bootstrap"] = json!("boot");
    let mut chain = Chain::start(home.path());
    chain.init(&state);
    chain.block(vec![]);

    let r = chain.run_tx(alice.tx(vec![compose::deliver(&alice.address, "boot", "report", "")]));
    assert_eq!(r.code, 0, "{}", r.log);
    let value = event_attr(&r.events, "swingset_result", "value").expect("settled");
    let log: Vec<String> = serde_json::from_str(&value).expect("a list");
    assert_eq!(
        log[1..],
        ["same cap twice: true", "version: v1", "params: {\"x\":1}"]
    );
    assert!(log[0].starts_with("vats: ") && log[0].contains("boot") && log[0].contains("vatAdmin"));
}

#[test]
fn a_genesis_bootstrap_vat_that_does_not_exist_is_refused() {
    let home = tempfile::tempdir().expect("tempdir");
    let alice = Wallet::new(1, 0);
    let bob = Wallet::new(2, 1);
    let mut state = genesis(&alice, &bob);
    state["bootstrap"] = json!("nobody");
    let chain = Chain::start(home.path());
    let err = chain.try_init(&state).expect_err("refused");
    assert!(
        err.contains("nobody") && err.contains("not a genesis vat"),
        "{err}"
    );
}

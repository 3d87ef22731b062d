//! A vat that keeps the kernel busy forever (one message always in flight) gets at most its
//! lane of every block: blocks keep their computron budget, and other users' deliveries
//! land in the block of their tx, block after block.

mod support;

use std::path::Path;

use support::*;
use vatchain_app::compose;

#[test]
fn txs_keep_landing_while_a_vat_runs_forever() {
    let home = tempfile::tempdir().expect("tempdir");
    let (mut alice, bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
    let mut state = genesis(&alice, &bob);
    // A small budget keeps the test quick; the lanes do not depend on its size.
    let budget = 3_000;
    state["params"]["block_computrons"] = serde_json::json!(budget);
    let pest = bundle_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pest"));
    state["vats"]
        .as_array_mut()
        .expect("vats")
        .push(serde_json::json!({"name": "pest", "bundle": pest}));
    let mut chain = Chain::start(home.path());
    chain.init(&state);
    chain.block(vec![]);
    let start = alice.tx(vec![compose::deliver(
        &alice.address,
        "pest",
        "start",
        "[]",
    )]);
    assert_eq!(chain.run_tx(start).code, 0);

    for i in 1..=5u64 {
        let tx = alice.tx(vec![compose::deliver(
            &alice.address,
            "counter",
            "increment",
            "[1]",
        )]);
        let out = chain.block(vec![tx]);
        assert!(
            out.computrons >= budget,
            "block {i}: the pest keeps the kernel busy ({} computrons)",
            out.computrons
        );
        assert!(
            out.computrons < budget + 2_500 + 100,
            "block {i}: one delivery past the budget at most ({} computrons)",
            out.computrons
        );
        assert_eq!(
            event_attr(&out.tx_results[0].events, "swingset_result", "value").as_deref(),
            Some(i.to_string().as_str()),
            "block {i}: the increment settled in its own block"
        );
    }
}

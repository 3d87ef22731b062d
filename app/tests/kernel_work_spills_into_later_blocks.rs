//! The per-block computron budget: with a tiny `block_computrons`, the kernel stops after
//! the crank that crosses it. Two deliveries in one block: the first settles in its block,
//! the second's result stays pending and later blocks carry the work on until it settles
//! (reported as a block event then).

mod support;

use serde_json::json;
use support::*;
use vatchain_app::compose;

#[test]
fn leftover_work_continues_in_the_next_blocks() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut alice = Wallet::new(1, 0);
    let bob = Wallet::new(2, 1);
    let mut state = genesis(&alice, &bob);
    state["params"]["block_computrons"] = json!(1);
    let mut chain = Chain::start(home.path());
    chain.init(&state);
    // startVat of the genesis vats takes a few blocks at one computron each.
    for _ in 0..5 {
        chain.block(vec![]);
    }
    let first = alice.tx(vec![compose::deliver(
        &alice.address,
        "counter",
        "increment",
        "[2]",
    )]);
    let second = alice.tx(vec![compose::deliver(
        &alice.address,
        "counter",
        "increment",
        "[3]",
    )]);
    let out = chain.block(vec![first, second]);
    assert!(
        out.tx_results.iter().all(|r| r.code == 0),
        "{:?}",
        out.tx_results
    );
    let events =
        |i: usize, key: &str| event_attr(&out.tx_results[i].events, "swingset_result", key);
    assert_eq!(
        events(0, "value").as_deref(),
        Some("2"),
        "the first fits in the block"
    );
    assert!(events(1, "value").is_none(), "the second does not");
    let kp = event_attr(&out.tx_results[1].events, "deliver_inbound", "result_kpid").expect("kpid");
    assert_eq!(
        chain.query(&format!("/result/{kp}")),
        json!({"status": "pending"})
    );
    let mut settled = None;
    for _ in 0..20 {
        let out = chain.block(vec![]);
        if let Some(v) = event_attr(&out.events, "swingset_result", "value") {
            settled = Some(v);
            break;
        }
    }
    assert_eq!(settled.as_deref(), Some("5"), "a later block settles it");
    assert_eq!(chain.query(&format!("/result/{kp}"))["value"], json!(5));
}

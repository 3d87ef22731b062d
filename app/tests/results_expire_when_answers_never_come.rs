//! A delivery whose answer never comes: the result stays pending, then after
//! `RESULT_TTL_BLOCKS` blocks the host stops waiting, records it as expired and reports it
//! (so the list of pending results the chain checks every block cannot grow forever).

mod support;

use std::path::Path;

use serde_json::json;
use support::*;
use vatchain_app::compose;
use vatchain_app::RESULT_TTL_BLOCKS;

#[test]
fn an_answer_that_never_comes_expires() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut alice = Wallet::new(1, 0);
    let bob = Wallet::new(2, 1);
    let mut state = genesis(&alice, &bob);
    let silent = bundle_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/silent"));
    state["vats"]
        .as_array_mut()
        .expect("vats")
        .push(json!({"name": "silent", "bundle": silent}));
    let mut chain = Chain::start(home.path());
    chain.init(&state);
    chain.block(vec![]);

    let r = chain.run_tx(alice.tx(vec![compose::deliver(&alice.address, "silent", "wait", "")]));
    assert_eq!(r.code, 0, "{}", r.log);
    let sent_at = chain.height;
    let kp = event_attr(&r.events, "deliver_inbound", "result_kpid").expect("kpid");
    assert_eq!(
        chain.query(&format!("/result/{kp}")),
        json!({"status": "pending"})
    );
    let expired_at = loop {
        let out = chain.block(vec![]);
        if let Some(status) = event_attr(&out.events, "swingset_result", "status") {
            assert_eq!(status, "expired");
            break chain.height;
        }
        assert!(
            chain.height < sent_at + 2 * RESULT_TTL_BLOCKS,
            "never expired"
        );
    };
    assert_eq!(expired_at, sent_at + RESULT_TTL_BLOCKS);
    assert_eq!(chain.query(&format!("/result/{kp}"))["status"], "expired");
    // The chain goes on as before.
    let r = chain.run_tx(alice.tx(vec![compose::deliver(
        &alice.address,
        "counter",
        "read",
        "",
    )]));
    assert_eq!(
        event_attr(&r.events, "swingset_result", "value").as_deref(),
        Some("0")
    );
}

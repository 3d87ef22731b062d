//! What a tx may ask for is bounded before it runs: too many messages, or arguments nested
//! too deep for a vat to decode, are refused at CheckTx with the reason (and again if a
//! block carries them anyway), and the vat they were aimed at is untouched.

mod support;

use serde_json::json;
use support::*;
use vatchain_app::{codes, compose};

fn deliver(w: &Wallet, args: &str) -> cosmrs::Any {
    compose::deliver(&w.address, "counter", "increment", args)
}

#[test]
fn a_tx_over_the_message_limit_is_refused_whole() {
    let (_home, mut chain, mut alice, _bob) = fresh();
    let many: Vec<_> = (0..101).map(|_| deliver(&alice, "[1]")).collect();
    let tx = alice.tx(many);
    let (code, log) = chain.node.check_tx(&tx, false).expect_err("refused");
    assert_eq!(code, codes::INVALID_MSG);
    assert!(log.contains("101 messages; at most 100"), "{log}");
    // A proposer that includes it anyway: refused in the block, the sequence untouched.
    let r = chain.run_tx(tx);
    assert_eq!(r.code, codes::INVALID_MSG, "{}", r.log);
    alice.sequence -= 1;
    // At the limit, the tx runs.
    let hundred: Vec<_> = (0..100).map(|_| deliver(&alice, "[1]")).collect();
    let r = chain.run_tx(alice.tx(hundred));
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(chain.query("/data/counter.count"), json!(100));
}

#[test]
fn arguments_nested_too_deep_are_refused_and_the_vat_lives_on() {
    let (_home, mut chain, mut alice, _bob) = fresh();
    // The probe that once terminated the demo counter: an argument ~120 levels deep.
    let deep = format!("[{}1{}]", "[".repeat(120), "]".repeat(120));
    let tx = alice.tx(vec![deliver(&alice, &deep)]);
    let (code, log) = chain.node.check_tx(&tx, false).expect_err("refused");
    assert_eq!(code, codes::INVALID_MSG);
    assert!(log.contains("nest 121 deep; at most 32"), "{log}");
    let r = chain.run_tx(tx);
    assert_eq!(r.code, codes::INVALID_MSG, "{}", r.log);
    alice.sequence -= 1;
    // Within the limit the vat answers (here: refuses the argument as its own code does).
    let ok = format!("[{}1{}]", "[".repeat(30), "]".repeat(30));
    let r = chain.run_tx(alice.tx(vec![deliver(&alice, &ok)]));
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(
        event_attr(&r.events, "swingset_result", "status").as_deref(),
        Some("rejected")
    );
    let r = chain.run_tx(alice.tx(vec![deliver(&alice, "[3]")]));
    assert_eq!(
        event_attr(&r.events, "swingset_result", "value").as_deref(),
        Some("3"),
        "the counter is alive with its state"
    );
}

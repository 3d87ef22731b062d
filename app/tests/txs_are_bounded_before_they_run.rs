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

/// What PrepareProposal builds from `txs` (with room for 100 MiB of them).
fn propose(
    app: &vatchain_app::VatdApp,
    txs: &[Vec<u8>],
) -> tendermint_proto::v0_38::abci::ResponsePrepareProposal {
    use tendermint_abci::Application;
    app.prepare_proposal(tendermint_proto::v0_38::abci::RequestPrepareProposal {
        txs: txs.iter().map(|t| t.clone().into()).collect(),
        max_tx_bytes: 100 << 20,
        ..Default::default()
    })
}

/// ProcessProposal's verdict on a proposal of `txs`.
fn verdict(app: &vatchain_app::VatdApp, txs: &[Vec<u8>]) -> i32 {
    use tendermint_abci::Application;
    app.process_proposal(tendermint_proto::v0_38::abci::RequestProcessProposal {
        txs: txs.iter().map(|t| t.clone().into()).collect(),
        ..Default::default()
    })
    .status
}

#[test]
fn blocks_are_built_and_checked_within_the_message_limit() {
    use tendermint_proto::v0_38::abci::response_process_proposal::ProposalStatus;
    let (_home, mut chain, mut alice, _bob) = fresh();
    // 21 txs of 100 messages: 2,100, over the block's 2,000.
    let txs: Vec<Vec<u8>> = (0..21)
        .map(|_| {
            let msgs = (0..100).map(|_| deliver(&alice, "[1]")).collect();
            alice.tx(msgs)
        })
        .collect();
    let app = vatchain_app::VatdApp::new(chain.node.clone());
    let proposal = propose(&app, &txs);
    assert_eq!(
        proposal.txs.len(),
        20,
        "the proposal stops at 2,000 messages"
    );
    assert_eq!(verdict(&app, &txs[..20]), ProposalStatus::Accept as i32);
    assert_eq!(verdict(&app, &txs), ProposalStatus::Reject as i32);
    // A block that carries them anyway fails the tx that does not fit, with the reason.
    let out = chain.block(txs);
    assert!(out.tx_results[..20].iter().all(|r| r.code == 0));
    assert_eq!(out.tx_results[20].code, codes::TX_TOO_LARGE);
    assert!(
        out.tx_results[20].log.contains("message limit (2000)"),
        "{}",
        out.tx_results[20].log
    );
}

/// A chain whose genesis also has the hostile bench vat (a method looping 10^8 times).
fn with_hostile() -> (tempfile::TempDir, Chain, Wallet) {
    let home = tempfile::tempdir().expect("tempdir");
    let (alice, bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
    let mut chain = Chain::start(home.path());
    chain.init(&genesis_with_hostile(&alice, &bob));
    chain.block(vec![]);
    (home, chain, alice)
}

#[test]
fn a_tx_pays_for_its_size_with_the_gas_it_declares() {
    let (_home, mut chain, mut alice) = with_hostile();
    // Too little for its own bytes: refused at CheckTx, and in a block the sequence stays.
    let tx = alice.tx_with_gas(vec![deliver(&alice, "[1]")], Some(1_000));
    let (code, log) = chain.node.check_tx(&tx, false).expect_err("refused");
    assert_eq!(code, codes::OUT_OF_GAS);
    assert!(
        log.contains("out of gas") && log.contains("declares 1000"),
        "{log}"
    );
    let r = chain.run_tx(tx);
    assert_eq!(r.code, codes::OUT_OF_GAS, "{}", r.log);
    assert_eq!(r.gas_wanted, 1_000);
    alice.sequence -= 1;
    // More than a block may hold.
    let tx = alice.tx_with_gas(vec![deliver(&alice, "[1]")], Some(100_000_001));
    let (code, _) = chain.node.check_tx(&tx, false).expect_err("refused");
    assert_eq!(code, codes::INVALID_GAS_LIMIT);
    alice.sequence -= 1;
    // Enough: it runs, and the result reports what it declared and what it used.
    let r = chain.run_tx(alice.tx_with_gas(vec![deliver(&alice, "[1]")], Some(50_000)));
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.gas_wanted, 50_000);
    assert!(r.gas_used > 1_000 && r.gas_used <= 50_000, "{}", r.gas_used);
    assert_eq!(chain.query("/data/counter.count"), json!(1));
}

#[test]
fn a_delivery_stays_within_its_txs_gas_and_the_vat_survives_a_runaway_method() {
    let (_home, mut chain, mut alice) = with_hostile();
    let spin = |w: &Wallet| compose::deliver(&w.address, "hostile", "loop", "[]");
    // The estimate reserves about 200 computrons for the delivery (what its bytes leave of
    // the estimate, too): the loop passes them, so its delivery is rolled back and its
    // result rejected; the vat is as it was.
    let r = chain.run_tx(alice.tx(vec![spin(&alice)]));
    assert_eq!(r.code, 0, "the tx ran: {}", r.log);
    assert_eq!(
        event_attr(&r.events, "swingset_result", "status").as_deref(),
        Some("rejected")
    );
    let why = event_attr(&r.events, "swingset_result", "value").expect("value");
    let limit: u64 = why
        .split("past ")
        .nth(1)
        .and_then(|w| w.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no limit in {why}"));
    assert!(why.contains("rolled back"), "{why}");
    assert!((200..300).contains(&limit), "the tx's share: {why}");
    // With all the gas a delivery may use, it reaches the chain's per-delivery limit.
    let r = chain.run_tx(alice.tx_with_gas(vec![spin(&alice)], Some(10_000_000)));
    let why = event_attr(&r.events, "swingset_result", "value").expect("value");
    assert!(why.contains("past 2500 computrons"), "{why}");
    assert_eq!(chain.query("/vat/hostile")["name"], json!("hostile"));
    // Other users go on as before.
    let r = chain.run_tx(alice.tx(vec![deliver(&alice, "[2]")]));
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(chain.query("/data/counter.count"), json!(2));
}

#[test]
fn blocks_are_built_and_checked_within_the_gas_limit() {
    use tendermint_proto::v0_38::abci::response_process_proposal::ProposalStatus;
    let (_home, mut chain, mut alice, _bob) = fresh();
    // Three txs declaring 40M gas each; a block holds 100M.
    let txs: Vec<Vec<u8>> = (0..3)
        .map(|_| alice.tx_with_gas(vec![deliver(&alice, "[1]")], Some(40_000_000)))
        .collect();
    let app = vatchain_app::VatdApp::new(chain.node.clone());
    let proposal = propose(&app, &txs);
    assert_eq!(
        proposal.txs.len(),
        2,
        "the proposal stops at the block's gas"
    );
    assert_eq!(verdict(&app, &txs[..2]), ProposalStatus::Accept as i32);
    assert_eq!(verdict(&app, &txs), ProposalStatus::Reject as i32);
    let out = chain.block(txs);
    assert!(out.tx_results[..2].iter().all(|r| r.code == 0));
    assert_eq!(out.tx_results[2].code, codes::OUT_OF_GAS);
    assert!(
        out.tx_results[2].log.contains("block's gas limit"),
        "{}",
        out.tx_results[2].log
    );
}

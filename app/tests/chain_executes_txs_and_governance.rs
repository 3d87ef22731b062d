//! The chain's transaction and governance paths, through the node's API (what the ABCI
//! layer calls): signed txs deliver to vats and install bundles, results and published
//! data come back as events and queries, a gov proposal upgrades the counter vat keeping
//! its count, a failing upgrade proposal changes nothing and says why, and bad txs are
//! refused with their reason.

mod support;

use std::path::Path;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use serde_json::json;
use support::*;
use vatchain_app::codes;
use vatchain_app::compose;

fn bundle_bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("bundle bytes")
}

/// Submits `msgs` as a proposal from alice, votes yes, and runs blocks past the voting
/// period; returns the proposal's final JSON.
fn pass_proposal(
    chain: &mut Chain,
    alice: &mut Wallet,
    msgs: Vec<cosmrs::Any>,
) -> serde_json::Value {
    let r = chain.run_tx(alice.tx(vec![compose::submit_proposal(
        &alice.address,
        msgs,
        1000,
        "uvat",
        "a proposal",
        "",
    )]));
    assert_eq!(r.code, 0, "submit: {}", r.log);
    let id: u64 = event_attr(&r.events, "submit_proposal", "proposal_id")
        .expect("proposal id event")
        .parse()
        .expect("number");
    let p = chain.query(&format!("/proposal/{id}"));
    assert_eq!(p["status"], "PROPOSAL_STATUS_VOTING_PERIOD", "{p}");
    let r = chain.run_tx(alice.tx(vec![compose::vote(&alice.address, id, VoteOption::Yes)]));
    assert_eq!(r.code, 0, "vote: {}", r.log);
    // Voting period 10 s, blocks 5 s apart.
    chain.block(vec![]);
    chain.block(vec![]);
    chain.query(&format!("/proposal/{id}"))
}

fn deliver(chain: &mut Chain, w: &mut Wallet, method: &str, args: &str) -> serde_json::Value {
    let r = chain.run_tx(w.tx(vec![compose::deliver(&w.address, "counter", method, args)]));
    assert_eq!(r.code, 0, "deliver {method}: {}", r.log);
    let value =
        event_attr(&r.events, "swingset_result", "value").expect("the result settles in the block");
    assert_eq!(
        event_attr(&r.events, "swingset_result", "status").as_deref(),
        Some("fulfilled")
    );
    serde_json::from_str(&value).expect("JSON value")
}

#[test]
fn txs_deliver_and_governance_upgrades_the_counter() {
    let (home, mut chain, mut alice, mut bob) = fresh();

    // Deliveries: results in the tx's events and by query; published data by query.
    assert_eq!(
        deliver(&mut chain, &mut alice, "increment", "[2]"),
        json!(2)
    );
    assert_eq!(deliver(&mut chain, &mut bob, "increment", "[]"), json!(3));
    assert_eq!(chain.query("/data/counter.count"), json!(3));
    assert_eq!(deliver(&mut chain, &mut bob, "version", ""), json!("v1"));
    let r = chain.run_tx(bob.tx(vec![compose::deliver(
        &bob.address,
        "counter",
        "increment",
        "[0]",
    )]));
    assert_eq!(r.code, 0, "the tx is fine; the vat rejects the call");
    let kp = event_attr(&r.events, "deliver_inbound", "result_kpid").expect("kpid");
    let res = chain.query(&format!("/result/{kp}"));
    assert_eq!(res["status"], "rejected");
    assert!(res["value"].to_string().contains("whole number"), "{res}");

    // Install version 2 (gzipped) and upgrade by proposal: the count is kept.
    let v2 = demo("counter-v2");
    let r = chain.run_tx(alice.tx(vec![compose::install_bundle(
        &alice.address,
        &bundle_bytes(&v2),
        true,
    )]));
    assert_eq!(r.code, 0, "install: {}", r.log);
    let v2_id = event_attr(&r.events, "install_bundle", "bundle_id").expect("bundle id");
    assert!(v2_id.starts_with("b1-"));
    assert_eq!(
        chain.query(&format!("/bundle/{v2_id}"))["entry"],
        v2["entry"]
    );
    let p = pass_proposal(
        &mut chain,
        &mut alice,
        vec![compose::upgrade_vat("counter", &v2_id, "", "to v2")],
    );
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    assert!(
        p["outcome"][0]
            .as_str()
            .unwrap_or("")
            .contains("incarnation 1"),
        "{p}"
    );
    let vat = chain.query("/vat/counter");
    assert_eq!(vat["incarnationNumber"], 1);
    assert_eq!(vat["bundleID"], json!(v2_id));
    assert_eq!(deliver(&mut chain, &mut bob, "version", ""), json!("v2"));
    assert_eq!(
        deliver(&mut chain, &mut bob, "read", ""),
        json!(3),
        "the count survived the upgrade"
    );
    assert_eq!(deliver(&mut chain, &mut bob, "increment", "[4]"), json!(7));

    // A failing upgrade: the proposal fails with the reason; v2 keeps answering.
    let broken =
        bundle_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/counter-broken"));
    let r = chain.run_tx(alice.tx(vec![compose::install_bundle(
        &alice.address,
        &bundle_bytes(&broken),
        false,
    )]));
    let broken_id = event_attr(&r.events, "install_bundle", "bundle_id").expect("bundle id");
    let p = pass_proposal(
        &mut chain,
        &mut alice,
        vec![compose::upgrade_vat("counter", &broken_id, "", "to v3")],
    );
    assert_eq!(p["status"], "PROPOSAL_STATUS_FAILED", "{p}");
    let why = p["outcome"][0].as_str().unwrap_or("");
    assert!(why.contains("counter v3 refuses to start"), "{why}");
    assert_eq!(chain.query("/vat/counter")["incarnationNumber"], 1);
    assert_eq!(deliver(&mut chain, &mut bob, "version", ""), json!("v2"));
    assert_eq!(deliver(&mut chain, &mut bob, "read", ""), json!(7));

    // All or nothing: a proposal whose second message fails applies neither.
    let p = pass_proposal(
        &mut chain,
        &mut alice,
        vec![
            compose::create_vat("counter2", &v2_id, ""),
            compose::upgrade_vat("nope", &v2_id, "", ""),
        ],
    );
    assert_eq!(p["status"], "PROPOSAL_STATUS_FAILED", "{p}");
    assert!(
        p["outcome"][0].as_str().unwrap_or("").contains("message 1"),
        "{p}"
    );
    chain.query_err("/vat/counter2");
    let published = chain.query("/published");
    assert!(published.get("counter2").is_none(), "{published}");

    // A restart rebuilds the vats from the DB (transcript replay) with the same answers.
    let (height, hash) = chain.node.info();
    chain.stop();
    let mut chain = Chain::start(home.path());
    assert_eq!(chain.node.info(), (height, hash));
    assert_eq!(chain.query("/vat/counter")["incarnationNumber"], 1);
    assert_eq!(deliver(&mut chain, &mut bob, "read", ""), json!(7));
    assert_eq!(deliver(&mut chain, &mut bob, "version", ""), json!("v2"));
    chain.stop();
}

#[test]
fn bad_txs_are_refused_with_their_reason() {
    let (_home, mut chain, mut alice, mut bob) = fresh();

    let refused = |r: &vatchain_app::TxResult, code: u32, needle: &str| {
        assert_eq!(r.code, code, "{}", r.log);
        assert!(
            r.log.contains(needle),
            "log {:?} should mention {needle:?}",
            r.log
        );
    };
    // Garbage, a replayed tx (wrong sequence), an unknown target, a kref nobody published.
    let out = chain.block(vec![b"garbage".to_vec()]);
    refused(&out.tx_results[0], codes::TX_DECODE, "cannot decode");
    let tx = alice.tx(vec![compose::deliver(
        &alice.address,
        "counter",
        "read",
        "",
    )]);
    assert_eq!(chain.run_tx(tx.clone()).code, 0);
    refused(
        &chain.run_tx(tx),
        codes::INVALID_SEQUENCE,
        "sequence mismatch",
    );
    let r = chain.run_tx(alice.tx(vec![compose::deliver(&alice.address, "nobody", "read", "")]));
    refused(&r, codes::EXECUTION_FAILED, "nothing is published");
    let r = chain.run_tx(alice.tx(vec![compose::deliver(&alice.address, "ko1", "read", "")]));
    refused(&r, codes::EXECUTION_FAILED, "not a published object");
    // chainStorage is held by the chain, not published: clients cannot write its paths.
    let r = chain.run_tx(alice.tx(vec![compose::deliver(
        &alice.address,
        "chainStorage",
        "setValue",
        r#"["counter.count", 999]"#,
    )]));
    refused(&r, codes::EXECUTION_FAILED, "nothing is published");
    // Bad arguments, another signer's name in the message, governance-only messages: as in
    // Cosmos (ValidateBasic), refused without using up the sequence.
    let r = chain.run_tx(alice.tx(vec![compose::deliver(
        &alice.address,
        "counter",
        "read",
        "{",
    )]));
    refused(&r, codes::INVALID_MSG, "not JSON");
    alice.sequence -= 1; // a tx whose messages do not check out keeps its sequence
    let r = chain.run_tx(alice.tx(vec![compose::deliver(&bob.address, "counter", "read", "")]));
    refused(&r, codes::INVALID_MSG, "is not the signer");
    alice.sequence -= 1; // a tx whose messages do not check out keeps its sequence
    let r = chain.run_tx(alice.tx(vec![compose::upgrade_vat("counter", "b1-00", "", "")]));
    refused(&r, codes::INVALID_MSG, "only be executed by governance");
    alice.sequence -= 1; // a tx whose messages do not check out keeps its sequence
                         // A bad bundle; a proposal without funds; a vote by an account bound to no validator.
    let r = chain.run_tx(alice.tx(vec![compose::install_bundle(
        &alice.address,
        b"{\"entry\":1}",
        false,
    )]));
    refused(&r, codes::INVALID_MSG, "bad bundle");
    alice.sequence -= 1; // a tx whose messages do not check out keeps its sequence
    let r = chain.run_tx(bob.tx(vec![compose::submit_proposal(
        &bob.address,
        vec![compose::create_vat("x", "b1-00", "")],
        5_000_000,
        "uvat",
        "t",
        "",
    )]));
    refused(&r, codes::EXECUTION_FAILED, "insufficient funds");
    let r = chain.run_tx(alice.tx(vec![compose::submit_proposal(
        &alice.address,
        vec![compose::create_vat("x", "b1-00", "")],
        1000,
        "uvat",
        "t",
        "",
    )]));
    assert_eq!(r.code, 0, "{}", r.log);
    let r = chain.run_tx(bob.tx(vec![compose::vote(&bob.address, 1, VoteOption::Yes)]));
    refused(&r, codes::EXECUTION_FAILED, "not bound to a validator");
    // A failed message still uses up the sequence; the account's state says so.
    let acct = chain.query(&format!("/account/{}", bob.address));
    assert_eq!(acct["sequence"], bob.sequence);
    assert_eq!(
        acct["balance"], "1000000",
        "nothing was debited by the failed proposal"
    );
    let alice_acct = chain.query(&format!("/account/{}", alice.address));
    assert_eq!(
        alice_acct["balance"], "999000",
        "alice's deposit is escrowed"
    );

    // CheckTx: the same rules, with pending sequences between blocks.
    let t1 = alice.tx(vec![compose::deliver(
        &alice.address,
        "counter",
        "read",
        "",
    )]);
    let t2 = alice.tx(vec![compose::deliver(
        &alice.address,
        "counter",
        "read",
        "",
    )]);
    assert_eq!(chain.node.check_tx(&t1, false), Ok(()));
    assert_eq!(
        chain.node.check_tx(&t2, false),
        Ok(()),
        "the second tx uses the next sequence"
    );
    let again = chain
        .node
        .check_tx(&t2, false)
        .expect_err("a duplicate is refused");
    assert_eq!(again.0, codes::INVALID_SEQUENCE);
    let bad = chain.node.check_tx(
        &bob.tx(vec![compose::deliver(&bob.address, "counter", "", "")]),
        false,
    );
    assert_eq!(bad.map_err(|e| e.0), Err(codes::INVALID_MSG));
    chain.stop();
}

/// vat-admin is upgradeable by governance like any vat (its state is durable; what that
/// keeps working is tested in the kernel's `vat_admin_upgrades_keep_every_admin_node`): the
/// proposal passes, vat-admin runs the new bundle, and vats go on being upgraded.
#[test]
fn governance_upgrades_vat_admin_itself() {
    let (_home, mut chain, mut alice, mut bob) = fresh();
    let src = vatchain_kernel::VAT_ADMIN_JS.replace("const VERSION = 1;", "const VERSION = 2;");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.js"), src).expect("write");
    let r = chain.run_tx(alice.tx(vec![compose::install_bundle(
        &alice.address,
        &bundle_bytes(&bundle_json(dir.path())),
        false,
    )]));
    assert_eq!(r.code, 0, "install: {}", r.log);
    let id = event_attr(&r.events, "install_bundle", "bundle_id").expect("bundle id");
    let p = pass_proposal(
        &mut chain,
        &mut alice,
        vec![compose::upgrade_vat(
            vatchain_kernel::VAT_ADMIN_NAME,
            &id,
            "",
            "vat-admin v2",
        )],
    );
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    let vat = chain.query(&format!("/vat/{}", vatchain_kernel::VAT_ADMIN_NAME));
    assert_eq!(vat["incarnationNumber"], 1, "{vat}");
    assert_eq!(vat["bundleID"], json!(id));
    // The counter (a genesis vat) still upgrades by governance afterwards.
    let v2 = demo("counter-v2");
    let r = chain.run_tx(alice.tx(vec![compose::install_bundle(
        &alice.address,
        &bundle_bytes(&v2),
        true,
    )]));
    let v2_id = event_attr(&r.events, "install_bundle", "bundle_id").expect("bundle id");
    let p = pass_proposal(
        &mut chain,
        &mut alice,
        vec![compose::upgrade_vat("counter", &v2_id, "", "to v2")],
    );
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    assert_eq!(deliver(&mut chain, &mut bob, "version", ""), json!("v2"));
    chain.stop();
}

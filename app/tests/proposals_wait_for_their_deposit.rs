//! x/gov deposits: a proposal must bring a minimum initial deposit; one under the minimum
//! deposit waits in its deposit period, a
//! `MsgDeposit` that reaches the minimum opens voting, and a proposal whose deposit period
//! ends under the minimum is deleted with its deposits burned. Votes before voting opens
//! are refused.

mod support;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use support::*;
use vatchain_app::{codes, compose};

#[test]
fn deposits_open_voting_or_the_proposal_is_dropped() {
    let (_home, mut chain, mut alice, mut bob) = fresh();
    let propose = |w: &mut Wallet, deposit: u128| {
        let addr = w.address.clone();
        w.tx(vec![compose::submit_proposal(
            &addr,
            vec![compose::create_vat("counter2", "b1-00", "")],
            deposit,
            "uvat",
            "t",
            "",
        )])
    };

    // Proposal 1: 400 of the 1000 needed; bob adds 600 and voting opens.
    assert_eq!(chain.run_tx(propose(&mut alice, 400)).code, 0);
    assert_eq!(
        chain.query("/proposal/1")["status"],
        "PROPOSAL_STATUS_DEPOSIT_PERIOD"
    );
    let r = chain.run_tx(alice.tx(vec![compose::vote(&alice.address, 1, VoteOption::Yes)]));
    assert_eq!(r.code, codes::EXECUTION_FAILED);
    assert!(r.log.contains("not in its voting period"), "{}", r.log);
    let r = chain.run_tx(bob.tx(vec![compose::deposit(&bob.address, 1, 600, "uvat")]));
    assert_eq!(r.code, 0, "{}", r.log);
    let p = chain.query("/proposal/1");
    assert_eq!(p["status"], "PROPOSAL_STATUS_VOTING_PERIOD");
    assert_eq!(p["totalDeposit"], "1000");
    assert_eq!(
        chain.query(&format!("/account/{}", bob.address))["balance"],
        "999400"
    );

    // A proposal must bring a quarter of the minimum deposit (min_initial_deposit_ratio):
    // proposals are never free to make.
    let r = chain.run_tx(propose(&mut bob, 249));
    assert_eq!(r.code, codes::EXECUTION_FAILED);
    assert!(
        r.log.contains("too small") && r.log.contains("at least 250"),
        "{}",
        r.log
    );

    // Proposal 2: 250 deposited, never topped up: dropped after the 10 s deposit period.
    assert_eq!(chain.run_tx(propose(&mut bob, 250)).code, 0);
    chain.block(vec![]);
    let out = chain.block(vec![]);
    assert_eq!(
        event_attr(&out.events, "inactive_proposal", "proposal_id").as_deref(),
        Some("2")
    );
    assert!(
        chain.query_err("/proposal/2").contains("not found"),
        "dropped proposals are deleted"
    );
    // Proposal 1 (no votes) ended meanwhile: quorum not reached, deposits refunded.
    let p1 = chain.query("/proposal/1");
    assert_eq!(p1["status"], "PROPOSAL_STATUS_REJECTED", "{p1}");
    assert_eq!(p1["outcome"][0], "quorum not reached");
    // Bob: 600 refunded, 250 burned. Alice: her 400 refunded.
    assert_eq!(
        chain.query(&format!("/account/{}", bob.address))["balance"],
        "999750"
    );
    assert_eq!(
        chain.query(&format!("/account/{}", alice.address))["balance"],
        "1000000"
    );
    let r = chain.run_tx(bob.tx(vec![compose::deposit(&bob.address, 1, 5, "uvat")]));
    assert!(r.log.contains("is closed"), "{}", r.log);
}

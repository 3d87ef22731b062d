//! A consensus engine that restarts between FinalizeBlock and Commit sends the same block
//! again (CometBFT's WAL has it; the app's DB does not). The node runs it again from its
//! last committed state, as if the first run never happened: same results, same app hash
//! as a node that ran it once, and nothing of the first run left (not even in a vat's heap).
//! Genesis, which commits with block 1, may likewise come twice.

mod support;

use support::*;
use vatchain_app::compose;
use vatchain_app::node::BlockRequest;

fn inc(w: &Wallet, n: u64) -> cosmrs::Any {
    compose::deliver(&w.address, "counter", "increment", &format!("[{n}]"))
}

#[test]
fn a_block_finalized_twice_commits_as_if_finalized_once() {
    let (home, mut chain, mut alice, _bob) = fresh();
    let (twin_home, mut twin, mut twin_alice, _) = fresh();
    let tx = alice.tx(vec![inc(&alice, 5)]);
    assert_eq!(
        tx,
        twin_alice.tx(vec![inc(&twin_alice, 5)]),
        "same signed bytes"
    );

    // First run of block 2: the counter's heap counts 5, the sequence moves.
    let first = chain.finalize(vec![tx.clone()]);
    assert_eq!(first.tx_results[0].code, 0, "{}", first.tx_results[0].log);
    // The engine restarts and sends block 2 again.
    let again = chain.node.finalize_block(BlockRequest {
        height: chain.height,
        time: chain.time,
        txs: vec![tx.clone()],
    });
    assert_eq!(
        again.tx_results[0].code, 0,
        "the same tx runs again: its sequence was not moved by the abandoned run ({})",
        again.tx_results[0].log
    );
    chain.node.commit();
    let once = twin.block(vec![tx]);
    assert_eq!(again.app_hash, once.app_hash, "as if finalized once");
    assert_eq!(again.tx_results, once.tx_results);

    // The next block agrees too: the vat's heap did not keep the abandoned increment.
    let next = alice.tx(vec![inc(&alice, 1)]);
    let twin_next = twin_alice.tx(vec![inc(&twin_alice, 1)]);
    let a = chain.block(vec![next]);
    let b = twin.block(vec![twin_next]);
    assert_eq!(a.app_hash, b.app_hash);
    assert_eq!(
        event_attr(&a.tx_results[0].events, "swingset_result", "value").as_deref(),
        Some("6"),
        "5 then 1, counted once"
    );
    drop((chain, twin));
    drop((home, twin_home));
}

#[test]
fn genesis_applied_twice_before_the_first_commit_is_applied_once() {
    let (alice, bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
    let home = tempfile::tempdir().expect("tempdir");
    let twin_home = tempfile::tempdir().expect("tempdir");
    let mut chain = Chain::start(home.path());
    let mut twin = Chain::start(twin_home.path());
    chain.init(&genesis(&alice, &bob));
    chain.finalize(vec![]);
    // Restarted before block 1's Commit: InitChain, then block 1, again.
    chain.height = 0;
    chain.time -= 5;
    chain.init(&genesis(&alice, &bob));
    let a = chain.block(vec![]);
    twin.init(&genesis(&alice, &bob));
    let b = twin.block(vec![]);
    assert_eq!(a.app_hash, b.app_hash);
    assert_eq!(chain.query("/vat/counter"), twin.query("/vat/counter"));
}

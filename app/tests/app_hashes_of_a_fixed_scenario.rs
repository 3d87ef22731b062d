//! The guard of refactors that must not change behaviour (issue 16's reshaping of the app
//! and the kernel): a fixed scenario touching every module (txs of every kind, bad txs,
//! gas, a rolled-back delivery, a governance vat upgrade and vat creation, results
//! settling over blocks) is run block by block, and its app hash at every height is
//! compared with the hashes recorded in `fixtures/app_hashes.txt`.
//!
//! A change that is *meant* to change consensus state (a new feature, a fix) re-records
//! them with `VATCHAIN_RECORD_APP_HASHES=1 cargo test --workspace --test
//! app_hashes_of_a_fixed_scenario`, and says so in its commit: that is a coordinated
//! upgrade for a running chain. A refactor never does.

mod support;

use std::path::Path;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use serde_json::json;
use support::*;
use vatchain_app::compose;

const FIXTURE: &str = "tests/fixtures/app_hashes.txt";

/// Runs the scenario; returns `height hash` lines.
fn scenario() -> Vec<String> {
    let home = tempfile::tempdir().expect("tempdir");
    let (mut alice, mut bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
    let mut chain = Chain::start(home.path());
    chain.init(&genesis_with_hostile(&alice, &bob));
    let mut hashes = Vec::new();
    let mut block = |chain: &mut Chain, txs: Vec<Vec<u8>>| {
        let out = chain.block(txs);
        hashes.push(format!("{} {}", chain.height, hex(&out.app_hash)));
        out
    };
    let inc = |w: &Wallet, n: u64| {
        compose::deliver(&w.address, "counter", "increment", &format!("[{n}]"))
    };
    block(&mut chain, vec![]);
    // Deliveries from two accounts, several in one tx, and bad txs of each kind.
    let t1 = alice.tx(vec![inc(&alice, 1), inc(&alice, 2)]);
    let t2 = bob.tx(vec![inc(&bob, 3)]);
    let t3 = bob.tx(vec![compose::deliver(&bob.address, "nobody", "x", "[]")]);
    let t4 = alice.tx_with_gas(vec![inc(&alice, 1)], Some(10));
    alice.sequence -= 1;
    block(&mut chain, vec![t1, t2, t3, t4, b"garbage".to_vec()]);
    // A runaway delivery rolled back at its gas share; the vat lives.
    let spin = alice.tx(vec![compose::deliver(
        &alice.address,
        "hostile",
        "loop",
        "[]",
    )]);
    block(&mut chain, vec![spin]);
    // Install version 2 and upgrade the counter by governance; create a vat too.
    let v2 = serde_json::to_vec(&demo("counter-v2")).expect("bundle bytes");
    let out = block(
        &mut chain,
        vec![alice.tx(vec![compose::install_bundle(&alice.address, &v2, true)])],
    );
    let v2_id =
        event_attr(&out.tx_results[0].events, "install_bundle", "bundle_id").expect("installed");
    let proposal = compose::submit_proposal(
        &alice.address,
        vec![
            compose::upgrade_vat("counter", &v2_id, "", "to v2"),
            compose::create_vat("counter2", &v2_id, ""),
        ],
        1000,
        "uvat",
        "upgrade and create",
        "",
    );
    block(&mut chain, vec![alice.tx(vec![proposal])]);
    block(
        &mut chain,
        vec![alice.tx(vec![compose::vote(&alice.address, 1, VoteOption::Yes)])],
    );
    block(&mut chain, vec![]);
    block(&mut chain, vec![]);
    // The upgraded counter keeps its count; the new vat answers.
    // (counter2 publishes to the same path first; the counter's 10 lands last.)
    let t = bob.tx(vec![
        compose::deliver(&bob.address, "counter2", "increment", "[5]"),
        inc(&bob, 4),
    ]);
    block(&mut chain, vec![t]);
    // A proposal that fails (an unknown vat), and one that waits for its deposit.
    let bad = compose::submit_proposal(
        &bob.address,
        vec![compose::upgrade_vat("nope", &v2_id, "", "")],
        1000,
        "uvat",
        "fails",
        "",
    );
    block(&mut chain, vec![bob.tx(vec![bad])]);
    block(
        &mut chain,
        vec![alice.tx(vec![compose::vote(&alice.address, 2, VoteOption::Yes)])],
    );
    for _ in 0..3 {
        block(&mut chain, vec![]);
    }
    assert_eq!(
        chain.query("/data/counter.count"),
        json!(10),
        "the scenario ran"
    );
    hashes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn app_hashes_match_the_recorded_ones() {
    let got = scenario();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    if std::env::var_os("VATCHAIN_RECORD_APP_HASHES").is_some() {
        std::fs::write(&path, got.join("\n") + "\n").expect("record");
        eprintln!("recorded {} app hashes in {}", got.len(), path.display());
        return;
    }
    let again = scenario();
    assert_eq!(got, again, "the scenario is not deterministic");
    let recorded = std::fs::read_to_string(&path).expect("the recorded app hashes");
    let recorded: Vec<&str> = recorded.lines().collect();
    assert_eq!(got.len(), recorded.len(), "the scenario's length changed");
    for (g, r) in got.iter().zip(&recorded) {
        assert_eq!(
            g, r,
            "the app hash at this height differs from the recorded one: consensus state \
             changed (see this file's header)"
        );
    }
}

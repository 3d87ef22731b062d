//! Software upgrades as Cosmos SDK nodes do them: a plan passed by governance stops a
//! binary without a handler at the plan height (`UPGRADE "<name>" NEEDED`, and
//! `upgrade-info.json`), and a binary with the handler runs it exactly once, even when the
//! node crashes in the middle of that block.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use serde_json::json;
use support::*;
use vatchain_app::node::NodeConfig;
use vatchain_app::Handler;
use vatchain_app::{compose, host};
use vatchain_kernel::Kernel;

/// A handler that counts its runs in the host state.
fn count_runs(k: &mut Kernel) -> Result<serde_json::Value, String> {
    let n: u64 = host::get(&k.host(), "test/runs").unwrap_or(0);
    k.update_host(|h| host::put(h, "test/runs", &(n + 1)));
    Ok(json!(format!("run number {}", n + 1)))
}

static WITH_HANDLER: &[Handler] = &[Handler {
    name: "v2",
    migrates_kernel_from: None,
    run: count_runs,
}];

#[test]
fn a_plan_halts_the_old_binary_and_runs_once_in_the_new_one() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut alice = Wallet::new(1, 0);
    let bob = Wallet::new(2, 1);
    let mut chain = Chain::start(home.path());
    chain.init(&genesis(&alice, &bob));
    chain.block(vec![]);

    // Propose, vote, pass: the plan is for height 10.
    let submit = compose::submit_proposal(
        &alice.address,
        vec![compose::software_upgrade("v2", 10, "{\"binaries\":{}}")],
        1000,
        "uvat",
        "upgrade to v2",
        "",
    );
    assert_eq!(chain.run_tx(alice.tx(vec![submit])).code, 0);
    assert_eq!(
        chain
            .run_tx(alice.tx(vec![compose::vote(&alice.address, 1, VoteOption::Yes)]))
            .code,
        0
    );
    chain.block(vec![]);
    chain.block(vec![]);
    assert_eq!(
        chain.query("/proposal/1")["status"],
        "PROPOSAL_STATUS_PASSED"
    );
    assert_eq!(
        chain.query("/upgrade/plan"),
        json!({"name": "v2", "height": 10, "info": "{\"binaries\":{}}"})
    );

    // The new binary started early would run old blocks with new code: it refuses.
    let config = NodeConfig {
        upgrade_handlers: WITH_HANDLER,
        ..NodeConfig::new(home.path().to_path_buf())
    };
    chain.stop();
    let mut early = Chain::start_with(config.clone());
    let refused = catch_unwind(AssertUnwindSafe(|| early.block(vec![])));
    assert!(refused.is_err(), "BINARY UPDATED BEFORE TRIGGER");
    early.stop();
    let mut chain = Chain::start(home.path());
    while chain.height < 9 {
        chain.block(vec![]);
    }
    let (h9, hash9) = chain.node.info();
    assert_eq!(h9, 9);

    // This binary has no handler: block 10 is not executed.
    let halted = catch_unwind(AssertUnwindSafe(|| chain.block(vec![])));
    assert!(halted.is_err(), "the node stops at the plan height");
    let info: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.path().join("data/upgrade-info.json")).expect("upgrade-info.json"),
    )
    .expect("JSON");
    assert_eq!(
        info,
        json!({"name": "v2", "height": 10, "info": "{\"binaries\":{}}"})
    );
    // Wait until the stopped owner thread has closed the DB.
    chain.stop();

    // The new binary: finalize block 10 (the handler runs), crash before Commit.
    let mut chain = Chain::start_with(config.clone());
    assert_eq!(
        chain.node.info(),
        (h9, hash9),
        "nothing of block 10 was written"
    );
    let out = chain.finalize(vec![]);
    assert_eq!(
        event_attr(&out.events, "upgrade_applied", "info").as_deref(),
        Some("upgrade \"v2\" applied at height 10: run number 1")
    );
    let hash10 = out.app_hash;
    chain.stop();

    // After the restart the block runs again, and so does the handler: once, in total.
    let mut chain = Chain::start_with(config.clone());
    assert_eq!(chain.node.info().0, 9);
    let out = chain.block(vec![]);
    assert_eq!(
        out.app_hash, hash10,
        "the re-executed block is the same block"
    );
    assert_eq!(
        event_attr(&out.events, "upgrade_applied", "info").as_deref(),
        Some("upgrade \"v2\" applied at height 10: run number 1"),
        "the crashed run left nothing behind"
    );
    assert_eq!(chain.query("/upgrade/done/v2"), json!(10));
    assert_eq!(chain.query("/upgrade/plan"), json!(null));
    chain.stop();

    // Committed: restarts and later blocks never run it again.
    let mut chain = Chain::start_with(config);
    let out = chain.block(vec![]);
    assert!(event_attr(&out.events, "upgrade_applied", "info").is_none());
    assert_eq!(chain.query("/upgrade/done/v2"), json!(10));
    chain.stop();

    // The old binary, started again after the upgrade, refuses to go on.
    let mut old = Chain::start(home.path());
    let refused = catch_unwind(AssertUnwindSafe(|| old.block(vec![])));
    assert!(refused.is_err(), "an old binary stops at its first block");
    old.stop();
}

#[test]
fn a_plan_for_an_upgrade_this_binary_carries_fails_instead_of_stopping_the_chain() {
    // A chain born on this binary already runs the v3-remediation release: scheduling that
    // plan would make every node refuse the blocks before its height, for good.
    let (_home, mut chain, mut alice, _bob) = fresh();
    let submit = compose::submit_proposal(
        &alice.address,
        vec![compose::software_upgrade("v3-remediation", 50, "")],
        1000,
        "uvat",
        "remediate",
        "",
    );
    assert_eq!(chain.run_tx(alice.tx(vec![submit])).code, 0);
    let vote = compose::vote(&alice.address, 1, VoteOption::Yes);
    assert_eq!(chain.run_tx(alice.tx(vec![vote])).code, 0);
    chain.block(vec![]);
    chain.block(vec![]);
    let p = chain.query("/proposal/1");
    assert_eq!(p["status"], "PROPOSAL_STATUS_FAILED", "{p}");
    assert!(
        p["outcome"][0]
            .as_str()
            .unwrap_or("")
            .contains("already carries upgrade \"v3-remediation\""),
        "{p}"
    );
    assert_eq!(chain.query("/upgrade/plan"), json!(null));
    // The chain goes on.
    let out = chain.block(vec![]);
    assert!(event_attr(&out.events, "upgrade_applied", "info").is_none());
}

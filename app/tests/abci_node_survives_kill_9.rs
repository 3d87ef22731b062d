//! `vatd start` over the real ABCI socket, with this test playing CometBFT: blocks are
//! finalized and committed, the node is killed with SIGKILL, and after a restart `Info`
//! reports exactly the last committed height and app hash. A block finalized but not
//! committed before the kill is gone, and can be executed again.

use std::path::Path;
use std::time::Duration;

use vatchain_testnet::{free_local_address, AbciDriver, NodeProcess};

fn vatd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vatd"))
}

#[test]
fn info_reports_the_last_commit_after_kill_9() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let addr = free_local_address()?;
    let mut node = NodeProcess::start(vatd(), home.path(), &addr)?;
    let mut cmt = AbciDriver::connect(&addr, Duration::from_secs(30))?;
    assert_eq!(
        cmt.info()?,
        (0, vec![]),
        "a fresh node is at height 0 with an empty app hash"
    );
    cmt.init_chain("vatchain-test", b"{}")?;

    let mut hashes = Vec::new();
    for h in 1..=3 {
        let r = cmt.finalize_block(h, 1000 + h * 5, vec![b"not a cosmos tx".to_vec()])?;
        assert_eq!(r.tx_results.len(), 1, "one result per tx");
        assert_ne!(r.tx_results[0].code, 0, "an undecodable tx is rejected");
        assert!(!r.tx_results[0].log.is_empty(), "with a reason");
        assert_eq!(r.app_hash.len(), 32);
        cmt.commit()?;
        hashes.push(r.app_hash.to_vec());
    }
    assert_ne!(hashes[0], hashes[1], "each block extends the hash chain");
    assert_eq!(cmt.info()?, (3, hashes[2].clone()));

    // Finalize block 4 but die before Commit.
    let r4 = cmt.finalize_block(4, 1020, vec![])?;
    drop(cmt);
    node.kill9()?;

    let mut node = NodeProcess::start(vatd(), home.path(), &addr)?;
    let mut cmt = AbciDriver::connect(&addr, Duration::from_secs(30))?;
    assert_eq!(
        cmt.info()?,
        (3, hashes[2].clone()),
        "Info after a crash is the last commit"
    );
    let again = cmt.finalize_block(4, 1020, vec![])?;
    assert_eq!(
        again.app_hash, r4.app_hash,
        "re-executing block 4 gives the same app hash"
    );
    cmt.commit()?;
    let stats = cmt.query("/kernel/stats")?;
    assert_eq!(stats.code, 0);
    let v: serde_json::Value = serde_json::from_slice(&stats.value)?;
    assert_eq!(v["height"], 4);
    assert_eq!(v["schemaVersion"], 3);
    let bad = cmt.query("/nope")?;
    assert_ne!(bad.code, 0);
    assert!(bad.log.contains("unknown query path"));
    node.kill9()?;
    Ok(())
}

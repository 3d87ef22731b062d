//! End to end over the real ABCI socket, this test playing CometBFT: `vatd init` → `vatd
//! start` → install a bundle → deliver to the demo counter → a gov proposal upgrades it →
//! votes → the upgrade is applied (incarnation 1, new behaviour, count kept) → kill -9 →
//! restart → same height, same app hash, same answers. Then a failing upgrade proposal
//! leaves version 2 answering and says why.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use serde_json::{json, Value};
use support::KeySigner;
use tendermint_proto::v0_38::abci::ExecTxResult;
use vatchain_app::compose;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_testnet::{free_local_address, AbciDriver, NodeProcess};

fn vatd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vatd"))
}

fn bundle(dir: &str) -> Vec<u8> {
    Bundle::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), "main.js")
        .expect("bundle")
        .canonical_bytes()
}

/// Plays consensus: heights and 5-second block times.
struct Consensus {
    cmt: AbciDriver,
    height: u64,
}

impl Consensus {
    fn block(&mut self, txs: Vec<Vec<u8>>) -> Vec<ExecTxResult> {
        self.height += 1;
        let r = self
            .cmt
            .block(self.height, 1_000_000 + self.height * 5, txs)
            .expect("block");
        r.tx_results
    }

    fn run_tx(&mut self, tx: Vec<u8>) -> ExecTxResult {
        let r = self.block(vec![tx]).remove(0);
        assert_eq!(r.code, 0, "tx failed: {}", r.log);
        r
    }

    fn attr(r: &ExecTxResult, kind: &str, key: &str) -> String {
        r.events
            .iter()
            .filter(|e| e.r#type == kind)
            .flat_map(|e| &e.attributes)
            .find(|a| a.key == key)
            .map(|a| a.value.clone())
            .unwrap_or_else(|| panic!("no {kind}.{key} in {:?}", r.events))
    }

    fn deliver(&mut self, s: &mut KeySigner, method: &str, args: &str) -> Value {
        let r = self.run_tx(s.tx(|me| vec![compose::deliver(me, "counter", method, args)]));
        assert_eq!(Self::attr(&r, "swingset_result", "status"), "fulfilled");
        serde_json::from_str(&Self::attr(&r, "swingset_result", "value")).expect("JSON")
    }

    fn pass(&mut self, s: &mut KeySigner, msg: cosmrs::Any) -> Value {
        let r = self.run_tx(s.tx(|me| {
            vec![compose::submit_proposal(
                me,
                vec![msg],
                10_000_000,
                "uvat",
                "t",
                "",
            )]
        }));
        let id: u64 = Self::attr(&r, "submit_proposal", "proposal_id")
            .parse()
            .expect("id");
        self.run_tx(s.tx(|me| vec![compose::vote(me, id, VoteOption::Yes)]));
        self.block(vec![]);
        self.block(vec![]);
        self.cmt
            .query_json(&format!("/proposal/{id}"))
            .expect("proposal")
    }
}

#[test]
fn a_vat_is_upgraded_by_governance_and_survives_kill_9() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let out = Command::new(vatd())
        .args([
            "init",
            "--chain-id",
            "vatchain-e2e",
            "--voting-period-secs",
            "10",
            "--home",
        ])
        .arg(home.path())
        .output()?;
    assert!(
        out.status.success(),
        "vatd init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(home.path().join("config/genesis.json"))?)?;
    let mut me = KeySigner::from_home(home.path(), "vatchain-e2e");

    let addr = free_local_address()?;
    let mut node = NodeProcess::start(vatd(), home.path(), &addr)?;
    let mut c = Consensus {
        cmt: AbciDriver::connect(&addr, Duration::from_secs(30))?,
        height: 0,
    };
    c.cmt
        .init_chain("vatchain-e2e", genesis["app_state"].to_string().as_bytes())?;
    c.block(vec![]);
    assert_eq!(c.deliver(&mut me, "increment", "[3]"), json!(3));
    assert_eq!(c.cmt.query_json("/data/counter.count")?, json!(3));

    let v2 = bundle("demo/counter-v2");
    let r = c.run_tx(me.tx(|a| vec![compose::install_bundle(a, &v2, true)]));
    let v2_id = Consensus::attr(&r, "install_bundle", "bundle_id");
    let p = c.pass(
        &mut me,
        compose::upgrade_vat("counter", &v2_id, "", "by governance"),
    );
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    assert_eq!(c.cmt.query_json("/vat/counter")?["incarnationNumber"], 1);
    assert_eq!(c.deliver(&mut me, "version", ""), json!("v2"));
    assert_eq!(
        c.deliver(&mut me, "increment", "[1]"),
        json!(4),
        "the count was kept"
    );

    // kill -9 and restart: the same height, app hash and answers.
    let before = c.cmt.info()?;
    drop(c);
    node.kill9()?;
    let _node = NodeProcess::start(vatd(), home.path(), &addr)?;
    let mut c = Consensus {
        cmt: AbciDriver::connect(&addr, Duration::from_secs(30))?,
        height: before.0,
    };
    assert_eq!(c.cmt.info()?, before);
    assert_eq!(c.cmt.query_json("/vat/counter")?["incarnationNumber"], 1);
    assert_eq!(c.deliver(&mut me, "read", ""), json!(4));

    // A failing upgrade: the proposal fails with the vat's reason; version 2 answers.
    let broken = bundle("tests/fixtures/counter-broken");
    let r = c.run_tx(me.tx(|a| vec![compose::install_bundle(a, &broken, false)]));
    let broken_id = Consensus::attr(&r, "install_bundle", "bundle_id");
    let p = c.pass(&mut me, compose::upgrade_vat("counter", &broken_id, "", ""));
    assert_eq!(p["status"], "PROPOSAL_STATUS_FAILED", "{p}");
    assert!(
        p["outcome"][0]
            .as_str()
            .unwrap_or("")
            .contains("refuses to start"),
        "{p}"
    );
    assert_eq!(c.deliver(&mut me, "version", ""), json!("v2"));
    assert_eq!(c.deliver(&mut me, "read", ""), json!(4));
    Ok(())
}

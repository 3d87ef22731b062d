//! When bringOutYourDead runs changes transcripts and the vatstore, so the reap interval
//! is consensus state: set in genesis (`params.default_reap_interval`), kept in the
//! kernel's kv, changed by a governance proposal (`MsgUpdateParams`). Two nodes whose local
//! settings differ (one keeps a single worker live and writes the slog, the other keeps
//! fifty and writes none) agree at every height, before and after the change, and the
//! slog shows BOYD following the chain's interval.

mod support;

use std::path::Path;
use std::time::Duration;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use serde_json::json;
use support::{genesis, Wallet, CHAIN_ID};
use tendermint_proto::v0_38::abci::ExecTxResult;
use vatchain_app::compose;
use vatchain_testnet::{free_local_address, AbciDriver, NodeProcess};

fn vatd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vatd"))
}

struct Node {
    _process: NodeProcess,
    abci: AbciDriver,
}

fn start(home: &Path, extra: &[&str]) -> anyhow::Result<Node> {
    let addr = free_local_address()?;
    let h = home.to_string_lossy().into_owned();
    let mut args = vec!["start", "--home", &h, "--address", &addr];
    args.extend_from_slice(extra);
    let process = NodeProcess::spawn(vatd(), home, &addr, &args)?;
    let abci = AbciDriver::connect(&addr, Duration::from_secs(60))?;
    Ok(Node {
        _process: process,
        abci,
    })
}

/// Both nodes run each block; their app hashes must agree.
struct Pair {
    a: Node,
    b: Node,
    height: u64,
}

impl Pair {
    fn block(&mut self, txs: Vec<Vec<u8>>) -> anyhow::Result<Vec<ExecTxResult>> {
        self.height += 1;
        let t = 1_000 + 5 * self.height;
        let ra = self.a.abci.block(self.height, t, txs.clone())?;
        let rb = self.b.abci.block(self.height, t, txs)?;
        assert_eq!(
            ra.app_hash, rb.app_hash,
            "app hashes at height {}",
            self.height
        );
        Ok(ra.tx_results)
    }

    fn ok(&mut self, tx: Vec<u8>) -> anyhow::Result<ExecTxResult> {
        let r = self.block(vec![tx])?.remove(0);
        assert_eq!(r.code, 0, "{}", r.log);
        Ok(r)
    }
}

/// How many bringOutYourDead deliveries the slog holds.
fn boyds(slog: &Path) -> usize {
    std::fs::read_to_string(slog)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"type\":\"bringOutYourDead\""))
        .count()
}

#[test]
fn the_reap_interval_comes_from_the_chain_and_local_settings_do_not_matter() -> anyhow::Result<()> {
    let (mut alice, bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
    let mut g = genesis(&alice, &bob);
    g["params"]["default_reap_interval"] = json!(2);
    let (home_a, home_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let slog = home_a.path().join("slog.jsonl");
    let slog_s = slog.to_string_lossy().into_owned();
    let mut p = Pair {
        a: start(
            home_a.path(),
            &["--max-live-workers", "1", "--slog", &slog_s],
        )?,
        b: start(home_b.path(), &[])?,
        height: 0,
    };
    let app_state = g.to_string().into_bytes();
    p.a.abci.init_chain(CHAIN_ID, &app_state)?;
    p.b.abci.init_chain(CHAIN_ID, &app_state)?;
    p.block(vec![])?;
    let params = p.a.abci.query_json("/params")?;
    assert_eq!(params["default_reap_interval"], 2, "{params}");

    let deliver = |w: &mut Wallet, n: u64| {
        let me = w.address.clone();
        w.tx(vec![compose::deliver(
            &me,
            "counter",
            "increment",
            &format!("[{n}]"),
        )])
    };
    let before = boyds(&slog);
    for n in 1..=6 {
        let tx = deliver(&mut alice, n);
        p.ok(tx)?;
    }
    let with_two = boyds(&slog) - before;
    assert!(
        with_two >= 3,
        "every other delivery to a vat brings out its dead: {with_two} BOYDs in six messages"
    );

    // Bad changes are refused when proposed, with the reason.
    for (changes, why) in [
        (
            json!({"default_reap_interval": 0}),
            "default_reap_interval must be positive",
        ),
        (json!({"denom": "ufoo"}), "denom cannot change"),
        (json!({"reap": 3}), "unknown field"),
    ] {
        let me = alice.address.clone();
        let tx = alice.tx(vec![compose::submit_proposal(
            &me,
            vec![compose::update_params(&changes.to_string())],
            1_000,
            "uvat",
            "bad",
            "",
        )]);
        let r = p.block(vec![tx])?.remove(0);
        assert_ne!(r.code, 0, "{changes} must be refused");
        assert!(r.log.contains(why), "{changes}: {}", r.log);
        // The refused tx left the sequence alone.
        alice.sequence -= 1;
    }

    // Governance sets a long interval: BOYD stops coming.
    let me = alice.address.clone();
    let tx = alice.tx(vec![compose::submit_proposal(
        &me,
        vec![compose::update_params(
            r#"{"default_reap_interval": 1000, "gov": {"voting_period_secs": 10}}"#,
        )],
        1_000,
        "uvat",
        "longer reaps",
        "",
    )]);
    let r = p.ok(tx)?;
    let id: u64 = r
        .events
        .iter()
        .flat_map(|e| &e.attributes)
        .find(|a| a.key == "proposal_id")
        .map(|a| a.value.parse())
        .transpose()?
        .expect("a proposal id");
    let me = alice.address.clone();
    p.ok(alice.tx(vec![compose::vote(&me, id, VoteOption::Yes)]))?;
    p.block(vec![])?;
    p.block(vec![])?;
    let prop = p.a.abci.query_json(&format!("/proposal/{id}"))?;
    assert_eq!(prop["status"], "PROPOSAL_STATUS_PASSED", "{prop}");
    let params = p.b.abci.query_json("/params")?;
    assert_eq!(params["default_reap_interval"], 1000, "{params}");
    assert_eq!(
        params["gov"]["min_deposit"], "1000",
        "unnamed parameters keep their value"
    );
    let before = boyds(&slog);
    for n in 1..=6 {
        let tx = deliver(&mut alice, n);
        p.ok(tx)?;
    }
    assert_eq!(boyds(&slog) - before, 0, "no BOYD within 1000 deliveries");
    Ok(())
}

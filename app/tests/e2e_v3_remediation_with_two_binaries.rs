//! The v2→v3 remediation as a chain does it, with two binaries and two nodes over their
//! real ABCI sockets (this test playing CometBFT, feeding both the same blocks and
//! checking they agree on the app hash at every height):
//!
//! the old binary (`vatd-legacy-v2`) → genesis with a service vat → clients' deliveries
//! leave promises it decides → a governance vat upgrade leaks them (`vatd doctor` counts
//! exactly those) → a `MsgSoftwareUpgrade` for plan `v3-remediation` passes → at the plan
//! height the old binary halts with `UPGRADE "v3-remediation" NEEDED` and writes
//! `upgrade-info.json` → the new binary (`vatd`) starts on the same homes (it opens the
//! old DB pending migration and serves no kernel state yet) → its handler migrates at the
//! start of that block; one node is killed -9 before Commit and re-executes the block, with
//! the same counts and app hash → the chain goes on: deliveries, a further vat upgrade with
//! no new leak → doctor: healthy; restarts never run the handler again; the old binary
//! refuses the migrated DB.
//!
//! Needs `target/debug/vatd-legacy-v2`, which `scripts/test.sh` builds first
//! (`cargo build --workspace --features vatchain-app/legacy-v2 --bin vatd-legacy-v2`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use serde_json::{json, Value};
use support::KeySigner;
use tendermint_proto::v0_38::abci::{Event, ExecTxResult, ResponseFinalizeBlock};
use vatchain_app::compose;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_testnet::{free_local_address, AbciDriver, NodeProcess};

const CHAIN_ID: &str = "vatchain-remediation";
/// Deliveries to the service whose answers never come: what its upgrade leaks.
const HANGS: usize = 25;

fn vatd() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vatd"))
}

fn fixture_bundle(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kernel/tests/fixtures/vats")
        .join(name);
    Bundle::from_dir(&dir, "main.js")
        .expect("bundle")
        .canonical_bytes()
}

/// One validator's node: its process and the consensus connection to it.
struct Node {
    home: PathBuf,
    process: NodeProcess,
    cmt: AbciDriver,
}

impl Node {
    fn start(binary: &Path, home: &Path) -> Node {
        let addr = free_local_address().expect("port");
        let process = NodeProcess::start(binary, home, &addr).expect("start");
        let cmt = AbciDriver::connect(&addr, Duration::from_secs(60)).expect("connect");
        Node {
            home: home.to_path_buf(),
            process,
            cmt,
        }
    }
}

/// The network: every node gets the same blocks; their app hashes must agree.
struct Net {
    nodes: Vec<Node>,
    height: u64,
}

fn time_of(height: u64) -> u64 {
    1_000_000 + height * 5
}

fn attr(events: &[Event], kind: &str, key: &str) -> Option<String> {
    events
        .iter()
        .filter(|e| e.r#type == kind)
        .flat_map(|e| &e.attributes)
        .find(|a| a.key == key)
        .map(|a| a.value.clone())
}

impl Net {
    /// Starts `binary` on every home, at the height the first node reports.
    fn start(binary: &Path, homes: &[tempfile::TempDir]) -> Net {
        let mut nodes: Vec<Node> = homes
            .iter()
            .map(|h| Node::start(binary, h.path()))
            .collect();
        let height = nodes[0].cmt.info().expect("info").0;
        Net { nodes, height }
    }

    /// Finalizes the next block on every node (same app hash) and commits it.
    fn block(&mut self, txs: Vec<Vec<u8>>) -> ResponseFinalizeBlock {
        let out = self.finalize(txs);
        for n in &mut self.nodes {
            n.cmt.commit().expect("commit");
        }
        out
    }

    fn finalize(&mut self, txs: Vec<Vec<u8>>) -> ResponseFinalizeBlock {
        self.height += 1;
        let h = self.height;
        let mut outs: Vec<ResponseFinalizeBlock> = self
            .nodes
            .iter_mut()
            .map(|n| {
                n.cmt
                    .finalize_block(h, time_of(h), txs.clone())
                    .expect("finalize")
            })
            .collect();
        for o in &outs[1..] {
            assert_eq!(
                o.app_hash, outs[0].app_hash,
                "the nodes disagree at height {h}"
            );
        }
        outs.remove(0)
    }

    fn run_tx(&mut self, tx: Vec<u8>) -> ExecTxResult {
        let r = self.block(vec![tx]).tx_results.remove(0);
        assert_eq!(r.code, 0, "tx failed: {}", r.log);
        r
    }

    fn query(&mut self, path: &str) -> Value {
        let answers: Vec<Value> = self
            .nodes
            .iter_mut()
            .map(|n| n.cmt.query_json(path).expect("query"))
            .collect();
        for a in &answers[1..] {
            assert_eq!(a, &answers[0], "the nodes answer {path} differently");
        }
        answers[0].clone()
    }

    fn deliver(&mut self, me: &mut KeySigner, target: &str, method: &str, args: &str) -> Value {
        let r = self.run_tx(me.tx(|a| vec![compose::deliver(a, target, method, args)]));
        assert_eq!(
            attr(&r.events, "swingset_result", "status").as_deref(),
            Some("fulfilled"),
            "{r:?}"
        );
        serde_json::from_str(&attr(&r.events, "swingset_result", "value").expect("value"))
            .expect("JSON")
    }

    /// Submits a proposal carrying `msg`, votes yes, and runs blocks until it is decided.
    fn pass(&mut self, me: &mut KeySigner, msg: cosmrs::Any) -> Value {
        let r = self.run_tx(me.tx(|a| {
            vec![compose::submit_proposal(
                a,
                vec![msg],
                1000,
                "uvat",
                "t",
                "",
            )]
        }));
        let id: u64 = attr(&r.events, "submit_proposal", "proposal_id")
            .expect("id")
            .parse()
            .expect("id");
        self.run_tx(me.tx(|a| vec![compose::vote(a, id, VoteOption::Yes)]));
        for _ in 0..4 {
            self.block(vec![]);
        }
        self.query(&format!("/proposal/{id}"))
    }

    fn install(&mut self, me: &mut KeySigner, bundle: &[u8]) -> String {
        let r = self.run_tx(me.tx(|a| vec![compose::install_bundle(a, bundle, true)]));
        attr(&r.events, "install_bundle", "bundle_id").expect("bundle id")
    }

    /// Kills every node (after a Commit: nothing is lost) and returns their homes.
    fn stop(self) -> Vec<PathBuf> {
        self.nodes
            .into_iter()
            .map(|mut n| {
                n.process.kill9().expect("kill");
                n.home
            })
            .collect()
    }
}

/// `BINARY start` on `home`, which must exit with an error; returns what it said.
fn refused_start(binary: &Path, home: &Path) -> String {
    let out = Command::new(binary)
        .args(["start", "--address", "tcp://127.0.0.1:1", "--home"])
        .arg(home)
        .output()
        .expect("start");
    assert!(!out.status.success(), "{} started", binary.display());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `vatd doctor --home HOME --json`: the findings, and whether it said healthy (exit 0).
fn doctor(home: &Path) -> (Value, bool) {
    let out = Command::new(vatd())
        .args(["doctor", "--json", "--home"])
        .arg(home)
        .output()
        .expect("doctor");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor JSON: {e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.success())
}

#[test]
fn the_old_binary_leaks_halts_at_the_plan_and_the_new_one_repairs_once() {
    let legacy = support::legacy_vatd();
    let homes = [
        tempfile::tempdir().expect("home"),
        tempfile::tempdir().expect("home"),
    ];
    let out = Command::new(&legacy)
        .args([
            "init",
            "--chain-id",
            CHAIN_ID,
            "--voting-period-secs",
            "10",
            "--home",
        ])
        .arg(homes[0].path())
        .output()
        .expect("init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut genesis: Value = serde_json::from_slice(
        &std::fs::read(homes[0].path().join("config/genesis.json")).expect("genesis"),
    )
    .expect("JSON");
    let service: Value = serde_json::from_slice(&fixture_bundle("durable-v1")).expect("bundle");
    let app_state = &mut genesis["app_state"];
    app_state["vats"]
        .as_array_mut()
        .expect("vats")
        .push(json!({"name": "service", "bundle": service}));
    app_state["params"]["gov"]["min_deposit"] = json!("1000");
    let mut me = KeySigner::from_home(homes[0].path(), CHAIN_ID);

    // The old binary: a chain whose service vat decides promises that never settle.
    let mut net = Net::start(&legacy, &homes);
    for n in &mut net.nodes {
        n.cmt
            .init_chain(CHAIN_ID, app_state.to_string().as_bytes())
            .expect("InitChain");
    }
    net.block(vec![]);
    assert_eq!(net.query("/kernel/stats")["schemaVersion"], 2);
    let hangs: Vec<Vec<u8>> = (0..HANGS)
        .map(|_| me.tx(|a| vec![compose::deliver(a, "service", "hang", "[]")]))
        .collect();
    net.block(hangs);
    assert_eq!(
        net.deliver(&mut me, "counter", "increment", "[2]"),
        json!(2)
    );
    let v2 = net.install(&mut me, &fixture_bundle("durable-v2"));
    let p = net.pass(&mut me, compose::upgrade_vat("service", &v2, "", "leaky"));
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    assert_eq!(net.query("/vat/service")["incarnationNumber"], 1);
    assert_eq!(
        net.deliver(&mut me, "service", "version", "[]"),
        json!("v2")
    );

    // The doctor counts exactly what the upgrade leaked.
    let homes_now = net.stop();
    let (d, healthy) = doctor(&homes_now[0]);
    assert!(!healthy, "{d}");
    assert_eq!(d["schemaVersion"], 2);
    assert_eq!(d["stalePromiseEntries"]["total"], HANGS, "{d}");
    assert_eq!(d["stalePromiseEntries"]["byVat"][0]["name"], "service");
    assert_eq!(d["problems"], json!([]));
    let (d1, _) = doctor(&homes_now[1]);
    assert_eq!(d1["stalePromiseEntries"], d["stalePromiseEntries"]);

    // The new binary refuses the old DB while no plan migrates it, naming what to run.
    let refusal = refused_start(&vatd(), &homes_now[0]);
    assert!(
        refusal.contains("schema version 2")
            && refusal.contains("\"v3-remediation\"")
            && refusal.contains("scheduled no upgrade"),
        "{refusal}"
    );

    // Governance schedules the remediation; the old binary halts at its height.
    let mut net = Net::start(&legacy, &homes);
    let plan_height = net.height + 12;
    let p = net.pass(
        &mut me,
        compose::software_upgrade("v3-remediation", plan_height, "{\"binaries\":{}}"),
    );
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    // Started before the plan's height, the new binary says which binary and height.
    let early = net.height;
    let homes_now = net.stop();
    let refusal = refused_start(&vatd(), &homes_now[0]);
    let expected = format!(
        "plan \"v3-remediation\" is for height {plan_height}, but the DB's next block is {}",
        early + 1
    );
    assert!(refusal.contains(&expected), "{refusal}");
    let mut net = Net::start(&legacy, &homes);
    assert_eq!(net.height, early);
    while net.height < plan_height - 1 {
        net.block(vec![]);
    }
    let before = net.nodes[0].cmt.info().expect("info");
    for n in &mut net.nodes {
        assert!(
            n.cmt
                .finalize_block(plan_height, time_of(plan_height), vec![])
                .is_err(),
            "the old binary does not execute the plan's block"
        );
        assert!(n
            .process
            .wait_exit(Duration::from_secs(30))
            .expect("wait")
            .is_some());
        let log = n.process.log();
        let needed = format!("UPGRADE \"v3-remediation\" NEEDED at height: {plan_height}");
        assert!(log.contains(&needed), "{log}");
        let info: Value = serde_json::from_slice(
            &std::fs::read(n.home.join("data/upgrade-info.json")).expect("upgrade-info.json"),
        )
        .expect("JSON");
        assert_eq!(info["name"], "v3-remediation");
        assert_eq!(info["height"], plan_height);
    }
    drop(net);

    // The new binary on the same homes: the DB opens pending migration.
    let new = vatd();
    let mut net = Net::start(&new, &homes);
    assert_eq!(net.height, plan_height - 1);
    for n in &mut net.nodes {
        assert_eq!(
            n.cmt.info().expect("info"),
            before,
            "nothing of the plan's block was written"
        );
        let r = n.cmt.query("/vats").expect("query");
        assert_ne!(r.code, 0);
        assert!(r.log.contains("awaits its migration"), "{}", r.log);
    }
    let stats = net.query("/kernel/stats");
    assert_eq!(stats["pendingMigration"], json!({"from": 2, "to": 3}));

    // Node 0 runs the handler and crashes before Commit; node 1 waits.
    let first = net.nodes[0]
        .cmt
        .finalize_block(plan_height, time_of(plan_height), vec![])
        .expect("finalize on node 0");
    let result_of = |r: &ResponseFinalizeBlock| -> Value {
        serde_json::from_str(&attr(&r.events, "upgrade_applied", "result").expect("event"))
            .expect("result JSON")
    };
    let counts = result_of(&first);
    let c = &counts["steps"][0];
    assert_eq!(c["step"], "v2->v3");
    assert_eq!(c["entriesRemoved"], HANGS, "{counts}");
    assert_eq!(c["recordsFreed"], HANGS, "{counts}");
    assert_eq!(c["skippedPendingNotify"], 0);
    net.nodes[0].process.kill9().expect("kill");
    let home0 = net.nodes[0].home.clone();
    net.nodes[0] = Node::start(&new, &home0);
    assert_eq!(
        net.nodes[0].cmt.info().expect("info"),
        before,
        "the crash lost the block"
    );
    let again = net.finalize(vec![]);
    assert_eq!(
        again.app_hash, first.app_hash,
        "the re-executed block is the same block"
    );
    assert_eq!(
        result_of(&again),
        counts,
        "the same repair, counted the same"
    );
    for n in &mut net.nodes {
        n.cmt.commit().expect("commit");
    }
    let applied = net.query("/upgrade/applied");
    assert_eq!(applied[0]["name"], "v3-remediation");
    assert_eq!(applied[0]["height"], plan_height);
    assert_eq!(applied[0]["result"], counts);
    assert_eq!(net.query("/kernel/stats")["schemaVersion"], 3);

    // The chain goes on: deliveries, and a vat upgrade that leaks nothing.
    assert_eq!(
        net.deliver(&mut me, "counter", "increment", "[3]"),
        json!(5)
    );
    let hangs: Vec<Vec<u8>> = (0..5)
        .map(|_| me.tx(|a| vec![compose::deliver(a, "service", "hang", "[]")]))
        .collect();
    net.block(hangs);
    let p = net.pass(&mut me, compose::upgrade_vat("service", &v2, "", "clean"));
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    assert_eq!(net.query("/vat/service")["incarnationNumber"], 2);
    let homes_now = net.stop();
    for h in &homes_now {
        let (d, healthy) = doctor(h);
        assert!(healthy, "{d}");
        assert_eq!(d["stalePromiseEntries"]["total"], 0);
        assert_eq!(d["schemaVersion"], 3);
    }

    // Restarted after Commit, the handler never runs again; the old binary refuses the DB.
    let mut net = Net::start(&new, &homes);
    let r = net.block(vec![]);
    assert!(attr(&r.events, "upgrade_applied", "info").is_none());
    assert_eq!(
        net.query("/upgrade/done/v3-remediation"),
        json!(plan_height)
    );
    let homes_now = net.stop();
    let err = refused_start(&legacy, &homes_now[0]);
    assert!(
        err.contains("schema version 3") && err.contains("newer binary"),
        "{err}"
    );
}

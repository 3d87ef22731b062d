//! Four validators on real CometBFT v0.38 (`vatd testnet init`, then `vatd start` and
//! `cometbft start` per node, all on loopback): txs signed by the CLI go through node 0's
//! RPC; one validator's vatd is killed with SIGKILL for several blocks, another time its
//! CometBFT; each comes back, catches up (CometBFT's handshake and block sync replay the
//! blocks into the app) and agrees. Every node's block header at every height carries
//! the same app hash, and each app reports the same hash for the same height.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use vatchain_testnet::Localnet;

const VATD: &str = env!("CARGO_BIN_EXE_vatd");
const WAIT: Duration = Duration::from_secs(120);
const ALL: [usize; 4] = [0, 1, 2, 3];

/// CometBFT's own reading of each node's keys: its node ID is the one the other nodes name
/// as a peer, and its validator key is the one the shared genesis lists.
fn cometbft_reads_the_keys_as_written(net: &Localnet) {
    let cometbft = vatchain_testnet::cometbft_binary().expect("cometbft");
    let run = |args: &[&str], home: &Path| {
        let out = Command::new(&cometbft)
            .args(args)
            .arg("--home")
            .arg(home)
            .output()
            .expect("cometbft runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let genesis: Value = serde_json::from_slice(
        &std::fs::read(net.nodes[0].home.join("config/genesis.json")).expect("genesis"),
    )
    .expect("json");
    for (i, n) in net.nodes.iter().enumerate() {
        let id = run(&["show-node-id"], &n.home);
        let other = &net.nodes[(i + 1) % net.nodes.len()].home;
        let config = std::fs::read_to_string(other.join("config/config.toml")).expect("config");
        assert!(
            config.contains(&format!("{id}@127.0.0.1:")),
            "node{i}'s id {id}"
        );
        let key: Value = serde_json::from_str(&run(&["show-validator"], &n.home)).expect("key");
        assert_eq!(
            genesis["validators"][i]["pub_key"]["value"], key["value"],
            "node{i}"
        );
        let theirs = std::fs::read(n.home.join("config/genesis.json")).expect("genesis");
        let ours = std::fs::read(net.nodes[0].home.join("config/genesis.json")).expect("genesis");
        assert_eq!(theirs, ours, "node{i} has the same genesis bytes");
    }
}

/// `vatd ARGS…` as a user types it; its stdout as JSON.
fn vatd_json(args: &[&str]) -> Value {
    let out = Command::new(VATD).args(args).output().expect("vatd runs");
    assert!(
        out.status.success(),
        "vatd {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "vatd {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Every node in `which` has the same header app hash at every height up to `top`.
fn agree_at_every_height(net: &Localnet, which: &[usize], top: u64) {
    for h in 1..=top {
        let hashes: Vec<String> = which
            .iter()
            .map(|&i| {
                net.nodes[i]
                    .rpc
                    .header_app_hash(h)
                    .unwrap_or_else(|e| panic!("node{i} block {h}: {e}\n{}", net.describe(i)))
            })
            .collect();
        assert!(
            hashes.iter().all(|x| *x == hashes[0]),
            "app hashes differ at height {h}: {hashes:?}"
        );
    }
}

/// Waits until every node's app has committed at least `height`, then checks they report
/// the same app hash once they are at the same height.
fn apps_agree(net: &Localnet) {
    let target = net.min_height(&ALL).expect("heights");
    net.wait_height(&ALL, target, WAIT)
        .expect("all at the target");
    // abci_info answers with each app's latest commit; compare at the header of the next
    // block instead, which every node has for heights below its own.
    agree_at_every_height(net, &ALL, target);
}

fn tx(home: &Path, rpc: &str, args: &[&str]) -> Value {
    let home = home.to_string_lossy();
    let mut full = vec!["tx", "--home", &home, "--node", rpc];
    full.extend_from_slice(args);
    vatd_json(&full)
}

/// The `value` attribute of the tx's `swingset_result` event.
fn result_value(res: &Value) -> Option<String> {
    res["events"].as_array()?.iter().find_map(|e| {
        e.get("swingset_result")
            .and_then(|r| r["value"].as_str())
            .map(str::to_string)
    })
}

/// A started network of four validators on `vatd` (blocks every 300 ms, voting for
/// `voting_secs`), with node 0's home and RPC; `check` runs on the files before it starts.
fn started(
    dir: &Path,
    vatd: &Path,
    voting_secs: u64,
    check: impl FnOnce(&Localnet),
) -> (Localnet, PathBuf, String) {
    let mut net = Localnet::init(Path::new(VATD), dir, 4, 300, voting_secs).expect("testnet init");
    check(&net);
    net.set_vatd(vatd);
    net.start_all().expect("start");
    net.wait_height(&ALL, 2, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", net.describe(0)));
    let home0 = net.nodes[0].home.clone();
    let rpc0 = net.nodes[0].rpc.url.clone();
    (net, home0, rpc0)
}

/// Sends `method(args)` to the counter, signed with `home`'s key through `rpc`; the answer.
fn deliver(home: &Path, rpc: &str, method: &str, args: &str) -> Option<String> {
    let r = tx(home, rpc, &["swingset", "deliver", "counter", method, args]);
    assert_eq!(r["code"], 0, "{r}");
    result_value(&r)
}

#[test]
fn four_validators_agree_through_txs_and_crashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut net, home0, rpc0) = started(
        dir.path(),
        Path::new(VATD),
        20,
        cometbft_reads_the_keys_as_written,
    );

    // A delivery signed by node 0's key through node 0's RPC, answered in its block.
    assert_eq!(
        deliver(&home0, &rpc0, "increment", "[3]").as_deref(),
        Some("3")
    );
    // A bundle install.
    let v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/counter-v2");
    let r = tx(
        &home0,
        &rpc0,
        &["swingset", "install-bundle", &v2.to_string_lossy()],
    );
    assert_eq!(r["code"], 0, "{r}");

    // node2's vatd dies. Its CometBFT cannot go on without its app; whatever it does,
    // it is stopped too, and the other three (30 of 40 power, over 2/3) go on.
    net.nodes[2]
        .vatd
        .as_mut()
        .expect("vatd")
        .kill9()
        .expect("kill vatd");
    std::thread::sleep(Duration::from_secs(2));
    if let Some(c) = net.nodes[2].cometbft.as_mut() {
        if c.running() {
            c.kill9().expect("kill cometbft");
        }
    }
    let before = net.min_height(&[0, 1, 3]).expect("heights");
    net.wait_height(&[0, 1, 3], before + 5, WAIT)
        .expect("three validators go on");
    // Another delivery while node2 is down.
    assert_eq!(
        deliver(&home0, &rpc0, "increment", "[4]").as_deref(),
        Some("7")
    );
    // node2 comes back and catches up.
    net.start_node(2).expect("restart node2");
    let top = net.min_height(&[0, 1, 3]).expect("heights");
    net.wait_height(&[2], top, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", net.describe(2)));

    // node3's CometBFT dies; its vatd stays up, perhaps with a block finalized and not
    // committed, which the restarted CometBFT sends again.
    net.nodes[3]
        .cometbft
        .as_mut()
        .expect("cometbft")
        .kill9()
        .expect("kill cometbft");
    let before = net.min_height(&[0, 1, 2]).expect("heights");
    net.wait_height(&[0, 1, 2], before + 5, WAIT)
        .expect("three validators go on");
    net.start_cometbft(3).expect("restart cometbft");
    let top = net.min_height(&[0, 1, 2]).expect("heights");
    net.wait_height(&[3], top, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", net.describe(3)));

    // Everyone agrees at every height, and the counter reads the same through any node.
    apps_agree(&net);
    for n in &net.nodes {
        let v = vatd_json(&["query", "data", "counter.count", "--node", &n.rpc.url]);
        assert_eq!(v, serde_json::json!(7), "{}", n.rpc.url);
    }
    // Each app's own latest commit matches the header of the next block on node 0.
    for (i, n) in net.nodes.iter().enumerate() {
        let (h, hash) = n.rpc.abci_info().expect("abci_info");
        net.nodes[0]
            .rpc
            .wait_height(h + 1, WAIT)
            .expect("node0 has the next block");
        let header = net.nodes[0].rpc.header_app_hash(h + 1).expect("header");
        assert_eq!(
            hash.to_uppercase(),
            header.to_uppercase(),
            "node{i}'s app hash at {h}"
        );
    }
}

/// `vatd query …` through `rpc`.
fn query(rpc: &str, path: &[&str]) -> Value {
    let mut args = vec!["query"];
    args.extend_from_slice(path);
    args.extend_from_slice(&["--node", rpc]);
    vatd_json(&args)
}

/// Every validator votes yes on `id`, each with its own key through its own node.
fn all_vote_yes(net: &Localnet, id: &str) {
    for n in &net.nodes {
        let r = tx(&n.home, &n.rpc.url, &["gov", "vote", id, "yes"]);
        assert_eq!(r["code"], 0, "{r}");
    }
}

/// Waits for proposal `id` to leave its voting period; returns it.
fn wait_proposal_ends(rpc: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let p = query(rpc, &["proposal", id]);
        if p["status"] != "PROPOSAL_STATUS_VOTING_PERIOD" {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "proposal {id} never ended: {p}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn four_validators_upgrade_a_vat_by_governance_and_the_software_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The chain starts on the old release; the upgrade plan brings the new one.
    let (mut net, home0, rpc0) = started(dir.path(), &support::legacy_vatd(), 15, |_| {});
    assert_eq!(
        deliver(&home0, &rpc0, "increment", "[5]").as_deref(),
        Some("5")
    );

    // A vat upgrade carried by a proposal and passed by the validators' votes.
    let v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/counter-v2");
    let r = tx(
        &home0,
        &rpc0,
        &["swingset", "install-bundle", &v2.to_string_lossy()],
    );
    assert_eq!(r["code"], 0, "{r}");
    let bundle = Command::new(VATD)
        .arg("bundle")
        .arg(&v2)
        .output()
        .expect("vatd bundle");
    let bundle_id = String::from_utf8_lossy(&bundle.stdout).trim().to_string();
    let r = tx(
        &home0,
        &rpc0,
        &[
            "gov",
            "submit-proposal",
            "upgrade-vat",
            "counter",
            &bundle_id,
        ],
    );
    assert_eq!(r["code"], 0, "{r}");
    all_vote_yes(&net, "1");
    let p = wait_proposal_ends(&rpc0, "1");
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    assert_eq!(query(&rpc0, &["vat", "counter"])["incarnationNumber"], 1);
    assert_eq!(
        deliver(&home0, &rpc0, "read", "[]").as_deref(),
        Some("5"),
        "the count survived"
    );

    // A software upgrade: all four halt at its height, and resume on the new binary.
    let at = net.min_height(&ALL).expect("heights") + 90;
    let at_s = at.to_string();
    let r = tx(
        &home0,
        &rpc0,
        &[
            "gov",
            "submit-proposal",
            "software-upgrade",
            "v3-remediation",
            "--upgrade-height",
            &at_s,
        ],
    );
    assert_eq!(r["code"], 0, "{r}");
    all_vote_yes(&net, "2");
    let p = wait_proposal_ends(&rpc0, "2");
    assert_eq!(p["status"], "PROPOSAL_STATUS_PASSED", "{p}");
    for i in ALL {
        net.wait_vatd_exit(i, WAIT)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", net.describe(i)));
        let info = std::fs::read_to_string(net.nodes[i].home.join("data/upgrade-info.json"))
            .expect("upgrade-info.json");
        assert!(info.contains("v3-remediation"), "{info}");
        net.kill_cometbft(i).expect("stop cometbft");
    }
    net.set_vatd(Path::new(VATD));
    net.start_all().expect("start the new binary");
    net.wait_height(&ALL, at + 3, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", net.describe(0)));
    for n in &net.nodes {
        let applied = query(&n.rpc.url, &["upgrade", "applied"]);
        assert_eq!(applied[0]["name"], "v3-remediation", "{applied}");
        assert_eq!(applied[0]["height"], at, "{applied}");
    }
    assert_eq!(
        deliver(&home0, &rpc0, "version", "[]").as_deref(),
        Some("\"v2\"")
    );
    apps_agree(&net);
}

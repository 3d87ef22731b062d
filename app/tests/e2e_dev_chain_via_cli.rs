//! The dev chain as an operator uses it: `vatd dev` serving CometBFT's RPC, and the CLI
//! (`vatd tx …`, `vatd query …`) doing the whole upgrade story through it — deliver,
//! install a bundle, propose, vote, see incarnation 1 with the count kept — then kill -9
//! and restart: the chain resumes from its DB with the same answers.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vatchain_testnet::{free_local_address, NodeProcess};

fn vatd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vatd"))
}

/// Runs `vatd ARGS`; returns stdout, or panics with stderr.
fn cli(args: &[&str]) -> String {
    let out = Command::new(vatd()).args(args).output().expect("run vatd");
    assert!(
        out.status.success(),
        "vatd {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `vatd ARGS` expecting failure; returns stderr.
fn cli_err(args: &[&str]) -> String {
    let out = Command::new(vatd()).args(args).output().expect("run vatd");
    assert!(!out.status.success(), "vatd {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_out(args: &[&str]) -> Value {
    serde_json::from_str(&cli(args)).expect("JSON output")
}

/// The value of `kind.key` in a `vatd tx` summary.
fn event(summary: &Value, kind: &str, key: &str) -> Value {
    summary["events"]
        .as_array()
        .and_then(|evs| evs.iter().find_map(|e| e.get(kind)))
        .map(|e| e[key].clone())
        .unwrap_or(Value::Null)
}

fn wait_for_rpc(node: &str) {
    let start = Instant::now();
    while Command::new(vatd())
        .args(["query", "kernel", "stats", "--node", node])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "vatd dev did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_dev_chain_upgrades_a_vat_through_the_cli_and_survives_kill_9() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path().to_str().expect("utf-8 path");
    let rpc = free_local_address().expect("port");
    let node = format!("http://{rpc}");
    let mut dev = NodeProcess::dev(
        vatd(),
        home.path(),
        &rpc,
        200,
        &["--voting-period-secs", "2"],
    )
    .expect("vatd dev");
    wait_for_rpc(&node);
    let tx = |args: &[&str]| {
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--home", h, "--node", &node]);
        json_out(&all)
    };
    let query = |args: &[&str]| {
        let mut all = vec!["query"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--node", &node]);
        json_out(&all)
    };

    let r = tx(&["swingset", "deliver", "counter", "increment", "[4]"]);
    assert_eq!(event(&r, "swingset_result", "value"), json!("4"), "{r}");
    assert_eq!(query(&["data", "counter.count"]), json!(4));

    let demo_v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/counter-v2");
    let demo_v2 = demo_v2.to_str().expect("utf-8 path");
    let bundle_id = cli(&["bundle", demo_v2]).trim().to_string();
    let r = tx(&["swingset", "install-bundle", demo_v2]);
    assert_eq!(event(&r, "install_bundle", "bundle_id"), json!(bundle_id));
    let r = tx(&[
        "gov",
        "submit-proposal",
        "upgrade-vat",
        "counter",
        &bundle_id,
        "--deposit",
        "1000",
    ]);
    let id = event(&r, "submit_proposal", "proposal_id");
    let id = id.as_str().expect("proposal id");
    tx(&["gov", "vote", id, "yes"]);

    // A bundle as upstream makes it (`@endo/bundle-source`'s endoZipBase64) installs by
    // the CLI and MsgInstallBundle, under upstream's id.
    let endo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kernel/tests/fixtures/endo/bundles/counter-v1.json");
    let endo = endo.to_str().expect("utf-8 path");
    let sha: Value = serde_json::from_slice(&std::fs::read(endo).expect("bundle")).expect("JSON");
    let endo_id = format!(
        "b1-{}",
        sha["endoZipBase64Sha512"].as_str().expect("a string")
    );
    assert_eq!(cli(&["bundle", endo]).trim(), endo_id);
    let r = tx(&["swingset", "install-bundle", endo]);
    assert_eq!(event(&r, "install_bundle", "bundle_id"), json!(endo_id));

    let start = Instant::now();
    let proposal = loop {
        let p = query(&["proposal", id]);
        if p["status"] != "PROPOSAL_STATUS_VOTING_PERIOD" {
            break p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "voting never ended: {p}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(proposal["status"], "PROPOSAL_STATUS_PASSED", "{proposal}");
    assert_eq!(proposal["content"][0]["upgradeVat"]["vatName"], "counter");
    assert_eq!(query(&["vat", "counter"])["incarnationNumber"], 1);
    let r = tx(&["swingset", "deliver", "counter", "version"]);
    assert_eq!(event(&r, "swingset_result", "value"), json!("\"v2\""));

    // Bad input gets a clear error, not a crash.
    let err = cli_err(&[
        "tx",
        "swingset",
        "deliver",
        "counter",
        "increment",
        "not json",
        "--home",
        h,
        "--node",
        &node,
    ]);
    assert!(err.contains("ARGS must be a JSON array"), "{err}");
    let err = cli_err(&[
        "tx", "swingset", "deliver", "nobody", "read", "--home", h, "--node", &node,
    ]);
    assert!(err.contains("nothing is published"), "{err}");

    // kill -9, restart: the chain resumes from its DB.
    let before = query(&["kernel", "stats"]);
    dev.kill9().expect("kill -9");
    let _dev = NodeProcess::dev(vatd(), home.path(), &rpc, 200, &[]).expect("vatd dev again");
    wait_for_rpc(&node);
    let after = query(&["kernel", "stats"]);
    assert!(
        after["height"].as_u64() >= before["height"].as_u64(),
        "{before} → {after}"
    );
    assert_eq!(query(&["vat", "counter"])["incarnationNumber"], 1);
    let r = tx(&["swingset", "deliver", "counter", "read"]);
    assert_eq!(
        event(&r, "swingset_result", "value"),
        json!("4"),
        "the count survived the restart"
    );
}

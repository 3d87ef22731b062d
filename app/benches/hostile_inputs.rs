//! The hostile inputs of issue 14, each on a fresh chain (RocksDB, the owner thread, JS
//! vats, a block a second of block time): the wall time of the block the input lands in,
//! whether the vat it was aimed at survived, and for the vats that keep the kernel busy,
//! the steady block time and whether other users' txs still settle in their blocks.
//! `cargo bench --workspace --bench hostile_inputs`; under `cargo test`, a smoke run.

// The allocator vatd uses, so the figures are the node's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::{Duration, Instant};

use k256::ecdsa::SigningKey;
use serde_json::{json, Value};
use vatchain_app::address_of;
use vatchain_app::compose;
use vatchain_app::home::demo_bundle;
use vatchain_app::node::{self, BlockRequest, NodeConfig, NodeHandle};
use vatchain_app::sign::{sign_tx_with_gas, SignerData};
use vatchain_app::BlockOutcome;
use vatchain_kernel::worker::bundle::Bundle;

const CHAIN: &str = "vatchain-hostile";

struct Chain {
    node: NodeHandle,
    height: u64,
    key: SigningKey,
    me: String,
    seq: u64,
    _home: tempfile::TempDir,
}

impl Chain {
    fn new() -> Chain {
        let home = tempfile::tempdir().expect("tempdir");
        let key = SigningKey::from_slice(&[5u8; 32]).expect("key");
        let me = address_of(key.verifying_key());
        let json_of =
            |b: Bundle| -> Value { serde_json::from_slice(&b.canonical_bytes()).expect("JSON") };
        let hostile = Bundle::from_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/hostile"),
            "main.js",
        )
        .expect("bundle");
        let genesis = json!({
            "params": {"gov": {"min_deposit": "1000"}},
            "accounts": [{"address": me, "balance": "1000000000"}],
            "validators": [{"address": me, "power": 1}],
            "vats": [
                {"name": "counter", "bundle": json_of(demo_bundle().expect("demo"))},
                {"name": "hostile", "bundle": json_of(hostile)},
            ],
        });
        let node = node::start(NodeConfig::new(home.path().to_path_buf())).expect("node");
        node.init_chain(CHAIN, 1, genesis.to_string().as_bytes())
            .expect("genesis");
        let mut c = Chain {
            node,
            height: 0,
            key,
            me,
            seq: 0,
            _home: home,
        };
        c.block(vec![]);
        c
    }

    fn tx(&mut self, msgs: Vec<cosmrs::Any>) -> Vec<u8> {
        self.tx_with_gas(msgs, None)
    }

    /// A tx declaring `gas` (`None`: the wallet's estimate).
    fn tx_with_gas(&mut self, msgs: Vec<cosmrs::Any>, gas: Option<u64>) -> Vec<u8> {
        let tx = sign_tx_with_gas(
            &SignerData {
                key: &self.key,
                chain_id: CHAIN,
                account_number: 0,
                sequence: self.seq,
            },
            msgs,
            "",
            gas,
        );
        self.seq += 1;
        tx
    }

    fn deliver(&mut self, target: &str, method: &str, args: &str) -> Vec<u8> {
        let m = compose::deliver(&self.me, target, method, args);
        self.tx(vec![m])
    }

    /// A block (time +1 s) and its wall time.
    fn block(&mut self, txs: Vec<Vec<u8>>) -> (BlockOutcome, Duration) {
        self.height += 1;
        let t = Instant::now();
        let out = self.node.finalize_block(BlockRequest {
            height: self.height,
            time: 1_000_000 + self.height,
            txs,
        });
        self.node.commit();
        (out, t.elapsed())
    }

    fn alive(&self, vat: &str) -> bool {
        self.node.query(&format!("/vat/{vat}"), &[]).code == 0
    }
}

impl Drop for Chain {
    /// Closes the DB before the next chain opens (or the process exits): RocksDB must not
    /// be torn down under a live owner thread.
    fn drop(&mut self) {
        self.node.shutdown();
    }
}

fn row(input: &str, block: Duration, outcome: &str) {
    println!(
        "  {input:<66} {:>8.1} ms  {outcome}",
        block.as_secs_f64() * 1e3
    );
}

/// The block `tx` lands in, and whether `vat` lives after it.
fn one_tx(input: &str, vat: &str, make: impl FnOnce(&mut Chain) -> Vec<u8>) {
    let mut c = Chain::new();
    let tx = make(&mut c);
    if let Err((_, why)) = c.node.check_tx(&tx, false) {
        println!("  {input:<66} {:>11}  refused at CheckTx: {why}", "-");
        return;
    }
    let (out, took) = c.block(vec![tx]);
    let result = out.tx_results[0]
        .events
        .iter()
        .find(|e| e.kind == "swingset_result")
        .and_then(|e| e.attr("status").map(str::to_string))
        .unwrap_or_else(|| "pending".into());
    let fate = if c.alive(vat) {
        "the vat lives"
    } else {
        "the vat was terminated"
    };
    row(input, took, &format!("result {result}; {fate}"));
}

/// A vat that keeps the kernel busy: the slowest of `blocks` blocks, each with a client's
/// increment, and whether every increment settled in its block.
fn busy(input: &str, method: &str, blocks: u64) {
    let mut c = Chain::new();
    let start = c.deliver("hostile", method, "[]");
    c.block(vec![start]);
    let (mut slowest, mut settled) = (Duration::ZERO, 0);
    for _ in 0..blocks {
        let tx = c.deliver("counter", "increment", "[1]");
        let (out, took) = c.block(vec![tx]);
        slowest = slowest.max(took);
        let done = out.tx_results[0]
            .events
            .iter()
            .any(|e| e.kind == "swingset_result");
        settled += u64::from(done);
    }
    let fate = if c.alive("hostile") {
        "it lives"
    } else {
        "it was terminated"
    };
    row(
        &format!("{input} (slowest of {blocks} blocks)"),
        slowest,
        &format!("{settled}/{blocks} client txs settled in their block; {fate}"),
    );
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    println!("hostile inputs, each on a fresh chain: block wall time, what became of the vat");
    one_tx("increment, an argument nested 121 deep", "counter", |c| {
        let deep = format!("[{}1{}]", "[".repeat(120), "]".repeat(120));
        c.deliver("counter", "increment", &deep)
    });
    one_tx(
        "a method looping 10^8 times (the wallet's gas estimate)",
        "hostile",
        |c| c.deliver("hostile", "loop", "[]"),
    );
    one_tx(
        "a method looping 10^8 times (gas for the whole delivery limit)",
        "hostile",
        |c| {
            let m = compose::deliver(&c.me, "hostile", "loop", "[]");
            c.tx_with_gas(vec![m], Some(10_000_000))
        },
    );
    one_tx(
        "ten such deliveries in one tx (gas for all of them)",
        "hostile",
        |c| {
            let msgs = (0..10)
                .map(|_| compose::deliver(&c.me, "hostile", "loop", "[]"))
                .collect();
            c.tx_with_gas(msgs, Some(60_000_000))
        },
    );
    one_tx(
        "2,000 vatstore values of 1 MiB in one delivery",
        "hostile",
        |c| c.deliver("hostile", "flood", "[]"),
    );
    one_tx(
        "1,000 published values of 60 KiB in one delivery",
        "hostile",
        |c| c.deliver("hostile", "publish", "[]"),
    );
    one_tx("one tx of 10,000 increments", "counter", |c| {
        let msgs = (0..10_000)
            .map(|_| compose::deliver(&c.me, "counter", "increment", "[1]"))
            .collect();
        c.tx(msgs)
    });
    {
        let mut c = Chain::new();
        let txs: Vec<Vec<u8>> = (0..20)
            .map(|_| {
                let msgs = (0..100)
                    .map(|_| compose::deliver(&c.me, "counter", "increment", "[1]"))
                    .collect();
                c.tx(msgs)
            })
            .collect();
        let (out, took) = c.block(txs);
        let ok = out.tx_results.iter().filter(|r| r.code == 0).count();
        row(
            "20 txs of 100 increments (the block's 2,000-message limit)",
            took,
            &format!(
                "{ok}/20 txs executed; the counter lives: {}",
                c.alive("counter")
            ),
        );
    }
    let blocks = if benching { 10 } else { 2 };
    busy(
        "a vat keeping one message always in flight",
        "inFlight",
        blocks,
    );
    busy("a vat forking two messages per answer", "fork", blocks);
    {
        let mut c = Chain::new();
        let (_, before) = c.block(vec![]);
        let n = if benching { 2_000 } else { 50 };
        for chunk in 0..n / 100 {
            let txs = (0..100)
                .map(|i| {
                    let p = compose::submit_proposal(
                        &c.me,
                        vec![compose::create_vat(&format!("v{chunk}-{i}"), "b1-00", "")],
                        250,
                        "uvat",
                        "spam",
                        "",
                    );
                    c.tx(vec![p])
                })
                .collect();
            c.block(txs);
        }
        let zero = compose::submit_proposal(
            &c.me,
            vec![compose::create_vat("free", "b1-00", "")],
            0,
            "uvat",
            "free",
            "",
        );
        let tx = c.tx(vec![zero]);
        let (out, _) = c.block(vec![tx]);
        let (_, after) = c.block(vec![]);
        row(
            &format!("an empty block, with 0 and then {n} proposals open"),
            after,
            &format!(
                "({:.1} ms with none); a zero-deposit proposal: {}",
                before.as_secs_f64() * 1e3,
                out.tx_results[0].log
            ),
        );
    }
}

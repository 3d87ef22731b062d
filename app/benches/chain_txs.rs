//! Chain throughput: signed `MsgDeliverInbound` txs to the demo counter vat, through
//! CheckTx and then FinalizeBlock + Commit (RocksDB, the owner thread, the JS vat), in
//! blocks of 100. Prints CheckTx/s (signature and sequence checks only) and delivered
//! txs/s with ms per block. `cargo bench -p vatchain-app --bench chain_txs [-- TXS]`;
//! under `cargo test` it runs 20 txs as a smoke test.

// The allocator vatd uses (see app/src/main.rs), so the figures are the node's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use k256::ecdsa::SigningKey;
use serde_json::json;
use vatchain_app::address_of;
use vatchain_app::compose;
use vatchain_app::home::demo_bundle;
use vatchain_app::node::{self, BlockRequest, NodeConfig};
use vatchain_app::sign::{sign_tx, SignerData};

const CHAIN: &str = "vatchain-bench";
const BLOCK_TXS: usize = 100;

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 2_000 } else { 20 });
    let home = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::from_slice(&[3u8; 32]).expect("key");
    let me = address_of(key.verifying_key());
    let bundle: serde_json::Value =
        serde_json::from_slice(&demo_bundle().expect("demo").canonical_bytes()).expect("JSON");
    let genesis = json!({
        "accounts": [{"address": me, "balance": "1"}],
        "vats": [{"name": "counter", "bundle": bundle}],
    });
    let node = node::start(NodeConfig::new(home.path().to_path_buf())).expect("node");
    node.init_chain(CHAIN, 1, genesis.to_string().as_bytes())
        .expect("genesis");
    let mut height = 0u64;
    let mut block = |txs: Vec<Vec<u8>>| {
        height += 1;
        let out = node.finalize_block(BlockRequest {
            height,
            time: 1_000_000 + height,
            txs,
        });
        node.commit();
        out
    };
    block(vec![]);

    let txs: Vec<Vec<u8>> = (0..n as u64)
        .map(|seq| {
            sign_tx(
                &SignerData {
                    key: &key,
                    chain_id: CHAIN,
                    account_number: 0,
                    sequence: seq,
                },
                vec![compose::deliver(&me, "counter", "increment", "[1]")],
                "",
            )
        })
        .collect();

    let start = Instant::now();
    for tx in &txs {
        node.check_tx(tx, false).expect("admitted");
    }
    let check_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut blocks = 0;
    let mut ok = 0;
    for chunk in txs.chunks(BLOCK_TXS) {
        let out = block(chunk.to_vec());
        ok += out.tx_results.iter().filter(|r| r.code == 0).count();
        blocks += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(ok, n, "every tx succeeds");
    let a = node.query("/data/counter.count", &[]);
    let count: u64 = serde_json::from_slice(&a.value).expect("count");
    assert_eq!(count, n as u64, "every increment landed");
    println!("chain txs: {n} MsgDeliverInbound txs to a JS vat, {BLOCK_TXS} per block");
    println!(
        "  CheckTx: {:.0} txs/s (signature, account, sequence, message checks)",
        n as f64 / check_secs
    );
    println!(
        "  FinalizeBlock + Commit: {:.0} txs/s, {:.1} ms per block",
        n as f64 / secs,
        secs * 1000.0 / blocks as f64
    );
    node.stop();
}

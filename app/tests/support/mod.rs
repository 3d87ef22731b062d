//! A chain in the test process: genesis with funded keys and the demo counter vat, blocks
//! driven through the node's owner-thread API (the same calls the ABCI layer makes), and
//! signed transactions built as a wallet builds them.

#![allow(dead_code)]

use std::path::Path;

use cosmrs::Any;
use k256::ecdsa::SigningKey;
use serde_json::{json, Value};
use vatchain_app::address_of;
use vatchain_app::home::keys::KeyFile;
use vatchain_app::node::{self, BlockRequest, NodeConfig, NodeHandle};
use vatchain_app::sign::{sign_tx, sign_tx_with_gas, SignerData};
use vatchain_app::{BlockOutcome, TxResult};
use vatchain_kernel::worker::bundle::Bundle;

pub const CHAIN_ID: &str = "vatchain-test";

/// The bundle made from `app/demo/<name>` (or a test fixture directory).
pub fn bundle_json(dir: &Path) -> Value {
    let b = Bundle::from_dir(dir, "main.js").expect("bundle");
    serde_json::from_slice(&b.canonical_bytes()).expect("bundle JSON")
}

pub fn demo(name: &str) -> Value {
    bundle_json(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("demo")
            .join(name),
    )
}

/// A key and its account's next sequence.
pub struct Wallet {
    pub key: SigningKey,
    pub address: String,
    pub account_number: u64,
    pub sequence: u64,
}

impl Wallet {
    pub fn new(seed: u8, account_number: u64) -> Wallet {
        let key = SigningKey::from_slice(&[seed; 32]).expect("key");
        let address = address_of(key.verifying_key());
        Wallet {
            key,
            address,
            account_number,
            sequence: 0,
        }
    }

    /// Signs `msgs` with the next sequence (and counts it), declaring the estimated gas.
    pub fn tx(&mut self, msgs: Vec<Any>) -> Vec<u8> {
        self.tx_with_gas(msgs, None)
    }

    /// [`Wallet::tx`] declaring `gas` (`None`: the estimate).
    pub fn tx_with_gas(&mut self, msgs: Vec<Any>, gas: Option<u64>) -> Vec<u8> {
        let bytes = sign_tx_with_gas(
            &SignerData {
                key: &self.key,
                chain_id: CHAIN_ID,
                account_number: self.account_number,
                sequence: self.sequence,
            },
            msgs,
            "",
            gas,
        );
        self.sequence += 1;
        bytes
    }
}

/// A running node and the block clock.
pub struct Chain {
    pub node: NodeHandle,
    pub height: u64,
    pub time: u64,
}

/// Genesis: alice (validator, power 10) and bob (funded, no validator), voting periods of
/// 10 s, the demo counter vat.
pub fn genesis(alice: &Wallet, bob: &Wallet) -> Value {
    json!({
        "params": {"gov": {"voting_period_secs": 10, "max_deposit_period_secs": 10, "min_deposit": "1000"}},
        "accounts": [
            {"address": alice.address, "balance": "1000000"},
            {"address": bob.address, "balance": "1000000"},
        ],
        "validators": [{"address": alice.address, "power": 10}],
        "vats": [{"name": "counter", "bundle": demo("counter")}],
    })
}

/// [`genesis`] with the hostile bench vat too (`hostile`: a method looping 10^8 times,
/// floods, …).
pub fn genesis_with_hostile(alice: &Wallet, bob: &Wallet) -> Value {
    let mut g = genesis(alice, bob);
    let hostile =
        bundle_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/hostile"));
    g["vats"]
        .as_array_mut()
        .expect("vats")
        .push(json!({"name": "hostile", "bundle": hostile}));
    g
}

/// A started chain on the default genesis, one block in; bind the home first so that it
/// outlives the chain: `let (home, mut chain, mut alice, mut bob) = fresh();`.
pub fn fresh() -> (tempfile::TempDir, Chain, Wallet, Wallet) {
    let home = tempfile::tempdir().expect("tempdir");
    let (alice, bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
    let mut chain = Chain::start(home.path());
    chain.init(&genesis(&alice, &bob));
    chain.block(vec![]);
    (home, chain, alice, bob)
}

impl Chain {
    pub fn start(home: &Path) -> Chain {
        Chain::start_with(NodeConfig::new(home.to_path_buf()))
    }

    pub fn start_with(config: NodeConfig) -> Chain {
        let node = node::start(config).expect("node starts");
        let (height, _) = node.info();
        Chain {
            node,
            height,
            time: 1_000_000 + height * 5,
        }
    }

    pub fn init(&self, app_state: &Value) {
        self.node
            .init_chain(CHAIN_ID, 1, app_state.to_string().as_bytes())
            .expect("genesis applies");
    }

    /// InitChain, returning why genesis was refused.
    pub fn try_init(&self, app_state: &Value) -> Result<(), String> {
        self.node
            .init_chain(CHAIN_ID, 1, app_state.to_string().as_bytes())
    }

    /// Finalizes and commits a block 5 s after the last one.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutcome {
        let out = self.finalize(txs);
        self.node.commit();
        out
    }

    /// Finalizes the next block without committing it.
    pub fn finalize(&mut self, txs: Vec<Vec<u8>>) -> BlockOutcome {
        self.height += 1;
        self.time += 5;
        self.node.finalize_block(BlockRequest {
            height: self.height,
            time: self.time,
            txs,
        })
    }

    /// One tx in its own block; returns its result.
    pub fn run_tx(&mut self, tx: Vec<u8>) -> TxResult {
        let out = self.block(vec![tx]);
        out.tx_results.into_iter().next().expect("one result")
    }

    /// A query's JSON answer (panics on an error code, with the log).
    pub fn query(&self, path: &str) -> Value {
        let a = self.node.query(path, &[]);
        assert_eq!(a.code, 0, "query {path}: {}", a.log);
        serde_json::from_slice(&a.value).expect("JSON answer")
    }

    /// Stops the node (closing its DB); uncommitted state is lost, as in a crash.
    pub fn stop(self) {
        // Drop does it.
    }

    /// A query expected to fail; returns its log.
    pub fn query_err(&self, path: &str) -> String {
        let a = self.node.query(path, &[]);
        assert_ne!(a.code, 0, "query {path} should fail");
        a.log
    }
}

impl Drop for Chain {
    /// Closes the DB before the test goes on (or the process exits): RocksDB must not be
    /// torn down by process exit under a live thread.
    fn drop(&mut self) {
        self.node.shutdown();
    }
}

/// The value of attribute `key` of the first event of type `kind`.
pub fn event_attr(
    events: &[vatchain_app::host::events::AppEvent],
    kind: &str,
    key: &str,
) -> Option<String> {
    events
        .iter()
        .find(|e| e.kind == kind)
        .and_then(|e| e.attr(key))
        .map(str::to_string)
}

/// The validator key `vatd init` wrote into a home (`keyring/validator.json`), account 0,
/// signing for the tests that drive `vatd` processes.
pub struct KeySigner {
    pub key: KeyFile,
    pub chain_id: String,
    pub sequence: u64,
}

impl KeySigner {
    pub fn from_home(home: &Path, chain_id: &str) -> KeySigner {
        let bytes = std::fs::read(home.join("keyring/validator.json")).expect("validator key");
        KeySigner {
            key: serde_json::from_slice(&bytes).expect("key JSON"),
            chain_id: chain_id.to_string(),
            sequence: 0,
        }
    }

    /// Signs the messages `msgs` makes for the key's address, with the next sequence.
    pub fn tx(&mut self, msgs: impl FnOnce(&str) -> Vec<cosmrs::Any>) -> Vec<u8> {
        let sk = self.key.signing_key().expect("key");
        let tx = sign_tx(
            &SignerData {
                key: &sk,
                chain_id: &self.chain_id,
                account_number: 0,
                sequence: self.sequence,
            },
            msgs(&self.key.address),
            "",
        );
        self.sequence += 1;
        tx
    }
}

/// The old binary (`vatd-legacy-v2`: the schema-version-2 kernel, no handler for
/// `v3-remediation`), next to `vatd`.
pub fn legacy_vatd() -> std::path::PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_vatd")).with_file_name("vatd-legacy-v2");
    assert!(
        p.exists(),
        "{} is missing: build it with `cargo build --workspace --features \
         vatchain-app/legacy-v2 --bin vatd-legacy-v2` (scripts/test.sh does)",
        p.display()
    );
    p
}

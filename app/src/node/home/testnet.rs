//! `vatd testnet init`: the files of an N-validator localnet on loopback, as Cosmos SDK's
//! `testnet init-files` makes them. Each node's directory is both its CometBFT home and
//! its vatd home:
//!
//! - `config/config.toml` (its own ports, every other node as a persistent peer,
//!   `proxy_app` at its vatd, short block times), `config/priv_validator_key.json`,
//!   `config/node_key.json`, `data/priv_validator_state.json` (CometBFT's formats);
//! - `config/genesis.json`, the same bytes in every node: CometBFT's validator set and an
//!   `app_state` that agree (each validator's account funded and bound to the same power
//!   as its consensus key), with the demo vat;
//! - `keyring/validator.json`, the node's account key (it signs the node's txs and votes);
//! - `config/vatd.json`, vatd's own settings (where `vatd start` serves ABCI).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::chain::genesis::{AppState, GenesisAccount, GenesisValidator, GenesisVat};
use crate::host::amount::Amount;
use crate::host::params::Params;
use crate::node::home::cometbft::{self, BlockTimes, Ed25519Key, Ports};
use crate::node::home::{demo_bundle, genesis_path, keys, DEMO_VAT, VALIDATOR_KEY};

/// Each validator's power, in consensus and in governance alike.
pub const VALIDATOR_POWER: u64 = 10;
/// What each validator's account starts with.
pub const VALIDATOR_BALANCE: Amount = Amount(1_000_000_000_000);

/// Options of `vatd testnet init`.
#[derive(Clone, Debug)]
pub struct TestnetOptions {
    pub output: PathBuf,
    pub validators: usize,
    pub chain_id: String,
    /// Node `i` listens on p2p `base_port + 100 i`, RPC `+1`, ABCI `+2`.
    pub base_port: u16,
    pub voting_period_secs: u64,
    pub times: BlockTimes,
}

/// What `vatd start` reads from `config/vatd.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatdSettings {
    /// Where to serve ABCI (CometBFT's `proxy_app`).
    pub abci_address: String,
}

pub fn settings_path(home: &Path) -> PathBuf {
    home.join("config").join("vatd.json")
}

/// The node's vatd settings, if it has any.
pub fn read_settings(home: &Path) -> anyhow::Result<Option<VatdSettings>> {
    let path = settings_path(home);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not vatd's settings", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// One node as written.
#[derive(Clone, Debug)]
pub struct TestnetNode {
    pub name: String,
    pub home: PathBuf,
    pub ports: Ports,
    pub node_id: String,
    /// The node's account (`keyring/validator.json`).
    pub account: String,
    /// Its consensus key's address (CometBFT's validator address).
    pub validator_address: String,
}

impl TestnetNode {
    pub fn rpc(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.rpc)
    }
}

fn ports(base: u16, i: usize) -> anyhow::Result<Ports> {
    let p = |off: usize| {
        u16::try_from(usize::from(base) + 100 * i + off)
            .context("--base-port leaves no room for that many validators")
    };
    Ok(Ports {
        p2p: p(0)?,
        rpc: p(1)?,
        abci: p(2)?,
    })
}

/// Writes every node's files under `o.output` (which must not hold a node yet).
pub fn init_files(o: &TestnetOptions) -> anyhow::Result<Vec<TestnetNode>> {
    if o.validators == 0 || o.validators > 64 {
        bail!("--validators must be between 1 and 64");
    }
    if o.chain_id.is_empty() {
        bail!("the chain id is empty");
    }
    let mut nodes = Vec::new();
    let mut keys_of = Vec::new();
    for i in 0..o.validators {
        let name = format!("node{i}");
        let home = o.output.join(&name);
        if home.join("config").exists() {
            bail!(
                "{} already holds a node; remove {} to start over",
                home.display(),
                o.output.display()
            );
        }
        let validator = Ed25519Key::random()?;
        let node_key = Ed25519Key::random()?;
        let account = keys::add(&home, VALIDATOR_KEY)?;
        cometbft::write_validator_key(&home, &validator)?;
        cometbft::write_node_key(&home, &node_key)?;
        nodes.push(TestnetNode {
            name,
            home,
            ports: ports(o.base_port, i)?,
            node_id: node_key.node_id(),
            account: account.address,
            validator_address: validator.address(),
        });
        keys_of.push(validator);
    }
    let genesis = genesis_doc(o, &nodes, &keys_of)?;
    let genesis_bytes = serde_json::to_vec_pretty(&genesis)?;
    for (i, n) in nodes.iter().enumerate() {
        let peers: Vec<String> = nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| format!("{}@127.0.0.1:{}", p.node_id, p.ports.p2p))
            .collect();
        let config = cometbft::config_toml(&n.name, n.ports, &peers, o.times);
        write(&n.home.join("config/config.toml"), config.as_bytes())?;
        write(&genesis_path(&n.home), &genesis_bytes)?;
        let settings = VatdSettings {
            abci_address: format!("tcp://127.0.0.1:{}", n.ports.abci),
        };
        write(
            &settings_path(&n.home),
            &serde_json::to_vec_pretty(&settings)?,
        )?;
    }
    Ok(nodes)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    super::write_file(path, bytes, crate::files::Mode::Replace)
}

/// The shared genesis: CometBFT's part (validators, consensus parameters left to
/// CometBFT's defaults) and the app's, built from the same keys.
fn genesis_doc(
    o: &TestnetOptions,
    nodes: &[TestnetNode],
    keys_of: &[Ed25519Key],
) -> anyhow::Result<Value> {
    let mut params = Params::default();
    params.gov.voting_period_secs = o.voting_period_secs.max(1);
    let bundle: Value = serde_json::from_slice(&demo_bundle()?.canonical_bytes())?;
    let state = AppState {
        params,
        accounts: nodes
            .iter()
            .map(|n| GenesisAccount {
                address: n.account.clone(),
                balance: VALIDATOR_BALANCE,
            })
            .collect(),
        validators: nodes
            .iter()
            .map(|n| GenesisValidator {
                address: n.account.clone(),
                power: VALIDATOR_POWER,
                moniker: n.name.clone(),
            })
            .collect(),
        vats: vec![GenesisVat {
            name: DEMO_VAT.into(),
            bundle,
            parameters: Value::Null,
        }],
        ..AppState::default()
    };
    state.check().map_err(|e| anyhow::anyhow!("{e}"))?;
    let validators: Vec<Value> = nodes
        .iter()
        .zip(keys_of)
        .map(|(n, k)| cometbft::genesis_validator(k, VALIDATOR_POWER, &n.name))
        .collect();
    Ok(json!({
        "genesis_time": crate::time::rfc3339(crate::time::now()),
        "chain_id": o.chain_id,
        "initial_height": "1",
        "validators": validators,
        "app_hash": "",
        "app_state": state,
    }))
}

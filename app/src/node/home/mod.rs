//! A node's home: what `vatd init` and `vatd genesis add-account` make
//! (`config/genesis.json`) and the keyring ([`keys`]). Below the CLI and the dev chain,
//! which both set homes up.
//!
//! With a real CometBFT, run `cometbft init --home H` first: `vatd init --home H` then
//! keeps CometBFT's genesis (chain id, validators, consensus params) and fills in
//! `app_state`. Without one (the dev chain, the test harness) it writes the whole file.

pub mod cometbft;
pub mod keys;
pub mod testnet;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use vatchain_kernel::worker::bundle::Bundle;

use crate::chain::genesis::{AppState, GenesisAccount, GenesisValidator, GenesisVat};
use crate::host::amount::Amount;
use crate::host::params::Params;

/// The name of the key `vatd init` creates and funds (it also votes as the validator).
pub const VALIDATOR_KEY: &str = "validator";
/// The demo vat's name.
pub const DEMO_VAT: &str = "counter";

const COUNTER_V1: &str = include_str!("../../../demo/counter/main.js");

/// The demo counter vat's bundle (version 1), built into the binary.
pub fn demo_bundle() -> anyhow::Result<Bundle> {
    Ok(Bundle::new(
        "main.js",
        BTreeMap::from([("main.js".to_string(), COUNTER_V1.to_string())]),
    )?)
}

pub fn genesis_path(home: &Path) -> PathBuf {
    home.join("config").join("genesis.json")
}

/// What `init` did.
pub struct Initialized {
    pub genesis: PathBuf,
    pub chain_id: String,
    pub validator_address: String,
}

/// Options of `vatd init`.
pub struct InitOptions<'a> {
    pub home: &'a Path,
    pub chain_id: &'a str,
    pub demo: bool,
    pub params: Params,
}

/// Creates the validator key and the genesis file (refuses to overwrite an app_state).
pub fn init(o: InitOptions<'_>) -> anyhow::Result<Initialized> {
    let path = genesis_path(o.home);
    let mut doc: Value = if path.exists() {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?
    } else {
        json!({
            "genesis_time": "2026-01-01T00:00:00Z",
            "chain_id": o.chain_id,
            "initial_height": "1",
            "validators": [],
            "app_hash": "",
        })
    };
    if doc
        .get("app_state")
        .is_some_and(|a| !a.is_null() && a != &json!({}))
    {
        bail!(
            "{} already has an app_state; remove it to start over",
            path.display()
        );
    }
    let key = match keys::show(o.home, VALIDATOR_KEY) {
        Ok(k) => k,
        Err(_) => keys::add(o.home, VALIDATOR_KEY)?,
    };
    let mut state = AppState {
        params: o.params,
        accounts: vec![GenesisAccount {
            address: key.address.clone(),
            balance: Amount(1_000_000_000_000),
        }],
        validators: vec![GenesisValidator {
            address: key.address.clone(),
            power: 10,
            moniker: "validator".into(),
        }],
        vats: Vec::new(),
        ..AppState::default()
    };
    if o.demo {
        let bundle: Value = serde_json::from_slice(&demo_bundle()?.canonical_bytes())?;
        state.vats.push(GenesisVat {
            name: DEMO_VAT.into(),
            bundle,
            parameters: Value::Null,
        });
    }
    doc["app_state"] = serde_json::to_value(&state)?;
    let chain_id = doc["chain_id"].as_str().unwrap_or(o.chain_id).to_string();
    write_genesis(&path, &doc)?;
    Ok(Initialized {
        genesis: path,
        chain_id,
        validator_address: key.address,
    })
}

fn write_genesis(path: &Path, doc: &Value) -> anyhow::Result<()> {
    write_file(
        path,
        &serde_json::to_vec_pretty(doc)?,
        crate::files::Mode::Replace,
    )
}

/// Writes a file of a home, making its directory first (see [`crate::files::write`]).
pub(crate) fn write_file(
    path: &Path,
    bytes: &[u8],
    mode: crate::files::Mode,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::files::write(path, bytes, mode).with_context(|| format!("writing {}", path.display()))
}

/// Reads the genesis file: (chain id, app_state bytes).
pub fn read_genesis(home: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let path = genesis_path(home);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {} (run `vatd init` first)", path.display()))?;
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let chain_id = doc["chain_id"]
        .as_str()
        .context("genesis.json has no chain_id")?
        .to_string();
    Ok((chain_id, serde_json::to_vec(&doc["app_state"])?))
}

/// Adds a funded account (and optionally validator power) to the genesis `app_state`.
pub fn add_account(
    home: &Path,
    address: &str,
    balance: &str,
    power: Option<u64>,
) -> anyhow::Result<()> {
    crate::host::address::check_address(address).map_err(anyhow::Error::msg)?;
    let balance = Amount::parse(balance).map_err(anyhow::Error::msg)?;
    let path = genesis_path(home);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {} (run `vatd init` first)", path.display()))?;
    let mut doc: Value = serde_json::from_slice(&bytes)?;
    let mut state: AppState = serde_json::from_value(doc["app_state"].clone())
        .with_context(|| format!("{}: bad app_state", path.display()))?;
    if state.accounts.iter().any(|a| a.address == address) {
        bail!("{address} is already a genesis account");
    }
    state.accounts.push(GenesisAccount {
        address: address.into(),
        balance,
    });
    if let Some(power) = power {
        if power == 0 {
            bail!("validator power must be positive");
        }
        state.validators.push(GenesisValidator {
            address: address.into(),
            power,
            moniker: String::new(),
        });
    }
    doc["app_state"] = serde_json::to_value(&state)?;
    write_genesis(&path, &doc)
}

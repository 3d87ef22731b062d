//! Genesis `app_state`: what `InitChain` sets up. Written by `vatd init` into CometBFT's
//! `genesis.json`, so every validator starts from the same bytes.

use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use crate::host::amount::Amount;
use vatchain_kernel::KernelError;

use crate::host::params::Params;
use crate::modules::swingset::SwingsetError;

/// Why genesis cannot be applied (the node stops: a chain cannot start from it).
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("InitChain on a chain that is already initialized")]
    AlreadyInitialized,
    #[error("the chain id is empty")]
    NoChainId,
    #[error("genesis app_state: {0}")]
    Parse(String),
    #[error("{0}")]
    Params(String),
    #[error("genesis account: {0}")]
    Account(String),
    #[error("genesis account {0} is listed twice")]
    DuplicateAccount(String),
    #[error("genesis validator: {0}")]
    Validator(String),
    #[error("validator {0} has no power")]
    NoPower(String),
    #[error("genesis vat {name}: {why}")]
    Vat { name: String, why: String },
    #[error("genesis bundle {name}: {why}")]
    Bundle { name: String, why: String },
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    Swingset(#[from] SwingsetError),
}
use crate::host::address::check_address;

/// The chain's initial state (the `app_state` object of `genesis.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppState {
    #[serde(default)]
    pub params: Params,
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    /// Validators' voting power for governance, each bound to an account that votes.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
    /// Vats started at genesis (their bundles are stored in the DB, so a node restarts
    /// from its DB alone).
    #[serde(default)]
    pub vats: Vec<GenesisVat>,
    /// Bundles installed at genesis under a name, for vat-admin's `getNamedBundleCap` and
    /// `createVatByName` (upstream's config `bundles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundles: Vec<GenesisBundle>,
    /// The genesis vat that receives `bootstrap(vats, devices)` once every genesis vat
    /// exists (upstream's config `bootstrap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisBundle {
    pub name: String,
    /// The bundle itself (the JSON a `vatd bundle DIR` prints).
    pub bundle: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Bech32 address (`vat1…`).
    pub address: String,
    /// Balance in the chain's denomination (a decimal string, as Cosmos writes amounts).
    #[serde(default)]
    pub balance: Amount,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// The account that casts this validator's governance votes.
    pub address: String,
    pub power: u64,
    #[serde(default)]
    pub moniker: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisVat {
    /// The vat's name; its root object is published under it (the target of
    /// `MsgDeliverInbound`).
    pub name: String,
    /// The bundle itself (the JSON a `vatd bundle DIR` prints).
    pub bundle: serde_json::Value,
    /// vatParameters, as JSON data.
    #[serde(default)]
    pub parameters: serde_json::Value,
}

impl AppState {
    /// Parses `app_state` bytes; empty bytes mean the default state.
    pub fn parse(bytes: &[u8]) -> Result<AppState, GenesisError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(AppState::default());
        }
        serde_json::from_slice(bytes).map_err(|e| GenesisError::Parse(e.to_string()))
    }

    /// Checks what the types do not: addresses, duplicates, powers, parameters.
    pub fn check(&self) -> Result<(), GenesisError> {
        self.params.validate().map_err(GenesisError::Params)?;
        let mut seen = BTreeSet::new();
        for a in &self.accounts {
            check_address(&a.address).map_err(GenesisError::Account)?;
            if !seen.insert(a.address.as_str()) {
                return Err(GenesisError::DuplicateAccount(a.address.clone()));
            }
        }
        for v in &self.validators {
            check_address(&v.address).map_err(GenesisError::Validator)?;
            if v.power == 0 {
                return Err(GenesisError::NoPower(v.address.clone()));
            }
        }
        Ok(())
    }
}

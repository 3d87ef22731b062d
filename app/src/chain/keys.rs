//! The chain's own host keys (the only place they are spelled); each module spells its
//! own in its `keys.rs`, and the parameters live under `app/params` (`host::params`).
//!
//! - `app/chainID` → the chain id genesis set
//! - `app/initialHeight` → the first block's height

use crate::host::{self, HostRead, HostStore};

const CHAIN_ID: &str = "app/chainID";
const INITIAL_HEIGHT: &str = "app/initialHeight";

/// The chain id (`None`: InitChain has not run).
pub fn chain_id(h: &impl HostRead) -> Option<String> {
    host::get(h, CHAIN_ID)
}

pub fn initial_height(h: &impl HostRead) -> u64 {
    host::get(h, INITIAL_HEIGHT).unwrap_or(1)
}

/// Records what InitChain fixed.
pub fn set_genesis(h: &mut HostStore<'_>, chain_id: &str, initial_height: u64) {
    host::put(h, CHAIN_ID, &chain_id);
    host::put(h, INITIAL_HEIGHT, &initial_height);
}

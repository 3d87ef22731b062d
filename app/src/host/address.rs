//! The chain's account addresses: bech32 with the chain's prefix over the first 20 bytes
//! of a secp256k1 key's hash, as Cosmos SDK makes them. Both the state machine (genesis,
//! auth) and the node's keyring use them, so they live on the bottom floor.

use k256::ecdsa::VerifyingKey;

use crate::host::params::ADDRESS_PREFIX;

/// Checks that `addr` is a bech32 account address with this chain's prefix.
pub fn check_address(addr: &str) -> Result<(), String> {
    let id: cosmrs::AccountId = addr
        .parse()
        .map_err(|e| format!("{addr:?} is not a bech32 address: {e}"))?;
    if id.prefix() != ADDRESS_PREFIX {
        return Err(format!("{addr:?} does not start with {ADDRESS_PREFIX}1"));
    }
    Ok(())
}

/// The bech32 address of a secp256k1 public key (SEC1 bytes).
pub fn address_of(key: &VerifyingKey) -> String {
    let pk = cosmrs::crypto::PublicKey::from(*key);
    pk.account_id(ADDRESS_PREFIX)
        .map(|a| a.to_string())
        .unwrap_or_default()
}

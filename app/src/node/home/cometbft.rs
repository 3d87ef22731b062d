//! The files of a CometBFT v0.38 home, in CometBFT's own formats: ed25519 keys
//! (`config/priv_validator_key.json`, `config/node_key.json`), the signer's state
//! (`data/priv_validator_state.json`), `config/config.toml`, and the genesis validator
//! entries. `vatd testnet init` writes them; `cometbft show-node-id` and
//! `cometbft show-validator` read back what this file derives (tested).

use std::path::Path;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::files::Mode;

/// An ed25519 key as CometBFT stores it.
pub struct Ed25519Key {
    key: ed25519_consensus::SigningKey,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Ed25519Key {
    /// A fresh key (OS randomness).
    pub fn random() -> anyhow::Result<Ed25519Key> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        Ok(Ed25519Key {
            key: ed25519_consensus::SigningKey::from(seed),
        })
    }

    pub fn public(&self) -> [u8; 32] {
        self.key.verification_key().to_bytes()
    }

    /// The first 20 bytes of the public key's SHA-256: CometBFT's validator address
    /// (upper-case hex) and node ID (lower-case hex).
    fn hash20(&self) -> Vec<u8> {
        Sha256::digest(self.public())[..20].to_vec()
    }

    pub fn address(&self) -> String {
        hex::encode_upper(self.hash20())
    }

    pub fn node_id(&self) -> String {
        hex::encode(self.hash20())
    }

    pub fn pub_key_json(&self) -> Value {
        json!({"type": "tendermint/PubKeyEd25519", "value": b64(&self.public())})
    }

    /// CometBFT's private key encoding: the 32-byte seed followed by the public key.
    fn priv_key_json(&self) -> Value {
        let mut bytes = self.key.to_bytes().to_vec();
        bytes.extend_from_slice(&self.public());
        json!({"type": "tendermint/PrivKeyEd25519", "value": b64(&bytes)})
    }
}

fn write_json(path: &Path, v: &Value, mode: Mode) -> anyhow::Result<()> {
    super::write_file(path, &serde_json::to_vec_pretty(v)?, mode)
}

/// `config/priv_validator_key.json` and a fresh `data/priv_validator_state.json` (the
/// signer has signed nothing yet: height 0).
pub fn write_validator_key(home: &Path, key: &Ed25519Key) -> anyhow::Result<()> {
    let doc = json!({
        "address": key.address(),
        "pub_key": key.pub_key_json(),
        "priv_key": key.priv_key_json(),
    });
    write_json(
        &home.join("config/priv_validator_key.json"),
        &doc,
        Mode::NewPrivate,
    )?;
    let state = json!({"height": "0", "round": 0, "step": 0});
    write_json(
        &home.join("data/priv_validator_state.json"),
        &state,
        Mode::Replace,
    )
}

/// `config/node_key.json` (the key of the node's p2p identity).
pub fn write_node_key(home: &Path, key: &Ed25519Key) -> anyhow::Result<()> {
    let doc = json!({"priv_key": key.priv_key_json()});
    write_json(&home.join("config/node_key.json"), &doc, Mode::NewPrivate)
}

/// One validator of the genesis validator set.
pub fn genesis_validator(key: &Ed25519Key, power: u64, name: &str) -> Value {
    json!({
        "address": key.address(),
        "pub_key": key.pub_key_json(),
        "power": power.to_string(),
        "name": name,
    })
}

/// Where a node listens, all on loopback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub p2p: u16,
    pub rpc: u16,
    /// The node's vatd (CometBFT's `proxy_app`).
    pub abci: u16,
}

/// How long a localnet's consensus steps wait (CometBFT's `[consensus]` timeouts).
#[derive(Clone, Copy, Debug)]
pub struct BlockTimes {
    pub propose_ms: u64,
    pub vote_ms: u64,
    pub commit_ms: u64,
}

/// `config/config.toml` for one node of a loopback localnet. Keys left out keep
/// CometBFT's defaults (it reads the file over its default configuration).
pub fn config_toml(moniker: &str, ports: Ports, peers: &[String], times: BlockTimes) -> String {
    let BlockTimes {
        propose_ms,
        vote_ms,
        commit_ms,
    } = times;
    format!(
        r#"# Written by `vatd testnet init`: one node of a loopback localnet (CometBFT v0.38).
proxy_app = "tcp://127.0.0.1:{abci}"
moniker = "{moniker}"
db_backend = "goleveldb"
db_dir = "data"
log_level = "info"
log_format = "plain"
genesis_file = "config/genesis.json"
priv_validator_key_file = "config/priv_validator_key.json"
priv_validator_state_file = "data/priv_validator_state.json"
priv_validator_laddr = ""
node_key_file = "config/node_key.json"
abci = "socket"
filter_peers = false

[rpc]
laddr = "tcp://127.0.0.1:{rpc}"
cors_allowed_origins = ["*"]
max_open_connections = 200

[p2p]
laddr = "tcp://127.0.0.1:{p2p}"
external_address = "127.0.0.1:{p2p}"
persistent_peers = "{peers}"
# Loopback: every peer has the same IP, and 127.0.0.1 is not routable.
addr_book_strict = false
allow_duplicate_ip = true
pex = false
handshake_timeout = "20s"
dial_timeout = "3s"

[mempool]
recheck = true
broadcast = true

[consensus]
timeout_propose = "{propose_ms}ms"
timeout_propose_delta = "100ms"
timeout_prevote = "{vote_ms}ms"
timeout_prevote_delta = "100ms"
timeout_precommit = "{vote_ms}ms"
timeout_precommit_delta = "100ms"
timeout_commit = "{commit_ms}ms"
create_empty_blocks = true
create_empty_blocks_interval = "0s"

[tx_index]
indexer = "kv"

[instrumentation]
prometheus = false
"#,
        abci = ports.abci,
        rpc = ports.rpc,
        p2p = ports.p2p,
        peers = peers.join(","),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_as_cometbft_does() {
        // RFC 8032's first test vector: seed and public key.
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .expect("hex")
                .try_into()
                .expect("32 bytes");
        let key = Ed25519Key {
            key: ed25519_consensus::SigningKey::from(seed),
        };
        assert_eq!(
            hex::encode(key.public()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let priv_b64 = key.priv_key_json()["value"]
            .as_str()
            .expect("b64")
            .to_string();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(priv_b64)
            .expect("b64");
        assert_eq!(bytes.len(), 64, "seed then public key");
        assert_eq!(&bytes[32..], &key.public());
        assert_eq!(key.address().len(), 40);
        assert_eq!(key.address().to_lowercase(), key.node_id());
    }
}

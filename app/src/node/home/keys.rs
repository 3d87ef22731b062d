//! `vatd keys`: secp256k1 keys in `<home>/keyring/<name>.json`.
//!
//! This is Cosmos SDK's `test` keyring backend: keys are stored unencrypted, for dev
//! chains and localnets. Never keep a key that guards real value here.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

use crate::files::Mode;
use crate::host::address::address_of;

/// A stored key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub name: String,
    pub address: String,
    /// The secp256k1 private key, hex (unencrypted: test backend).
    pub private_key: String,
}

impl KeyFile {
    pub fn signing_key(&self) -> anyhow::Result<SigningKey> {
        let bytes = hex::decode(&self.private_key).context("private key is not hex")?;
        SigningKey::from_slice(&bytes).context("private key is not a secp256k1 scalar")
    }
}

fn keyring(home: &Path) -> PathBuf {
    home.join("keyring")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        && !name.starts_with('.')
}

/// A fresh random key (OS randomness).
pub fn random_key() -> anyhow::Result<SigningKey> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        // A random 32-byte string is a valid scalar except with negligible probability.
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            return Ok(k);
        }
    }
}

/// Creates key `name`; refuses to overwrite one.
pub fn add(home: &Path, name: &str) -> anyhow::Result<KeyFile> {
    if !valid_name(name) {
        bail!("key name {name:?}: use 1 to 64 characters of [A-Za-z0-9_.-]");
    }
    let path = keyring(home).join(format!("{name}.json"));
    if path.exists() {
        bail!("key {name:?} already exists ({})", path.display());
    }
    let key = random_key()?;
    let file = KeyFile {
        name: name.to_string(),
        address: address_of(key.verifying_key()),
        private_key: hex::encode(key.to_bytes()),
    };
    std::fs::create_dir_all(keyring(home))
        .with_context(|| format!("creating {}", keyring(home).display()))?;
    // Readable by the owner only, like ssh keys, and never overwritten.
    crate::files::write(&path, &serde_json::to_vec_pretty(&file)?, Mode::NewPrivate)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(file)
}

/// Reads key `name`.
pub fn show(home: &Path, name: &str) -> anyhow::Result<KeyFile> {
    if !valid_name(name) {
        bail!("key name {name:?}: use 1 to 64 characters of [A-Za-z0-9_.-]");
    }
    let path = keyring(home).join(format!("{name}.json"));
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "no key named {name:?} in {} (see `vatd keys list`)",
            keyring(home).display()
        )
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a key file", path.display()))
}

/// Every key, by name.
pub fn list(home: &Path) -> anyhow::Result<Vec<KeyFile>> {
    let dir = keyring(home);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names.iter().map(|n| show(home, n)).collect()
}

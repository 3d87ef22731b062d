//! The app hash: a hash chain over every write of every block.
//!
//! A crank's digest is SHA-256 over its writes in write order; a block's digest is SHA-256
//! over its crank digests in order; `app_hash_h = sha256(app_hash_{h-1} ‖ block_digest_h)`
//! (DESIGN §2). Nothing here depends on the backend, so an in-memory store and RocksDB
//! agree on the hash of the same writes.

use sha2::{Digest, Sha256};

use super::cf::Cf;

/// A 32-byte SHA-256 digest.
pub type Hash32 = [u8; 32];

/// The app hash of an empty chain (before block 1).
pub const GENESIS_APP_HASH: Hash32 = [0u8; 32];

/// Adds one write to a crank's digest. A crank's digest is SHA-256 over its writes in the
/// order they were made; the crank buffer absorbs each write as it happens.
pub(crate) fn absorb_write(h: &mut Sha256, cf: Cf, key: &[u8], value: Option<&[u8]>) {
    h.update([cf as u8]);
    h.update((key.len() as u64).to_be_bytes());
    h.update(key);
    match value {
        Some(v) => {
            h.update([1u8]);
            h.update((v.len() as u64).to_be_bytes());
            h.update(v);
        }
        None => h.update([0u8]),
    }
}

/// Digest of a block: its crank digests in order.
pub(crate) fn block_digest(cranks: &[Hash32]) -> Hash32 {
    let mut h = Sha256::new();
    for c in cranks {
        h.update(c);
    }
    h.finalize().into()
}

/// The next link of the app-hash chain.
pub(crate) fn chain(prev: &Hash32, block: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(block);
    h.finalize().into()
}

//! The chain's fixed limits: what no parameter may raise, because they bound what any
//! node must decode before it knows anything else of a tx.

/// Largest transaction accepted (bytes): bounds what one tx can make a node decode.
pub const MAX_TX_BYTES: usize = 4 << 20;

/// The largest `max_bundle_bytes` genesis may set (uncompressed bundles of up to 64 MiB).
pub const MAX_BUNDLE_BYTES_LIMIT: u64 = 64 << 20;

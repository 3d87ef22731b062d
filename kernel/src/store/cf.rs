//! The column families the store keeps. Every one of them commits in the same `WriteBatch`.

/// A column family of the store.
///
/// # Invariants
/// The discriminant is part of the app hash (it is hashed as one byte per write), so the
/// numbering MUST never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cf {
    /// Kernel state: the SwingSet kvStore (string keys, string values).
    Kv = 0,
    /// Transcript items: `vatID ‖ 0x00 ‖ u64 BE position` → delivery record.
    Transcript = 1,
    /// Source bundles: bundleID → bundle bytes.
    Bundles = 2,
    /// Host (app) state: height, app hash, accounts, governance, upgrade plans.
    Host = 3,
}

impl Cf {
    /// Every family, in discriminant order.
    pub const ALL: [Cf; 4] = [Cf::Kv, Cf::Transcript, Cf::Bundles, Cf::Host];

    /// The RocksDB column-family name.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Kv => "kv",
            Cf::Transcript => "transcript",
            Cf::Bundles => "bundles",
            Cf::Host => "host",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

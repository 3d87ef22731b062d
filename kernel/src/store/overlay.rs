//! Write buffers layered over the committed database.
//!
//! Two layers sit on RocksDB: the block buffer (everything committed by cranks of the block
//! being built) and the crank buffer (the crank under way). A value of `None` is a
//! tombstone: it masks whatever a lower layer holds for that key.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::cf::Cf;

/// One key's state in an overlay: `Some(value)` written, `None` deleted.
pub(crate) type Slot = Option<Vec<u8>>;

/// Per-family ordered maps of pending writes.
#[derive(Clone, Default, Debug)]
pub(crate) struct Layer {
    maps: [BTreeMap<Vec<u8>, Slot>; 4],
}

impl Layer {
    pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Option<&Slot> {
        self.maps[cf.index()].get(key)
    }

    pub(crate) fn put(&mut self, cf: Cf, key: Vec<u8>, slot: Slot) -> Option<Slot> {
        self.maps[cf.index()].insert(key, slot)
    }

    pub(crate) fn remove(&mut self, cf: Cf, key: &[u8]) {
        self.maps[cf.index()].remove(key);
    }

    /// The first key of this layer (written or deleted) after `lower`.
    pub(crate) fn first_after(&self, cf: Cf, lower: Bound<&[u8]>) -> Option<(&Vec<u8>, &Slot)> {
        self.maps[cf.index()]
            .range::<[u8], _>((lower, Bound::Unbounded))
            .next()
    }

    /// Every entry of this layer with `start <= key < end` (`end = None`: unbounded).
    pub(crate) fn range<'a>(
        &'a self,
        cf: Cf,
        start: &'a [u8],
        end: Option<&'a [u8]>,
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a Slot)> + 'a {
        let upper = match end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        self.maps[cf.index()].range::<[u8], _>((Bound::Included(start), upper))
    }

    /// Drains every entry, family by family in key order.
    pub(crate) fn drain(&mut self) -> Vec<(Cf, Vec<u8>, Slot)> {
        let mut out = Vec::new();
        for cf in Cf::ALL {
            let map = std::mem::take(&mut self.maps[cf.index()]);
            out.extend(map.into_iter().map(|(k, v)| (cf, k, v)));
        }
        out
    }
}

/// One write of the crank, in order: what was written and what the crank layer held before
/// (so that a savepoint rollback can restore it).
#[derive(Clone, Debug)]
pub(crate) struct LoggedWrite {
    pub(crate) cf: Cf,
    pub(crate) key: Vec<u8>,
    pub(crate) slot: Slot,
    /// The crank layer's previous entry for this key: `None` = the layer had none.
    pub(crate) prev: Option<Slot>,
}

/// The crank buffer: a layer plus the ordered log of its writes.
///
/// # Invariants
/// `layer` is exactly the result of applying `log` in order to an empty layer; savepoints
/// are positions in `log`.
#[derive(Clone, Default, Debug)]
pub(crate) struct CrankBuffer {
    pub(crate) layer: Layer,
    pub(crate) log: Vec<LoggedWrite>,
}

impl CrankBuffer {
    pub(crate) fn write(&mut self, cf: Cf, key: Vec<u8>, slot: Slot) {
        let prev = self.layer.put(cf, key.clone(), slot.clone());
        self.log.push(LoggedWrite {
            cf,
            key,
            slot,
            prev,
        });
    }

    /// Undo every write after log position `pos`.
    pub(crate) fn rollback_to(&mut self, pos: usize) {
        while self.log.len() > pos {
            let Some(w) = self.log.pop() else { break };
            match w.prev {
                Some(prev) => {
                    self.layer.put(w.cf, w.key, prev);
                }
                None => self.layer.remove(w.cf, &w.key),
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.layer = Layer::default();
        self.log.clear();
    }
}

//! Write buffers layered over the committed database.
//!
//! Two layers sit on RocksDB: the block buffer (everything committed by cranks of the block
//! being built) and the crank buffer (the crank under way). A value of `None` is a
//! tombstone: it masks whatever a lower layer holds for that key.

use std::collections::BTreeSet;
use std::ops::Bound;

use rustc_hash::FxHashMap;

use super::cf::Cf;

/// One key's state in an overlay: `Some(value)` written, `None` deleted.
pub(crate) type Slot = Option<Vec<u8>>;

/// One family's pending writes: a hash map for point reads (the hot path: most reads are
/// of single keys, and a block buffer holds thousands) and the same keys in byte order for
/// scans.
///
/// # Invariants
/// `order` holds exactly the keys of `slots`.
#[derive(Clone, Default, Debug)]
struct Family {
    slots: FxHashMap<Vec<u8>, Slot>,
    order: BTreeSet<Vec<u8>>,
}

/// Per-family pending writes.
#[derive(Clone, Default, Debug)]
pub(crate) struct Layer {
    families: [Family; 4],
}

impl Layer {
    pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Option<&Slot> {
        self.families[cf.index()].slots.get(key)
    }

    /// Sets `key`'s slot; returns the previous one (`None`: the layer had no entry).
    pub(crate) fn put(&mut self, cf: Cf, key: Vec<u8>, slot: Slot) -> Option<Slot> {
        let f = &mut self.families[cf.index()];
        if let Some(old) = f.slots.get_mut(key.as_slice()) {
            return Some(std::mem::replace(old, slot));
        }
        f.order.insert(key.clone());
        f.slots.insert(key, slot);
        None
    }

    pub(crate) fn remove(&mut self, cf: Cf, key: &[u8]) {
        let f = &mut self.families[cf.index()];
        if f.slots.remove(key).is_some() {
            f.order.remove(key);
        }
    }

    /// The first key of this layer (written or deleted) after `lower`.
    pub(crate) fn first_after(&self, cf: Cf, lower: Bound<&[u8]>) -> Option<(&Vec<u8>, &Slot)> {
        let f = &self.families[cf.index()];
        let k = f.order.range::<[u8], _>((lower, Bound::Unbounded)).next()?;
        f.slots.get(k.as_slice()).map(|s| (k, s))
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
        let f = &self.families[cf.index()];
        f.order
            .range::<[u8], _>((Bound::Included(start), upper))
            .filter_map(|k| f.slots.get(k.as_slice()).map(|s| (k, s)))
    }

    /// Takes every entry out, family by family (in no particular order within a family:
    /// the callers fold them into a map or a batch), keeping the allocations for reuse.
    pub(crate) fn drain(&mut self) -> Vec<(Cf, Vec<u8>, Slot)> {
        let mut out = Vec::with_capacity(self.families.iter().map(|f| f.slots.len()).sum());
        for cf in Cf::ALL {
            let f = &mut self.families[cf.index()];
            f.order.clear();
            out.extend(f.slots.drain().map(|(k, slot)| (cf, k, slot)));
        }
        out
    }

    /// Empties the layer, keeping its allocations.
    pub(crate) fn clear(&mut self) {
        for f in &mut self.families {
            f.slots.clear();
            f.order.clear();
        }
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
        self.layer.clear();
        self.log.clear();
    }
}

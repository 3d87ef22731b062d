//! Write buffers layered over the committed database.
//!
//! Two layers sit on RocksDB: the block buffer (everything committed by cranks of the block
//! being built) and the crank buffer (the crank under way). A value of `None` is a
//! tombstone: it masks whatever a lower layer holds for that key.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Bound;

use rustc_hash::FxHashMap;

use sha2::{Digest, Sha256};

use super::cf::Cf;
use super::hash::{self, Hash32};

/// One key's state in an overlay: `Some(value)` written, `None` deleted.
pub(crate) type Slot = Option<Vec<u8>>;

/// One family's pending writes: a hash map for point reads and writes (the hot path: a
/// block buffer holds thousands of keys), and the same keys in byte order for scans, built
/// by the first scan and kept up to date from then on. Most cranks never scan, and so
/// never pay for the order.
///
/// # Invariants
/// When `order` is `Some`, it holds exactly the keys of `slots`.
#[derive(Clone, Default, Debug)]
struct Family {
    slots: FxHashMap<Vec<u8>, Slot>,
    order: RefCell<Option<BTreeSet<Vec<u8>>>>,
}

impl Family {
    /// Runs `f` over the ordered keys, building the order first if no scan has yet.
    fn with_order<R>(&self, f: impl FnOnce(&BTreeSet<Vec<u8>>) -> R) -> R {
        let mut order = self.order.borrow_mut();
        let order = order.get_or_insert_with(|| self.slots.keys().cloned().collect());
        f(order)
    }
}

/// Told each key's slot in the target layer before [`Layer::drain_into`] replaces it.
pub(crate) type BeforeMove<'a> = dyn FnMut(Cf, &[u8], Option<&Slot>) + 'a;

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
        if let Some(order) = f.order.get_mut() {
            order.insert(key.clone());
        }
        f.slots.insert(key, slot);
        None
    }

    /// As [`Layer::put`], copying the key only if the layer does not hold it yet.
    pub(crate) fn put_borrowed(&mut self, cf: Cf, key: &[u8], slot: Slot) -> Option<Slot> {
        if let Some(old) = self.families[cf.index()].slots.get_mut(key) {
            return Some(std::mem::replace(old, slot));
        }
        self.put(cf, key.to_vec(), slot)
    }

    /// Room for `n` more keys in family `cf`.
    pub(crate) fn reserve(&mut self, cf: Cf, n: usize) {
        self.families[cf.index()].slots.reserve(n);
    }

    pub(crate) fn remove(&mut self, cf: Cf, key: &[u8]) {
        let f = &mut self.families[cf.index()];
        if f.slots.remove(key).is_some() {
            if let Some(order) = f.order.get_mut() {
                order.remove(key);
            }
        }
    }

    /// The first key of this layer (written or deleted) after `lower`, with its slot.
    pub(crate) fn first_after(&self, cf: Cf, lower: Bound<&[u8]>) -> Option<(Vec<u8>, Slot)> {
        let f = &self.families[cf.index()];
        if f.slots.is_empty() {
            return None;
        }
        let k = f.with_order(|o| {
            o.range::<[u8], _>((lower, Bound::Unbounded))
                .next()
                .cloned()
        })?;
        let slot = f.slots.get(k.as_slice())?.clone();
        Some((k, slot))
    }

    /// Every entry of this layer with `start <= key < end` (`end = None`: unbounded), in
    /// key order.
    pub(crate) fn range(&self, cf: Cf, start: &[u8], end: Option<&[u8]>) -> Vec<(Vec<u8>, Slot)> {
        let f = &self.families[cf.index()];
        if f.slots.is_empty() {
            return Vec::new();
        }
        let upper = match end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        f.with_order(|o| {
            o.range::<[u8], _>((Bound::Included(start), upper))
                .filter_map(|k| f.slots.get(k.as_slice()).map(|s| (k.clone(), s.clone())))
                .collect()
        })
    }

    /// Moves every entry into `into` (whose entries for the same keys they replace),
    /// telling `before` each key's slot in `into` before the move (`None`: no entry) when
    /// `before` is given. Keeps this layer's allocations for reuse.
    pub(crate) fn drain_into(&mut self, into: &mut Layer, mut before: Option<&mut BeforeMove<'_>>) {
        for cf in Cf::ALL {
            let f = &mut self.families[cf.index()];
            if f.slots.is_empty() {
                continue;
            }
            *f.order.get_mut() = None;
            let to = &mut into.families[cf.index()];
            if to.slots.is_empty() && before.is_none() {
                // Nothing to merge with: the whole map moves (the first crank of a block,
                // or one huge crank such as a migration), and the target's empty one is
                // kept here for reuse.
                std::mem::swap(&mut f.slots, &mut to.slots);
                *to.order.get_mut() = None;
                continue;
            }
            for (k, slot) in f.slots.drain() {
                if let Some(b) = before.as_mut() {
                    b(cf, &k, to.slots.get(k.as_slice()));
                }
                // One probe for a key the layer already holds (the common case for
                // counters and queue bounds); a new key is also added to the order, if any.
                if let Some(old) = to.slots.get_mut(k.as_slice()) {
                    *old = slot;
                    continue;
                }
                if let Some(order) = to.order.get_mut() {
                    order.insert(k.clone());
                }
                to.slots.insert(k, slot);
            }
        }
    }

    /// Takes every entry out, family by family (in no particular order within a family:
    /// the callers fold them into a map or a batch), keeping the allocations for reuse.
    pub(crate) fn drain(&mut self) -> Vec<(Cf, Vec<u8>, Slot)> {
        let mut out = Vec::with_capacity(self.families.iter().map(|f| f.slots.len()).sum());
        for cf in Cf::ALL {
            let f = &mut self.families[cf.index()];
            *f.order.get_mut() = None;
            out.extend(f.slots.drain().map(|(k, slot)| (cf, k, slot)));
        }
        out
    }

    /// Empties the layer, keeping its allocations.
    pub(crate) fn clear(&mut self) {
        for f in &mut self.families {
            f.slots.clear();
            *f.order.get_mut() = None;
        }
    }
}

/// What a savepoint rollback needs to undo one write: the crank layer's previous entry for
/// the key (`None` = the layer had none).
#[derive(Clone, Debug)]
struct Undo {
    cf: Cf,
    key: Vec<u8>,
    prev: Option<Slot>,
}

/// The crank buffer at an open savepoint.
#[derive(Clone, Debug)]
struct Mark {
    digest: Sha256,
    writes: usize,
    undo_len: usize,
}

/// The crank buffer: a layer, the running digest of its writes, and (only while a
/// savepoint is open) what undoing each write takes.
///
/// # Invariants
/// `layer` is exactly the result of applying the crank's writes in order to an empty
/// layer, and `digest` has absorbed exactly those writes in that order. Undo records exist
/// for every write made since the oldest open savepoint, so rolling back to a savepoint
/// restores both.
#[derive(Clone, Default, Debug)]
pub(crate) struct CrankBuffer {
    pub(crate) layer: Layer,
    digest: Sha256,
    writes: usize,
    undo: Vec<Undo>,
    marks: Vec<Mark>,
}

impl CrankBuffer {
    pub(crate) fn write(&mut self, cf: Cf, key: &[u8], slot: Slot) {
        hash::absorb_write(&mut self.digest, cf, key, slot.as_deref());
        self.writes += 1;
        let prev = self.layer.put_borrowed(cf, key, slot);
        if !self.marks.is_empty() {
            self.undo.push(Undo {
                cf,
                key: key.to_vec(),
                prev,
            });
        }
    }

    /// Writes so far in this crank.
    pub(crate) fn writes(&self) -> usize {
        self.writes
    }

    /// Opens a savepoint; returns its index.
    pub(crate) fn mark(&mut self) -> usize {
        self.marks.push(Mark {
            digest: self.digest.clone(),
            writes: self.writes,
            undo_len: self.undo.len(),
        });
        self.marks.len() - 1
    }

    /// Undoes every write made since savepoint `index` (which ends it, and any later one).
    pub(crate) fn rollback_to(&mut self, index: usize) {
        let Some(mark) = self.marks.get(index).cloned() else {
            return;
        };
        while self.undo.len() > mark.undo_len {
            let Some(u) = self.undo.pop() else { break };
            match u.prev {
                Some(prev) => {
                    self.layer.put(u.cf, u.key, prev);
                }
                None => self.layer.remove(u.cf, &u.key),
            }
        }
        self.digest = mark.digest;
        self.writes = mark.writes;
        self.marks.truncate(index);
        if self.marks.is_empty() {
            self.undo.clear();
        }
    }

    /// The crank's digest (see [`hash`]). The caller then drains the layer and clears.
    pub(crate) fn finish_digest(&mut self) -> Hash32 {
        std::mem::take(&mut self.digest).finalize().into()
    }

    pub(crate) fn clear(&mut self) {
        self.layer.clear();
        self.digest = Sha256::default();
        self.writes = 0;
        self.undo.clear();
        self.marks.clear();
    }
}

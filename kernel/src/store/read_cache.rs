//! A cache of committed `kv` reads.
//!
//! The committed layer (RocksDB) changes only in `commit_block`, so a value read from it
//! stays right until then, and the block's writes are applied to the cache as they land.
//! Kernel state is read far more than it is written (a vat's options, an object's owner, a
//! c-list entry are read on every delivery that touches them), and a RocksDB point read
//! costs microseconds where this costs a hash probe. Not consensus state: what is cached
//! never changes what a read returns.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

use super::overlay::Slot;

/// Bytes (keys plus values) the cache may hold before it starts over.
const MAX_BYTES: usize = 64 << 20;

#[derive(Default)]
pub(crate) struct ReadCache {
    inner: RefCell<Entries>,
}

#[derive(Default)]
struct Entries {
    /// Key → the committed value. Only present keys are cached on read; `None` marks one
    /// deleted by a later commit.
    map: FxHashMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: usize,
}

impl Entries {
    fn insert(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let key_len = key.len();
        let size = key_len + value.as_ref().map_or(0, Vec::len);
        if self.bytes + size > MAX_BYTES {
            self.map.clear();
            self.bytes = 0;
        }
        if let Some(old) = self.map.insert(key, value) {
            self.bytes -= key_len + old.map_or(0, |v| v.len());
        }
        self.bytes += size;
    }
}

impl ReadCache {
    /// The committed value of `key`, from the cache or else from `load` (then cached).
    pub(crate) fn get(
        &self,
        key: &[u8],
        load: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        if let Some(v) = self.inner.borrow().map.get(key) {
            return v.clone();
        }
        let v = load();
        // Absent keys are not remembered: most are about to be written (a new promise's,
        // a new c-list entry's), and their entries would only cost an allocation each.
        if v.is_some() {
            self.inner.borrow_mut().insert(key.to_vec(), v.clone());
        }
        v
    }

    /// Keeps `value`, just read from the committed layer, as `key`'s committed value.
    pub(crate) fn insert_committed(&self, key: Vec<u8>, value: Vec<u8>) {
        self.inner.borrow_mut().insert(key, Some(value));
    }

    /// Lends `key`'s cached committed value to `f`; gives `f` back if the cache does not
    /// hold the key.
    pub(crate) fn try_with<R, F: FnOnce(Option<&[u8]>) -> R>(
        &self,
        key: &[u8],
        f: F,
    ) -> Result<R, F> {
        match self.inner.borrow().map.get(key) {
            Some(v) => Ok(f(v.as_deref())),
            None => Err(f),
        }
    }

    /// Whether `key` is committed, if the cache knows.
    pub(crate) fn knows_committed(&self, key: &[u8]) -> Option<bool> {
        self.inner.borrow().map.get(key).map(Option::is_some)
    }

    /// A committed write landed: the cache follows it. Only keys already cached are
    /// touched (a probe per write): a key read before is likely to be read again.
    pub(crate) fn landed(&mut self, key: &[u8], slot: &Slot) {
        let e = self.inner.get_mut();
        let Some(cached) = e.map.get_mut(key) else {
            return;
        };
        let old_len = cached.as_ref().map_or(0, Vec::len);
        let new_len = slot.as_ref().map_or(0, Vec::len);
        cached.clone_from(slot);
        e.bytes = e.bytes - old_len + new_len;
    }
}

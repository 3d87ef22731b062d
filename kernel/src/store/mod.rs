//! The kernel's store: RocksDB column families under a block buffer and a crank buffer.
//!
//! Reads see the merged view (crank ← block ← committed), deletions masking lower layers.
//! `commit_crank` folds the crank buffer into the block buffer, `abort_crank` drops it, and
//! `commit_block` writes the whole block — every family, plus the height and app hash — in
//! exactly one synced `WriteBatch`. A crash therefore leaves the previous block or the new
//! one, never a mix (seed 003). See `store/DESIGN.md`.

mod backend;
mod cf;
mod hash;
mod overlay;
mod read_cache;

use std::cell::{Cell, RefCell};
use std::ops::Bound;
use std::path::Path;

pub use cf::Cf;
pub use hash::{Hash32, GENESIS_APP_HASH};

use backend::Backend;
use overlay::{CrankBuffer, Layer, Slot};
use read_cache::ReadCache;
use rustc_hash::FxHashSet;

/// Host-family keys the store itself owns.
const HOST_HEIGHT: &[u8] = b"store.height";
const HOST_APP_HASH: &[u8] = b"store.app_hash";

/// Errors of opening and committing. Reads never fail with bad input: a failing read is a
/// broken disk, recorded for the kernel to stop on ([`Store::read_fault`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("the store holds a malformed {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("commit_block called with a crank still open: commit or abort it first")]
    CrankOpen,
    #[error("commit_block({got}) does not follow the last committed height {last}")]
    HeightOrder { last: u64, got: u64 },
    #[error("writing the block batch failed: {0}")]
    Commit(String),
    #[error("the store could not be read: {0}")]
    Read(String),
    #[error(
        "the kernel halted for a failure of this node's own; the block must not be committed: {0}"
    )]
    Halted(String),
}

/// A point in the crank under way to roll back to (SwingSet's crank savepoints). It stays
/// open until rolled back to or until the crank ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Savepoint(usize);

/// A point between cranks of the block being built, to undo the later cranks from, all or
/// nothing (a transaction's messages, a governance proposal's). Cheap: while a savepoint
/// is open the store journals the block-buffer value each key had before its first later
/// write, so taking one costs nothing and rolling back costs the writes since.
///
/// Every savepoint must end in [`Store::rollback_block`] or [`Store::release_block`];
/// savepoints nest (end them innermost first).
#[derive(Debug)]
#[must_use = "end a block savepoint with rollback_block or release_block"]
pub struct BlockSavepoint {
    depth: usize,
    cranks: usize,
}

/// What the block buffer held before the writes made since a savepoint.
#[derive(Debug, Default)]
struct Journal {
    /// (family, key, the block layer's slot before: `None` = the block layer had no entry).
    before: Vec<(Cf, Vec<u8>, Option<overlay::Slot>)>,
    seen: std::collections::BTreeSet<(Cf, Vec<u8>)>,
}

impl Journal {
    fn record(&mut self, cf: Cf, key: &[u8], prev: Option<overlay::Slot>) {
        self.record_with(cf, key, || prev);
    }

    /// As `record`, copying the previous slot only for a key not yet seen.
    fn record_with(&mut self, cf: Cf, key: &[u8], prev: impl FnOnce() -> Option<overlay::Slot>) {
        if self.seen.insert((cf, key.to_vec())) {
            self.before.push((cf, key.to_vec(), prev()));
        }
    }
}

/// How much the store was asked to do (benchmarks and migration reports; not consensus
/// state). Counts calls on the store, merged view included; `disk_reads` counts the point
/// reads that had to ask the committed layer (RocksDB), past the buffers and caches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Point reads (`get`, `get_with`, `has`).
    pub reads: u64,
    /// Point reads that reached the committed layer.
    pub disk_reads: u64,
    /// Range reads (`range`, `scan_prefix`, `first_after`, `first_between`, `get_next_key`).
    pub scans: u64,
    /// Entries those range reads returned.
    pub scanned: u64,
    /// Writes and deletions.
    pub writes: u64,
}

impl IoStats {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &IoStats) -> IoStats {
        IoStats {
            reads: self.reads - earlier.reads,
            disk_reads: self.disk_reads - earlier.disk_reads,
            scans: self.scans - earlier.scans,
            scanned: self.scanned - earlier.scanned,
            writes: self.writes - earlier.writes,
        }
    }
}

/// The last committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    pub height: u64,
    pub app_hash: Hash32,
}

/// The store. Only the app commits blocks; the kernel works inside cranks.
pub struct Store {
    backend: Backend,
    /// Committed `kv` values already read (see [`read_cache`]).
    cache: ReadCache,
    block: Layer,
    crank: CrankBuffer,
    /// Digests of the cranks committed into the block buffer, in order.
    block_cranks: Vec<Hash32>,
    /// Open block savepoints, outermost first.
    journals: Vec<Journal>,
    committed: Committed,
    /// `kv` keys known to be absent from the committed layer: read there and not found, or
    /// named by [`Store::set_new`] or [`Store::note_absent`]. Reading one needs no RocksDB
    /// lookup, and deleting one no tombstone (`commit_block`).
    ///
    /// # Invariant
    /// Every key here is absent from the committed layer. Only `commit_block` changes that
    /// layer, and it empties the set; a rolled-back write does not make a fact untrue.
    absent: RefCell<FxHashSet<Vec<u8>>>,
    /// Key bytes in `absent` learned from reads (bounded by [`MAX_ABSENT_READ_BYTES`]).
    absent_read_bytes: Cell<usize>,
    stats: Counters,
}

/// The counters behind [`IoStats`], one cell each (bumped on every read and write).
#[derive(Default)]
struct Counters {
    reads: Cell<u64>,
    disk_reads: Cell<u64>,
    scans: Cell<u64>,
    scanned: Cell<u64>,
    writes: Cell<u64>,
}

fn bump(c: &Cell<u64>, by: u64) {
    c.set(c.get() + by);
}

/// How many key bytes of missed reads `absent` takes in one block. A vat can make the
/// kernel read many distinct missing keys (vatstore reads); past this, misses are simply
/// not remembered (the kernel's own `set_new`/`note_absent` facts are bounded by what it
/// mints, and always kept).
const MAX_ABSENT_READ_BYTES: usize = 16 << 20;

impl Store {
    /// Opens (or creates) a RocksDB store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::with_backend(Backend::open_rocks(path)?)
    }

    /// A store kept in memory: same semantics and hashes, nothing on disk.
    pub fn in_memory() -> Store {
        Store::with_backend(Backend::memory()).expect("an empty in-memory store is well-formed")
    }

    fn with_backend(backend: Backend) -> Result<Store, StoreError> {
        let height = match backend.get(Cf::Host, HOST_HEIGHT) {
            None => 0,
            Some(b) => {
                u64::from_be_bytes(b.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                    what: "height",
                    detail: format!("{} bytes, expected 8", b.len()),
                })?)
            }
        };
        let app_hash = match backend.get(Cf::Host, HOST_APP_HASH) {
            None => GENESIS_APP_HASH,
            Some(b) => b.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                what: "app hash",
                detail: format!("{} bytes, expected 32", b.len()),
            })?,
        };
        if let Some(f) = backend.read_fault() {
            return Err(StoreError::Read(f));
        }
        Ok(Store {
            backend,
            cache: ReadCache::default(),
            block: Layer::default(),
            crank: CrankBuffer::default(),
            block_cranks: Vec::new(),
            journals: Vec::new(),
            committed: Committed { height, app_hash },
            absent: RefCell::default(),
            absent_read_bytes: Cell::new(0),
            stats: Counters::default(),
        })
    }

    /// The first read of the committed layer that failed (a broken disk), if one did since
    /// open. Its answer was "absent", so nothing computed after it may be committed: the
    /// kernel checks this at every crank's end and halts.
    pub fn read_fault(&self) -> Option<String> {
        self.backend.read_fault()
    }

    /// Fault injection, for tests and the determinism harness: from now on reads of `cf`
    /// keys under `prefix` fail as a broken disk's would (`None` ends it). Reads the caches
    /// answer do not reach the disk, so they do not fail.
    pub fn inject_read_faults(&mut self, at: Option<(Cf, &[u8])>) {
        self.backend
            .inject_read_faults(at.map(|(cf, p)| (cf, p.to_vec())));
    }

    /// The last committed height and app hash (what ABCI `Info` reports).
    pub fn committed(&self) -> Committed {
        self.committed
    }

    /// What the store was asked to do since it was opened (see [`IoStats`]).
    pub fn io_stats(&self) -> IoStats {
        let c = &self.stats;
        IoStats {
            reads: c.reads.get(),
            disk_reads: c.disk_reads.get(),
            scans: c.scans.get(),
            scanned: c.scanned.get(),
            writes: c.writes.get(),
        }
    }

    /// The overlays' slot for `key`, crank layer first; `None`: neither has written it.
    fn overlay_slot(&self, cf: Cf, key: &[u8]) -> Option<&overlay::Slot> {
        self.crank
            .layer
            .get(cf, key)
            .or_else(|| self.block.get(cf, key))
    }

    /// Reads a key through every layer.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Option<Vec<u8>> {
        bump(&self.stats.reads, 1);
        match self.overlay_slot(cf, key) {
            Some(slot) => slot.clone(),
            None => self.committed_get(cf, key),
        }
    }

    /// Reads a key through every layer, lending the value to `f` rather than copying it
    /// (for readers that only parse it).
    pub fn get_with<R>(&self, cf: Cf, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> R {
        bump(&self.stats.reads, 1);
        if let Some(slot) = self.overlay_slot(cf, key) {
            return f(slot.as_deref());
        }
        match cf {
            Cf::Kv => match self.cache.try_with(key, f) {
                Ok(r) => r,
                Err(f) => f(self.committed_get(cf, key).as_deref()),
            },
            _ => f(self.backend_get(cf, key).as_deref()),
        }
    }

    fn backend_get(&self, cf: Cf, key: &[u8]) -> Option<Vec<u8>> {
        bump(&self.stats.disk_reads, 1);
        self.backend.get(cf, key)
    }

    /// Reads the committed layer (through the read cache for `kv`).
    fn committed_get(&self, cf: Cf, key: &[u8]) -> Option<Vec<u8>> {
        match cf {
            Cf::Kv => {
                if self.absent.borrow().contains(key) {
                    return None;
                }
                let v = self.cache.get(key, || self.backend_get(cf, key));
                let bytes = self.absent_read_bytes.get();
                // (After a failed read nothing is known to be absent.)
                let failed = self.backend.has_read_fault();
                if v.is_none() && !failed && bytes < MAX_ABSENT_READ_BYTES {
                    // Most such keys are about to be made (a c-list entry, say), and many
                    // are gone again within the block.
                    self.absent.borrow_mut().insert(key.to_vec());
                    self.absent_read_bytes.set(bytes + key.len());
                }
                v
            }
            _ => self.backend_get(cf, key),
        }
    }

    /// Reads the committed `kv` entries under each of `prefixes` and keeps them in the read
    /// cache: the point reads of those keys that follow are answered from memory.
    /// For bulk work that visits many small records in turn (a schema migration frees a
    /// million promises, each a few keys, with one seek each instead of a point read per
    /// key). A hint only: no read returns anything else because of it.
    ///
    /// `prefixes` must be in key order: one RocksDB iterator seeks forward through them.
    pub fn prefetch(&self, prefixes: &[Vec<u8>]) {
        let found = self.backend.prefix_ranges(Cf::Kv, prefixes);
        bump(&self.stats.scans, prefixes.len() as u64);
        bump(&self.stats.scanned, found.len() as u64);
        for (k, v) in found {
            self.cache.insert_committed(k, v);
        }
    }

    /// Compacts the committed layer's files now (RocksDB's full compaction), rather than
    /// leave it to background threads: benchmarks measure a settled DB this way, instead of
    /// one whose compaction competes with the work measured. Changes no data.
    pub fn compact(&self) {
        self.backend.compact();
    }

    /// Room for `n` more writes in the crank buffer: a caller about to make millions (a
    /// migration) spares the buffer its regrowth, each of which rehashes every key so far.
    pub fn reserve_writes(&mut self, n: usize) {
        self.crank.layer.reserve(Cf::Kv, n);
    }

    pub fn has(&self, cf: Cf, key: &[u8]) -> bool {
        self.get_with(cf, key, |v| v.is_some())
    }

    /// Writes into the crank buffer.
    pub fn set(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        bump(&self.stats.writes, 1);
        self.crank.write(cf, key, Some(value.to_vec()));
    }

    /// Writes a `kv` key the caller knows the committed layer cannot hold: one naming
    /// something minted in this block (a new promise, a queue slot past the tail, a vref
    /// from a vat's counter). If it is deleted again before the block commits, no
    /// tombstone is written for it. A wrong claim would leave a stale key on disk, so
    /// debug builds check it.
    pub fn set_new(&mut self, key: &[u8], value: &[u8]) {
        debug_assert!(
            self.backend.get(Cf::Kv, key).is_none(),
            "set_new on a committed key {:?}",
            String::from_utf8_lossy(key)
        );
        self.note_absent(key);
        self.set(Cf::Kv, key, value);
    }

    /// Records that the committed layer cannot hold `kv` key `key` (on the caller's word,
    /// as for [`Store::set_new`]): reads of it until the block commits need not ask
    /// RocksDB, and deleting it needs no tombstone.
    pub fn note_absent(&mut self, key: &[u8]) {
        debug_assert!(
            self.backend.get(Cf::Kv, key).is_none(),
            "note_absent on a committed key {:?}",
            String::from_utf8_lossy(key)
        );
        self.absent.get_mut().insert(key.to_vec());
    }

    /// Deletes in the crank buffer (a tombstone that masks lower layers).
    pub fn delete(&mut self, cf: Cf, key: &[u8]) {
        bump(&self.stats.writes, 1);
        self.crank.write(cf, key, None);
    }

    /// The first live entry whose key is after `lower`, in byte order, over the merged view.
    pub fn first_after(&self, cf: Cf, lower: Bound<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
        self.first_between(cf, lower, None)
    }

    /// The first live entry after `lower` and before `upper` (exclusive). Prefer this to
    /// `first_after` in hot paths: a bound keeps RocksDB from walking deleted keys.
    pub fn first_between(
        &self,
        cf: Cf,
        lower: Bound<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        bump(&self.stats.scans, 1);
        let mut lower_owned: Option<Vec<u8>> = None;
        loop {
            let bound = match &lower_owned {
                Some(k) => Bound::Excluded(k.as_slice()),
                None => lower,
            };
            let c = self.crank.layer.first_after(cf, bound);
            let b = self.block.first_after(cf, bound);
            let d = self.backend.first_after(cf, bound, upper);
            let key = [
                c.as_ref().map(|(k, _)| k.as_slice()),
                b.as_ref().map(|(k, _)| k.as_slice()),
                d.as_ref().map(|(k, _)| k.as_slice()),
            ]
            .into_iter()
            .flatten()
            .min()?
            .to_vec();
            if upper.is_some_and(|u| key.as_slice() >= u) {
                return None;
            }
            // The topmost layer holding the key decides its value.
            let value = match (c, b) {
                (Some((ck, cs)), _) if ck == key => cs,
                (_, Some((bk, bs))) if bk == key => bs,
                _ => d.map(|(_, v)| v),
            };
            match value {
                Some(v) => return Some((key, v)),
                None => lower_owned = Some(key),
            }
        }
    }

    /// The first live key strictly after `key`.
    pub fn get_next_key(&self, cf: Cf, key: &[u8]) -> Option<Vec<u8>> {
        self.first_after(cf, Bound::Excluded(key)).map(|(k, _)| k)
    }

    /// Every live entry with `start <= key < end` (`end = None`: to the end), in key order.
    pub fn range(&self, cf: Cf, start: &[u8], end: Option<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
        // Each layer's part comes sorted: merge them in one pass, upper layers deciding.
        let committed: Vec<(Vec<u8>, Slot)> = self
            .backend
            .range(cf, start, end)
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        let block = overlay_merge(committed, self.block.range(cf, start, end));
        let live: Vec<_> = overlay_merge(block, self.crank.layer.range(cf, start, end))
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        bump(&self.stats.scans, 1);
        bump(&self.stats.scanned, live.len() as u64);
        live
    }

    /// Every live entry whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, cf: Cf, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let end = prefix_end(prefix);
        self.range(cf, prefix, end.as_deref())
    }

    /// A point in the current crank to roll back to.
    pub fn savepoint(&mut self) -> Savepoint {
        Savepoint(self.crank.mark())
    }

    /// Undoes every write of the crank made after `sp`.
    pub fn rollback_to(&mut self, sp: Savepoint) {
        self.crank.rollback_to(sp.0);
    }

    /// Whether the current crank has written anything.
    pub fn crank_is_dirty(&self) -> bool {
        self.crank.writes() > 0
    }

    /// Folds the crank buffer into the block buffer and returns the crank's digest
    /// (`None` for a crank that wrote nothing, which leaves the app hash unchanged).
    pub fn commit_crank(&mut self) -> Option<Hash32> {
        if self.crank.writes() == 0 {
            self.crank.clear();
            return None;
        }
        let digest = self.crank.finish_digest();
        // The block layer's previous values are copied only while a block savepoint needs
        // them for a rollback.
        match self.journals.last_mut() {
            Some(j) => self.crank.layer.drain_into(
                &mut self.block,
                Some(&mut |cf, k, prev| j.record_with(cf, k, || prev.cloned())),
            ),
            None => self.crank.layer.drain_into(&mut self.block, None),
        }
        self.crank.clear();
        self.block_cranks.push(digest);
        Some(digest)
    }

    /// Drops every write of the current crank.
    pub fn abort_crank(&mut self) {
        self.crank.clear();
    }

    /// The app hash the block being built will commit with (what `FinalizeBlock` returns).
    pub fn pending_app_hash(&self) -> Hash32 {
        hash::chain(
            &self.committed.app_hash,
            &hash::block_digest(&self.block_cranks),
        )
    }

    /// Writes the block — all families, the height and the app hash — in one synced batch.
    pub fn commit_block(&mut self, height: u64) -> Result<Hash32, StoreError> {
        if self.crank_is_dirty() {
            return Err(StoreError::CrankOpen);
        }
        if height <= self.committed.height {
            return Err(StoreError::HeightOrder {
                last: self.committed.height,
                got: height,
            });
        }
        let app_hash = self.pending_app_hash();
        let mut writes = self.block.drain();
        // A deletion of a key that never reached disk (a queue item or promise born and
        // gone within the block) would only leave a tombstone for every later scan to step
        // over, so those known never to have been committed are dropped. The app hash is unaffected: it hashes the cranks' writes,
        // not the batch.
        let absent = self.absent.get_mut();
        writes.retain(|(cf, k, slot)| {
            slot.is_some()
                || !(*cf == Cf::Kv && absent.contains(k.as_slice()))
                    && may_be_committed(&self.cache, &self.backend, *cf, k)
        });
        absent.clear();
        self.absent_read_bytes.set(0);
        writes.push((
            Cf::Host,
            HOST_HEIGHT.to_vec(),
            Some(height.to_be_bytes().to_vec()),
        ));
        writes.push((Cf::Host, HOST_APP_HASH.to_vec(), Some(app_hash.to_vec())));
        // On failure the block buffer is gone and the batch did not land: the caller must
        // stop, and the consensus engine replays the block after a restart.
        // In key order, RocksDB's memtable inserts are mostly cache-local: a batch of
        // millions of keys (a migration's) lands several times faster, and a usual block's
        // few thousand are sorted in well under a millisecond.
        writes.sort_unstable_by(|a, b| (a.0.index(), &a.1).cmp(&(b.0.index(), &b.1)));
        self.backend.write(&writes)?;
        for (cf, k, slot) in &writes {
            if *cf == Cf::Kv {
                self.cache.landed(k, slot);
            }
        }
        self.block_cranks.clear();
        // A savepoint cannot span blocks: whatever was open is kept, as committed.
        self.journals.clear();
        self.committed = Committed { height, app_hash };
        Ok(app_hash)
    }

    /// Opens a block savepoint (see [`BlockSavepoint`]); `None` while a crank is open (its
    /// writes would belong to neither side).
    pub fn block_savepoint(&mut self) -> Option<BlockSavepoint> {
        if self.crank_is_dirty() {
            return None;
        }
        self.journals.push(Journal::default());
        Some(BlockSavepoint {
            depth: self.journals.len(),
            cranks: self.block_cranks.len(),
        })
    }

    /// Undoes every crank committed into the block since `sp` (and any open crank), as if
    /// they never ran: their writes and their part of the app hash are gone.
    pub fn rollback_block(&mut self, sp: BlockSavepoint) {
        self.crank.clear();
        while self.journals.len() >= sp.depth {
            let Some(j) = self.journals.pop() else { break };
            for (cf, k, prev) in j.before.into_iter().rev() {
                match prev {
                    Some(slot) => {
                        self.block.put(cf, k, slot);
                    }
                    None => self.block.remove(cf, &k),
                }
            }
        }
        self.block_cranks.truncate(sp.cranks);
    }

    /// Keeps everything since `sp`: the savepoint ends (an enclosing one still covers
    /// these writes).
    pub fn release_block(&mut self, sp: BlockSavepoint) {
        while self.journals.len() >= sp.depth {
            let Some(j) = self.journals.pop() else { break };
            if let Some(parent) = self.journals.last_mut() {
                // The value at the inner savepoint is the value at the outer one for keys
                // the outer one has not seen written.
                for (cf, k, prev) in j.before {
                    parent.record(cf, &k, prev);
                }
            }
        }
    }

    /// Drops the block buffer (and any open crank): the block is abandoned.
    pub fn abort_block(&mut self) {
        self.crank.clear();
        self.journals.clear();
        self.block = Layer::default();
        self.block_cranks.clear();
    }

    /// Every live entry of every family, in family then key order (tests, dumps, debugging).
    /// The store's own bookkeeping keys (height, app hash) are included.
    pub fn dump(&self) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for cf in Cf::ALL {
            for (k, v) in self.range(cf, b"", None) {
                out.push((cf, k, v));
            }
        }
        out
    }
}

/// `lower` with `upper`'s slots laid over it (both sorted by key, no key twice in either):
/// the result is sorted, and for a key in both, `upper` decides.
fn overlay_merge(lower: Vec<(Vec<u8>, Slot)>, upper: Vec<(Vec<u8>, Slot)>) -> Vec<(Vec<u8>, Slot)> {
    if upper.is_empty() {
        return lower;
    }
    let mut out = Vec::with_capacity(lower.len() + upper.len());
    let mut lower = lower.into_iter().peekable();
    for (k, slot) in upper {
        while let Some(l) = lower.next_if(|(lk, _)| *lk < k) {
            out.push(l);
        }
        lower.next_if(|(lk, _)| *lk == k);
        out.push((k, slot));
    }
    out.extend(lower);
    out
}

/// The smallest key greater than every key starting with `prefix` (`None`: no such key).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Whether `key` may be in the committed layer: the read cache answers for keys it holds,
/// the bloom filters for the rest (a false "may" costs only a tombstone).
fn may_be_committed(cache: &ReadCache, backend: &Backend, cf: Cf, key: &[u8]) -> bool {
    let cached = match cf {
        Cf::Kv => cache.knows_committed(key),
        _ => None,
    };
    cached.unwrap_or_else(|| backend.may_exist(cf, key))
}

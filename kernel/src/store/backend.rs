//! The committed layer: RocksDB on disk, or an in-memory map for tests and dry runs.
//!
//! Reads cannot fail for bad input, only for a broken disk (or a fault injected to test
//! that). Such a failure is this node's alone, so it must stop the node without changing
//! state: the read answers "absent" and the failure is recorded ([`Backend::read_fault`]);
//! the kernel checks it at the end of every crank and, finding one, undoes the crank and
//! halts (`Kernel::halted`), so no answer of a failed read ever reaches a commit.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use super::cf::Cf;
use super::overlay::Slot;
use super::StoreError;

/// Where committed data lives.
pub(crate) struct Backend {
    data: Data,
    /// The first read failure since open (see the module docs).
    fault: RefCell<Option<String>>,
    /// Reads of keys under this prefix of this family fail (fault injection).
    injected: Option<(Cf, Vec<u8>)>,
}

enum Data {
    Memory(Box<[BTreeMap<Vec<u8>, Vec<u8>>; 4]>),
    Rocks(rocksdb::DB),
}

impl Backend {
    fn new(data: Data) -> Backend {
        Backend {
            data,
            fault: RefCell::new(None),
            injected: None,
        }
    }

    pub(crate) fn memory() -> Backend {
        Backend::new(Data::Memory(Box::default()))
    }

    /// The first read that failed since open, if one did.
    pub(crate) fn read_fault(&self) -> Option<String> {
        self.fault.borrow().clone()
    }

    /// Whether a read has failed since open (without copying the reason: asked on every
    /// read that misses).
    pub(crate) fn has_read_fault(&self) -> bool {
        self.fault.borrow().is_some()
    }

    /// From now on, reads of `cf` keys under `prefix` fail as a broken disk's would (`None`:
    /// no more injected failures; one already recorded stays).
    pub(crate) fn inject_read_faults(&mut self, at: Option<(Cf, Vec<u8>)>) {
        self.injected = at;
    }

    /// Records a failed read; the caller answers as if nothing were there.
    fn failed(&self, what: &str, e: impl std::fmt::Display) {
        let mut f = self.fault.borrow_mut();
        if f.is_none() {
            tracing::error!(error = %e, "{what} failed: the store is unreadable");
            *f = Some(format!("{what} failed: {e}"));
        }
    }

    /// Whether a read of `cf` at `key` must fail (fault injection).
    fn injected_at(&self, cf: Cf, key: &[u8]) -> bool {
        self.injected
            .as_ref()
            .is_some_and(|(c, p)| *c == cf && key.starts_with(p))
    }

    pub(crate) fn open_rocks(path: &Path) -> Result<Backend, StoreError> {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = Cf::ALL
            .iter()
            .map(|cf| rocksdb::ColumnFamilyDescriptor::new(cf.name(), Self::family_options()));
        let db =
            rocksdb::DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(Backend::new(Data::Rocks(db)))
    }

    /// Bloom filters, on disk and in the memtable: the kernel reads many keys that do not
    /// exist yet (a new promise's, a c-list entry it is about to make), and without a
    /// filter each such read searches the memtable and every table file's index.
    fn family_options() -> rocksdb::Options {
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        let mut o = rocksdb::Options::default();
        o.set_block_based_table_factory(&table);
        o.set_memtable_prefix_bloom_ratio(0.1);
        o.set_memtable_whole_key_filtering(true);
        o
    }

    fn handle(db: &rocksdb::DB, cf: Cf) -> &rocksdb::ColumnFamily {
        // Every family is created at open (create_missing_column_families), so a missing
        // handle is a bug in this module, not bad input.
        db.cf_handle(cf.name())
            .expect("column family created at open")
    }

    pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Option<Vec<u8>> {
        if self.injected_at(cf, key) {
            self.failed("a read", "I/O error (injected)");
            return None;
        }
        match &self.data {
            Data::Memory(maps) => maps[cf.index()].get(key).cloned(),
            Data::Rocks(db) => db.get_cf(Self::handle(db, cf), key).unwrap_or_else(|e| {
                self.failed("a RocksDB read", e);
                None
            }),
        }
    }

    /// Whether `key` may be committed: `false` means certainly not (from the bloom filters,
    /// without reading data); `true` may be wrong.
    pub(crate) fn may_exist(&self, cf: Cf, key: &[u8]) -> bool {
        match &self.data {
            Data::Memory(maps) => maps[cf.index()].contains_key(key),
            Data::Rocks(db) => db.key_may_exist_cf(Self::handle(db, cf), key),
        }
    }

    /// The first committed entry whose key lies after `lower` (and before `upper`).
    pub(crate) fn first_after(
        &self,
        cf: Cf,
        lower: Bound<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let at = match lower {
            Bound::Included(k) | Bound::Excluded(k) => k,
            Bound::Unbounded => &[],
        };
        if self.injected_at(cf, at) {
            self.failed("an iteration", "I/O error (injected)");
            return None;
        }
        match &self.data {
            Data::Memory(maps) => maps[cf.index()]
                .range::<[u8], _>((lower, Bound::Unbounded))
                .next()
                .filter(|(k, _)| upper.is_none_or(|u| k.as_slice() < u))
                .map(|(k, v)| (k.clone(), v.clone())),
            Data::Rocks(db) => {
                let mut ro = rocksdb::ReadOptions::default();
                if let Some(u) = upper {
                    ro.set_iterate_upper_bound(u.to_vec());
                }
                let mut it = db.raw_iterator_cf_opt(Self::handle(db, cf), ro);
                match lower {
                    Bound::Unbounded => it.seek_to_first(),
                    Bound::Included(k) => it.seek(k),
                    Bound::Excluded(k) => {
                        it.seek(k);
                        if it.key() == Some(k) {
                            it.next();
                        }
                    }
                }
                let out = match (it.key(), it.value()) {
                    (Some(k), Some(v)) => Some((k.to_vec(), v.to_vec())),
                    _ => None,
                };
                match it.status() {
                    Ok(()) => out,
                    Err(e) => {
                        self.failed("a RocksDB iteration", e);
                        None
                    }
                }
            }
        }
    }

    /// Every committed entry with `start <= key < end`.
    /// Compacts every family's files (RocksDB's full compaction): what background
    /// compaction would reach on a node that has run a while.
    pub(crate) fn compact(&self) {
        if let Data::Rocks(db) = &self.data {
            for cf in Cf::ALL {
                db.compact_range_cf(Self::handle(db, cf), None::<&[u8]>, None::<&[u8]>);
            }
        }
    }

    /// Every committed entry under each of `prefixes`, with one iterator (it seeks forward
    /// when they come in key order).
    pub(crate) fn prefix_ranges(&self, cf: Cf, prefixes: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<u8>)> {
        if prefixes.iter().any(|p| self.injected_at(cf, p)) {
            self.failed("an iteration", "I/O error (injected)");
            return Vec::new();
        }
        match &self.data {
            Data::Memory(_) => prefixes
                .iter()
                .flat_map(|p| self.range(cf, p, super::prefix_end(p).as_deref()))
                .collect(),
            Data::Rocks(db) => {
                let mut out = Vec::new();
                let mut ro = rocksdb::ReadOptions::default();
                // Bounded by the last prefix: the iterator never walks past it over
                // tombstones.
                if let Some(end) = prefixes.iter().max().and_then(|p| super::prefix_end(p)) {
                    ro.set_iterate_upper_bound(end);
                }
                let mut it = db.raw_iterator_cf_opt(Self::handle(db, cf), ro);
                for p in prefixes {
                    it.seek(p);
                    while let (Some(k), Some(v)) = (it.key(), it.value()) {
                        if !k.starts_with(p) {
                            break;
                        }
                        out.push((k.to_vec(), v.to_vec()));
                        it.next();
                    }
                }
                match it.status() {
                    Ok(()) => out,
                    Err(e) => {
                        self.failed("a RocksDB iteration", e);
                        Vec::new()
                    }
                }
            }
        }
    }

    pub(crate) fn range(
        &self,
        cf: Cf,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let below_end = |k: &[u8]| end.is_none_or(|e| k < e);
        if self.injected_at(cf, start) {
            self.failed("an iteration", "I/O error (injected)");
            return Vec::new();
        }
        match &self.data {
            Data::Memory(maps) => maps[cf.index()]
                .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
                .take_while(|(k, _)| below_end(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            Data::Rocks(db) => {
                let mut out = Vec::new();
                // The upper bound matters for speed, not only correctness: without it the
                // iterator walks past `end` over every deletion tombstone until it finds a
                // live key.
                let mut ro = rocksdb::ReadOptions::default();
                if let Some(e) = end {
                    ro.set_iterate_upper_bound(e.to_vec());
                }
                let mut it = db.raw_iterator_cf_opt(Self::handle(db, cf), ro);
                it.seek(start);
                while let (Some(k), Some(v)) = (it.key(), it.value()) {
                    if !below_end(k) {
                        break;
                    }
                    out.push((k.to_vec(), v.to_vec()));
                    it.next();
                }
                match it.status() {
                    Ok(()) => out,
                    Err(e) => {
                        self.failed("a RocksDB iteration", e);
                        Vec::new()
                    }
                }
            }
        }
    }

    /// Applies `writes` atomically: for RocksDB, one synced `WriteBatch`.
    pub(crate) fn write(&mut self, writes: &[(Cf, Vec<u8>, Slot)]) -> Result<(), StoreError> {
        match &mut self.data {
            Data::Memory(maps) => {
                for (cf, k, slot) in writes {
                    match slot {
                        Some(v) => maps[cf.index()].insert(k.clone(), v.clone()),
                        None => maps[cf.index()].remove(k),
                    };
                }
                Ok(())
            }
            Data::Rocks(db) => {
                let mut batch = rocksdb::WriteBatch::default();
                for (cf, k, slot) in writes {
                    let h = Self::handle(db, *cf);
                    match slot {
                        Some(v) => batch.put_cf(h, k, v),
                        None => batch.delete_cf(h, k),
                    }
                }
                let mut wo = rocksdb::WriteOptions::default();
                wo.set_sync(true);
                db.write_opt(batch, &wo)
                    .map_err(|e| StoreError::Commit(e.to_string()))
            }
        }
    }
}

//! What the host may touch of the kernel's store: its own `host` family, and block
//! transactions over the whole store.
//!
//! The host (the chain app) keeps its state beside the kernel's so that both commit in
//! one `WriteBatch` per block. It must never see the kernel's families (kv, transcripts,
//! bundles) or open and close cranks itself: a host write left in an open crank would be
//! folded into the next delivery's crank, and a crank the host aborted could drop kernel
//! writes. So the host gets two facets:
//!
//! - [`HostView`] (read) and [`HostStore`] (write), which name keys in the `host` family
//!   only. Writes happen inside [`Kernel::update_host`], which checks that no crank is
//!   open, and commits the host's writes as a crank of their own.
//! - [`BlockTx`], a block transaction: everything the host and the kernel do through it
//!   is undone when it is dropped, unless [`BlockTx::keep`] is called. It is the only way
//!   to undo work of the block being built (a tx's messages, a proposal's).

use std::ops::{Deref, DerefMut};

use crate::kernel::Kernel;
use crate::store::{BlockSavepoint, Cf, Store};

/// The store's own bookkeeping keys in the `host` family (height, app hash) start with
/// this; the host may neither read nor write them through its facets.
const STORE_PREFIX: &str = "store.";

/// Reading the host's keys (both facets).
pub trait HostRead {
    /// The value under `key` (`None`: absent).
    fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Every `(key, value)` under `prefix`, in key order.
    fn scan(&self, prefix: &str) -> Vec<(String, Vec<u8>)>;
    /// Every `(key, value)` with `start <= key < end`, in key order.
    fn range(&self, start: &str, end: &str) -> Vec<(String, Vec<u8>)>;
}

fn get(store: &Store, key: &str) -> Option<Vec<u8>> {
    if key.starts_with(STORE_PREFIX) {
        return None;
    }
    store.get(Cf::Host, key.as_bytes())
}

fn scan(store: &Store, prefix: &str) -> Vec<(String, Vec<u8>)> {
    own_keys(store.scan_prefix(Cf::Host, prefix.as_bytes()))
}

fn range(store: &Store, start: &str, end: &str) -> Vec<(String, Vec<u8>)> {
    own_keys(store.range(Cf::Host, start.as_bytes(), Some(end.as_bytes())))
}

/// The host's (UTF-8) keys of `entries`, without the store's own.
fn own_keys(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    entries
        .into_iter()
        .filter_map(|(k, v)| Some((String::from_utf8(k).ok()?, v)))
        .filter(|(k, _)| !k.starts_with(STORE_PREFIX))
        .collect()
}

/// The host's keys, read-only (queries, CheckTx, the block's reads).
#[derive(Clone, Copy)]
pub struct HostView<'a> {
    store: &'a Store,
}

/// Both facets read through the store they hold.
trait OverStore {
    fn store(&self) -> &Store;
}

impl OverStore for HostView<'_> {
    fn store(&self) -> &Store {
        self.store
    }
}

impl<T: OverStore> HostRead for T {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        get(self.store(), key)
    }
    fn scan(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        scan(self.store(), prefix)
    }
    fn range(&self, start: &str, end: &str) -> Vec<(String, Vec<u8>)> {
        range(self.store(), start, end)
    }
}

/// The host's keys, for writing; only [`Kernel::update_host`] hands one out.
pub struct HostStore<'a> {
    store: &'a mut Store,
}

impl HostStore<'_> {
    /// Sets `key`. The store's own keys are refused (a host bug).
    pub fn set(&mut self, key: &str, value: &[u8]) {
        assert!(
            !key.starts_with(STORE_PREFIX),
            "the host wrote the store's own key {key:?}"
        );
        self.store.set(Cf::Host, key.as_bytes(), value);
    }

    pub fn delete(&mut self, key: &str) {
        assert!(
            !key.starts_with(STORE_PREFIX),
            "the host deleted the store's own key {key:?}"
        );
        self.store.delete(Cf::Host, key.as_bytes());
    }
}

impl OverStore for HostStore<'_> {
    fn store(&self) -> &Store {
        self.store
    }
}

impl Kernel {
    /// The host's keys, for reading.
    pub fn host(&self) -> HostView<'_> {
        HostView {
            store: &self.st.store,
        }
    }

    /// Runs `f` over the host's keys and commits what it wrote as a crank of its own.
    ///
    /// Panics if a crank is open: every kernel host call ends its own crank, so an open
    /// one is a kernel bug, and folding host writes into it would mix the two.
    pub fn update_host<R>(&mut self, f: impl FnOnce(&mut HostStore<'_>) -> R) -> R {
        assert!(
            !self.st.store.crank_is_dirty(),
            "a crank was left open before a host write"
        );
        let r = f(&mut HostStore {
            store: &mut self.st.store,
        });
        self.st.store.commit_crank();
        r
    }

    /// Opens a block transaction: the work done through it (host writes, kernel host
    /// calls, kernel runs) is undone when it is dropped unless it is kept. Transactions
    /// nest (end the inner one first, which the borrow checker enforces).
    ///
    /// Panics if a crank is open (a kernel bug, as in [`Kernel::update_host`]).
    pub fn begin_block_tx(&mut self) -> BlockTx<'_> {
        let Some(sp) = self.st.store.block_savepoint() else {
            panic!("a crank was left open before a block transaction");
        };
        let uses = self.warehouse.uses();
        BlockTx {
            kernel: self,
            savepoint: Some(sp),
            worker_uses: uses,
        }
    }
}

/// A block transaction (see [`Kernel::begin_block_tx`]). It derefs to the kernel, so
/// the work it covers is done through it.
#[must_use = "a block transaction is undone when dropped; call keep() to keep its work"]
pub struct BlockTx<'k> {
    kernel: &'k mut Kernel,
    savepoint: Option<BlockSavepoint>,
    /// The warehouse's use count at the start: if a worker was used since, its heap may
    /// hold effects of the undone work.
    worker_uses: u64,
}

impl BlockTx<'_> {
    /// Keeps everything done since the transaction began (an enclosing transaction can
    /// still undo it).
    pub fn keep(mut self) {
        if let Some(sp) = self.savepoint.take() {
            self.kernel.st.store.release_block(sp);
        }
    }
}

impl Drop for BlockTx<'_> {
    /// Undoes every crank since the transaction began. If any worker was used meanwhile,
    /// every live worker is dropped as well (replay rebuilds them from the restored
    /// transcripts when next needed); if none was, the workers stay, as nothing of the
    /// undone work reached a vat's heap.
    fn drop(&mut self) {
        if let Some(sp) = self.savepoint.take() {
            self.kernel.st.store.rollback_block(sp);
            if self.kernel.warehouse.uses() != self.worker_uses {
                self.kernel.warehouse.clear();
            }
        }
    }
}

impl Deref for BlockTx<'_> {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        self.kernel
    }
}

impl DerefMut for BlockTx<'_> {
    fn deref_mut(&mut self) -> &mut Kernel {
        self.kernel
    }
}

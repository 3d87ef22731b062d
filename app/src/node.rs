//! The owner thread: one thread owns the kernel, the store and the vat workers, and serves
//! commands from the ABCI connection threads in order.
//!
//! Why one thread: vat workers (QuickJS runtimes) are not `Send`, and a single owner makes
//! the order of state changes exactly the order of consensus calls.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use anyhow::Context;
use serde_json::json;
use vatchain_kernel::store::{Hash32, Store};
use vatchain_kernel::worker::{VatSource, VatWorker, WorkerFactory};
use vatchain_kernel::{Kernel, KernelConfig, RunBudget, VatId};

/// Node settings.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Home directory; the DB lives in `<home>/data/vatd.db`.
    pub home: PathBuf,
    /// Computrons the kernel may spend per block; leftover work runs in later blocks.
    pub block_computrons: u64,
}

impl NodeConfig {
    pub fn db_path(&self) -> PathBuf {
        self.home.join("data").join("vatd.db")
    }
}

/// What a transaction's execution produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    pub code: u32,
    pub log: String,
}

/// What `FinalizeBlock` produced.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    pub tx_results: Vec<TxOutcome>,
    pub app_hash: Hash32,
    pub cranks: u64,
    pub computrons: u64,
}

/// A query's answer: ABCI code, and JSON (or an error message).
#[derive(Clone, Debug)]
pub struct QueryAnswer {
    pub code: u32,
    pub value: String,
    pub height: u64,
}

enum Command {
    Info(mpsc::Sender<(u64, Hash32)>),
    FinalizeBlock {
        height: u64,
        txs: Vec<Vec<u8>>,
        reply: mpsc::Sender<BlockOutcome>,
    },
    Commit(mpsc::Sender<u64>),
    Query {
        path: String,
        reply: mpsc::Sender<QueryAnswer>,
    },
}

/// A handle on the owner thread; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::Sender<Command>,
}

/// The owner thread is gone: it panicked (and the process is aborting) or was shut down.
const OWNER_GONE: &str = "the node's owner thread has stopped";

impl NodeHandle {
    fn call<T>(&self, make: impl FnOnce(mpsc::Sender<T>) -> Command) -> T {
        let (tx, rx) = mpsc::channel();
        self.tx.send(make(tx)).expect(OWNER_GONE);
        rx.recv().expect(OWNER_GONE)
    }

    /// Last committed height and app hash.
    pub fn info(&self) -> (u64, Hash32) {
        self.call(Command::Info)
    }

    pub fn finalize_block(&self, height: u64, txs: Vec<Vec<u8>>) -> BlockOutcome {
        self.call(|reply| Command::FinalizeBlock { height, txs, reply })
    }

    /// Commits the finalized block; returns its height.
    pub fn commit(&self) -> u64 {
        self.call(Command::Commit)
    }

    pub fn query(&self, path: &str) -> QueryAnswer {
        self.call(|reply| Command::Query {
            path: path.to_string(),
            reply,
        })
    }
}

/// Workers for vats. JavaScript vats come through the same seam; until they do, a node has
/// no way to run vat code, and says so.
struct NodeWorkers;

impl WorkerFactory for NodeWorkers {
    fn make_worker(
        &mut self,
        _vat: VatId,
        source: &VatSource,
        _bundle: Option<&[u8]>,
    ) -> Result<Box<dyn VatWorker>, String> {
        Err(format!(
            "this node cannot run bundle {}: no vat engine is configured",
            source.bundle_id
        ))
    }
}

struct Owner {
    kernel: Kernel,
    config: NodeConfig,
    /// The height finalized and not yet committed.
    pending: Option<u64>,
}

/// Starts the owner thread, which opens the DB and the kernel; returns once they are open
/// (or with the reason they could not be).
pub fn start(config: NodeConfig) -> anyhow::Result<NodeHandle> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    thread::Builder::new()
        .name("vatd-owner".into())
        .spawn(move || {
            // The kernel is built on this thread and never leaves it: vat workers are not
            // `Send`.
            let mut owner = match Owner::open(config) {
                Ok(o) => {
                    let _ = ready_tx.send(Ok(()));
                    o
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            while let Ok(cmd) = rx.recv() {
                owner.serve(cmd);
            }
        })
        .context("spawning the owner thread")?;
    ready_rx
        .recv()
        .context("the owner thread died while opening the DB")??;
    Ok(NodeHandle { tx })
}

impl Owner {
    fn open(config: NodeConfig) -> anyhow::Result<Owner> {
        let path = config.db_path();
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
            .with_context(|| format!("creating {}", path.display()))?;
        let store =
            Store::open(&path).with_context(|| format!("opening the DB at {}", path.display()))?;
        let kernel = Kernel::new(store, Box::new(NodeWorkers), KernelConfig::default())
            .context("starting the kernel")?;
        let committed = kernel.store().committed();
        tracing::info!(height = committed.height, app_hash = %hex::encode(committed.app_hash), "opened DB");
        Ok(Owner {
            kernel,
            config,
            pending: None,
        })
    }

    fn serve(&mut self, cmd: Command) {
        // A dropped reply receiver means the connection thread died; nothing to do.
        match cmd {
            Command::Info(reply) => {
                let c = self.kernel.store().committed();
                let _ = reply.send((c.height, c.app_hash));
            }
            Command::FinalizeBlock { height, txs, reply } => {
                let _ = reply.send(self.finalize(height, txs));
            }
            Command::Commit(reply) => {
                let _ = reply.send(self.commit());
            }
            Command::Query { path, reply } => {
                let _ = reply.send(self.query(&path));
            }
        }
    }

    fn finalize(&mut self, height: u64, txs: Vec<Vec<u8>>) -> BlockOutcome {
        let last = self.kernel.store().committed().height;
        // CometBFT replays from the height `Info` reported; anything else means the node's
        // state and the chain disagree, and continuing would fork.
        assert!(
            height == last + 1 && self.pending.is_none(),
            "FinalizeBlock for height {height}, but the last committed height is {last} \
             (pending: {:?})",
            self.pending
        );
        let tx_results = txs
            .iter()
            .map(|_| TxOutcome {
                code: 1,
                log: "this node accepts no transactions yet".into(),
            })
            .collect();
        let run = self
            .kernel
            .run(RunBudget::computrons(self.config.block_computrons));
        self.pending = Some(height);
        BlockOutcome {
            tx_results,
            app_hash: self.kernel.store().pending_app_hash(),
            cranks: run.cranks,
            computrons: run.computrons,
        }
    }

    fn commit(&mut self) -> u64 {
        let height = self
            .pending
            .take()
            .expect("Commit without a finalized block: the consensus engine broke the ABCI order");
        // A failed batch write leaves memory ahead of disk: stop, and let CometBFT replay
        // the block after a restart.
        self.kernel
            .commit_block(height)
            .expect("writing the block to the DB failed");
        height
    }

    fn query(&self, path: &str) -> QueryAnswer {
        let height = self.kernel.store().committed().height;
        let ok = |v: serde_json::Value| QueryAnswer {
            code: 0,
            value: v.to_string(),
            height,
        };
        match path {
            "/kernel/stats" => {
                let c = self.kernel.store().committed();
                ok(json!({
                    "height": c.height,
                    "appHash": hex::encode(c.app_hash),
                    "vats": self.kernel.vats().len(),
                    "crankNumber": self.kernel.kv_get("crankNumber"),
                    "schemaVersion": self.kernel.kv_get("version"),
                }))
            }
            "/vats" => {
                let vats: Vec<_> = self
                    .kernel
                    .vats()
                    .iter()
                    .map(|v| json!({"vatID": v.to_string(), "options": self.kernel.kv_get(&format!("{v}.options"))}))
                    .collect();
                ok(json!(vats))
            }
            other => QueryAnswer {
                code: 1,
                value: format!("unknown query path {other:?}; known: /kernel/stats, /vats"),
                height,
            },
        }
    }
}

//! The owner thread: one thread owns the kernel, the store and the vat workers, and serves
//! commands from the ABCI connection threads in order.
//!
//! Why one thread: vat workers (QuickJS runtimes) are not `Send`, and a single owner makes
//! the order of state changes exactly the order of consensus calls. CheckTx does not come
//! here: it reads [`CheckState`] (the last committed accounts and pending sequences), so
//! the mempool never waits behind a kernel run.

pub mod abci;
pub mod abci_server;
mod fatal;
pub mod home;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::Context;
use vatchain_kernel::store::{Hash32, Store};
use vatchain_kernel::worker::JsWorkers;
use vatchain_kernel::{Kernel, KernelConfig};

use crate::chain::block::{BlockOutcome, BlockRunner};
use crate::chain::check::CheckState;
use crate::chain::query::QueryAnswer;
use crate::chain::{Handler, HANDLERS};

/// Node settings.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Home directory; the DB lives in `<home>/data/vatd.db`.
    pub home: PathBuf,
    /// Software-upgrade handlers this binary carries (normally [`HANDLERS`]).
    pub upgrade_handlers: &'static [Handler],
    /// The kernel's settings.
    pub kernel: KernelConfig,
}

impl NodeConfig {
    pub fn new(home: PathBuf) -> NodeConfig {
        NodeConfig {
            home,
            upgrade_handlers: HANDLERS,
            kernel: KernelConfig::default(),
        }
    }

    /// The node as the kernel-schema-2 release ran it ("the old binary", `vatd-legacy-v2`):
    /// the leaky vat upgrade of upstream #9039, v2 DBs, and no handler for any upgrade, so
    /// it halts at the height of `v3-remediation` like any binary without the handler.
    #[cfg(feature = "legacy-v2")]
    pub fn legacy_v2(home: PathBuf) -> NodeConfig {
        NodeConfig {
            home,
            upgrade_handlers: &[],
            kernel: KernelConfig {
                legacy_v2: true,
                ..KernelConfig::default()
            },
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.home.join("data").join("vatd.db")
    }
}

pub use crate::chain::block::BlockRequest;

enum Command {
    Info(mpsc::Sender<(u64, Hash32)>),
    InitChain {
        chain_id: String,
        initial_height: u64,
        app_state: Vec<u8>,
        reply: mpsc::Sender<Result<(), String>>,
    },
    FinalizeBlock {
        block: BlockRequest,
        reply: mpsc::Sender<BlockOutcome>,
    },
    Commit(mpsc::Sender<u64>),
    Query {
        path: String,
        data: Vec<u8>,
        reply: mpsc::Sender<QueryAnswer>,
    },
    Stop,
}

/// A handle on the owner thread; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::Sender<Command>,
    check: Arc<Mutex<CheckState>>,
    owner: Arc<Mutex<Option<thread::JoinHandle<()>>>>,
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

    /// Applies genesis (`app_state` JSON); refused if the state is bad.
    pub fn init_chain(
        &self,
        chain_id: &str,
        initial_height: u64,
        app_state: &[u8],
    ) -> Result<(), String> {
        self.call(|reply| Command::InitChain {
            chain_id: chain_id.to_string(),
            initial_height,
            app_state: app_state.to_vec(),
            reply,
        })
    }

    pub fn finalize_block(&self, block: BlockRequest) -> BlockOutcome {
        self.call(|reply| Command::FinalizeBlock { block, reply })
    }

    /// Commits the finalized block; returns its height.
    pub fn commit(&self) -> u64 {
        self.call(Command::Commit)
    }

    pub fn query(&self, path: &str, data: &[u8]) -> QueryAnswer {
        self.call(|reply| Command::Query {
            path: path.to_string(),
            data: data.to_vec(),
            reply,
        })
    }

    /// Stops the owner thread and waits until it has closed the DB (uncommitted state is
    /// dropped, as in a crash). Other handles see the node gone afterwards.
    pub fn stop(self) {
        self.shutdown();
    }

    /// [`NodeHandle::stop`] through a shared handle (e.g. from a `Drop`).
    pub fn shutdown(&self) {
        let _ = self.tx.send(Command::Stop);
        let joiner = self.owner.lock().ok().and_then(|mut j| j.take());
        if let Some(j) = joiner {
            let _ = j.join();
        }
    }

    /// The chain parameters as of the last commit (for block building).
    pub fn params(&self) -> crate::host::params::Params {
        self.check.lock().expect("check state lock").params()
    }

    /// Mempool admission: decode, verify signature, account and sequence against the last
    /// committed state plus the txs already admitted. Never waits for the owner thread.
    pub fn check_tx(&self, tx: &[u8], recheck: bool) -> Result<(), (u32, String)> {
        // A poisoned lock means a CheckTx panicked, and the process is aborting.
        let mut st = self.check.lock().expect("check state lock");
        st.check(tx, recheck)
    }
}

struct Owner {
    runner: BlockRunner,
    check: Arc<Mutex<CheckState>>,
    /// For error messages.
    db_path: PathBuf,
}

/// Starts the owner thread, which opens the DB and the kernel; returns once they are open
/// (or with the reason they could not be).
pub fn start(config: NodeConfig) -> anyhow::Result<NodeHandle> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let check = Arc::new(Mutex::new(CheckState::default()));
    let check2 = check.clone();
    let owner = thread::Builder::new()
        .name("vatd-owner".into())
        .spawn(move || {
            // The kernel is built on this thread and never leaves it: vat workers are not
            // `Send`.
            let mut owner = match Owner::open(config, check2) {
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
                if matches!(cmd, Command::Stop) {
                    break;
                }
                if let Err(fatal) = owner.serve(cmd) {
                    // Close the DB first (RocksDB must not be torn down by exit under a
                    // live handle); `fatal` keeps the caller's reply channel open until
                    // the process is gone, so no connection thread sees an answer.
                    drop(owner);
                    fatal::stop(&fatal);
                }
            }
        })
        .context("spawning the owner thread")?;
    ready_rx
        .recv()
        .context("the owner thread died while opening the DB")??;
    Ok(NodeHandle {
        tx,
        check,
        owner: Arc::new(Mutex::new(Some(owner))),
    })
}

/// Opens the kernel on the node's DB with JavaScript workers. A DB awaiting a schema
/// migration opens too (the kernel then runs nothing; see [`Kernel::pending_migration`]).
pub fn open_kernel(db: &Path, config: KernelConfig) -> anyhow::Result<Kernel> {
    std::fs::create_dir_all(db.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("creating {}", db.display()))?;
    let mut store =
        Store::open(db).with_context(|| format!("opening the DB at {}", db.display()))?;
    crate::crash_points::arm_read_faults(&mut store);
    Kernel::new(store, Box::new(JsWorkers::default()), config).context("starting the kernel")
}

impl Owner {
    fn open(config: NodeConfig, check: Arc<Mutex<CheckState>>) -> anyhow::Result<Owner> {
        let kernel = open_kernel(&config.db_path(), config.kernel.clone())?;
        let committed = kernel.committed();
        // Host keys of an earlier pre-release layout (open proposals as one list, pending
        // results as one list): refused rather than silently ignored. No network ran it.
        for old in ["gov/open", "res/pending"] {
            if vatchain_kernel::HostRead::get(&kernel.host(), old).is_some() {
                anyhow::bail!(
                    "the DB at {} has host key {old:?}, a layout of an earlier pre-release \
                     build that no release migrates; re-initialize this home",
                    config.db_path().display()
                );
            }
        }
        // An old DB is accepted only for the block that migrates it.
        crate::chain::check_pending_migration(&kernel, config.upgrade_handlers)
            .map_err(|why| anyhow::anyhow!("{why} (DB {})", config.db_path().display()))?;
        if let Some(p) = kernel.pending_migration() {
            tracing::warn!(
                from = p.from,
                to = p.to,
                height = committed.height + 1,
                "kernel DB awaits its schema migration, which the next block's upgrade runs"
            );
        }
        tracing::info!(height = committed.height, app_hash = %hex::encode(committed.app_hash), "opened DB");
        let runner = BlockRunner::new(
            kernel,
            crate::chain::block::ChainConfig {
                home: config.home.clone(),
                upgrade_handlers: config.upgrade_handlers,
            },
        );
        check
            .lock()
            .map_err(|_| anyhow::anyhow!("check state lock poisoned"))?
            .refresh(runner.kernel());
        Ok(Owner {
            runner,
            check,
            db_path: config.db_path(),
        })
    }

    fn refresh_check_state(&self) {
        if let Ok(mut st) = self.check.lock() {
            st.refresh(self.runner.kernel());
        }
    }

    fn serve(&mut self, cmd: Command) -> Result<(), fatal::Fatal> {
        // A dropped reply receiver means the connection thread died; nothing to do.
        match cmd {
            Command::Info(reply) => {
                let c = self.runner.kernel().committed();
                let _ = reply.send((c.height, c.app_hash));
            }
            Command::InitChain {
                chain_id,
                initial_height,
                app_state,
                reply,
            } => {
                let r = self
                    .runner
                    .init_chain(&chain_id, initial_height, &app_state)
                    .map_err(|e| e.to_string());
                self.refresh_check_state();
                let _ = reply.send(r);
            }
            Command::FinalizeBlock { block, reply } => {
                let out = self.runner.finalize(block);
                if let Some(why) = &out.halted {
                    return Err(fatal::Fatal::new(
                        fatal::EXIT_KERNEL_HALTED,
                        format!(
                            "the kernel stopped at this block for a failure of this node's \
                             own: {why}. Nothing of the block was answered or committed; \
                             start the node again once the cause is gone"
                        ),
                        Box::new(reply),
                    ));
                }
                crate::crash_points::reached(crate::crash_points::FINALIZE_BLOCK);
                let _ = reply.send(out);
            }
            Command::Commit(reply) => {
                let (h, signers) = match self.runner.commit() {
                    Ok(done) => done,
                    Err(e) => {
                        return Err(fatal::Fatal::new(
                            fatal::EXIT_STORE_WRITE,
                            format!(
                                "cannot write the block to the DB at {}: {e}. Nothing of \
                                 it was committed; free space or make the data directory \
                                 writable, then start the node again (the consensus engine \
                                 sends the block again)",
                                self.db_path.display()
                            ),
                            Box::new(reply),
                        ))
                    }
                };
                if let Ok(mut st) = self.check.lock() {
                    st.after_commit(self.runner.kernel(), &signers);
                }
                let _ = reply.send(h);
            }
            Command::Query { path, data, reply } => {
                let _ = reply.send(crate::chain::query::answer(
                    self.runner.kernel(),
                    &path,
                    &data,
                ));
            }
            Command::Stop => {}
        }
        Ok(())
    }
}

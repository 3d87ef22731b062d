//! The dev chain's consensus stand-in: a mempool, a block every interval, and a log of
//! blocks and tx results for the RPC. It drives the app through the same ABCI
//! `Application` calls CometBFT makes (CheckTx, FinalizeBlock, Commit, Query), in process.
//!
//! The block log lives in memory: after a restart, blocks from before it are not served
//! (the chain state itself is all in the DB).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tendermint_abci::Application;
use tendermint_proto::google::protobuf::Timestamp;
use tendermint_proto::v0_38::abci::{
    CheckTxType, ExecTxResult, RequestCheckTx, RequestFinalizeBlock, RequestInfo, RequestInitChain,
    RequestQuery, ResponseCheckTx, ResponseQuery,
};

use crate::node::abci::VatdApp;

/// A produced block.
#[derive(Clone, Debug)]
pub struct BlockRecord {
    pub height: u64,
    /// Seconds and nanoseconds since the Unix epoch.
    pub time: (i64, i32),
    pub hash: [u8; 32],
    pub last_block_hash: [u8; 32],
    /// The app hash after the previous block (what a CometBFT header carries).
    pub app_hash_before: Vec<u8>,
    /// The app hash this block produced.
    pub app_hash: Vec<u8>,
    pub txs: Vec<Vec<u8>>,
    pub results: Vec<ExecTxResult>,
    pub events: Vec<tendermint_proto::v0_38::abci::Event>,
}

/// Where a tx landed.
#[derive(Clone, Copy, Debug)]
pub struct TxLocation {
    pub height: u64,
    pub index: usize,
}

#[derive(Default)]
struct Log {
    blocks: BTreeMap<u64, BlockRecord>,
    txs: BTreeMap<[u8; 32], TxLocation>,
}

/// The dev chain: shared by the block loop and the RPC threads.
pub struct DevChain {
    app: VatdApp,
    pub chain_id: String,
    mempool: Mutex<Vec<Vec<u8>>>,
    /// Held by CheckTx and across Commit + RECHECK, as CometBFT locks its mempool: a tx
    /// checked between them would be checked against pending sequences just cleared.
    admission: Mutex<()>,
    log: Mutex<Log>,
    /// Blocks kept in memory for the RPC.
    keep_blocks: usize,
}

/// CometBFT's tx hash: sha256 of the tx bytes.
pub fn tx_hash(tx: &[u8]) -> [u8; 32] {
    Sha256::digest(tx).into()
}

fn now() -> (i64, i32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, d.subsec_nanos() as i32)
}

impl DevChain {
    pub fn new(app: VatdApp, chain_id: String) -> DevChain {
        DevChain {
            app,
            chain_id,
            mempool: Mutex::new(Vec::new()),
            admission: Mutex::new(()),
            log: Mutex::new(Log::default()),
            keep_blocks: 10_000,
        }
    }

    /// Applies genesis if the app is at height 0.
    pub fn init_if_fresh(&self, app_state: &[u8]) -> u64 {
        let info = self.app.info(RequestInfo::default());
        if info.last_block_height == 0 {
            let (s, n) = now();
            self.app.init_chain(RequestInitChain {
                time: Some(Timestamp {
                    seconds: s,
                    nanos: n,
                }),
                chain_id: self.chain_id.clone(),
                app_state_bytes: app_state.to_vec().into(),
                initial_height: 1,
                ..Default::default()
            });
        }
        info.last_block_height as u64
    }

    /// Mempool admission through CheckTx; returns the CheckTx answer and the tx hash.
    pub fn submit(&self, tx: Vec<u8>) -> (ResponseCheckTx, [u8; 32]) {
        let hash = tx_hash(&tx);
        let _admission = self.admission.lock();
        (self.admit(tx, CheckTxType::New), hash)
    }

    /// CheckTx, and into the mempool if admitted. The caller holds `admission`.
    fn admit(&self, tx: Vec<u8>, kind: CheckTxType) -> ResponseCheckTx {
        let r = self.app.check_tx(RequestCheckTx {
            tx: tx.clone().into(),
            r#type: kind as i32,
        });
        if r.code == 0 {
            if let Ok(mut m) = self.mempool.lock() {
                m.push(tx);
            }
        }
        r
    }

    pub fn query(&self, path: &str, data: &[u8]) -> ResponseQuery {
        self.app.query(RequestQuery {
            data: data.to_vec().into(),
            path: path.to_string(),
            height: 0,
            prove: false,
        })
    }

    /// Produces one block from the mempool: FinalizeBlock, Commit, then RECHECK of what is
    /// left, as CometBFT does.
    pub fn produce_block(&self) -> BlockRecord {
        let info = self.app.info(RequestInfo::default());
        let height = info.last_block_height as u64 + 1;
        let txs: Vec<Vec<u8>> = self
            .mempool
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default();
        let (last_hash, last_time) = {
            let log = self.log.lock().expect("block log lock");
            log.blocks
                .values()
                .next_back()
                .map(|b| (b.hash, b.time))
                .unwrap_or(([0; 32], (0, 0)))
        };
        // Block times never go backwards (a clock step back would otherwise do it).
        let time = now().max((last_time.0 + 1, 0));
        let out = self.app.finalize_block(RequestFinalizeBlock {
            txs: txs.iter().cloned().map(Into::into).collect(),
            height: height as i64,
            time: Some(Timestamp {
                seconds: time.0,
                nanos: time.1,
            }),
            ..Default::default()
        });
        let admission = self.admission.lock();
        self.app.commit();
        let mut h = Sha256::new();
        h.update(height.to_be_bytes());
        h.update(last_hash);
        for t in &txs {
            h.update(tx_hash(t));
        }
        let record = BlockRecord {
            height,
            time,
            hash: h.finalize().into(),
            last_block_hash: last_hash,
            app_hash_before: info.last_block_app_hash.to_vec(),
            app_hash: out.app_hash.to_vec(),
            txs,
            results: out.tx_results,
            events: out.events,
        };
        {
            let mut log = self.log.lock().expect("block log lock");
            for (i, t) in record.txs.iter().enumerate() {
                log.txs.insert(tx_hash(t), TxLocation { height, index: i });
            }
            log.blocks.insert(height, record.clone());
            while log.blocks.len() > self.keep_blocks {
                if let Some((_, old)) = log.blocks.pop_first() {
                    for t in &old.txs {
                        log.txs.remove(&tx_hash(t));
                    }
                }
            }
        }
        // Recheck: txs that arrived during the block were admitted against the old state.
        let pending: Vec<Vec<u8>> = self
            .mempool
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default();
        for tx in pending {
            self.admit(tx, CheckTxType::Recheck);
        }
        drop(admission);
        record
    }

    pub fn block(&self, height: u64) -> Option<BlockRecord> {
        self.log.lock().ok()?.blocks.get(&height).cloned()
    }

    pub fn latest(&self) -> Option<BlockRecord> {
        self.log.lock().ok()?.blocks.values().next_back().cloned()
    }

    pub fn earliest(&self) -> Option<BlockRecord> {
        self.log.lock().ok()?.blocks.values().next().cloned()
    }

    pub fn find_tx(&self, hash: &[u8; 32]) -> Option<(BlockRecord, usize)> {
        let log = self.log.lock().ok()?;
        let loc = log.txs.get(hash)?;
        Some((log.blocks.get(&loc.height)?.clone(), loc.index))
    }

    /// Last committed height and app hash, from the app.
    pub fn info(&self) -> (u64, Vec<u8>) {
        let i = self.app.info(RequestInfo::default());
        (i.last_block_height as u64, i.last_block_app_hash.to_vec())
    }
}

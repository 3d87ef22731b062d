//! The ABCI face of the node (CometBFT v0.38, ABCI 2.0).
//!
//! `VatdApp` is cloned for each of CometBFT's connections (consensus, mempool, query,
//! snapshot); every clone forwards to the one owner thread. `FinalizeBlock` returns the app
//! hash; `Commit` only persists it (one `WriteBatch`), so nothing of a block reaches disk
//! before `Commit` (ABCI++ spec, "FinalizeBlock" and "Commit").

use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{
    ExecTxResult, RequestCheckTx, RequestFinalizeBlock, RequestInfo, RequestInitChain,
    RequestQuery, ResponseCheckTx, ResponseCommit, ResponseFinalizeBlock, ResponseInfo,
    ResponseInitChain, ResponseQuery,
};

use crate::node::NodeHandle;

/// The ABCI application handle.
#[derive(Clone)]
pub struct VatdApp {
    node: NodeHandle,
}

impl VatdApp {
    pub fn new(node: NodeHandle) -> VatdApp {
        VatdApp { node }
    }
}

/// CometBFT expects an empty app hash before the first block.
fn app_hash_bytes(height: u64, hash: [u8; 32]) -> Vec<u8> {
    if height == 0 {
        Vec::new()
    } else {
        hash.to_vec()
    }
}

impl Application for VatdApp {
    fn info(&self, _request: RequestInfo) -> ResponseInfo {
        let (height, hash) = self.node.info();
        ResponseInfo {
            data: "vatchain".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            app_version: 1,
            last_block_height: height as i64,
            last_block_app_hash: app_hash_bytes(height, hash).into(),
        }
    }

    fn init_chain(&self, _request: RequestInitChain) -> ResponseInitChain {
        // Genesis state is applied by the chain-node layer; the kernel starts empty.
        ResponseInitChain::default()
    }

    fn check_tx(&self, _request: RequestCheckTx) -> ResponseCheckTx {
        ResponseCheckTx {
            code: 1,
            log: "this node accepts no transactions yet".into(),
            ..Default::default()
        }
    }

    fn finalize_block(&self, request: RequestFinalizeBlock) -> ResponseFinalizeBlock {
        let height = u64::try_from(request.height).expect("CometBFT sent a negative height");
        let txs = request.txs.iter().map(|t| t.to_vec()).collect();
        let out = self.node.finalize_block(height, txs);
        tracing::info!(
            height,
            cranks = out.cranks,
            computrons = out.computrons,
            "finalized block"
        );
        ResponseFinalizeBlock {
            tx_results: out
                .tx_results
                .into_iter()
                .map(|r| ExecTxResult {
                    code: r.code,
                    log: r.log,
                    ..Default::default()
                })
                .collect(),
            app_hash: out.app_hash.to_vec().into(),
            ..Default::default()
        }
    }

    fn commit(&self) -> ResponseCommit {
        let height = self.node.commit();
        tracing::info!(height, "committed block");
        ResponseCommit { retain_height: 0 }
    }

    fn query(&self, request: RequestQuery) -> ResponseQuery {
        let a = self.node.query(&request.path);
        ResponseQuery {
            code: a.code,
            log: if a.code == 0 {
                String::new()
            } else {
                a.value.clone()
            },
            value: if a.code == 0 {
                a.value.into_bytes().into()
            } else {
                Default::default()
            },
            height: a.height as i64,
            ..Default::default()
        }
    }
}

//! The ABCI face of the node (CometBFT v0.38, ABCI 2.0).
//!
//! `VatdApp` is cloned for each of CometBFT's connections (consensus, mempool, query,
//! snapshot); every clone forwards to the one owner thread, except CheckTx, which reads
//! the shared check state. `FinalizeBlock` returns the app hash; `Commit` only persists
//! it (one `WriteBatch`), so nothing of a block reaches disk before `Commit` (ABCI++ spec,
//! "FinalizeBlock" and "Commit").

use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{
    response_process_proposal, CheckTxType, ExecTxResult, RequestCheckTx, RequestFinalizeBlock,
    RequestInfo, RequestInitChain, RequestPrepareProposal, RequestProcessProposal, RequestQuery,
    ResponseCheckTx, ResponseCommit, ResponseFinalizeBlock, ResponseInfo, ResponseInitChain,
    ResponsePrepareProposal, ResponseProcessProposal, ResponseQuery,
};

use crate::chain::block_limits;
use crate::node::{BlockRequest, NodeHandle};

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

    fn init_chain(&self, request: RequestInitChain) -> ResponseInitChain {
        // A node must not run on a genesis it cannot apply: stop (the panic aborts the
        // process) with the reason, before CometBFT produces a block.
        let initial_height = u64::try_from(request.initial_height).unwrap_or(1);
        if let Err(e) =
            self.node
                .init_chain(&request.chain_id, initial_height, &request.app_state_bytes)
        {
            panic!("cannot apply genesis: {e}");
        }
        // Validators stay as CometBFT's genesis lists them; the app hash is reported by
        // the first FinalizeBlock.
        ResponseInitChain::default()
    }

    fn check_tx(&self, request: RequestCheckTx) -> ResponseCheckTx {
        let recheck = request.r#type == CheckTxType::Recheck as i32;
        match self.node.check_tx(&request.tx, recheck) {
            Ok(()) => ResponseCheckTx {
                code: 0,
                gas_wanted: i64::try_from(block_limits::gas_wanted(&request.tx))
                    .unwrap_or(i64::MAX),
                ..Default::default()
            },
            Err((code, log)) => ResponseCheckTx {
                code,
                log,
                codespace: crate::host::codes::codespace(code).into(),
                ..Default::default()
            },
        }
    }

    /// Builds the proposal from the mempool's txs, in order, within CometBFT's byte limit
    /// and the chain's message and gas limits (see `chain::block_limits::fill`).
    fn prepare_proposal(&self, request: RequestPrepareProposal) -> ResponsePrepareProposal {
        let max_bytes = u64::try_from(request.max_tx_bytes).unwrap_or(0);
        ResponsePrepareProposal {
            txs: block_limits::fill(request.txs, &self.node.params(), max_bytes),
        }
    }

    /// Refuses a proposal over the chain's message or gas limit (an honest proposer never
    /// makes one).
    fn process_proposal(&self, request: RequestProcessProposal) -> ResponseProcessProposal {
        let status = match block_limits::check(&request.txs, &self.node.params()) {
            Ok(()) => response_process_proposal::ProposalStatus::Accept,
            Err(over) => {
                tracing::warn!("refusing a proposal over the block's limits: {over}");
                response_process_proposal::ProposalStatus::Reject
            }
        };
        ResponseProcessProposal {
            status: status as i32,
        }
    }

    fn finalize_block(&self, request: RequestFinalizeBlock) -> ResponseFinalizeBlock {
        let height = u64::try_from(request.height).expect("CometBFT sent a negative height");
        let time = request
            .time
            .as_ref()
            .map(|t| u64::try_from(t.seconds).unwrap_or(0))
            .unwrap_or(0);
        let txs = request.txs.iter().map(|t| t.to_vec()).collect();
        let out = self.node.finalize_block(BlockRequest { height, time, txs });
        tracing::debug!(
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
                    codespace: if r.code == 0 {
                        String::new()
                    } else {
                        crate::host::codes::codespace(r.code).into()
                    },
                    log: r.log,
                    data: r.data.into(),
                    gas_wanted: i64::try_from(r.gas_wanted).unwrap_or(i64::MAX),
                    gas_used: i64::try_from(r.gas_used).unwrap_or(i64::MAX),
                    events: r.events.iter().map(|e| e.to_abci()).collect(),
                    ..Default::default()
                })
                .collect(),
            events: out.events.iter().map(|e| e.to_abci()).collect(),
            app_hash: out.app_hash.to_vec().into(),
            ..Default::default()
        }
    }

    fn commit(&self) -> ResponseCommit {
        let height = self.node.commit();
        tracing::debug!(height, "committed block");
        ResponseCommit { retain_height: 0 }
    }

    fn query(&self, request: RequestQuery) -> ResponseQuery {
        let a = self.node.query(&request.path, &request.data);
        let (height, _) = self.node.info();
        ResponseQuery {
            code: a.code,
            log: a.log,
            value: a.value.into(),
            height: height as i64,
            codespace: if a.code == 0 {
                String::new()
            } else {
                "sdk".into()
            },
            ..Default::default()
        }
    }
}

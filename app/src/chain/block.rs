//! Executing blocks: genesis, `FinalizeBlock` and `Commit`, on the owner thread.
//!
//! A block is: the software-upgrade check → each tx (authenticate, bump the sequence,
//! execute its messages) → end-of-block governance → one kernel run under the block's
//! computron budget (leftover work continues next block) → settled results and published
//! data as events → the app hash. `Commit` writes all of it in one `WriteBatch`.

use std::collections::BTreeSet;

use cosmrs::proto::cosmos::base::abci::v1beta1::TxMsgData;
use cosmrs::proto::cosmos::gov::v1::{
    MsgDepositResponse, MsgSubmitProposalResponse, MsgVoteResponse,
};
use cosmrs::Any;
use prost::Message;
use vatchain_kernel::store::Hash32;
use vatchain_kernel::{KRef, Kernel, RunBudget};
use vatchain_proto::swingset::v1::{MsgDeliverInboundResponse, MsgInstallBundleResponse};

use crate::chain::genesis::{AppState, GenesisError};
use crate::chain::{keys, proposals};
use crate::host::amount::Amount;
use crate::host::codes;
use crate::host::events::AppEvent;
use crate::host::params::Params;
use crate::modules::auth::{accounts, verify_tx};
use crate::modules::gov;
use crate::modules::swingset::{exec, results};
use crate::modules::upgrade::{self as upgrade_plan, AtHeight};
use crate::msgs::{decode_tx_msgs, TxMsg, MSG_DEPOSIT, MSG_SUBMIT_PROPOSAL, MSG_VOTE};

/// One transaction's result (`ExecTxResult`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxResult {
    pub code: u32,
    pub log: String,
    /// `TxMsgData` with one response per message (what Cosmos clients decode).
    pub data: Vec<u8>,
    pub events: Vec<AppEvent>,
    /// Gas declared and charged (see [`crate::host::gas`]).
    pub gas_wanted: u64,
    pub gas_used: u64,
}

impl TxResult {
    fn fail(code: u32, log: String) -> TxResult {
        TxResult {
            code,
            log,
            ..TxResult::default()
        }
    }
}

/// What `FinalizeBlock` produced.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    pub tx_results: Vec<TxResult>,
    /// Block-level events: governance, settled results, published data, upgrades.
    pub events: Vec<AppEvent>,
    pub app_hash: Hash32,
    pub cranks: u64,
    pub computrons: u64,
    /// The kernel halted for a failure of this node's own ([`Kernel::halted`]): nothing of
    /// the block may be answered or committed; the node must stop.
    pub halted: Option<String>,
}

/// A block as `FinalizeBlock` brings it.
#[derive(Clone, Debug)]
pub struct BlockRequest {
    pub height: u64,
    /// Block time, seconds since the Unix epoch (consensus data).
    pub time: u64,
    pub txs: Vec<Vec<u8>>,
}

/// What the block executor needs of the node: where the home is (for
/// `upgrade-info.json`) and the software-upgrade handlers the binary carries.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    pub home: std::path::PathBuf,
    pub upgrade_handlers: &'static [crate::modules::upgrade::Handler],
}

/// The owner thread's block executor.
pub struct BlockRunner {
    kernel: Kernel,
    config: ChainConfig,
    /// The height finalized and not yet committed.
    pending: Option<u64>,
    /// Whether this process has begun a block yet (the binary-version check runs once).
    begun: bool,
    /// Accounts whose sequence the block being built moved (for CheckTx's view).
    signers: BTreeSet<String>,
}

/// What a tx's messages execute with: its signer, the block's parameters, time and height,
/// and the computrons each of its deliveries may use.
#[derive(Clone, Copy)]
struct MsgEnv<'a> {
    signer: &'a str,
    params: &'a Params,
    now: u64,
    height: u64,
    allowance: Option<u64>,
}

/// What executing one message produced.
struct MsgDone {
    response: Any,
    events: Vec<AppEvent>,
    /// The kernel promise for a delivery's answer.
    result: Option<KRef>,
}

impl BlockRunner {
    pub fn new(kernel: Kernel, config: ChainConfig) -> BlockRunner {
        BlockRunner {
            kernel,
            config,
            pending: None,
            begun: false,
            signers: BTreeSet::new(),
        }
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    fn params(&self) -> Params {
        Params::load(&self.kernel.host())
    }

    /// Applies genesis: parameters, accounts, validators' power, the vat-admin and
    /// chainStorage vats, and the genesis vats (their `startVat` runs in block 1).
    pub fn init_chain(
        &mut self,
        chain_id: &str,
        initial_height: u64,
        app_state: &[u8],
    ) -> Result<(), GenesisError> {
        if keys::chain_id(&self.kernel.host()).is_some() {
            if self.kernel.committed().height > 0 {
                return Err(GenesisError::AlreadyInitialized);
            }
            // Genesis commits with block 1: a consensus engine that restarted before that
            // Commit calls InitChain again, on state that never reached the DB.
            tracing::warn!("InitChain again before the first Commit: applying genesis again");
            self.abandon_block();
        }
        if chain_id.is_empty() {
            return Err(GenesisError::NoChainId);
        }
        let state = AppState::parse(app_state)?;
        state.check()?;
        let k = &mut self.kernel;
        k.update_host(|h| {
            keys::set_genesis(h, chain_id, initial_height.max(1));
            state.params.save(h);
            for a in &state.accounts {
                accounts::create(h, &a.address, a.balance);
            }
            for v in &state.validators {
                if accounts::get(h, &v.address).is_none() {
                    accounts::create(h, &v.address, Amount::ZERO);
                }
                accounts::set_validator_power(h, &v.address, v.power);
            }
        });
        exec::set_kernel_params(k, &state.params)?;
        k.install_vat_admin()?;
        exec::install_chain_storage(k)?;
        for v in &state.vats {
            let vat = |why: String| GenesisError::Vat {
                name: v.name.clone(),
                why,
            };
            let bytes = serde_json::to_vec(&v.bundle).expect("a JSON value serializes");
            let id = k.install_bundle(&bytes).map_err(|e| vat(e.to_string()))?;
            exec::create_vat(k, &v.name, &id, &v.parameters).map_err(|e| vat(e.to_string()))?;
        }
        for b in &state.bundles {
            let bad = |why: String| GenesisError::Bundle {
                name: b.name.clone(),
                why,
            };
            let bytes = serde_json::to_vec(&b.bundle).expect("a JSON value serializes");
            let id = k.install_bundle(&bytes).map_err(|e| bad(e.to_string()))?;
            k.name_bundle(&b.name, &id)
                .map_err(|e| bad(e.to_string()))?;
        }
        if let Some(name) = &state.bootstrap {
            let v = k.vat_id(name).ok_or_else(|| GenesisError::Vat {
                name: name.clone(),
                why: "the bootstrap vat is not a genesis vat".into(),
            })?;
            k.bootstrap(v)?;
        }
        tracing::info!(
            chain_id,
            vats = state.vats.len(),
            accounts = state.accounts.len(),
            "genesis applied"
        );
        Ok(())
    }

    pub fn finalize(&mut self, block: BlockRequest) -> BlockOutcome {
        let height = block.height;
        let last = self.kernel.committed().height;
        let expected = if last == 0 {
            keys::initial_height(&self.kernel.host())
        } else {
            last + 1
        };
        if self.pending == Some(height) && height == expected {
            // The consensus engine restarted between FinalizeBlock and Commit (its WAL has
            // the block, our DB does not) and sends the block again: run it again from the
            // last committed state, as if the first run never happened.
            tracing::warn!(
                height,
                "FinalizeBlock again for a block not yet committed: running it again"
            );
            self.abandon_block();
        }
        // CometBFT replays from the height `Info` reported; anything else means the node's
        // state and the chain disagree, and continuing would fork.
        assert!(
            height == expected && self.pending.is_none(),
            "FinalizeBlock for height {height}, but the next height is {expected} \
             (pending: {:?})",
            self.pending
        );
        let first_block = !self.begun;
        self.begun = true;
        let mut events = Vec::new();
        match upgrade_plan::begin_block(
            &mut self.kernel,
            height,
            self.config.upgrade_handlers,
            &self.config.home,
            first_block,
        ) {
            AtHeight::Nothing => {}
            AtHeight::Applied(a) => {
                crate::crash_points::reached(crate::crash_points::UPGRADE_HANDLER);
                let info = a.summary();
                tracing::info!("{info}");
                events.push(AppEvent::new(
                    "upgrade_applied",
                    [
                        ("name", a.name),
                        ("height", a.height.to_string()),
                        ("info", info),
                        ("result", a.result.to_string()),
                    ],
                ));
            }
            // As a Cosmos SDK node: stop before executing the block. The panic aborts the
            // process (see main), and nothing of this block reaches disk.
            AtHeight::Halt(msg) => {
                tracing::error!("{msg}");
                panic!("{msg}");
            }
        }
        let params = self.params();
        let chain_id = keys::chain_id(&self.kernel.host()).expect("FinalizeBlock before InitChain");
        let mut tx_results = Vec::with_capacity(block.txs.len());
        let mut result_owner = Vec::new();
        let (mut msgs, mut gas) = (0u64, 0u64);
        for (i, tx) in block.txs.iter().enumerate() {
            let shape = crate::msgs::TxShape::of(tx);
            gas = gas.saturating_add(shape.gas);
            if gas > params.gas.max_block_gas {
                tx_results.push(TxResult::fail(
                    codes::OUT_OF_GAS,
                    format!(
                        "out of gas: the block's gas limit ({}) was reached before this tx",
                        params.gas.max_block_gas
                    ),
                ));
                continue;
            }
            // A block past the message limit (ProcessProposal refuses one, but a faulty
            // majority could commit it) fails the txs that do not fit, sequences untouched.
            msgs += shape.msgs;
            if msgs > params.max_block_msgs {
                tx_results.push(TxResult::fail(
                    codes::TX_TOO_LARGE,
                    format!(
                        "the block's message limit ({}) was reached before this tx",
                        params.max_block_msgs
                    ),
                ));
                continue;
            }
            let (r, kps) = self.deliver_tx(tx, &params, &chain_id, height, block.time);
            result_owner.extend(kps.into_iter().map(|kp| (kp, i)));
            tx_results.push(r);
        }
        events.extend(proposals::end_block(
            &mut self.kernel,
            &params.gov,
            block.time,
            height,
            self.config.upgrade_handlers,
        ));
        let run = self
            .kernel
            .run(RunBudget::computrons(params.block_computrons));
        for (kp, settled) in results::settle(&mut self.kernel, height) {
            let ev = AppEvent::new(
                "swingset_result",
                [
                    ("result_kpid", kp.to_string()),
                    (
                        "status",
                        settled["status"].as_str().unwrap_or("").to_string(),
                    ),
                    ("value", settled["value"].to_string()),
                ],
            );
            match result_owner.iter().find(|(k, _)| *k == kp) {
                Some((_, i)) => tx_results[*i].events.push(ev),
                None => events.push(ev),
            }
        }
        events.extend(self.published_changes());
        self.pending = Some(height);
        BlockOutcome {
            tx_results,
            events,
            app_hash: self.kernel.pending_app_hash(),
            cranks: run.cranks,
            computrons: run.computrons,
            halted: self.kernel.halted().map(str::to_string),
        }
    }

    /// Drops everything executed since the last Commit (see [`Kernel::abandon_block`]).
    fn abandon_block(&mut self) {
        self.kernel
            .abandon_block()
            .expect("the DB's schema version was readable when the node opened it");
        self.pending = None;
        self.signers.clear();
    }

    /// Commits the finalized block; returns its height and the accounts whose sequence it
    /// moved.
    ///
    /// A failed write (a full disk, a read-only data directory) leaves memory ahead of
    /// disk: the caller must stop the node without answering Commit; after a restart the
    /// consensus engine sends the block again (RocksDB applied all of the batch or none).
    pub fn commit(&mut self) -> Result<(u64, Vec<String>), vatchain_kernel::store::StoreError> {
        let height = self
            .pending
            .take()
            .expect("Commit without a finalized block: the consensus engine broke the ABCI order");
        crate::crash_points::reached(crate::crash_points::COMMIT_BEFORE_WRITE);
        self.kernel.commit_block(height)?;
        crate::crash_points::reached(crate::crash_points::COMMIT_AFTER_WRITE);
        Ok((
            height,
            std::mem::take(&mut self.signers).into_iter().collect(),
        ))
    }

    /// Authenticates and executes one tx; returns its result and the result promises of
    /// its deliveries.
    fn deliver_tx(
        &mut self,
        tx: &[u8],
        params: &Params,
        chain_id: &str,
        height: u64,
        now: u64,
    ) -> (TxResult, Vec<KRef>) {
        let h = self.kernel.host();
        let verified = match verify_tx(tx, chain_id, height, |a| {
            accounts::get(&h, a).map(|a| a.auth_info())
        }) {
            Ok(v) => v,
            Err(e) => return (TxResult::fail(e.code(), e.to_string()), vec![]),
        };
        let signer = verified.signer.clone();
        // Decoding comes first: as in Cosmos (ValidateBasic before the ante handler), a tx
        // whose messages do not check out leaves the sequence alone.
        let msgs = match decode_tx_msgs(&verified.messages, &signer, params) {
            Ok(m) => m,
            Err(e) => return (TxResult::fail(codes::INVALID_MSG, e.to_string()), vec![]),
        };
        // So does gas that cannot pay for the tx (CheckTx refused it; a faulty proposer
        // could still include it).
        let gas = match crate::host::gas::check(
            &params.gas,
            params.delivery_computrons,
            verified.gas_limit,
            tx.len() as u64,
            msgs.len() as u64,
            crate::msgs::deliveries(&msgs),
        ) {
            Ok(g) => g,
            Err((code, why)) => {
                let mut r = TxResult::fail(code, why);
                r.gas_wanted = verified.gas_limit;
                return (r, vec![]);
            }
        };
        // The ante handler's effect stays even if a message fails: the sequence moves on,
        // so the same signed bytes can never execute twice.
        let bumped = self.kernel.update_host(|h| {
            let mut a = accounts::get(h, &signer)?;
            a.sequence += 1;
            accounts::put(h, &a);
            Some(())
        });
        if bumped.is_some() {
            self.signers.insert(signer.clone());
        }
        let tx_event = AppEvent::new(
            "tx",
            [("acc_seq", format!("{signer}/{}", verified.sequence))],
        );
        // The messages are all or nothing: a failing one drops `block_tx`, which undoes the
        // earlier ones. (No vat code runs while they execute, sends are only queued, so
        // the workers stay.)
        let mut block_tx = self.kernel.begin_block_tx();
        let mut tx_events = vec![tx_event.clone()];
        let mut responses = Vec::new();
        let mut kps = Vec::new();
        for (i, (m, any)) in msgs.into_iter().zip(&verified.messages).enumerate() {
            let env = MsgEnv {
                signer: &signer,
                params,
                now,
                height,
                allowance: gas.allowance,
            };
            match execute_msg(&mut block_tx, m, any, &env) {
                Ok(done) => {
                    tx_events.push(AppEvent::new(
                        "message",
                        [("action", any.type_url.clone()), ("sender", signer.clone())],
                    ));
                    tx_events.extend(done.events);
                    responses.push(done.response);
                    kps.extend(done.result);
                }
                Err(why) => {
                    drop(block_tx);
                    let mut r =
                        TxResult::fail(codes::EXECUTION_FAILED, format!("message {i}: {why}"));
                    r.events = vec![tx_event];
                    (r.gas_wanted, r.gas_used) = (gas.limit, gas.used);
                    return (r, vec![]);
                }
            }
        }
        block_tx.keep();
        #[allow(deprecated)]
        let data = TxMsgData {
            msg_responses: responses,
            ..Default::default()
        }
        .encode_to_vec();
        (
            TxResult {
                code: codes::OK,
                log: String::new(),
                data,
                events: tx_events,
                gas_wanted: gas.limit,
                gas_used: gas.used,
            },
            kps,
        )
    }

    /// One `published` event per change vats made to chainStorage since the last block.
    fn published_changes(&mut self) -> Vec<AppEvent> {
        exec::published_changes(&mut self.kernel)
            .into_iter()
            .map(|(seq, path, value)| {
                AppEvent::new(
                    "published",
                    [
                        ("seq", seq.to_string()),
                        ("path", path),
                        ("value", value.to_string()),
                    ],
                )
            })
            .collect()
    }
}

/// Executes one message of a tx inside the tx's block transaction.
fn execute_msg(k: &mut Kernel, m: TxMsg, any: &Any, env: &MsgEnv<'_>) -> Result<MsgDone, String> {
    let MsgEnv {
        signer,
        params,
        now,
        height,
        allowance,
    } = *env;
    match m {
        TxMsg::InstallBundle { bundle } => {
            let id = exec::install_bundle(k, &bundle).map_err(|e| e.to_string())?;
            Ok(MsgDone {
                response: crate::msgs::any(
                    "/vatchain.swingset.v1.MsgInstallBundleResponse",
                    &MsgInstallBundleResponse {
                        bundle_id: id.clone(),
                    },
                ),
                events: vec![AppEvent::new("install_bundle", [("bundle_id", id)])],
                result: None,
            })
        }
        TxMsg::DeliverInbound {
            target,
            method,
            args,
        } => {
            let kp = exec::deliver_inbound(k, &target, &method, &args, allowance, height)
                .map_err(|e| e.to_string())?;
            Ok(MsgDone {
                response: crate::msgs::any(
                    "/vatchain.swingset.v1.MsgDeliverInboundResponse",
                    &MsgDeliverInboundResponse {
                        result_kpid: kp.to_string(),
                    },
                ),
                events: vec![AppEvent::new(
                    "deliver_inbound",
                    [
                        ("target", target),
                        ("method", method),
                        ("result_kpid", kp.to_string()),
                    ],
                )],
                result: Some(kp),
            })
        }
        TxMsg::SubmitProposal {
            deposit,
            title,
            summary,
            ..
        } => {
            // Stored as sent; re-decoded (and re-checked) when it executes.
            let raw =
                cosmrs::proto::cosmos::gov::v1::MsgSubmitProposal::decode(any.value.as_slice())
                    .map_err(|e| e.to_string())?;
            let id = k
                .update_host(|h| {
                    let new = gov::NewProposal {
                        proposer: signer,
                        messages: &raw.messages,
                        deposit,
                        title: &title,
                        summary: &summary,
                    };
                    gov::submit(h, &params.gov, now, new)
                })
                .map_err(|e| e.to_string())?;
            Ok(MsgDone {
                response: crate::msgs::any(
                    "/cosmos.gov.v1.MsgSubmitProposalResponse",
                    &MsgSubmitProposalResponse { proposal_id: id },
                ),
                events: vec![AppEvent::new(
                    "submit_proposal",
                    [
                        ("proposal_id", id.to_string()),
                        ("action", MSG_SUBMIT_PROPOSAL.into()),
                    ],
                )],
                result: None,
            })
        }
        TxMsg::Vote {
            proposal_id,
            option,
        } => {
            k.update_host(|h| gov::vote(h, proposal_id, signer, option))
                .map_err(|e| e.to_string())?;
            Ok(MsgDone {
                response: crate::msgs::any("/cosmos.gov.v1.MsgVoteResponse", &MsgVoteResponse {}),
                events: vec![AppEvent::new(
                    "proposal_vote",
                    [
                        ("proposal_id", proposal_id.to_string()),
                        ("voter", signer.to_string()),
                        ("option", option.as_str_name().to_string()),
                        ("action", MSG_VOTE.into()),
                    ],
                )],
                result: None,
            })
        }
        TxMsg::Deposit {
            proposal_id,
            amount,
        } => {
            k.update_host(|h| gov::deposit(h, &params.gov, now, proposal_id, signer, amount))
                .map_err(|e| e.to_string())?;
            Ok(MsgDone {
                response: crate::msgs::any(
                    "/cosmos.gov.v1.MsgDepositResponse",
                    &MsgDepositResponse {},
                ),
                events: vec![AppEvent::new(
                    "proposal_deposit",
                    [
                        ("proposal_id", proposal_id.to_string()),
                        ("amount", amount.to_string()),
                        ("action", MSG_DEPOSIT.into()),
                    ],
                )],
                result: None,
            })
        }
    }
}

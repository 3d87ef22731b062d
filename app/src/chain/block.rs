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
use vatchain_bridge::{chain_storage, inbound};
use vatchain_kernel::store::Hash32;
use vatchain_kernel::{KRef, Kernel, RunBudget};
use vatchain_proto::swingset::v1::{MsgDeliverInboundResponse, MsgInstallBundleResponse};

use crate::chain::genesis::AppState;
use crate::host::events::AppEvent;
use crate::host::params::{parse_amount, Params};
use crate::modules::auth::verify_tx;
use crate::modules::upgrade::{self as upgrade_plan, AtHeight};
use crate::msgs::{decode_tx_msgs, TxMsg, MSG_DEPOSIT, MSG_SUBMIT_PROPOSAL, MSG_VOTE};
use crate::{
    host, host::codes, modules::auth::accounts, modules::gov, modules::swingset::exec,
    modules::swingset::results,
};

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
        host::get(self.kernel.store(), "app/params").unwrap_or_default()
    }

    /// Applies genesis: parameters, accounts, validators' power, the vat-admin and
    /// chainStorage vats, and the genesis vats (their `startVat` runs in block 1).
    pub fn init_chain(
        &mut self,
        chain_id: &str,
        initial_height: u64,
        app_state: &[u8],
    ) -> Result<(), String> {
        if host::get::<String>(self.kernel.store(), "app/chainID").is_some() {
            return Err("InitChain on a chain that is already initialized".into());
        }
        if chain_id.is_empty() {
            return Err("the chain id is empty".into());
        }
        let state = AppState::parse(app_state)?;
        state.params.validate()?;
        let k = &mut self.kernel;
        let store = k.store_mut();
        host::put(store, "app/chainID", &chain_id);
        host::put(store, "app/initialHeight", &initial_height.max(1));
        host::put(store, "app/params", &state.params);
        for a in &state.accounts {
            crate::modules::auth::check_address(&a.address)
                .map_err(|e| format!("genesis account: {e}"))?;
            if accounts::get(store, &a.address).is_some() {
                return Err(format!("genesis account {} is listed twice", a.address));
            }
            let balance =
                parse_amount(&a.balance).map_err(|e| format!("account {}: {e}", a.address))?;
            accounts::create(store, &a.address, balance);
        }
        for v in &state.validators {
            crate::modules::auth::check_address(&v.address)
                .map_err(|e| format!("genesis validator: {e}"))?;
            if v.power == 0 {
                return Err(format!("validator {} has no power", v.address));
            }
            if accounts::get(store, &v.address).is_none() {
                accounts::create(store, &v.address, 0);
            }
            host::put(store, &format!("val/{}", v.address), &v.power);
        }
        store.commit_crank();
        k.set_delivery_limit(state.params.delivery_computrons)
            .map_err(|e| e.to_string())?;
        k.install_vat_admin().map_err(|e| e.to_string())?;
        exec::install_chain_storage(k)?;
        for v in &state.vats {
            let bytes = serde_json::to_vec(&v.bundle).map_err(|e| e.to_string())?;
            let id = k
                .install_bundle(&bytes)
                .map_err(|e| format!("genesis vat {}: {e}", v.name))?;
            exec::create_vat(k, &v.name, &id, &v.parameters)
                .map_err(|e| format!("genesis vat {}: {e}", v.name))?;
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
        let last = self.kernel.store().committed().height;
        let expected = if last == 0 {
            host::get(self.kernel.store(), "app/initialHeight").unwrap_or(1)
        } else {
            last + 1
        };
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
        let chain_id: String = host::get(self.kernel.store(), "app/chainID").unwrap_or_default();
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
        events.extend(gov::end_block(
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
            app_hash: self.kernel.store().pending_app_hash(),
            cranks: run.cranks,
            computrons: run.computrons,
        }
    }

    /// Commits the finalized block; returns its height and the accounts whose sequence it
    /// moved.
    pub fn commit(&mut self) -> (u64, Vec<String>) {
        let height = self
            .pending
            .take()
            .expect("Commit without a finalized block: the consensus engine broke the ABCI order");
        // A failed batch write leaves memory ahead of disk: stop, and let CometBFT replay
        // the block after a restart.
        self.kernel
            .commit_block(height)
            .expect("writing the block to the DB failed");
        (
            height,
            std::mem::take(&mut self.signers).into_iter().collect(),
        )
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
        let store = self.kernel.store();
        let verified = match verify_tx(tx, chain_id, height, |a| {
            accounts::get(store, a).map(|a| a.auth_info())
        }) {
            Ok(v) => v,
            Err(e) => return (TxResult::fail(e.code(), e.to_string()), vec![]),
        };
        let signer = verified.signer.clone();
        // Decoding comes first: as in Cosmos (ValidateBasic before the ante handler), a tx
        // whose messages do not check out leaves the sequence alone.
        let msgs = match decode_tx_msgs(&verified.messages, &signer, params) {
            Ok(m) => m,
            Err(e) => return (TxResult::fail(codes::INVALID_MSG, e), vec![]),
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
        let store = self.kernel.store_mut();
        if let Some(mut a) = accounts::get(store, &signer) {
            a.sequence += 1;
            accounts::put(store, &a);
            self.signers.insert(signer.clone());
        }
        store.commit_crank();
        let tx_event = AppEvent::new(
            "tx",
            [("acc_seq", format!("{signer}/{}", verified.sequence))],
        );
        // The messages are all or nothing. No vat code runs while they execute (sends are
        // only queued), so undoing the store is enough: the workers stay.
        let Some(savepoint) = self.kernel.block_savepoint() else {
            // Only a bug leaves a crank open here; refuse the tx rather than half-apply it.
            self.kernel.store_mut().abort_crank();
            return (
                TxResult::fail(
                    codes::EXECUTION_FAILED,
                    "internal: a crank was left open".into(),
                ),
                vec![],
            );
        };
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
            let done = self.execute_msg(m, any, &env);
            // A message must leave no crank open, whatever it did.
            self.kernel.store_mut().commit_crank();
            match done {
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
                    self.kernel.store_mut().rollback_block(savepoint);
                    let mut r =
                        TxResult::fail(codes::EXECUTION_FAILED, format!("message {i}: {why}"));
                    r.events = vec![tx_event];
                    (r.gas_wanted, r.gas_used) = (gas.limit, gas.used);
                    return (r, vec![]);
                }
            }
        }
        self.kernel.release_block(savepoint);
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

    fn execute_msg(&mut self, m: TxMsg, any: &Any, env: &MsgEnv<'_>) -> Result<MsgDone, String> {
        let MsgEnv {
            signer,
            params,
            now,
            height,
            allowance,
        } = *env;
        let k = &mut self.kernel;
        match m {
            TxMsg::InstallBundle { bundle } => {
                let id = k.install_bundle(&bundle).map_err(|e| e.to_string())?;
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
                let kref = exec::resolve_target(k, &target)?;
                let kp = inbound::send(k, kref, &method, &args, allowance)?;
                let store = k.store_mut();
                results::track(store, kp, height);
                store.commit_crank();
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
                let store = k.store_mut();
                let id = gov::submit(
                    store,
                    &params.gov,
                    now,
                    gov::NewProposal {
                        proposer: signer,
                        messages: &raw.messages,
                        deposit,
                        title: &title,
                        summary: &summary,
                    },
                )?;
                store.commit_crank();
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
                let store = k.store_mut();
                gov::vote(store, proposal_id, signer, option)?;
                store.commit_crank();
                Ok(MsgDone {
                    response: crate::msgs::any(
                        "/cosmos.gov.v1.MsgVoteResponse",
                        &MsgVoteResponse {},
                    ),
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
                let store = k.store_mut();
                gov::deposit(store, &params.gov, now, proposal_id, signer, amount)?;
                store.commit_crank();
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

    /// One `published` event per change vats made to chainStorage since the last block.
    fn published_changes(&mut self) -> Vec<AppEvent> {
        let k = &mut self.kernel;
        let seen: u64 = host::get(k.store(), "pub-seen").unwrap_or(0);
        let last = chain_storage::change_count(k);
        if last == seen {
            return Vec::new();
        }
        let events = chain_storage::changes_since(k, seen, last)
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
            .collect();
        host::put(k.store_mut(), "pub-seen", &last);
        k.store_mut().commit_crank();
        events
    }
}

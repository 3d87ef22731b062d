//! The messages a transaction may carry, decoded from their `Any`s and checked without
//! looking at state (so CheckTx can refuse a bad one before it reaches a block).
//!
//! Top level: `MsgInstallBundle`, `MsgDeliverInbound`, gov v1 `MsgSubmitProposal`,
//! `MsgVote`, `MsgDeposit`. Inside a proposal only: `MsgUpgradeVat`, `MsgCreateVat` and
//! `cosmos.upgrade.v1beta1.MsgSoftwareUpgrade`, each with the gov module as authority.

use std::io::Read;

use cosmrs::proto::cosmos::base::v1beta1::Coin;
use cosmrs::proto::cosmos::gov::v1::{MsgDeposit, MsgSubmitProposal, MsgVote, VoteOption};
use cosmrs::proto::cosmos::upgrade::v1beta1::MsgSoftwareUpgrade;
use cosmrs::Any;
use prost::Message;
use sha2::{Digest, Sha256};
use vatchain_proto::swingset::v1::{
    MsgCreateVat, MsgDeliverInbound, MsgInstallBundle, MsgUpdateParams, MsgUpgradeVat,
};
use vatchain_proto::type_urls;

use crate::host::amount::Amount;
use crate::host::params::Params;
use crate::host::params::ADDRESS_PREFIX;

pub const MSG_SUBMIT_PROPOSAL: &str = "/cosmos.gov.v1.MsgSubmitProposal";
pub const MSG_VOTE: &str = "/cosmos.gov.v1.MsgVote";
pub const MSG_DEPOSIT: &str = "/cosmos.gov.v1.MsgDeposit";
pub const MSG_SOFTWARE_UPGRADE: &str = "/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade";

/// Largest JSON argument / parameter string accepted in a message.
pub const MAX_JSON_BYTES: usize = 64 << 10;

/// Why a message does not decode or does not check out (a tx fault, refused with
/// `codes::INVALID_MSG` at CheckTx and again in the block).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MsgError {
    #[error("the tx carries {carried} messages; at most {max} are allowed")]
    TooMany { carried: usize, max: u64 },
    #[error("message {index}: {source}")]
    InTx { index: usize, source: Box<MsgError> },
    #[error("proposal message {index}: {source}")]
    InProposal { index: usize, source: Box<MsgError> },
    #[error("cannot decode {type_url}: {why}")]
    Decode { type_url: String, why: String },
    #[error("{field} {value:?} is not the signer {signer}")]
    NotSigner {
        field: &'static str,
        value: String,
        signer: String,
    },
    #[error("authority must be the gov module account {gov}, got {got:?}")]
    NotGov { gov: String, got: String },
    #[error("{what} is over {MAX_JSON_BYTES} bytes")]
    JsonTooLarge { what: &'static str },
    #[error("{what} is not JSON: {why}")]
    NotJson { what: &'static str, why: String },
    #[error("{0}")]
    Coins(String),
    #[error("{0}")]
    Bundle(String),
    #[error("{0}")]
    Arguments(String),
    #[error("vote option {0} is not yes, abstain, no or no-with-veto")]
    VoteOption(i32),
    #[error("{0} may only be executed by governance: put it in a MsgSubmitProposal")]
    GovernanceOnly(String),
    #[error("unknown message type {0:?}")]
    Unknown(String),
    #[error("message type {0:?} cannot be carried by a proposal")]
    NotInProposal(String),
    /// A field the message type requires is missing or out of range.
    #[error("{0}")]
    Invalid(&'static str),
    #[error("bad parameter change: {0}")]
    Params(String),
}

/// A top-level message, decoded and checked.
#[derive(Clone, Debug, PartialEq)]
pub enum TxMsg {
    InstallBundle {
        /// The uncompressed bundle bytes.
        bundle: Vec<u8>,
    },
    DeliverInbound {
        target: String,
        method: String,
        args: serde_json::Value,
    },
    SubmitProposal {
        messages: Vec<GovMsg>,
        deposit: Amount,
        title: String,
        summary: String,
    },
    Vote {
        proposal_id: u64,
        option: VoteOption,
    },
    Deposit {
        proposal_id: u64,
        amount: Amount,
    },
}

/// What a tx takes of a block's limits, read in one decode without checking anything else:
/// what block building (PrepareProposal, ProcessProposal) and FinalizeBlock count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxShape {
    /// Messages it carries (an undecodable tx counts as one: it still takes a place in the
    /// block, to fail there).
    pub msgs: u64,
    /// The gas it declares (0 for a tx that does not decode: it takes no gas from the
    /// block, and fails there).
    pub gas: u64,
}

impl TxShape {
    pub fn of(tx: &[u8]) -> TxShape {
        use cosmrs::proto::cosmos::tx::v1beta1::{AuthInfo, TxBody, TxRaw};
        let Ok(raw) = TxRaw::decode(tx) else {
            return TxShape { msgs: 1, gas: 0 };
        };
        let msgs = TxBody::decode(raw.body_bytes.as_slice())
            .map_or(1, |body| (body.messages.len() as u64).max(1));
        let gas = AuthInfo::decode(raw.auth_info_bytes.as_slice())
            .ok()
            .and_then(|a| a.fee)
            .map_or(0, |f| f.gas_limit);
        TxShape { msgs, gas }
    }
}

/// How many of `msgs` ask for a delivery (they share the tx's gas allowance).
pub fn deliveries(msgs: &[TxMsg]) -> u64 {
    msgs.iter()
        .filter(|m| matches!(m, TxMsg::DeliverInbound { .. }))
        .count() as u64
}

/// Decodes and checks a tx's messages, all or none: a tx over `max_msgs_per_tx` messages,
/// or with one that does not check out, is refused whole (the reason names the message).
pub fn decode_tx_msgs(
    messages: &[Any],
    signer: &str,
    params: &Params,
) -> Result<Vec<TxMsg>, MsgError> {
    if messages.len() as u64 > params.max_msgs_per_tx {
        return Err(MsgError::TooMany {
            carried: messages.len(),
            max: params.max_msgs_per_tx,
        });
    }
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            decode_tx_msg(m, signer, params).map_err(|e| MsgError::InTx {
                index: i,
                source: Box::new(e),
            })
        })
        .collect()
}

/// A message only governance may execute.
#[derive(Clone, Debug, PartialEq)]
pub enum GovMsg {
    UpgradeVat {
        vat_name: String,
        bundle_id: String,
        vat_parameters: serde_json::Value,
        upgrade_message: String,
    },
    CreateVat {
        name: String,
        bundle_id: String,
        vat_parameters: serde_json::Value,
    },
    SoftwareUpgrade {
        name: String,
        height: u64,
        info: String,
    },
    /// Parameters to change (a JSON object shaped as genesis `app_state.params`).
    UpdateParams { changes: serde_json::Value },
}

impl GovMsg {
    /// The message as clients read it in a proposal query.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            GovMsg::UpgradeVat {
                vat_name,
                bundle_id,
                vat_parameters,
                upgrade_message,
            } => json!({"upgradeVat": {"vatName": vat_name, "bundleID": bundle_id,
                "vatParameters": vat_parameters, "upgradeMessage": upgrade_message}}),
            GovMsg::CreateVat {
                name,
                bundle_id,
                vat_parameters,
            } => {
                json!({"createVat": {"name": name, "bundleID": bundle_id, "vatParameters": vat_parameters}})
            }
            GovMsg::SoftwareUpgrade { name, height, info } => {
                json!({"softwareUpgrade": {"name": name, "height": height, "info": info}})
            }
            GovMsg::UpdateParams { changes } => json!({"updateParams": changes}),
        }
    }
}

/// The gov module account (Cosmos: the first 20 bytes of sha256("gov")), the authority of
/// governance-only messages.
pub fn gov_module_address() -> String {
    let hash = Sha256::digest(b"gov");
    cosmrs::AccountId::new(ADDRESS_PREFIX, &hash[..20])
        .map(|a| a.to_string())
        .unwrap_or_default()
}

fn decode<M: Message + Default>(any: &Any) -> Result<M, MsgError> {
    M::decode(any.value.as_slice()).map_err(|e| MsgError::Decode {
        type_url: any.type_url.clone(),
        why: e.to_string(),
    })
}

fn must_be_signer(field: &'static str, value: &str, signer: &str) -> Result<(), MsgError> {
    if value == signer {
        Ok(())
    } else {
        Err(MsgError::NotSigner {
            field,
            value: value.to_string(),
            signer: signer.to_string(),
        })
    }
}

fn json_data(
    what: &'static str,
    s: &str,
    default: serde_json::Value,
) -> Result<serde_json::Value, MsgError> {
    if s.len() > MAX_JSON_BYTES {
        return Err(MsgError::JsonTooLarge { what });
    }
    if s.trim().is_empty() {
        return Ok(default);
    }
    serde_json::from_str(s).map_err(|e| MsgError::NotJson {
        what,
        why: e.to_string(),
    })
}

/// The total of `coins`, all of which must be in `denom`.
fn coins_amount(coins: &[Coin], denom: &str) -> Result<Amount, MsgError> {
    let mut total: u128 = 0;
    for c in coins {
        if c.denom != denom {
            return Err(MsgError::Coins(format!(
                "coins must be in {denom}, got {:?}",
                c.denom
            )));
        }
        let a = Amount::parse(&c.amount).map_err(MsgError::Coins)?;
        total = total
            .checked_add(a.0)
            .ok_or_else(|| MsgError::Coins("amount overflows".into()))?;
    }
    Ok(Amount(total))
}

/// Decompresses a gzipped bundle, refusing to produce more than `limit` bytes.
fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, MsgError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| MsgError::Bundle(format!("bundle is not valid gzip: {e}")))?;
    if out.len() as u64 > limit {
        return Err(MsgError::Bundle(format!(
            "bundle is over the {limit}-byte limit when uncompressed"
        )));
    }
    Ok(out)
}

/// Decodes and checks a top-level message signed by `signer`.
pub fn decode_tx_msg(any: &Any, signer: &str, params: &Params) -> Result<TxMsg, MsgError> {
    match any.type_url.as_str() {
        type_urls::MSG_INSTALL_BUNDLE => {
            let m: MsgInstallBundle = decode(any)?;
            must_be_signer("sender", &m.sender, signer)?;
            let limit = params.max_bundle_bytes;
            let bundle = if m.gzipped {
                gunzip(&m.bundle, limit)?
            } else {
                m.bundle
            };
            if bundle.len() as u64 > limit {
                return Err(MsgError::Bundle(format!(
                    "bundle of {} bytes is over the {limit}-byte limit",
                    bundle.len()
                )));
            }
            if m.uncompressed_size != 0 && m.uncompressed_size != bundle.len() as u64 {
                return Err(MsgError::Bundle(format!(
                    "uncompressed_size says {} bytes, the bundle has {}",
                    m.uncompressed_size,
                    bundle.len()
                )));
            }
            // Parsing now gives the sender the bundle's own error (syntax, missing entry).
            vatchain_kernel::worker::parse_bundle(&bundle)
                .map_err(|e| MsgError::Bundle(format!("bad bundle: {e}")))?;
            Ok(TxMsg::InstallBundle { bundle })
        }
        type_urls::MSG_DELIVER_INBOUND => {
            let m: MsgDeliverInbound = decode(any)?;
            must_be_signer("sender", &m.sender, signer)?;
            if m.target.is_empty() {
                return Err(MsgError::Invalid("target is empty"));
            }
            let args = json_data("args_json", &m.args_json, serde_json::json!([]))?;
            // The bridge's own checks (method name, array of arguments).
            vatchain_bridge::inbound::methargs(&m.method, &args)
                .map_err(|e| MsgError::Arguments(e.to_string()))?;
            Ok(TxMsg::DeliverInbound {
                target: m.target,
                method: m.method,
                args,
            })
        }
        MSG_SUBMIT_PROPOSAL => {
            let m: MsgSubmitProposal = decode(any)?;
            must_be_signer("proposer", &m.proposer, signer)?;
            if m.messages.is_empty() {
                return Err(MsgError::Invalid(
                    "a proposal must carry at least one message",
                ));
            }
            if m.title.len() > 140 || m.summary.len() > 10_000 {
                return Err(MsgError::Invalid(
                    "proposal title (140) or summary (10000) is too long",
                ));
            }
            let messages = m
                .messages
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    decode_gov_msg(a).map_err(|e| MsgError::InProposal {
                        index: i,
                        source: Box::new(e),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(TxMsg::SubmitProposal {
                messages,
                deposit: coins_amount(&m.initial_deposit, &params.denom)?,
                title: m.title,
                summary: m.summary,
            })
        }
        MSG_VOTE => {
            let m: MsgVote = decode(any)?;
            must_be_signer("voter", &m.voter, signer)?;
            let option = VoteOption::try_from(m.option)
                .ok()
                .filter(|o| *o != VoteOption::Unspecified)
                .ok_or(MsgError::VoteOption(m.option))?;
            Ok(TxMsg::Vote {
                proposal_id: m.proposal_id,
                option,
            })
        }
        MSG_DEPOSIT => {
            let m: MsgDeposit = decode(any)?;
            must_be_signer("depositor", &m.depositor, signer)?;
            Ok(TxMsg::Deposit {
                proposal_id: m.proposal_id,
                amount: coins_amount(&m.amount, &params.denom)?,
            })
        }
        type_urls::MSG_UPGRADE_VAT
        | type_urls::MSG_CREATE_VAT
        | type_urls::MSG_UPDATE_PARAMS
        | MSG_SOFTWARE_UPGRADE => Err(MsgError::GovernanceOnly(any.type_url.clone())),
        other => Err(MsgError::Unknown(other.to_string())),
    }
}

fn must_be_gov(authority: &str) -> Result<(), MsgError> {
    let gov = gov_module_address();
    if authority == gov {
        Ok(())
    } else {
        Err(MsgError::NotGov {
            gov,
            got: authority.to_string(),
        })
    }
}

/// Decodes and checks a message carried by a proposal.
pub fn decode_gov_msg(any: &Any) -> Result<GovMsg, MsgError> {
    match any.type_url.as_str() {
        type_urls::MSG_UPGRADE_VAT => {
            let m: MsgUpgradeVat = decode(any)?;
            must_be_gov(&m.authority)?;
            if m.vat_name.is_empty() || m.bundle_id.is_empty() {
                return Err(MsgError::Invalid("vat_name and bundle_id are required"));
            }
            Ok(GovMsg::UpgradeVat {
                vat_parameters: json_data(
                    "vat_parameters_json",
                    &m.vat_parameters_json,
                    serde_json::Value::Null,
                )?,
                vat_name: m.vat_name,
                bundle_id: m.bundle_id,
                upgrade_message: m.upgrade_message,
            })
        }
        type_urls::MSG_CREATE_VAT => {
            let m: MsgCreateVat = decode(any)?;
            must_be_gov(&m.authority)?;
            if m.name.is_empty() || m.name.len() > 64 || m.bundle_id.is_empty() {
                return Err(MsgError::Invalid(
                    "name (1 to 64 characters) and bundle_id are required",
                ));
            }
            Ok(GovMsg::CreateVat {
                vat_parameters: json_data(
                    "vat_parameters_json",
                    &m.vat_parameters_json,
                    serde_json::Value::Null,
                )?,
                name: m.name,
                bundle_id: m.bundle_id,
            })
        }
        type_urls::MSG_UPDATE_PARAMS => {
            let m: MsgUpdateParams = decode(any)?;
            must_be_gov(&m.authority)?;
            let changes = json_data("params_json", &m.params_json, serde_json::Value::Null)?;
            if changes.as_object().is_none_or(|o| o.is_empty()) {
                return Err(MsgError::Invalid(
                    "params_json must be a JSON object naming at least one parameter",
                ));
            }
            // Checked against the defaults now (names, types, ranges), and against the
            // chain's parameters again when the proposal passes.
            crate::host::params::Params::default()
                .with_changes(&changes)
                .map_err(MsgError::Params)?;
            Ok(GovMsg::UpdateParams { changes })
        }
        MSG_SOFTWARE_UPGRADE => {
            let m: MsgSoftwareUpgrade = decode(any)?;
            must_be_gov(&m.authority)?;
            let plan = m
                .plan
                .ok_or(MsgError::Invalid("MsgSoftwareUpgrade without a plan"))?;
            if plan.name.is_empty() {
                return Err(MsgError::Invalid("the upgrade plan needs a name"));
            }
            // Cosmos SDK refuses time-based plans too (the field is deprecated).
            #[allow(deprecated)]
            let timed = plan.time.is_some();
            if timed {
                return Err(MsgError::Invalid(
                    "upgrade plans are scheduled by height, not time",
                ));
            }
            let height =
                u64::try_from(plan.height)
                    .ok()
                    .filter(|h| *h > 0)
                    .ok_or(MsgError::Invalid(
                        "the upgrade plan needs a positive height",
                    ))?;
            Ok(GovMsg::SoftwareUpgrade {
                name: plan.name,
                height,
                info: plan.info,
            })
        }
        other => Err(MsgError::NotInProposal(other.to_string())),
    }
}

/// Packs a protobuf message as an `Any` with its type URL.
pub fn any<M: Message>(type_url: &str, msg: &M) -> Any {
    Any {
        type_url: type_url.to_string(),
        value: msg.encode_to_vec(),
    }
}

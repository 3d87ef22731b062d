//! Building signed transactions: what a wallet does (SIGN_MODE_DIRECT, one secp256k1
//! signer). The CLI's `vatd tx …` and the tests use it; the node only verifies
//! ([`crate::modules::auth`]).

use cosmrs::proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmrs::proto::cosmos::tx::v1beta1::{
    mode_info, AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw,
};
use cosmrs::Any;
use k256::ecdsa::signature::Signer;
use k256::ecdsa::{Signature, SigningKey};
use prost::Message;

/// Who signs and where: the signer's key, its account number and the sequence to use.
pub struct SignerData<'a> {
    pub key: &'a SigningKey,
    pub chain_id: &'a str,
    pub account_number: u64,
    pub sequence: u64,
}

/// Computrons `sign_tx` reserves for each delivery a tx asks for (a twelfth of the default
/// per-delivery limit; most methods need a few, and a tx of 100 deliveries still
/// leaves room for 40 such txs in a block's gas). `sign_tx_with_gas` declares more.
pub const AUTO_DELIVERY_COMPUTRONS: u64 = 200;

/// Encodes `messages` into a `TxRaw` signed by `signer` (the bytes to broadcast), declaring
/// the gas [`crate::host::gas::estimate`] gives for them.
pub fn sign_tx(signer: &SignerData<'_>, messages: Vec<Any>, memo: &str) -> Vec<u8> {
    sign_tx_with_gas(signer, messages, memo, None)
}

/// [`sign_tx`] declaring `gas` (`None`: the estimate). The fee has no amount: this chain
/// charges none; the gas limit bounds what the tx may cost (see [`crate::host::gas`]).
pub fn sign_tx_with_gas(
    signer: &SignerData<'_>,
    messages: Vec<Any>,
    memo: &str,
    gas: Option<u64>,
) -> Vec<u8> {
    let deliveries = messages
        .iter()
        .filter(|m| m.type_url == vatchain_proto::type_urls::MSG_DELIVER_INBOUND)
        .count() as u64;
    let n = messages.len() as u64;
    let body = TxBody {
        messages,
        memo: memo.to_string(),
        ..Default::default()
    };
    let gas_limit = gas.unwrap_or_else(|| {
        crate::host::gas::estimate(body.encoded_len(), n, deliveries, AUTO_DELIVERY_COMPUTRONS)
    });
    let pk = cosmrs::crypto::PublicKey::from(*signer.key.verifying_key());
    let auth = AuthInfo {
        signer_infos: vec![SignerInfo {
            // A secp256k1 key always packs into an Any.
            public_key: pk.to_any().ok(),
            mode_info: Some(ModeInfo {
                sum: Some(mode_info::Sum::Single(mode_info::Single {
                    mode: SignMode::Direct as i32,
                })),
            }),
            sequence: signer.sequence,
        }],
        fee: Some(Fee {
            gas_limit,
            ..Default::default()
        }),
        ..Default::default()
    };
    let (body_bytes, auth_info_bytes) = (body.encode_to_vec(), auth.encode_to_vec());
    let doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: signer.chain_id.to_string(),
        account_number: signer.account_number,
    };
    // k256 signs deterministically (RFC 6979) and always produces low-S signatures.
    let sig: Signature = signer.key.sign(&doc.encode_to_vec());
    TxRaw {
        body_bytes,
        auth_info_bytes,
        signatures: vec![sig.to_bytes().to_vec()],
    }
    .encode_to_vec()
}

pub use crate::msgs::any;

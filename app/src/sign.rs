//! Building signed transactions: what a wallet does (SIGN_MODE_DIRECT, one secp256k1
//! signer). The CLI's `vatd tx …` and the tests use it; the node only verifies
//! ([`crate::auth`]).

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

/// Encodes `messages` into a `TxRaw` signed by `signer` (the bytes to broadcast).
/// The fee is empty: this chain charges none (see docs/ARCHITECTURE.md).
pub fn sign_tx(signer: &SignerData<'_>, messages: Vec<Any>, memo: &str) -> Vec<u8> {
    let body = TxBody {
        messages,
        memo: memo.to_string(),
        ..Default::default()
    };
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
            gas_limit: 200_000,
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

/// Packs a protobuf message as an `Any` with its type URL.
pub fn any<M: Message>(type_url: &str, msg: &M) -> Any {
    Any {
        type_url: type_url.to_string(),
        value: msg.encode_to_vec(),
    }
}

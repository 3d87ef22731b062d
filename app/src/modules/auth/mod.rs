//! Transaction authentication, as a Cosmos SDK node does it for SIGN_MODE_DIRECT: decode
//! `TxRaw`, find the single secp256k1 signer, rebuild the sign bytes from the *raw* body and
//! auth-info bytes (re-encoding decoded messages is not guaranteed to give the same bytes),
//! and check the signature, the account number and the sequence.
//!
//! Pure functions over an account lookup: CheckTx and FinalizeBlock both use them, each
//! with its own view of the accounts (last committed state plus pending sequences, or the
//! block being built).

pub mod accounts;
pub mod keys;

use cosmrs::proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmrs::proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, SignDoc, TxBody, TxRaw};
use cosmrs::Any;
use k256::ecdsa::signature::Verifier;
use k256::ecdsa::{Signature, VerifyingKey};
use prost::Message;

pub use crate::host::params::{ADDRESS_PREFIX, MAX_TX_BYTES};

/// An account as the auth check needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    pub account_number: u64,
    /// The sequence the next transaction must carry.
    pub sequence: u64,
}

/// A transaction whose signature, account and sequence checked out.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedTx {
    /// Bech32 address of the signer (`vat1…`).
    pub signer: String,
    pub sequence: u64,
    pub messages: Vec<Any>,
    pub memo: String,
    /// The gas the tx declares (`AuthInfo.fee.gas_limit`; 0 without a fee).
    pub gas_limit: u64,
}

/// Why a transaction was refused. Each variant is a clear answer for the sender.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("transaction of {0} bytes is over the {MAX_TX_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("cannot decode the transaction: {0}")]
    Decode(String),
    #[error("the transaction must have exactly one signer (it has {0})")]
    SignerCount(usize),
    #[error("the transaction carries {0} signatures for one signer")]
    SignatureCount(usize),
    #[error("only SIGN_MODE_DIRECT single signatures are supported")]
    SignMode,
    #[error("the signer's public key is missing or not secp256k1: {0}")]
    PublicKey(String),
    #[error("account {0} does not exist")]
    UnknownAccount(String),
    #[error("account sequence mismatch: expected {expected}, got {got}")]
    Sequence { expected: u64, got: u64 },
    #[error("signature verification failed (check the chain id, account number and sequence)")]
    Signature,
    #[error("the transaction has no messages")]
    Empty,
    #[error("memo of {0} characters is over the {MAX_MEMO_CHARS}-character limit")]
    MemoTooLarge(usize),
    #[error("tx timed out: its timeout height {timeout} is below block height {height}")]
    TimedOut { timeout: u64, height: u64 },
    #[error("unknown extension options: {0}")]
    ExtensionOptions(String),
}

impl AuthError {
    /// The ABCI code (Cosmos's) of this failure.
    pub fn code(&self) -> u32 {
        use crate::host::codes::*;
        match self {
            AuthError::TooLarge(_) => TX_TOO_LARGE,
            AuthError::Decode(_) | AuthError::Empty => TX_DECODE,
            AuthError::SignerCount(_) | AuthError::SignatureCount(_) => NO_SIGNATURES,
            AuthError::SignMode | AuthError::Signature => UNAUTHORIZED,
            AuthError::PublicKey(_) => INVALID_PUBKEY,
            AuthError::UnknownAccount(_) => UNKNOWN_ADDRESS,
            AuthError::Sequence { .. } => INVALID_SEQUENCE,
            AuthError::MemoTooLarge(_) => MEMO_TOO_LARGE,
            AuthError::TimedOut { .. } => TX_TIMEOUT_HEIGHT,
            AuthError::ExtensionOptions(_) => UNKNOWN_EXTENSION_OPTIONS,
        }
    }
}

/// Longest memo accepted (Cosmos SDK's default `max_memo_characters`).
pub const MAX_MEMO_CHARS: usize = 256;

/// Decodes and authenticates `bytes` for chain `chain_id`, to execute in block `height`;
/// `account` looks an address up.
pub fn verify_tx(
    bytes: &[u8],
    chain_id: &str,
    height: u64,
    account: impl Fn(&str) -> Option<AccountInfo>,
) -> Result<VerifiedTx, AuthError> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(AuthError::TooLarge(bytes.len()));
    }
    let decode = |what: &str, e: prost::DecodeError| AuthError::Decode(format!("{what}: {e}"));
    let raw = TxRaw::decode(bytes).map_err(|e| decode("TxRaw", e))?;
    let auth =
        AuthInfo::decode(raw.auth_info_bytes.as_slice()).map_err(|e| decode("AuthInfo", e))?;
    let body = TxBody::decode(raw.body_bytes.as_slice()).map_err(|e| decode("TxBody", e))?;
    // Cosmos's basic checks: a memo limit, the signer's expiry, and no extension options
    // this chain does not know (non-critical ones may be ignored).
    let memo_chars = body.memo.chars().count();
    if memo_chars > MAX_MEMO_CHARS {
        return Err(AuthError::MemoTooLarge(memo_chars));
    }
    if body.timeout_height != 0 && height > body.timeout_height {
        return Err(AuthError::TimedOut {
            timeout: body.timeout_height,
            height,
        });
    }
    if let Some(ext) = body.extension_options.first() {
        return Err(AuthError::ExtensionOptions(ext.type_url.clone()));
    }
    let [signer_info] = auth.signer_infos.as_slice() else {
        return Err(AuthError::SignerCount(auth.signer_infos.len()));
    };
    let [signature] = raw.signatures.as_slice() else {
        return Err(AuthError::SignatureCount(raw.signatures.len()));
    };
    let direct = matches!(
        signer_info.mode_info.as_ref().and_then(|m| m.sum.as_ref()),
        Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32
    );
    if !direct {
        return Err(AuthError::SignMode);
    }
    let any = signer_info
        .public_key
        .as_ref()
        .ok_or_else(|| AuthError::PublicKey("none given".into()))?;
    let pk = cosmrs::crypto::PublicKey::try_from(any)
        .map_err(|e| AuthError::PublicKey(e.to_string()))?;
    if pk.type_url() != cosmrs::crypto::PublicKey::SECP256K1_TYPE_URL {
        return Err(AuthError::PublicKey(pk.type_url().to_string()));
    }
    let vk = VerifyingKey::from_sec1_bytes(&pk.to_bytes())
        .map_err(|e| AuthError::PublicKey(e.to_string()))?;
    let signer = pk
        .account_id(ADDRESS_PREFIX)
        .map_err(|e| AuthError::PublicKey(e.to_string()))?
        .to_string();
    let acct = account(&signer).ok_or_else(|| AuthError::UnknownAccount(signer.clone()))?;
    if signer_info.sequence != acct.sequence {
        return Err(AuthError::Sequence {
            expected: acct.sequence,
            got: signer_info.sequence,
        });
    }
    let sign_bytes = SignDoc {
        body_bytes: raw.body_bytes.clone(),
        auth_info_bytes: raw.auth_info_bytes.clone(),
        chain_id: chain_id.to_string(),
        account_number: acct.account_number,
    }
    .encode_to_vec();
    let sig = Signature::from_slice(signature).map_err(|_| AuthError::Signature)?;
    // Cosmos accepts only low-S signatures (malleability): a high-S one is refused even
    // though it would verify.
    if sig.normalize_s().is_some() {
        return Err(AuthError::Signature);
    }
    vk.verify(&sign_bytes, &sig)
        .map_err(|_| AuthError::Signature)?;
    if body.messages.is_empty() {
        return Err(AuthError::Empty);
    }
    Ok(VerifiedTx {
        signer,
        sequence: signer_info.sequence,
        messages: body.messages,
        memo: body.memo,
        gas_limit: auth.fee.as_ref().map_or(0, |f| f.gas_limit),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::address::address_of;
    use cosmrs::proto::cosmos::tx::v1beta1::{ModeInfo, SignerInfo};
    use k256::ecdsa::signature::Signer;
    use k256::ecdsa::SigningKey;
    use vatchain_proto::swingset::v1::MsgDeliverInbound;

    const CHAIN: &str = "vatchain-test";

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7u8; 32]).expect("a valid scalar")
    }

    fn msg() -> Any {
        Any {
            type_url: vatchain_proto::type_urls::MSG_DELIVER_INBOUND.into(),
            value: MsgDeliverInbound {
                sender: address_of(key().verifying_key()),
                target: "counter".into(),
                method: "increment".into(),
                args_json: "[]".into(),
            }
            .encode_to_vec(),
        }
    }

    /// A signed tx: `edit` may change the parts before signing.
    fn signed(sequence: u64, account_number: u64, chain: &str) -> (TxRaw, SigningKey) {
        let sk = key();
        let body = TxBody {
            messages: vec![msg()],
            memo: "hi".into(),
            ..Default::default()
        };
        let pk = cosmrs::crypto::PublicKey::from(*sk.verifying_key());
        let auth = AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(pk.to_any().expect("any")),
                mode_info: Some(ModeInfo {
                    sum: Some(mode_info::Sum::Single(mode_info::Single {
                        mode: SignMode::Direct as i32,
                    })),
                }),
                sequence,
            }],
            ..Default::default()
        };
        let (body_bytes, auth_info_bytes) = (body.encode_to_vec(), auth.encode_to_vec());
        let doc = SignDoc {
            body_bytes: body_bytes.clone(),
            auth_info_bytes: auth_info_bytes.clone(),
            chain_id: chain.into(),
            account_number,
        };
        let sig: Signature = sk.sign(&doc.encode_to_vec());
        (
            TxRaw {
                body_bytes,
                auth_info_bytes,
                signatures: vec![sig.to_bytes().to_vec()],
            },
            sk,
        )
    }

    fn accounts(addr: String) -> impl Fn(&str) -> Option<AccountInfo> {
        move |a: &str| {
            (a == addr).then_some(AccountInfo {
                account_number: 3,
                sequence: 5,
            })
        }
    }

    #[test]
    fn a_well_signed_tx_is_accepted() {
        let (tx, sk) = signed(5, 3, CHAIN);
        let addr = address_of(sk.verifying_key());
        assert!(addr.starts_with("vat1"), "{addr}");
        let v = verify_tx(&tx.encode_to_vec(), CHAIN, 1, accounts(addr.clone())).expect("valid");
        assert_eq!((v.signer, v.sequence, v.memo.as_str()), (addr, 5, "hi"));
        assert_eq!(v.messages, vec![msg()]);
    }

    #[test]
    fn every_bad_tx_is_refused_with_its_reason() {
        let addr = address_of(key().verifying_key());
        let check = |tx: &TxRaw, chain: &str| {
            verify_tx(&tx.encode_to_vec(), chain, 1, accounts(addr.clone()))
        };
        // Wrong sequence, account number, chain id.
        let (tx, _) = signed(4, 3, CHAIN);
        assert_eq!(
            check(&tx, CHAIN),
            Err(AuthError::Sequence {
                expected: 5,
                got: 4
            })
        );
        let (tx, _) = signed(5, 9, CHAIN);
        assert_eq!(check(&tx, CHAIN), Err(AuthError::Signature));
        let (tx, _) = signed(5, 3, CHAIN);
        assert_eq!(check(&tx, "other-chain"), Err(AuthError::Signature));
        // A changed body no longer matches the signature.
        let (mut tx, _) = signed(5, 3, CHAIN);
        let mut body = TxBody::decode(tx.body_bytes.as_slice()).expect("body");
        body.memo = "changed".into();
        tx.body_bytes = body.encode_to_vec();
        assert_eq!(check(&tx, CHAIN), Err(AuthError::Signature));
        // The same signature in high-S form verifies mathematically but is refused.
        let (mut tx, _) = signed(5, 3, CHAIN);
        let sig = Signature::from_slice(&tx.signatures[0]).expect("sig");
        let (r, s) = sig.split_scalars();
        let high = Signature::from_scalars(r, -*s).expect("high-S");
        tx.signatures = vec![high.to_bytes().to_vec()];
        assert_eq!(check(&tx, CHAIN), Err(AuthError::Signature));
        // A memo over the limit, an expired timeout height (checked before the signature).
        let (mut tx, _) = signed(5, 3, CHAIN);
        let mut body = TxBody::decode(tx.body_bytes.as_slice()).expect("body");
        body.memo = "m".repeat(MAX_MEMO_CHARS + 1);
        tx.body_bytes = body.encode_to_vec();
        assert_eq!(
            check(&tx, CHAIN),
            Err(AuthError::MemoTooLarge(MAX_MEMO_CHARS + 1))
        );
        body.memo = String::new();
        body.timeout_height = 1;
        tx.body_bytes = body.encode_to_vec();
        assert_eq!(
            verify_tx(&tx.encode_to_vec(), CHAIN, 2, accounts(addr.clone())),
            Err(AuthError::TimedOut {
                timeout: 1,
                height: 2
            })
        );
        // No such account; no signature; garbage.
        let (tx, _) = signed(5, 3, CHAIN);
        assert!(matches!(
            verify_tx(&tx.encode_to_vec(), CHAIN, 1, |_| None),
            Err(AuthError::UnknownAccount(_))
        ));
        let (mut tx, _) = signed(5, 3, CHAIN);
        tx.signatures.clear();
        assert_eq!(check(&tx, CHAIN), Err(AuthError::SignatureCount(0)));
        assert!(matches!(
            check(
                &TxRaw {
                    body_bytes: vec![0xff],
                    ..Default::default()
                },
                CHAIN
            ),
            Err(AuthError::Decode(_))
        ));
        assert!(matches!(
            verify_tx(&[0u8; MAX_TX_BYTES + 1], CHAIN, 1, |_| None),
            Err(AuthError::TooLarge(_))
        ));
    }
}

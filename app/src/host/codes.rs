//! ABCI result codes, numbered as Cosmos SDK's root codespace (`sdk`) numbers them, so
//! clients that know Cosmos errors read ours the same way.

pub const OK: u32 = 0;
/// ErrTxDecode.
pub const TX_DECODE: u32 = 2;
/// ErrWrongSequence ("account sequence mismatch", what the ante handler returns).
pub const INVALID_SEQUENCE: u32 = 32;
/// ErrUnauthorized (bad signature).
pub const UNAUTHORIZED: u32 = 4;
/// ErrInsufficientFunds.
pub const INSUFFICIENT_FUNDS: u32 = 5;
/// ErrUnknownAddress.
pub const UNKNOWN_ADDRESS: u32 = 9;
/// ErrInvalidPubKey.
pub const INVALID_PUBKEY: u32 = 8;
/// ErrTxTooLarge.
pub const TX_TOO_LARGE: u32 = 21;
/// ErrInvalidRequest: a message that does not decode or does not check out, or a query
/// that cannot be read.
pub const INVALID_MSG: u32 = 18;
pub const INVALID_REQUEST: u32 = 18;
/// ErrKeyNotFound: what Cosmos's auth query answers for an unknown account (cosmjs reads
/// it as "no such account").
pub const KEY_NOT_FOUND: u32 = 22;
/// ErrNotFound: a query for something that does not exist.
pub const NOT_FOUND: u32 = 38;
/// ErrNoSignatures / wrong signer count.
pub const NO_SIGNATURES: u32 = 15;
/// ErrOutOfGas: the declared gas does not cover what the tx costs.
pub const OUT_OF_GAS: u32 = 11;
/// ErrInvalidGasLimit: more gas than a block may hold.
pub const INVALID_GAS_LIMIT: u32 = 41;
/// ErrMemoTooLarge.
pub const MEMO_TOO_LARGE: u32 = 12;
/// ErrTxTimeoutHeight.
pub const TX_TIMEOUT_HEIGHT: u32 = 30;
/// ErrUnknownExtensionOptions.
pub const UNKNOWN_EXTENSION_OPTIONS: u32 = 31;
/// A message that decoded but failed when executed (its effects are undone). Not an SDK
/// code: it is reported in codespace [`CODESPACE_VATCHAIN`].
pub const EXECUTION_FAILED: u32 = 111;

/// The codespace of every code here but [`EXECUTION_FAILED`].
pub const CODESPACE_SDK: &str = "sdk";
pub const CODESPACE_VATCHAIN: &str = "vatchain";

/// The codespace a result code belongs to.
pub fn codespace(code: u32) -> &'static str {
    match code {
        OK => "",
        EXECUTION_FAILED => CODESPACE_VATCHAIN,
        _ => CODESPACE_SDK,
    }
}

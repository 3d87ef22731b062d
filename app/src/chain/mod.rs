//! The deterministic state machine: genesis, `FinalizeBlock` and `Commit` in one stated
//! order (`block.rs`), CheckTx's view (`check.rs`), queries (`query.rs`) and the genesis
//! `app_state` (`genesis.rs`).
//!
//! Owns: the order of a block's steps and the tx pipeline. Must not know: ABCI framing,
//! threads or files (that is `node`), how clients sign (that is `client`).

pub mod block;
pub mod check;
pub mod genesis;
pub mod keys;
pub mod proposals;
pub mod query;

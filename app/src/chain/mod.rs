//! The deterministic state machine: genesis, `FinalizeBlock` and `Commit` in one stated
//! order (`block.rs`), end-of-block governance (`proposals.rs`), a block's limits for
//! block building (`block_limits.rs`), CheckTx's view (`check.rs`), queries (`query.rs`)
//! and the genesis `app_state` (`genesis.rs`).
//!
//! Owns: the order of a block's steps and the tx pipeline. Must not know: ABCI framing,
//! threads or files (that is `node`), how clients sign (that is `client`). It is the
//! node's one way down: what the node needs of the modules (the binary's upgrade handlers
//! and the check that a DB may be opened) is re-exported here.

pub mod block;
pub mod block_limits;
pub mod check;
pub mod genesis;
pub mod keys;
pub mod proposals;
pub mod query;

pub use crate::modules::upgrade::{check_pending_migration, Handler, HANDLERS};

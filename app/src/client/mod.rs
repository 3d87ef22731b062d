//! What a wallet and an operator use, never on the state machine's path: signing txs
//! (`sign.rs`), composing messages (`compose.rs`) and the `vatd` command line (`cli/`,
//! with its RPC client).

pub mod cli;
pub mod compose;
pub mod sign;

//! `vatd`: the Vatchain node. An ABCI application for CometBFT v0.38 whose state machine is
//! the kernel.
//!
//! The crate is built in floors; each may use the ones below it, never one above
//! (`scripts/module_cycles.py` checks that no cycle exists):
//!
//! - [`node`]: the process face — the ABCI application and socket server, the owner
//!   thread (it alone holds the kernel, so the store and every vat worker), the home
//!   layout. Knows no messages or modules.
//! - `chain`: the deterministic state machine (genesis, blocks, the tx pipeline, CheckTx's
//!   view, queries).
//! - `modules`: `auth`, `gov`, `swingset` (the only one that calls the kernel), `upgrade`.
//! - `msgs`: the message vocabulary, no state.
//! - [`host`]: the typed host store, chain parameters, gas, app events, ABCI codes.
//! - [`client`] (signing, composing, the CLI) and [`dev`] (the dev chain) sit beside
//!   them, never on the state machine's path.
//!
//! Architecture invariant: only this crate links tendermint-abci; the kernel knows nothing
//! of ABCI.

mod chain;
pub mod client;
pub mod crash_points;
pub mod dev;
mod files;
pub mod host;
mod modules;
mod msgs;
pub mod node;
mod time;

pub use chain::block::{BlockOutcome, TxResult};
pub use chain::{Handler, HANDLERS};
pub use client::{cli, compose, sign};
pub use host::address::address_of;
pub use host::codes;
pub use modules::swingset::results::RESULT_TTL_BLOCKS;
pub use node::abci::VatdApp;
pub use node::home;

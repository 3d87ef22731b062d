//! `vatd`: the Vatchain node. An ABCI application for CometBFT v0.38 whose state machine is
//! the kernel.
//!
//! - [`node`]: the owner thread. It alone holds the kernel (and so the store and every vat
//!   worker); everything else talks to it over a channel.
//! - [`abci`]: the `tendermint_abci::Application` — a cheap `Clone` handle that forwards
//!   each ABCI call to the owner thread.
//! - [`auth`]: Cosmos SDK transaction authentication (SIGN_MODE_DIRECT, secp256k1,
//!   account number and sequence).
//!
//! Architecture invariant: only this crate links tendermint-abci; the kernel knows nothing
//! of ABCI.

pub mod abci;
pub mod abci_server;
pub mod accounts;
pub mod auth;
pub mod block;
pub mod check;
pub mod cli;
pub mod codes;
pub mod compose;
pub mod dev;
pub mod events;
pub mod exec;
pub mod files;
pub mod gas;
pub mod genesis;
pub mod gov;
pub mod home;
pub mod host;
pub mod msgs;
pub mod node;
pub mod params;
pub mod query;
pub mod results;
pub mod sign;
pub mod upgrade_plan;

//! The chain's modules, Cosmos-style: each owns its host keys and its state changes.
//! `auth` (accounts, tx authentication), `gov` (proposals, deposits, votes, the tally),
//! `swingset` (the only module that calls the kernel: bundles, deliveries, vats, results),
//! `upgrade` (software-upgrade plans and handlers).
//!
//! Must not know: ABCI, the node's threads, the CLI.

pub mod auth;
pub mod gov;
pub mod swingset;
pub mod upgrade;

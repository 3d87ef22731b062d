//! The bridge between the chain's vocabulary and the kernel's.
//!
//! Clients speak JSON; vats speak capdata in upstream's *smallcaps* encoding. This crate
//! converts between the two ([`smallcaps`]) and turns an inbound chain message into a
//! kernel send ([`inbound`]); a settled result back into client JSON ([`outbound`]); and
//! published data, through the chainStorage vat ([`chain_storage`]).
//!
//! Architecture invariant: no RocksDB and no ABCI here; the kernel is reached only through
//! its public API.

pub mod chain_storage;
pub mod inbound;
pub mod outbound;
pub mod smallcaps;

//! Localnet tooling: `vatd` processes started and killed like real nodes
//! ([`NodeProcess`]); real CometBFT v0.38 processes and their RPC ([`CometProcess`],
//! [`Rpc`]); a whole loopback network of both ([`Localnet`]); and, for fast tests that play
//! CometBFT's part themselves, an ABCI client over the real socket ([`AbciDriver`]).

mod cometbft;
mod driver;
mod localnet;
mod process;
pub mod soak;

pub use cometbft::{cometbft_binary, CometProcess, Rpc, COMETBFT_VERSION};
pub use driver::AbciDriver;
pub use localnet::{free_base_port, Localnet, LocalnetNode};
pub use process::{free_local_address, NodeProcess};

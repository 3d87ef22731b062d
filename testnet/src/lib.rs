//! Localnet tooling. No `cometbft` binary is available in CI, so tests play CometBFT's part
//! over the real ABCI socket with tendermint-abci's client ([`AbciDriver`]), against `vatd`
//! processes started and killed like real nodes ([`NodeProcess`]).

mod driver;
mod process;

pub use driver::AbciDriver;
pub use process::{free_local_address, NodeProcess};

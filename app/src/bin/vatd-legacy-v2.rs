//! `vatd-legacy-v2`: vatd as the kernel-schema-version-2 release was — "the old binary" of
//! the v2→v3 remediation (see `vatchain_kernel::legacy`). Its vat upgrades leak promise
//! c-list entries as upstream's did before #10252, its fresh DBs are at version 2, and it
//! has no software-upgrade handler, so it halts at the `v3-remediation` plan height.
//!
//! Built only with the `legacy-v2` feature, per invocation
//! (`cargo build --workspace --features vatchain-app/legacy-v2 --bin vatd-legacy-v2`); the
//! default `vatd` never contains it.

use vatchain_app::node::NodeConfig;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    vatchain_app::cli::process::main(NodeConfig::legacy_v2)
}

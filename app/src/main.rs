//! `vatd`: the Vatchain node's command line (see `vatchain_app::cli`).

use vatchain_app::node::NodeConfig;

/// mimalloc rather than the system allocator: the kernel and the QuickJS vats allocate
/// small blocks at a high rate, and mimalloc is markedly faster at it (see
/// `docs/ARCHITECTURE.md`). Vat heap limits do not depend on it: the QuickJS allocator
/// counts the sizes it asked for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    vatchain_app::cli::process::main(NodeConfig::new)
}

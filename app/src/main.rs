//! `vatd`: the Vatchain node's command line (see `vatchain_app::cli`).

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use vatchain_app::abci::VatdApp;
use vatchain_app::cli::{self, Cli, Command};
use vatchain_app::dev::{self, DevOptions};
use vatchain_app::node::{self, NodeConfig};

/// mimalloc rather than the system allocator: the kernel and the QuickJS vats allocate
/// small blocks at a high rate, and mimalloc is markedly faster at it (see
/// `docs/ARCHITECTURE.md`). Vat heap limits do not depend on it: the QuickJS allocator
/// counts the sizes it asked for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(e) = run() {
        // `{:#}` prints the whole cause chain on one line, without a backtrace.
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    // A panic anywhere (the owner thread included) must stop the process: a live ABCI
    // socket in front of half-applied state would let CometBFT carry on against it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    match Cli::parse().command {
        Command::Start { home, address } => {
            let address = address
                .strip_prefix("tcp://")
                .unwrap_or(&address)
                .to_string();
            let handle = node::start(NodeConfig::new(home.home))?;
            let server = tendermint_abci::ServerBuilder::default()
                .bind(&address, VatdApp::new(handle))
                .with_context(|| format!("binding the ABCI server to {address}"))?;
            tracing::info!(address = %server.local_addr(), "ABCI server listening");
            server.listen().context("ABCI server stopped")?;
        }
        Command::Dev {
            home,
            rpc,
            block_time_ms,
            voting_period_secs,
        } => dev::run(DevOptions {
            home,
            rpc,
            block_time: Duration::from_millis(block_time_ms.max(10)),
            voting_period_secs,
        })?,
        other => cli::run_tool(other)?,
    }
    Ok(())
}

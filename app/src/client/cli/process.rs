//! The process around the node: panic policy, logging, then the command. Shared by every
//! binary of this crate (`vatd`, and `vatd-legacy-v2` in builds with that feature), which
//! differ only in how they configure the node.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use super::{run_tool, Cli, Command};
use crate::dev::{self, DevOptions};
use crate::node::abci::VatdApp;
use crate::node::{self, NodeConfig};

/// Runs the command line and exits; `node_config` makes the node's settings for a home.
pub fn main(node_config: fn(PathBuf) -> NodeConfig) {
    if let Err(e) = run(node_config) {
        // `{:#}` prints the whole cause chain on one line, without a backtrace.
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

fn run(node_config: fn(PathBuf) -> NodeConfig) -> anyhow::Result<()> {
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
        Command::Start {
            home,
            address,
            slog,
            max_live_workers,
        } => {
            let address = match address {
                Some(a) => a,
                None => crate::node::home::testnet::read_settings(&home.home)?
                    .map(|s| s.abci_address)
                    .unwrap_or_else(|| "tcp://127.0.0.1:26658".into()),
            };
            let address = address
                .strip_prefix("tcp://")
                .unwrap_or(&address)
                .to_string();
            let mut config = node_config(home.home);
            config.kernel.slog = slog;
            config.kernel.max_live_workers = max_live_workers.max(1);
            let handle = node::start(config)?;
            let listener = std::net::TcpListener::bind(&address)
                .with_context(|| format!("binding the ABCI server to {address}"))?;
            tracing::info!(address = %listener.local_addr()?, "ABCI server listening");
            crate::node::abci_server::serve(listener, VatdApp::new(handle));
        }
        Command::Dev {
            home,
            rpc,
            block_time_ms,
            voting_period_secs,
        } => dev::run(DevOptions {
            node: node_config(home.clone()),
            home,
            rpc,
            block_time: Duration::from_millis(block_time_ms.max(10)),
            voting_period_secs,
        })?,
        other => run_tool(other)?,
    }
    Ok(())
}

//! `vatd`: the Vatchain node's command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vatchain_app::abci::VatdApp;
use vatchain_app::node::{self, NodeConfig};

#[derive(Parser)]
#[command(
    name = "vatd",
    version,
    about = "Vatchain node: a SwingSet-style object-capability kernel as a CometBFT (ABCI 2.0) application"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the ABCI server that CometBFT v0.38 connects to (proxy_app).
    Start {
        /// Node home directory (the DB is in <home>/data/vatd.db).
        #[arg(long, default_value_os_t = default_home())]
        home: PathBuf,
        /// Address to serve ABCI on (CometBFT's proxy_app, without tcp://).
        #[arg(long, default_value = "127.0.0.1:26658")]
        address: String,
    },
}

fn default_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".vatd")
}

fn main() -> anyhow::Result<()> {
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
            let handle = node::start(NodeConfig::new(home))?;
            let server = tendermint_abci::ServerBuilder::default()
                .bind(&address, VatdApp::new(handle))
                .with_context(|| format!("binding the ABCI server to {address}"))?;
            tracing::info!(address = %server.local_addr(), "ABCI server listening");
            server.listen().context("ABCI server stopped")?;
        }
    }
    Ok(())
}

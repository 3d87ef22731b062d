//! `vatd dev`: a one-node chain without CometBFT. The app runs in process; [`chain`]
//! plays consensus (a block per interval from a local mempool) over the ABCI
//! `Application` interface, and [`rpc`] serves CometBFT's JSON-RPC routes so that the CLI,
//! cosmjs and Keplr-style clients work against it unchanged.

pub mod chain;
pub mod http;
pub mod rpc;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::host::params::Params;
use crate::node::abci::VatdApp;
use crate::node::home as init;
use crate::node::{self, NodeConfig};

pub struct DevOptions {
    pub home: PathBuf,
    /// The node's settings (for `home`).
    pub node: NodeConfig,
    pub rpc: String,
    pub block_time: Duration,
    /// Voting period if the home is initialized now.
    pub voting_period_secs: u64,
}

/// Voting period of a dev chain's governance (seconds): short enough to watch an
/// upgrade proposal pass.
pub const DEV_VOTING_PERIOD_SECS: u64 = 20;

/// Runs the dev chain until the process is stopped.
pub fn run(o: DevOptions) -> anyhow::Result<()> {
    if !init::genesis_path(&o.home).exists() {
        let mut params = Params::default();
        params.gov.voting_period_secs = o.voting_period_secs.max(1);
        params.gov.min_deposit = crate::host::amount::Amount(1000);
        let done = init::init(init::InitOptions {
            home: &o.home,
            chain_id: "vatchain-dev",
            demo: true,
            params,
        })?;
        eprintln!(
            "initialized {} (validator {})",
            o.home.display(),
            done.validator_address
        );
    }
    let (chain_id, app_state) = init::read_genesis(&o.home)?;
    let handle = node::start(o.node.clone())?;
    let chain = Arc::new(chain::DevChain::new(VatdApp::new(handle), chain_id.clone()));
    let height = chain.init_if_fresh(&app_state);
    let server =
        rpc::serve(&o.rpc, chain.clone()).with_context(|| format!("serving RPC on {}", o.rpc))?;
    print_welcome(&o, &chain_id, height, &server);
    loop {
        std::thread::sleep(o.block_time);
        let b = chain.produce_block();
        if !b.txs.is_empty() {
            let failed = b.results.iter().filter(|r| r.code != 0).count();
            tracing::info!(height = b.height, txs = b.txs.len(), failed, "block");
        }
    }
}

/// The demo's version 2, where this binary was built from (or relative, for a moved binary).
fn demo_v2_dir() -> String {
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/counter-v2");
    if built.exists() {
        built.display().to_string()
    } else {
        "app/demo/counter-v2".into()
    }
}

fn print_welcome(o: &DevOptions, chain_id: &str, height: u64, rpc_addr: &str) {
    let home = o.home.display();
    let node = format!("http://{rpc_addr}");
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "vatd".into());
    let v2 = demo_v2_dir();
    let flags = format!("--home {home} --node {node}");
    eprintln!(
        "\nvatd dev: chain {chain_id} at height {height}, a block every {:?}\n\
         RPC (CometBFT JSON-RPC, for the CLI, cosmjs, Keplr): {node}\n\n\
         Try, in another terminal (the demo counter vat keeps its count in durable storage):\n\n  \
           alias vatd={exe}\n  \
           vatd tx swingset deliver counter increment '[5]' {flags}\n  \
           vatd query data counter.count --node {node}\n  \
           vatd tx swingset install-bundle {v2} {flags}\n  \
           vatd tx gov submit-proposal upgrade-vat counter $(vatd bundle {v2}) --deposit 1000 {flags}\n  \
           vatd tx gov vote 1 yes {flags}\n  \
           vatd query proposal 1 --node {node}      # PASSED once the voting period is over\n  \
           vatd tx swingset deliver counter version {flags}   # \"v2\", and the count is kept\n",
        o.block_time
    );
}

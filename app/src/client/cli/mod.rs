//! The `vatd` command line, shaped like a Cosmos SDK node's: `init`, `start`, `dev`,
//! `keys`, `genesis`, `bundle`, `tx`, `query`, and `doctor` (an offline audit).

pub mod doctor;
pub mod process;
pub mod rpc_client;
pub mod tx;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use cosmrs::proto::cosmos::gov::v1::VoteOption;
use serde_json::Value;
use vatchain_kernel::worker::bundle::{AnyBundle, Bundle};

use crate::client::compose;
use crate::host::params::Params;
use crate::node::home::{self as init, keys};

#[derive(Parser)]
#[command(
    name = "vatd",
    version,
    about = "Vatchain node: a SwingSet-style object-capability kernel as a CometBFT (ABCI 2.0) application",
    after_help = "Start here: `vatd dev` runs a one-node chain with a demo counter vat and prints what to try next."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

pub fn default_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".vatd")
}

#[derive(Args, Clone)]
pub struct HomeArg {
    /// Node home directory (config/genesis.json, data/vatd.db, keyring/).
    #[arg(long, default_value_os_t = default_home(), global = true)]
    pub home: PathBuf,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a node home: a funded validator key and config/genesis.json (with the demo
    /// counter vat unless --no-demo). Keeps an existing CometBFT genesis, adding app_state.
    Init {
        #[command(flatten)]
        home: HomeArg,
        #[arg(long, default_value = "vatchain-local")]
        chain_id: String,
        /// Start without the demo counter vat.
        #[arg(long)]
        no_demo: bool,
        /// Governance voting period in seconds (Cosmos default: 172800).
        #[arg(long, default_value_t = 172_800)]
        voting_period_secs: u64,
    },
    /// Run the ABCI server that CometBFT v0.38 connects to (its proxy_app).
    Start {
        #[command(flatten)]
        home: HomeArg,
        /// Address to serve ABCI on (CometBFT's proxy_app). Default: the home's
        /// config/vatd.json (written by `vatd testnet init`), else tcp://127.0.0.1:26658.
        #[arg(long)]
        address: Option<String>,
        /// Append the structured crank log (one JSON line per delivery) to this file. Not
        /// consensus state: for operators and for finding where two nodes diverged.
        #[arg(long)]
        slog: Option<PathBuf>,
        /// Vat workers kept live at once; the others are rebuilt by transcript replay when
        /// needed. Local: it changes memory use and speed, never the app hash.
        #[arg(long, default_value_t = 50)]
        max_live_workers: usize,
    },
    /// Local networks of several validators on real CometBFT.
    Testnet {
        #[command(subcommand)]
        command: TestnetCommand,
    },
    /// A one-node dev chain without CometBFT: the app, a block every --block-time-ms from a
    /// local mempool, and CometBFT's JSON-RPC (status, broadcast_tx_sync, abci_query,
    /// block, tx, tx_search) on --rpc. Initializes the home (demo vat, 20 s voting
    /// period) if it has no genesis.
    Dev {
        #[arg(long, default_value_os_t = default_home().with_file_name(".vatd-dev"))]
        home: PathBuf,
        #[arg(long, default_value = "127.0.0.1:26657")]
        rpc: String,
        #[arg(long, default_value_t = 1000)]
        block_time_ms: u64,
        /// Governance voting period for a new dev chain (seconds).
        #[arg(long, default_value_t = crate::dev::DEV_VOTING_PERIOD_SECS)]
        voting_period_secs: u64,
    },
    /// Manage keys (secp256k1, bech32 prefix `vat`). Test keyring: stored unencrypted.
    Keys {
        #[command(flatten)]
        home: HomeArg,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Edit the genesis file before the chain starts.
    Genesis {
        #[command(flatten)]
        home: HomeArg,
        #[command(subcommand)]
        command: GenesisCommand,
    },
    /// Make a bundle from a directory of ES modules, or check a bundle file (either format,
    /// e.g. an `@endo/bundle-source` one); prints its id and writes the JSON.
    Bundle {
        /// A directory of ES modules, or a bundle JSON file.
        dir: PathBuf,
        /// The entry module, relative to DIR.
        #[arg(long, default_value = "main.js")]
        entry: String,
        /// Where to write the bundle JSON (default: print only the id).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sign and broadcast a transaction, and wait for its block.
    Tx {
        #[command(flatten)]
        flags: TxFlags,
        #[command(subcommand)]
        command: TxCommand,
    },
    /// Audit a stopped node's DB (or a copy): every refcount and c-list pairing, and
    /// promise c-list entries leaked by pre-v3 vat upgrades. Exits non-zero when
    /// unhealthy. Reads only.
    Doctor {
        #[command(flatten)]
        home: HomeArg,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Query the chain: `vatd query vat counter`, `vatd query data counter.count`,
    /// `vatd query proposal 1`, `vatd query account <addr>`, `vatd query kernel stats`,
    /// `vatd query upgrade applied`.
    Query {
        /// Path segments (joined with '/'), e.g. `vats` or `result kp45`.
        #[arg(required = true)]
        path: Vec<String>,
        #[arg(long, default_value = "http://127.0.0.1:26657")]
        node: String,
    },
}

#[derive(Subcommand)]
pub enum TestnetCommand {
    /// Write the files of an N-validator loopback localnet: per node (DIR/node<i>), a
    /// CometBFT home (config.toml, validator and node keys) that is also its vatd home
    /// (keyring, config/vatd.json), and one genesis shared by all. Then run
    /// `vatd start --home DIR/node<i>` and `cometbft start --home DIR/node<i>` for each
    /// node (scripts/localnet.sh does all of it).
    Init {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        #[arg(long, default_value = "localnet")]
        output: PathBuf,
        #[arg(long, default_value = "vatchain-localnet")]
        chain_id: String,
        /// Node i listens on p2p BASE+100i, RPC BASE+100i+1, ABCI BASE+100i+2.
        #[arg(long, default_value_t = 26656)]
        base_port: u16,
        /// Governance voting period in seconds.
        #[arg(long, default_value_t = 60)]
        voting_period_secs: u64,
        /// CometBFT's timeout_commit (the pause between blocks), in milliseconds.
        #[arg(long, default_value_t = 500)]
        block_time_ms: u64,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key.
    Add { name: String },
    /// List keys and addresses.
    List,
    /// Show a key's address.
    Show { name: String },
}

#[derive(Subcommand)]
pub enum GenesisCommand {
    /// Fund an account at genesis (ADDRESS may be a key name), optionally with validator
    /// power for governance votes.
    AddAccount {
        address: String,
        balance: String,
        #[arg(long)]
        validator_power: Option<u64>,
    },
}

#[derive(Args, Clone)]
pub struct TxFlags {
    #[command(flatten)]
    pub home: HomeArg,
    /// The key that signs.
    #[arg(long, global = true, default_value = "validator")]
    pub from: String,
    /// The node's RPC address.
    #[arg(long, global = true, default_value = "http://127.0.0.1:26657")]
    pub node: String,
    /// Gas the tx declares: a number, or `auto` for an estimate (its size, and 200
    /// computrons for each delivery). A delivery may use the tx's gas left after its size,
    /// shared among its deliveries, at 100 gas a computron.
    #[arg(long, global = true, default_value = "auto", value_parser = parse_gas)]
    pub gas: Gas,
}

/// `--gas`: a declared amount, or an estimate.
#[derive(Clone, Copy, Debug)]
pub struct Gas(pub Option<u64>);

fn parse_gas(s: &str) -> Result<Gas, String> {
    if s == "auto" {
        return Ok(Gas(None));
    }
    s.parse()
        .map(|n| Gas(Some(n)))
        .map_err(|_| format!("{s:?} is neither a gas amount nor \"auto\""))
}

#[derive(Subcommand)]
pub enum TxCommand {
    /// Swingset messages: install bundles, send to published objects.
    Swingset {
        #[command(subcommand)]
        command: SwingsetTx,
    },
    /// Governance: proposals, votes, deposits.
    Gov {
        #[command(subcommand)]
        command: GovTx,
    },
}

#[derive(Subcommand)]
pub enum SwingsetTx {
    /// Install a bundle (a directory of ES modules, or a bundle JSON file).
    InstallBundle {
        path: PathBuf,
        /// Send it uncompressed.
        #[arg(long)]
        no_gzip: bool,
    },
    /// Send METHOD(ARGS...) to a published object (a vat name, or a published kref).
    Deliver {
        target: String,
        method: String,
        /// The arguments, a JSON array.
        #[arg(default_value = "[]")]
        args: String,
    },
}

#[derive(Subcommand)]
pub enum GovTx {
    /// Submit a proposal.
    SubmitProposal {
        #[command(subcommand)]
        proposal: ProposalKind,
        /// Initial deposit, in the chain's denomination.
        #[arg(long, global = true, default_value = "10000000")]
        deposit: u128,
        #[arg(long, global = true, default_value = "uvat")]
        denom: String,
        #[arg(long, global = true, default_value = "")]
        title: String,
    },
    /// Vote on a proposal.
    Vote { proposal_id: u64, option: VoteArg },
    /// Add a deposit to a proposal.
    Deposit {
        proposal_id: u64,
        amount: u128,
        #[arg(long, default_value = "uvat")]
        denom: String,
    },
}

#[derive(Subcommand)]
pub enum ProposalKind {
    /// Upgrade vat VAT to installed bundle BUNDLE_ID.
    UpgradeVat {
        vat: String,
        bundle_id: String,
        /// vatParameters for the new incarnation (JSON object).
        #[arg(long, default_value = "")]
        vat_parameters: String,
        #[arg(long, default_value = "")]
        upgrade_message: String,
    },
    /// Create vat NAME from installed bundle BUNDLE_ID, published under NAME.
    CreateVat {
        name: String,
        bundle_id: String,
        #[arg(long, default_value = "")]
        vat_parameters: String,
    },
    /// Change chain parameters: CHANGES is a JSON object shaped as genesis
    /// `app_state.params`, naming only what changes (e.g. '{"default_reap_interval":200}').
    UpdateParams { changes: String },
    /// Schedule a software upgrade NAME at --upgrade-height.
    SoftwareUpgrade {
        name: String,
        #[arg(long)]
        upgrade_height: u64,
        #[arg(long, default_value = "")]
        upgrade_info: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum VoteArg {
    Yes,
    No,
    Abstain,
    NoWithVeto,
}

impl From<VoteArg> for VoteOption {
    fn from(v: VoteArg) -> VoteOption {
        match v {
            VoteArg::Yes => VoteOption::Yes,
            VoteArg::No => VoteOption::No,
            VoteArg::Abstain => VoteOption::Abstain,
            VoteArg::NoWithVeto => VoteOption::NoWithVeto,
        }
    }
}

fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// A bundle's canonical bytes from a directory (entry `main.js`) or a bundle JSON file (of
/// either format: `vatd bundle`'s, or `@endo/bundle-source`'s `endoZipBase64`).
pub fn load_bundle(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.is_dir() {
        Ok(Bundle::from_dir(path, "main.js")
            .with_context(|| format!("bundling {}", path.display()))?
            .canonical_bytes())
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(vatchain_kernel::worker::parse_bundle(&bytes)
            .with_context(|| format!("{} is not a bundle", path.display()))?
            .canonical_bytes())
    }
}

/// Runs every command except `start` and `dev` (which live in main: they own the process).
pub fn run_tool(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init {
            home,
            chain_id,
            no_demo,
            voting_period_secs,
        } => {
            let mut params = Params::default();
            params.gov.voting_period_secs = voting_period_secs;
            let done = init::init(init::InitOptions {
                home: &home.home,
                chain_id: &chain_id,
                demo: !no_demo,
                params,
            })?;
            println!(
                "wrote {} for chain {}",
                done.genesis.display(),
                done.chain_id
            );
            println!(
                "validator key {:?}: {}",
                init::VALIDATOR_KEY,
                done.validator_address
            );
        }
        Command::Testnet {
            command:
                TestnetCommand::Init {
                    validators,
                    output,
                    chain_id,
                    base_port,
                    voting_period_secs,
                    block_time_ms,
                },
        } => {
            let nodes = init::testnet::init_files(&init::testnet::TestnetOptions {
                output: output.clone(),
                validators,
                chain_id: chain_id.clone(),
                base_port,
                voting_period_secs,
                times: init::cometbft::BlockTimes {
                    propose_ms: 1_000,
                    vote_ms: 500,
                    commit_ms: block_time_ms,
                },
            })?;
            println!(
                "wrote a {validators}-validator localnet for chain {chain_id} in {}",
                output.display()
            );
            for n in &nodes {
                println!(
                    "{}: home {}  rpc {}  abci 127.0.0.1:{}  p2p {}@127.0.0.1:{}  account {}",
                    n.name,
                    n.home.display(),
                    n.rpc(),
                    n.ports.abci,
                    n.node_id,
                    n.ports.p2p,
                    n.account
                );
            }
        }
        Command::Keys { home, command } => match command {
            KeysCommand::Add { name } => {
                let k = keys::add(&home.home, &name)?;
                println!("{}", k.address);
            }
            KeysCommand::List => {
                for k in keys::list(&home.home)? {
                    println!("{}\t{}", k.name, k.address);
                }
            }
            KeysCommand::Show { name } => println!("{}", keys::show(&home.home, &name)?.address),
        },
        Command::Genesis { home, command } => match command {
            GenesisCommand::AddAccount {
                address,
                balance,
                validator_power,
            } => {
                let address = if address.starts_with("vat1") {
                    address
                } else {
                    keys::show(&home.home, &address)?.address
                };
                init::add_account(&home.home, &address, &balance, validator_power)?;
                println!("added {address} with {balance}");
            }
        },
        Command::Bundle { dir, entry, out } => {
            let b = if dir.is_dir() {
                AnyBundle::Source(
                    Bundle::from_dir(&dir, &entry)
                        .with_context(|| format!("bundling {}", dir.display()))?,
                )
            } else {
                let bytes =
                    std::fs::read(&dir).with_context(|| format!("reading {}", dir.display()))?;
                vatchain_kernel::worker::parse_bundle(&bytes)
                    .with_context(|| format!("{} is not a bundle", dir.display()))?
            };
            if let Some(out) = out {
                crate::files::write(&out, &b.canonical_bytes(), crate::files::Mode::Replace)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            println!("{}", b.id());
        }
        Command::Tx { flags, command } => {
            let TxFlags {
                home,
                from,
                node,
                gas: Gas(gas),
            } = flags;
            let summary = match command {
                TxCommand::Swingset { command } => match command {
                    SwingsetTx::InstallBundle { path, no_gzip } => {
                        let bytes = load_bundle(&path)?;
                        tx::send(&home.home, &node, &from, gas, |me| {
                            vec![compose::install_bundle(me, &bytes, !no_gzip)]
                        })?
                    }
                    SwingsetTx::Deliver {
                        target,
                        method,
                        args,
                    } => {
                        serde_json::from_str::<Value>(&args)
                            .context("ARGS must be a JSON array")?;
                        tx::send(&home.home, &node, &from, gas, |me| {
                            vec![compose::deliver(me, &target, &method, &args)]
                        })?
                    }
                },
                TxCommand::Gov { command } => match command {
                    GovTx::SubmitProposal {
                        proposal,
                        deposit,
                        denom,
                        title,
                    } => {
                        let (inner, default_title) = match &proposal {
                            ProposalKind::UpgradeVat {
                                vat,
                                bundle_id,
                                vat_parameters,
                                upgrade_message,
                            } => (
                                compose::upgrade_vat(
                                    vat,
                                    bundle_id,
                                    vat_parameters,
                                    upgrade_message,
                                ),
                                format!("Upgrade vat {vat}"),
                            ),
                            ProposalKind::CreateVat {
                                name,
                                bundle_id,
                                vat_parameters,
                            } => (
                                compose::create_vat(name, bundle_id, vat_parameters),
                                format!("Create vat {name}"),
                            ),
                            ProposalKind::UpdateParams { changes } => (
                                compose::update_params(changes),
                                "Change parameters".to_string(),
                            ),
                            ProposalKind::SoftwareUpgrade {
                                name,
                                upgrade_height,
                                upgrade_info,
                            } => (
                                compose::software_upgrade(name, *upgrade_height, upgrade_info),
                                format!("Software upgrade {name}"),
                            ),
                        };
                        let title = if title.is_empty() {
                            default_title
                        } else {
                            title
                        };
                        tx::send(&home.home, &node, &from, gas, |me| {
                            vec![compose::submit_proposal(
                                me,
                                vec![inner],
                                deposit,
                                &denom,
                                &title,
                                "",
                            )]
                        })?
                    }
                    GovTx::Vote {
                        proposal_id,
                        option,
                    } => tx::send(&home.home, &node, &from, gas, |me| {
                        vec![compose::vote(me, proposal_id, option.into())]
                    })?,
                    GovTx::Deposit {
                        proposal_id,
                        amount,
                        denom,
                    } => tx::send(&home.home, &node, &from, gas, |me| {
                        vec![compose::deposit(me, proposal_id, amount, &denom)]
                    })?,
                },
            };
            print(&summary);
        }
        Command::Doctor { home, json } => {
            let d = doctor::diagnose(&home.home)?;
            if json {
                print(&serde_json::to_value(&d)?);
            } else {
                print!("{}", d.text());
            }
            if !d.healthy {
                std::process::exit(1);
            }
        }
        Command::Query { path, node } => {
            let path = format!("/{}", path.join("/"));
            let v = rpc_client::Rpc::new(&node).query_json(&path)?;
            print(&v);
        }
        Command::Start { .. } | Command::Dev { .. } => {
            anyhow::bail!("internal: start and dev are run by main")
        }
    }
    Ok(())
}

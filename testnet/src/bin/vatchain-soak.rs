//! `vatchain-soak`: the determinism harness as a command, printing its figures
//! (testnet/src/soak). `cargo run --bin vatchain-soak -- --help`.

use std::path::PathBuf;

use clap::Parser;
use vatchain_testnet::soak::{self, SoakOptions};

/// Runs N vatd nodes over ABCI through the same random blocks while killing and restarting
/// them, checks that their app hashes agree at every height, and prints what it did.
#[derive(Parser)]
#[command(name = "vatchain-soak", version)]
struct Args {
    /// Validators (vatd processes).
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Blocks to run.
    #[arg(long, default_value_t = 100)]
    blocks: u64,
    /// RNG seed (default: from the clock); the same seed gives the same blocks.
    #[arg(long)]
    seed: Option<u64>,
    /// Chance, per node and block, of a fault (a SIGKILL somewhere in the block).
    #[arg(long, default_value_t = 0.05)]
    fault_rate: f64,
    /// The vatd binary (default: next to this one).
    #[arg(long)]
    vatd: Option<PathBuf>,
    /// Start on this old binary and pass a software upgrade to vatd halfway (default:
    /// vatd-legacy-v2 next to vatd, if built; `none` for no software upgrade).
    #[arg(long)]
    legacy_vatd: Option<PathBuf>,
    /// Keep the nodes' homes here (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Progress line every this many blocks (0: none).
    #[arg(long, default_value_t = 50)]
    progress_every: u64,
}

fn main() {
    let a = Args::parse();
    let vatd = a.vatd.unwrap_or_else(|| {
        std::env::current_exe()
            .map(|p| p.with_file_name("vatd"))
            .unwrap_or_else(|_| PathBuf::from("vatd"))
    });
    if !vatd.exists() {
        eprintln!(
            "vatchain-soak: no vatd at {} (build it: cargo build --workspace --bin vatd, or pass --vatd)",
            vatd.display()
        );
        std::process::exit(2);
    }
    let legacy = match &a.legacy_vatd {
        Some(p) if p.as_os_str() == "none" => None,
        Some(p) => Some(p.clone()),
        None => Some(vatd.with_file_name("vatd-legacy-v2")).filter(|p| p.exists()),
    };
    if legacy.is_none() {
        eprintln!("vatchain-soak: no old binary (vatd-legacy-v2): no software upgrade this run");
    }
    let tmp = match a.dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().unwrap_or_else(|e| {
            eprintln!("vatchain-soak: no temporary directory: {e}");
            std::process::exit(2)
        })),
    };
    let dir = a.dir.clone().unwrap_or_else(|| {
        tmp.as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_default()
    });
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });
    let o = SoakOptions {
        vatd,
        legacy_vatd: legacy,
        dir,
        nodes: a.nodes,
        blocks: a.blocks,
        seed,
        fault_rate: a.fault_rate,
        progress_every: a.progress_every,
    };
    eprintln!(
        "vatchain-soak: {} nodes, {} blocks, seed {seed}, homes under {}",
        o.nodes,
        o.blocks,
        o.dir.display()
    );
    match soak::run(&o) {
        Ok(f) => {
            println!("soak figures:\n{f}");
        }
        Err(e) => {
            eprintln!("vatchain-soak: {e:#}");
            std::process::exit(1);
        }
    }
}

//! The determinism harness ("soak"): N `vatd start` processes over their ABCI sockets, no
//! CometBFT. The harness proposes the same random blocks to all of them
//! ([`workload`]: bundle installs, deliveries to several JS vats, governance creating,
//! upgrading (well and badly) and ending vats, a software upgrade with its handler, work
//! past the computron budget), kills and restarts each node on its own random schedule
//! ([`fleet`]: before a block, inside FinalizeBlock, between FinalizeBlock and Commit,
//! inside Commit, at `vatd`'s crash points, down for several blocks then caught up), and
//! compares app hashes at every height. A divergence stops the run with the first crank at
//! which the nodes' slogs differ ([`divergence`]).
//!
//! Because each node restarts at different moments, nodes differ in everything that must
//! not matter: which workers are live, what the bytecode cache holds, how much of each
//! vat's history was replayed, and when.

pub mod divergence;
pub mod figures;
pub mod fleet;
pub mod workload;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

pub use figures::Figures;
use fleet::{Fault, History, Node, CRASH_POINTS};
use workload::{Workload, BLOCK_SECS};

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// The `vatd` binary.
    pub vatd: PathBuf,
    /// The old binary (`vatd-legacy-v2`, without the `v3-remediation` handler): when
    /// given, the chain starts on it, governance plans the upgrade, every node halts at
    /// the plan's height and goes on with `vatd`, which migrates.
    pub legacy_vatd: Option<PathBuf>,
    /// Where the nodes' homes go (one `node<i>` directory each).
    pub dir: PathBuf,
    pub nodes: usize,
    pub blocks: u64,
    pub seed: u64,
    /// Chance, per node and block, that the node is hit by a fault in that block.
    pub fault_rate: f64,
    /// Print a progress line every this many blocks (0: never).
    pub progress_every: u64,
}

/// Runs the soak; `Err` on a divergence (with the slog report) or a node misbehaving.
/// On success, every node ends at the last height with the same app hash.
pub fn run(o: &SoakOptions) -> anyhow::Result<Figures> {
    anyhow::ensure!(o.nodes >= 1, "a soak needs at least one node");
    let started = Instant::now();
    let mut f = Figures {
        validators: o.nodes,
        blocks: o.blocks,
        seed: o.seed,
        ..Figures::default()
    };
    let mut rng = fastrand::Rng::with_seed(o.seed ^ 0x5eed);
    let mut work = Workload::new(o.seed, o.nodes, o.blocks, o.legacy_vatd.is_some());
    // The binary nodes start on now: the old one until the software upgrade's height.
    let mut vatd = o.legacy_vatd.clone().unwrap_or_else(|| o.vatd.clone());
    let mut history = History {
        chain_id: work.chain_id().to_string(),
        genesis: work.genesis().to_string().into_bytes(),
        blocks: Vec::new(),
        hashes: Vec::new(),
        answer: None,
    };
    let mut nodes = (0..o.nodes)
        .map(|i| Node::new(i, &o.dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Crash points armed at restarts: some restarts come back with one, at a later hit.
    let mut arm_rng = fastrand::Rng::with_seed(o.seed ^ 0xc4a5);
    let mut arm = move || -> Option<String> {
        (arm_rng.u8(..4) == 0).then(|| {
            let p = CRASH_POINTS[arm_rng.usize(..CRASH_POINTS.len() - 1)];
            format!("{p}@{}", arm_rng.u8(1..4))
        })
    };
    for n in &mut nodes {
        n.start(&vatd, None)?;
        n.catch_up(&vatd, &mut history, 0, &mut || None, &mut f)?;
    }
    let result = (|| -> anyhow::Result<()> {
        for h in 1..=o.blocks {
            let txs = work.block(h, &mut f);
            history.blocks.push((
                1_000_000 + h * BLOCK_SECS,
                txs.iter().map(|t| t.bytes.clone()).collect(),
            ));
            if work.plan_height() == Some(h) && vatd != o.vatd {
                // The old binary halts at the plan's height; all nodes go on with the
                // new one, and one of them dies inside the upgrade block.
                for n in &mut nodes {
                    n.down_until = 0;
                    n.catch_up(&vatd, &mut history, h - 1, &mut arm, &mut f)?;
                    n.halt_for_upgrade(&history, h, workload::UPGRADE_PLAN)?;
                }
                vatd = o.vatd.clone();
                let crasher = rng.usize(..nodes.len());
                for n in &mut nodes {
                    let point = (n.index == crasher).then_some("upgrade-handler");
                    n.start(&vatd, point)?;
                    f.restarts += 1;
                }
            }
            for i in 0..nodes.len() {
                let others_up = nodes
                    .iter()
                    .filter(|m| m.index != i && m.down_until < h)
                    .count();
                let n = &mut nodes[i];
                if n.down_until >= h {
                    continue;
                }
                // A fault, sometimes: a kill before the block (down for a while, if the rest
                // of the network carries on), or one inside the block.
                let mut fault = Fault::None;
                if n.is_up() && rng.f64() < o.fault_rate {
                    fault = match rng.u8(..5) {
                        0 => {
                            n.kill9()?;
                            f.kills_before_block += 1;
                            if others_up > 0 && rng.bool() {
                                n.down_until = h + rng.u64(0..8);
                                if n.down_until >= h {
                                    continue;
                                }
                            }
                            Fault::None
                        }
                        1 => Fault::DuringFinalize(rng.u64(0..40)),
                        2 => Fault::AfterFinalize,
                        _ => Fault::DuringCommit(rng.u64(0..4)),
                    };
                }
                if !n.is_up() {
                    n.catch_up(&vatd, &mut history, h - 1, &mut arm, &mut f)?;
                }
                n.block(&vatd, &mut history, h, fault, &mut arm, &mut f)?;
            }
            let (ah, answer) = history.answer.clone().context("no node ran the block")?;
            anyhow::ensure!(ah == h, "the latest answer is for block {ah}, not {h}");
            if answer.events.iter().any(|e| e.r#type == "swingset_result") {
                f.blocks_with_carried_work += 1;
            }
            let q = nodes
                .iter()
                .position(|n| n.is_up() && n.down_until < h)
                .context("no node is up")?;
            let mut query = |path: &str| nodes[q].query(path);
            work.observe(h, txs, &answer.tx_results, &mut query, &mut f)?;
            if o.progress_every > 0 && h % o.progress_every == 0 {
                eprintln!(
                    "soak: block {h}/{} · {} txs · {} kills · {} catch-ups · {:.0} s",
                    o.blocks,
                    f.txs,
                    f.kills(),
                    f.catch_ups,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        // Everyone back to the last height: all must hold the same app hash.
        let last = o.blocks;
        for n in &mut nodes {
            n.down_until = 0;
            n.catch_up(&vatd, &mut history, last, &mut || None, &mut f)?;
            n.check_committed(&history, last)?;
        }
        Ok(())
    })();
    f.elapsed = started.elapsed();
    for n in &mut nodes {
        let _ = n.kill9();
    }
    if let Err(e) = result {
        if let Some(d) = e.downcast_ref::<fleet::Divergence>() {
            f.divergences += 1;
            let slogs: Vec<(usize, PathBuf)> = nodes.iter().map(|n| (n.index, n.slog())).collect();
            let paths: Vec<(usize, &std::path::Path)> =
                slogs.iter().map(|(i, p)| (*i, p.as_path())).collect();
            anyhow::bail!(
                "DIVERGENCE: {d}\n{}\nfigures so far:\n{f}",
                divergence::report(&paths)
            );
        }
        return Err(e.context(format!("the soak stopped; figures so far:\n{f}")));
    }
    Ok(f)
}

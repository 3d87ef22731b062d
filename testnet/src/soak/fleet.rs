//! The nodes of a soak run: `vatd start` processes over their ABCI sockets, each started,
//! killed and restarted on its own schedule, and brought back to the chain's height by
//! replaying the blocks it missed, as CometBFT's handshake and block sync do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use tendermint_proto::v0_38::abci::ResponseFinalizeBlock;

use super::figures::Figures;
use crate::driver::AbciDriver;
use crate::process::{free_local_address, NodeProcess};

/// The crash points `vatd` knows (`VATD_CRASH_AT`; app/src/crash_points.rs).
pub const CRASH_POINTS: [&str; 4] = [
    "finalize-block",
    "commit-before-write",
    "commit-after-write",
    "upgrade-handler",
];
const CRASH_ENV: &str = "VATD_CRASH_AT";
const CRASH_LINE: &str = "crash point";

/// The chain as decided so far: genesis and every block, and the app hash after each.
pub struct History {
    pub chain_id: String,
    pub genesis: Vec<u8>,
    /// Block `h` is `blocks[h - 1]`: its time and txs.
    pub blocks: Vec<(u64, Vec<Vec<u8>>)>,
    /// The app hash after block `h` is `hashes[h - 1]`, as the first node to run it said.
    pub hashes: Vec<Vec<u8>>,
    /// That first node's whole answer for the latest block (the workload reads it).
    pub answer: Option<(u64, ResponseFinalizeBlock)>,
}

impl History {
    fn height(&self) -> u64 {
        self.hashes.len() as u64
    }
}

/// Two nodes computed different app hashes for a height.
#[derive(Debug)]
pub struct Divergence {
    pub height: u64,
    pub node: usize,
    pub want: Vec<u8>,
    pub got: Vec<u8>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "node{} computed app hash {} at height {}, where the chain has {}",
            self.node,
            hex(&self.got),
            self.height,
            hex(&self.want)
        )
    }
}

impl std::error::Error for Divergence {}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// How a node is to be hit during one block.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    None,
    /// SIGKILL while FinalizeBlock runs (after this many ms).
    DuringFinalize(u64),
    /// SIGKILL between FinalizeBlock's answer and Commit.
    AfterFinalize,
    /// SIGKILL while Commit runs (after this many ms).
    DuringCommit(u64),
}

pub struct Node {
    pub index: usize,
    pub home: PathBuf,
    address: String,
    process: Option<NodeProcess>,
    abci: Option<AbciDriver>,
    /// The node stays down through this height.
    pub down_until: u64,
    /// Crash-point lines in its log when it last started (a new one means it died there).
    crash_lines: usize,
    /// Started with `VATD_CRASH_AT`.
    armed: bool,
    /// Its local setting `--max-live-workers` (nodes differ in it: it must not matter).
    max_live_workers: usize,
}

impl Node {
    pub fn new(index: usize, dir: &Path) -> anyhow::Result<Node> {
        Ok(Node {
            index,
            home: dir.join(format!("node{index}")),
            address: free_local_address()?,
            process: None,
            abci: None,
            down_until: 0,
            crash_lines: 0,
            armed: false,
            max_live_workers: [4, 50, 16][index % 3],
        })
    }

    pub fn slog(&self) -> PathBuf {
        self.home.join("slog.jsonl")
    }

    pub fn is_up(&self) -> bool {
        self.process.is_some()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("vatd.log")).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Starts `vatd start` (armed with crash point `arm` if given) and connects.
    pub fn start(&mut self, vatd: &Path, arm: Option<&str>) -> anyhow::Result<()> {
        let home = self.home.to_string_lossy().into_owned();
        let slog = self.slog().to_string_lossy().into_owned();
        let workers = self.max_live_workers.to_string();
        let env: Vec<(&str, &str)> = arm.map(|a| (CRASH_ENV, a)).into_iter().collect();
        self.crash_lines = self.log().matches(CRASH_LINE).count();
        self.armed = arm.is_some();
        let p = NodeProcess::spawn_with_env(
            vatd,
            &self.home,
            &self.address,
            &[
                "start",
                "--home",
                &home,
                "--address",
                &self.address,
                "--slog",
                &slog,
                "--max-live-workers",
                &workers,
            ],
            &env,
        )?;
        self.process = Some(p);
        // Until it listens (replaying transcripts can take a while), unless it exits.
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            match AbciDriver::connect(&self.address, Duration::from_millis(500)) {
                Ok(d) => {
                    self.abci = Some(d);
                    return Ok(());
                }
                Err(e) => {
                    let exited = match self.process.as_mut() {
                        Some(p) => p.try_exit()?,
                        None => None,
                    };
                    if exited.is_some() || std::time::Instant::now() >= deadline {
                        self.process = None;
                        bail!(
                            "node{} did not come up ({e:#}; exit: {exited:?}):\n{}",
                            self.index,
                            self.log_tail()
                        );
                    }
                }
            }
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.abci = None;
        if let Some(mut p) = self.process.take() {
            p.kill9()?;
        }
        Ok(())
    }

    fn driver(&mut self) -> anyhow::Result<&mut AbciDriver> {
        self.abci.as_mut().context("the node is down")
    }

    /// After a failed call: the node must have died, at a crash point it was armed with
    /// (counted) or of a kill this harness sent (`killed`). Anything else is a bug in the
    /// node, and the run stops with its log.
    fn confirm_death(
        &mut self,
        killed: bool,
        why: &anyhow::Error,
        f: &mut Figures,
    ) -> anyhow::Result<()> {
        self.abci = None;
        let Some(mut p) = self.process.take() else {
            return Ok(());
        };
        let status = p.wait_exit(Duration::from_secs(10))?;
        if status.is_none() {
            bail!(
                "node{} failed a call ({why:#}) but is still running:\n{}",
                self.index,
                self.log_tail()
            );
        }
        let at_crash_point = self.log().matches(CRASH_LINE).count() > self.crash_lines;
        let by_sigkill = {
            use std::os::unix::process::ExitStatusExt;
            status.and_then(|s| s.signal()) == Some(9)
        };
        if at_crash_point {
            f.crash_points += 1;
            self.armed = false;
        } else if !killed || !by_sigkill {
            // Only a SIGKILL the harness sent is expected; any other end (a panic, exit 74
            // or 75) is the node failing on its own, even inside a kill's window.
            bail!(
                "node{} died on its own ({status:?}) after {why:#}:\n{}",
                self.index,
                self.log_tail()
            );
        }
        Ok(())
    }

    /// Sends block `h` to a node on a binary without the handler of the plan `name` at
    /// that height: it must stop there, saying the upgrade is needed, having committed
    /// nothing of the block.
    pub fn halt_for_upgrade(
        &mut self,
        history: &History,
        h: u64,
        name: &str,
    ) -> anyhow::Result<()> {
        let (time, txs) = history.blocks[usize::try_from(h - 1)?].clone();
        let r = self.driver()?.finalize_block(h, time, txs);
        anyhow::ensure!(
            r.is_err(),
            "node{} ran block {h} past the upgrade plan",
            self.index
        );
        self.abci = None;
        let mut p = self.process.take().context("the node is down")?;
        anyhow::ensure!(
            p.wait_exit(Duration::from_secs(10))?.is_some(),
            "node{} did not stop at the upgrade height",
            self.index
        );
        let needed = format!("UPGRADE \"{name}\" NEEDED at height: {h}");
        anyhow::ensure!(
            self.log().contains(&needed),
            "node{} stopped at {h} without saying {needed:?}:\n{}",
            self.index,
            self.log_tail()
        );
        Ok(())
    }

    /// A query's JSON answer.
    pub fn query(&mut self, path: &str) -> anyhow::Result<serde_json::Value> {
        self.driver()?.query_json(path)
    }

    /// The node has committed exactly `h`, with the chain's app hash.
    pub fn check_committed(&mut self, history: &History, h: u64) -> anyhow::Result<()> {
        let (height, hash) = self.info()?;
        let want = history.hashes.get(usize::try_from(h.max(1) - 1)?);
        if height != h || want != Some(&hash) {
            return Err(Divergence {
                height: h,
                node: self.index,
                want: want.cloned().unwrap_or_default(),
                got: hash,
            }
            .into());
        }
        Ok(())
    }

    /// Info: (last committed height, app hash).
    fn info(&mut self) -> anyhow::Result<(u64, Vec<u8>)> {
        self.driver()?.info()
    }

    /// Runs block `h` of `history` (FinalizeBlock, then Commit); records its app hash if
    /// this is the first node to run it, else checks it.
    fn run(&mut self, history: &mut History, h: u64) -> anyhow::Result<ResponseFinalizeBlock> {
        let r = self.finalize(history, h)?;
        self.driver()?.commit()?;
        Ok(r)
    }

    fn finalize(&mut self, history: &mut History, h: u64) -> anyhow::Result<ResponseFinalizeBlock> {
        let (time, txs) = history.blocks[usize::try_from(h - 1)?].clone();
        let r = self.driver()?.finalize_block(h, time, txs)?;
        check_hash(history, self.index, h, &r)?;
        Ok(r)
    }

    /// Brings the node from whatever it committed to height `target`: InitChain if it has
    /// nothing, then the blocks it lacks. Restarts it (counted) if it is down or dies on
    /// the way.
    pub fn catch_up(
        &mut self,
        vatd: &Path,
        history: &mut History,
        target: u64,
        arm: &mut dyn FnMut() -> Option<String>,
        f: &mut Figures,
    ) -> anyhow::Result<()> {
        let mut counted = false;
        for _attempt in 0..50 {
            if !self.is_up() {
                let a = arm();
                self.start(vatd, a.as_deref())?;
                f.restarts += 1;
            }
            match self.sync_to(history, target, &mut counted, f) {
                Ok(()) => return Ok(()),
                Err(e) if e.downcast_ref::<Divergence>().is_some() => return Err(e),
                Err(e) => self.confirm_death(false, &e, f)?,
            }
        }
        bail!("node{} could not be brought to height {target}", self.index)
    }

    fn sync_to(
        &mut self,
        history: &mut History,
        target: u64,
        counted: &mut bool,
        f: &mut Figures,
    ) -> anyhow::Result<()> {
        let (mut height, hash) = self.info()?;
        if height == 0 {
            let (id, g) = (history.chain_id.clone(), history.genesis.clone());
            self.driver()?.init_chain(&id, &g)?;
        } else {
            let want = history.hashes.get(usize::try_from(height - 1)?);
            if want != Some(&hash) {
                return Err(Divergence {
                    height,
                    node: self.index,
                    want: want.cloned().unwrap_or_default(),
                    got: hash,
                }
                .into());
            }
        }
        if height < target && !*counted {
            *counted = true;
            f.catch_ups += 1;
        }
        while height < target {
            height += 1;
            self.run(history, height)?;
            f.blocks_replayed += 1;
        }
        Ok(())
    }

    /// Runs block `h` under `fault`, then makes sure the node has committed it (restarting
    /// and replaying if the fault or a crash point killed it).
    pub fn block(
        &mut self,
        vatd: &Path,
        history: &mut History,
        h: u64,
        fault: Fault,
        arm: &mut dyn FnMut() -> Option<String>,
        f: &mut Figures,
    ) -> anyhow::Result<()> {
        let pid = self.process.as_ref().map(|p| p.pid());
        let killer = |ms: u64| {
            pid.map(|pid| {
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(ms));
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &pid.to_string()])
                        .status();
                })
            })
        };
        let outcome: anyhow::Result<ResponseFinalizeBlock> = match fault {
            Fault::None => self.run(history, h),
            Fault::DuringFinalize(ms) => {
                f.kills_during_finalize += 1;
                let k = killer(ms);
                let r = self.run(history, h);
                if let Some(k) = k {
                    let _ = k.join();
                }
                let why = r.as_ref().err().map(|e| anyhow::anyhow!("{e:#}"));
                self.confirm_death(true, &why.unwrap_or_else(|| anyhow::anyhow!("killed")), f)?;
                r.map_err(|e| e.context("killed during FinalizeBlock"))
            }
            Fault::AfterFinalize => {
                f.kills_after_finalize += 1;
                match self.finalize(history, h) {
                    Ok(r) => {
                        self.kill9()?;
                        f.blocks_reexecuted += 1;
                        Ok(r)
                    }
                    // Died by itself (a crash point) or diverged: handled below.
                    Err(e) => Err(e),
                }
            }
            Fault::DuringCommit(ms) => {
                f.kills_during_commit += 1;
                let r = self.finalize(history, h);
                let k = r.is_ok().then(|| killer(ms)).flatten();
                let c = r.and_then(|r| self.driver()?.commit().map(|_| r));
                let killed = k.is_some();
                if let Some(k) = k {
                    let _ = k.join();
                }
                match &c {
                    Err(e) if e.downcast_ref::<Divergence>().is_some() => {}
                    _ if killed => {
                        let why = c.as_ref().err().map(|e| anyhow::anyhow!("{e:#}"));
                        self.confirm_death(
                            true,
                            &why.unwrap_or_else(|| anyhow::anyhow!("killed")),
                            f,
                        )?;
                    }
                    // No kill was sent (FinalizeBlock failed first): handled below.
                    _ => {}
                }
                c
            }
        };
        match outcome {
            Ok(_) => {}
            Err(e) if e.downcast_ref::<Divergence>().is_some() => return Err(e),
            Err(e) => {
                if self.is_up() {
                    self.confirm_death(false, &e, f)?;
                }
            }
        }
        if !self.is_up() || history.height() < h {
            // CometBFT would replay the block after the restart: so do we.
            self.catch_up(vatd, history, h, arm, f)?;
        }
        Ok(())
    }
}

/// Records `got` as the app hash after `h` if no node has run `h` yet, else checks it.
fn check_hash(
    history: &mut History,
    node: usize,
    h: u64,
    r: &ResponseFinalizeBlock,
) -> anyhow::Result<()> {
    let i = usize::try_from(h - 1)?;
    let got = r.app_hash.as_ref();
    match history.hashes.get(i) {
        None if i == history.hashes.len() => {
            history.hashes.push(got.to_vec());
            history.answer = Some((h, r.clone()));
            Ok(())
        }
        None => bail!("block {h} ran before block {}", history.hashes.len() + 1),
        Some(want) if want.as_slice() == got => Ok(()),
        Some(want) => Err(Divergence {
            height: h,
            node,
            want: want.clone(),
            got: got.to_vec(),
        }
        .into()),
    }
}

//! A loopback network of N validators on real CometBFT: `vatd testnet init` writes the
//! homes, then each node is a `vatd start` and a `cometbft start` on the same home. Either
//! process of any node can be killed with SIGKILL and started again.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cometbft::{cometbft_binary, CometProcess, Rpc};
use crate::process::NodeProcess;

/// A base port for `vatd testnet init --base-port` under which every port the network
/// needs (p2p, RPC, ABCI of each node: base + 100 i + 0..3) is free right now.
pub fn free_base_port(validators: usize) -> anyhow::Result<u16> {
    for _ in 0..200 {
        let base = 20_000 + 1_000 * fastrand::u16(0..40);
        let all_free = (0..validators).all(|i| {
            (0..3).all(|off| {
                let port = usize::from(base) + 100 * i + off;
                u16::try_from(port)
                    .ok()
                    .is_some_and(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
            })
        });
        if all_free {
            return Ok(base);
        }
    }
    bail!("no free block of ports for {validators} validators")
}

/// One validator: its home, its RPC, and its two processes while they run.
pub struct LocalnetNode {
    pub home: PathBuf,
    pub rpc: Rpc,
    pub vatd: Option<NodeProcess>,
    pub cometbft: Option<CometProcess>,
}

pub struct Localnet {
    pub nodes: Vec<LocalnetNode>,
    vatd: PathBuf,
    cometbft: PathBuf,
}

impl Localnet {
    /// Writes an `n`-validator network under `dir` with `vatd testnet init` (blocks every
    /// `block_ms`, governance voting for `voting_secs`); starts nothing.
    pub fn init(
        vatd: &Path,
        dir: &Path,
        n: usize,
        block_ms: u64,
        voting_secs: u64,
    ) -> anyhow::Result<Localnet> {
        let cometbft = cometbft_binary()?;
        let base = free_base_port(n)?;
        let out = Command::new(vatd)
            .args(["testnet", "init", "--validators", &n.to_string()])
            .arg("--output")
            .arg(dir)
            .args(["--base-port", &base.to_string()])
            .args(["--block-time-ms", &block_ms.to_string()])
            .args(["--voting-period-secs", &voting_secs.to_string()])
            .output()
            .context("running vatd testnet init")?;
        if !out.status.success() {
            bail!(
                "vatd testnet init failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let nodes = (0..n)
            .map(|i| LocalnetNode {
                home: dir.join(format!("node{i}")),
                rpc: Rpc::new(format!(
                    "http://127.0.0.1:{}",
                    usize::from(base) + 100 * i + 1
                )),
                vatd: None,
                cometbft: None,
            })
            .collect();
        Ok(Localnet {
            nodes,
            vatd: vatd.to_path_buf(),
            cometbft,
        })
    }

    /// The `vatd` binary nodes start from now on (a software upgrade swaps it).
    pub fn set_vatd(&mut self, vatd: &Path) {
        self.vatd = vatd.to_path_buf();
    }

    /// Waits up to `timeout` for node `i`'s vatd to end by itself (a halt).
    pub fn wait_vatd_exit(&mut self, i: usize, timeout: Duration) -> anyhow::Result<()> {
        let Some(v) = self.nodes[i].vatd.as_mut() else {
            return Ok(());
        };
        match v.wait_exit(timeout)? {
            Some(_) => {
                self.nodes[i].vatd = None;
                Ok(())
            }
            None => bail!("node{i}'s vatd is still running after {timeout:?}"),
        }
    }

    /// Stops node `i`'s CometBFT (SIGKILL) if it runs.
    pub fn kill_cometbft(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut c) = self.nodes[i].cometbft.take() {
            if c.running() {
                c.kill9()?;
            }
        }
        Ok(())
    }

    /// Starts node `i`'s vatd (it serves where `config/vatd.json` says).
    pub fn start_vatd(&mut self, i: usize) -> anyhow::Result<()> {
        let n = &mut self.nodes[i];
        let home = n.home.to_string_lossy().to_string();
        n.vatd = Some(NodeProcess::spawn(
            &self.vatd,
            &n.home,
            "",
            &["start", "--home", &home],
        )?);
        Ok(())
    }

    /// Starts node `i`'s CometBFT. Its vatd must be serving: CometBFT connects at once.
    pub fn start_cometbft(&mut self, i: usize) -> anyhow::Result<()> {
        let n = &mut self.nodes[i];
        n.cometbft = Some(CometProcess::start(&self.cometbft, &n.home)?);
        Ok(())
    }

    /// Starts node `i`: its vatd, then (once it listens) its CometBFT.
    pub fn start_node(&mut self, i: usize) -> anyhow::Result<()> {
        self.start_vatd(i)?;
        self.wait_vatd_listening(i)?;
        self.start_cometbft(i)
    }

    /// Starts every node: all vatds, then (once they listen) all CometBFTs.
    pub fn start_all(&mut self) -> anyhow::Result<()> {
        for i in 0..self.nodes.len() {
            self.start_vatd(i)?;
        }
        for i in 0..self.nodes.len() {
            self.wait_vatd_listening(i)?;
            self.start_cometbft(i)?;
        }
        Ok(())
    }

    /// Waits until node `i`'s vatd accepts connections on its ABCI port.
    pub fn wait_vatd_listening(&self, i: usize) -> anyhow::Result<()> {
        let settings = std::fs::read(self.nodes[i].home.join("config/vatd.json"))?;
        let v: serde_json::Value = serde_json::from_slice(&settings)?;
        let addr = v["abci_address"]
            .as_str()
            .context("vatd.json without abci_address")?
            .trim_start_matches("tcp://")
            .to_string();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&addr).is_err() {
            if std::time::Instant::now() >= deadline {
                bail!("node{i}'s vatd is not listening on {addr}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Waits until every node in `which` has reached `height`.
    pub fn wait_height(
        &self,
        which: &[usize],
        height: u64,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        for &i in which {
            self.nodes[i]
                .rpc
                .wait_height(height, timeout)
                .with_context(|| self.describe(i))?;
        }
        Ok(())
    }

    /// The lowest latest height among `which`.
    pub fn min_height(&self, which: &[usize]) -> anyhow::Result<u64> {
        let mut min = u64::MAX;
        for &i in which {
            min = min.min(self.nodes[i].rpc.height()?);
        }
        Ok(min)
    }

    /// Node `i`'s processes and the end of its CometBFT log, for a failure message.
    pub fn describe(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let cmt = n
            .cometbft
            .as_ref()
            .map(|c| c.log_tail(15))
            .unwrap_or_default();
        let vatd = n.vatd.as_ref().map(|v| v.log()).unwrap_or_default();
        let vatd_tail: Vec<&str> = vatd.lines().rev().take(10).collect();
        format!(
            "node{i} ({}): cometbft log tail:\n{cmt}\nvatd log tail (newest first):\n{}",
            n.home.display(),
            vatd_tail.join("\n")
        )
    }
}

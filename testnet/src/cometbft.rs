//! Real CometBFT v0.38 processes (`cometbft start --home H`) and what the tests read of
//! them over their JSON-RPC: heights and the app hash in each block header.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

/// The CometBFT release the project pins (`scripts/setup.sh` installs it).
pub const COMETBFT_VERSION: &str = "0.38.25";

/// The `cometbft` binary: `$COMETBFT`, else Go's bin directory (where `go install` puts
/// it), else `PATH`. Refuses another release than the pinned one.
pub fn cometbft_binary() -> anyhow::Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("COMETBFT") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(gopath) = std::env::var_os("GOPATH") {
        candidates.push(PathBuf::from(gopath).join("bin/cometbft"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join("go/bin/cometbft"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("cometbft")));
    }
    let Some(bin) = candidates.into_iter().find(|p| p.is_file()) else {
        bail!("cometbft not found: run ./scripts/setup.sh, which installs CometBFT v{COMETBFT_VERSION}");
    };
    let out = Command::new(&bin)
        .arg("version")
        .output()
        .with_context(|| format!("running {} version", bin.display()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if version != COMETBFT_VERSION {
        bail!(
            "{} is CometBFT {version:?}, not the pinned v{COMETBFT_VERSION}: run ./scripts/setup.sh",
            bin.display()
        );
    }
    Ok(bin)
}

/// A running `cometbft start`.
pub struct CometProcess {
    child: Child,
    pub home: PathBuf,
}

impl CometProcess {
    /// Starts `cometbft start --home HOME` (logs to `HOME/cometbft.log`).
    pub fn start(cometbft: &Path, home: &Path) -> anyhow::Result<CometProcess> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("cometbft.log"))?;
        let child = Command::new(cometbft)
            .arg("start")
            .arg("--home")
            .arg(home)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", cometbft.display()))?;
        Ok(CometProcess {
            child,
            home: home.to_path_buf(),
        })
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then wait for the process to be gone.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.kill().context("SIGKILL")?;
        self.child.wait().context("reaping cometbft")?;
        Ok(())
    }

    /// What it has logged so far, the last `lines` lines.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.home.join("cometbft.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for CometProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node's CometBFT JSON-RPC.
#[derive(Clone, Debug)]
pub struct Rpc {
    pub url: String,
}

impl Rpc {
    pub fn new(url: impl Into<String>) -> Rpc {
        Rpc { url: url.into() }
    }

    fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}/{path}", self.url);
        let body = ureq::get(&url)
            .timeout(Duration::from_secs(5))
            .call()
            .with_context(|| format!("GET {url}"))?
            .into_string()?;
        let v: Value = serde_json::from_str(&body).with_context(|| format!("{url}: not JSON"))?;
        if let Some(e) = v.get("error") {
            bail!("{url}: {e}");
        }
        Ok(v["result"].clone())
    }

    /// The latest block height (0 while the node has none).
    pub fn height(&self) -> anyhow::Result<u64> {
        let s = self.get("status")?;
        let h = s["sync_info"]["latest_block_height"]
            .as_str()
            .context("status without a height")?;
        Ok(h.parse()?)
    }

    /// The app hash in the header of block `height` (the state after block `height - 1`).
    pub fn header_app_hash(&self, height: u64) -> anyhow::Result<String> {
        let b = self.get(&format!("block?height={height}"))?;
        Ok(b["block"]["header"]["app_hash"]
            .as_str()
            .context("block without an app hash")?
            .to_string())
    }

    /// What the app itself says it last committed: (height, app hash in upper-case hex,
    /// as headers show it).
    pub fn abci_info(&self) -> anyhow::Result<(u64, String)> {
        use base64::Engine;
        let r = self.get("abci_info")?;
        let h = r["response"]["last_block_height"]
            .as_str()
            .unwrap_or("0")
            .parse()?;
        let b64 = r["response"]["last_block_app_hash"].as_str().unwrap_or("");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .context("abci_info's app hash is not base64")?;
        let hash = bytes.iter().map(|b| format!("{b:02X}")).collect();
        Ok((h, hash))
    }

    /// Waits until the node reaches `height`.
    pub fn wait_height(&self, height: u64, timeout: Duration) -> anyhow::Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.height() {
                Ok(h) if h >= height => return Ok(h),
                _ if Instant::now() >= deadline => {
                    bail!("{} did not reach height {height} in {timeout:?}", self.url)
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

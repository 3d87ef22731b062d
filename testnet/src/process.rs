//! `vatd` as a real process: started with a home directory and an ABCI address, killed
//! with SIGKILL like a crashed validator.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// A loopback address with a port free at the time of the call.
pub fn free_local_address() -> anyhow::Result<String> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(l.local_addr()?.to_string())
}

/// A running `vatd start`.
pub struct NodeProcess {
    child: Child,
    pub address: String,
    pub home: PathBuf,
}

impl NodeProcess {
    /// Starts `vatd start --home HOME --address ADDRESS` (logs to `HOME/vatd.log`).
    pub fn start(vatd: &Path, home: &Path, address: &str) -> anyhow::Result<NodeProcess> {
        let home_s = home.to_string_lossy();
        NodeProcess::spawn(
            vatd,
            home,
            address,
            &["start", "--home", &home_s, "--address", address],
        )
    }

    /// Starts `vatd dev` with its RPC on `rpc` and a block every `block_ms`.
    pub fn dev(
        vatd: &Path,
        home: &Path,
        rpc: &str,
        block_ms: u64,
        extra: &[&str],
    ) -> anyhow::Result<NodeProcess> {
        let home_s = home.to_string_lossy();
        let ms = block_ms.to_string();
        let mut args = vec![
            "dev",
            "--home",
            &home_s,
            "--rpc",
            rpc,
            "--block-time-ms",
            &ms,
        ];
        args.extend_from_slice(extra);
        NodeProcess::spawn(vatd, home, rpc, &args)
    }

    /// Starts `vatd ARGS…` (logs to `HOME/vatd.log`); `address` is where it serves.
    pub fn spawn(
        vatd: &Path,
        home: &Path,
        address: &str,
        args: &[&str],
    ) -> anyhow::Result<NodeProcess> {
        NodeProcess::spawn_with_env(vatd, home, address, args, &[])
    }

    /// [`NodeProcess::spawn`] with extra environment variables (a crash point, say).
    pub fn spawn_with_env(
        vatd: &Path,
        home: &Path,
        address: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<NodeProcess> {
        std::fs::create_dir_all(home)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("vatd.log"))?;
        let child = Command::new(vatd)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", vatd.display()))?;
        Ok(NodeProcess {
            child,
            address: address.to_string(),
            home: home.to_path_buf(),
        })
    }

    /// Waits up to `timeout` for the process to end by itself (a node that halts, say);
    /// `None` if it is still running then.
    pub fn wait_exit(
        &mut self,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Option<std::process::ExitStatus>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().context("polling vatd")? {
                return Ok(Some(status));
            }
            if std::time::Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The exit status if the process has ended, without waiting.
    pub fn try_exit(&mut self) -> anyhow::Result<Option<std::process::ExitStatus>> {
        self.child.try_wait().context("polling vatd")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the node has logged so far (`HOME/vatd.log`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("vatd.log")).unwrap_or_default()
    }

    /// SIGKILL, then wait for the process to be gone.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.kill().context("SIGKILL")?;
        self.child.wait().context("reaping vatd")?;
        Ok(())
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Faults at chosen points, on real `vatd start` processes over ABCI, each checked
//! against a twin node that is never hit:
//!
//! - SIGKILL at each of vatd's crash points (`VATD_CRASH_AT`): inside FinalizeBlock, inside
//!   Commit before the block's WriteBatch, and after it before Commit is answered. After a
//!   restart the node reports exactly what it committed (the block if and only if its
//!   batch was written), runs the rest again, and agrees with the twin at every height.
//! - A full disk (the DB on a small tmpfs): the node stops with exit code 74 and a reason
//!   naming the disk, having committed nothing of the block; once there is room it starts
//!   again, runs the block and agrees.
//! - A read-only data directory: the node refuses to start, saying so; once writable it
//!   starts and agrees.
//!
//! The disk tests mount a tmpfs, which needs root (CI runs as root); without root they say
//! so and check only the crash points.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{genesis, Wallet, CHAIN_ID};
use vatchain_app::compose;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_testnet::{free_local_address, AbciDriver, NodeProcess};

fn vatd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vatd"))
}

/// A node process and its ABCI connection.
struct Node {
    process: NodeProcess,
    abci: AbciDriver,
}

impl Node {
    fn start(home: &Path, env: &[(&str, &str)]) -> anyhow::Result<Node> {
        let addr = free_local_address()?;
        let h = home.to_string_lossy().into_owned();
        let process = NodeProcess::spawn_with_env(
            vatd(),
            home,
            &addr,
            &["start", "--home", &h, "--address", &addr],
            env,
        )?;
        let abci = AbciDriver::connect(&addr, Duration::from_secs(60))?;
        Ok(Node { process, abci })
    }

    /// Waits for the process to end by itself; its exit code (`None`: killed by a signal).
    fn exit_code(&mut self) -> anyhow::Result<Option<i32>> {
        let status = self
            .process
            .wait_exit(Duration::from_secs(20))?
            .ok_or_else(|| anyhow::anyhow!("the node did not stop"))?;
        Ok(status.code())
    }
}

/// The chain both nodes are sent: genesis, then block `h` at time `1000 + 5h` with `txs`.
struct Chain {
    genesis: Vec<u8>,
    blocks: Vec<Vec<Vec<u8>>>,
    hashes: Vec<Vec<u8>>,
}

impl Chain {
    fn new(alice: &Wallet, bob: &Wallet) -> Chain {
        Chain {
            genesis: genesis(alice, bob).to_string().into_bytes(),
            blocks: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// A chain of `blocks` blocks, block `h` holding one tx that adds `h` to the counter.
    fn counting(blocks: u64) -> Chain {
        let (mut alice, bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
        let mut chain = Chain::new(&alice, &bob);
        for h in 1..=blocks {
            let tx = alice.tx(vec![compose::deliver(
                &alice.address.clone(),
                "counter",
                "increment",
                &format!("[{h}]"),
            )]);
            chain.blocks.push(vec![tx]);
        }
        chain
    }

    fn time(h: u64) -> u64 {
        1_000 + 5 * h
    }

    /// Brings `n` from its committed height to `to`, checking every app hash against
    /// the chain's (recording it where the chain has none yet).
    fn sync(&mut self, n: &mut Node, to: u64) -> anyhow::Result<()> {
        let (mut h, hash) = n.abci.info()?;
        if h == 0 {
            n.abci.init_chain(CHAIN_ID, &self.genesis)?;
        } else {
            assert_eq!(hash, self.hashes[h as usize - 1], "app hash at height {h}");
        }
        while h < to {
            h += 1;
            let r = n
                .abci
                .finalize_block(h, Self::time(h), self.blocks[h as usize - 1].clone())?;
            match self.hashes.get(h as usize - 1) {
                Some(want) => assert_eq!(&r.app_hash.to_vec(), want, "app hash of block {h}"),
                None => self.hashes.push(r.app_hash.to_vec()),
            }
            n.abci.commit()?;
        }
        Ok(())
    }
}

/// A bundle of about `kb` KiB that compresses poorly (so that it fills a disk).
fn big_bundle(seed: u64, kb: usize) -> Vec<u8> {
    let mut rng = fastrand_like(seed);
    let filler: String = (0..kb * 1024 / 2)
        .map(|_| {
            char::from(
                b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[rng() % 62],
            )
        })
        .collect();
    let src = format!(
        "// {filler}\nimport {{ Far }} from '@endo/far';\nexport function buildRootObject() {{ return Far('x', {{}}); }}\n"
    );
    let mut modules = std::collections::BTreeMap::new();
    modules.insert("main.js".to_string(), src);
    Bundle::new("main.js", modules)
        .expect("bundle")
        .canonical_bytes()
}

/// A small deterministic generator (xorshift), so the twin and the node get equal bytes.
fn fastrand_like(seed: u64) -> impl FnMut() -> usize {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize
    }
}

#[test]
fn a_kill_at_each_crash_point_loses_nothing_committed_and_keeps_nothing_else() -> anyhow::Result<()>
{
    let mut chain = Chain::counting(12);
    let twin_home = tempfile::tempdir()?;
    let mut twin = Node::start(twin_home.path(), &[])?;
    chain.sync(&mut twin, 12)?;

    let home = tempfile::tempdir()?;
    let mut committed = 0u64;
    // (point, does the block it strikes in survive the kill?)
    for (point, survives) in [
        ("finalize-block", false),
        ("commit-before-write", false),
        ("commit-after-write", true),
    ] {
        // The second time the point is reached, two blocks on.
        let mut n = Node::start(home.path(), &[("VATD_CRASH_AT", &format!("{point}@2"))])?;
        chain.sync(&mut n, committed)?;
        let mut died_at = None;
        for h in committed + 1..=12 {
            let r = n
                .abci
                .finalize_block(h, Chain::time(h), chain.blocks[h as usize - 1].clone())
                .and_then(|r| n.abci.commit().map(|_| r));
            match r {
                Ok(r) => assert_eq!(r.app_hash.to_vec(), chain.hashes[h as usize - 1]),
                Err(_) => {
                    died_at = Some(h);
                    break;
                }
            }
        }
        let h = died_at.unwrap_or_else(|| panic!("{point}: the node never died"));
        assert_eq!(n.exit_code()?, None, "{point}: killed by a signal");
        assert!(
            n.process
                .log()
                .contains(&format!("crash point {point} reached")),
            "{point}: {}",
            n.process.log()
        );
        drop(n);
        let mut n = Node::start(home.path(), &[])?;
        let (height, hash) = n.abci.info()?;
        let want = if survives { h } else { h - 1 };
        assert_eq!(
            height, want,
            "{point}: the committed height after the kill at block {h}"
        );
        assert_eq!(
            hash,
            chain.hashes[want as usize - 1],
            "{point}: its app hash"
        );
        committed = (h + 1).min(12);
        chain.sync(&mut n, committed)?;
        let counter = n.abci.query_json("/data/counter.count")?;
        assert_eq!(
            counter,
            serde_json::json!(count_after(committed)),
            "{point}: the vat's state"
        );
        n.process.kill9()?;
    }
    Ok(())
}

/// The counter after block `h` (block `i` adds `i`).
fn count_after(h: u64) -> u64 {
    h * (h + 1) / 2
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn mount(args: &[&str], dir: &Path) -> anyhow::Result<()> {
    let out = Command::new("mount").args(args).arg(dir).output()?;
    anyhow::ensure!(
        out.status.success(),
        "mount {args:?} {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Unmounts when dropped (the test may fail half-way).
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_or_a_read_only_data_dir_stops_the_node_cleanly_and_it_runs_again(
) -> anyhow::Result<()> {
    if !is_root() {
        eprintln!("SKIPPED: mounting a tmpfs needs root; the crash-point test still runs");
        return Ok(());
    }
    let (mut alice, bob) = (Wallet::new(1, 0), Wallet::new(2, 1));
    let mut chain = Chain::new(&alice, &bob);
    let twin_home = tempfile::tempdir()?;
    let mut twin = Node::start(twin_home.path(), &[])?;

    // The node's DB (home/data) on a 6 MiB tmpfs; its log stays on the real disk.
    let home = tempfile::tempdir()?;
    let data = home.path().join("data");
    std::fs::create_dir_all(&data)?;
    mount(&["-t", "tmpfs", "-o", "size=6m", "tmpfs"], &data)?;
    let _mounted = Mounted(data.clone());
    let mut n = Node::start(home.path(), &[])?;
    chain.sync(&mut twin, 0)?;
    chain.sync(&mut n, 0)?;

    // Blocks of big bundles until the node's disk is full.
    let mut full_at = None;
    for h in 1..=40u64 {
        let b = big_bundle(h, 700);
        let tx = alice.tx(vec![compose::install_bundle(
            &alice.address.clone(),
            &b,
            false,
        )]);
        chain.blocks.push(vec![tx]);
        chain.sync(&mut twin, h)?;
        let r = n
            .abci
            .finalize_block(h, Chain::time(h), chain.blocks[h as usize - 1].clone());
        let r = r.and_then(|r| n.abci.commit().map(|_| r));
        if r.is_err() {
            full_at = Some(h);
            break;
        }
    }
    let h = full_at.expect("6 MiB fill up within 40 blocks of 700 KiB bundles");
    assert_eq!(n.exit_code()?, Some(74), "the node stops with EX_IOERR");
    let log = n.process.log();
    assert!(
        log.contains("cannot write the block to the DB") && log.contains("No space left on device"),
        "the reason names the disk: {log}"
    );
    drop(n);

    // Room again: the node starts from what it committed (not the failed block), runs it
    // and the next ones, and agrees with the twin.
    mount(&["-o", "remount,size=256m"], &data)?;
    let mut n = Node::start(home.path(), &[])?;
    assert_eq!(
        n.abci.info()?.0,
        h - 1,
        "the block that failed to write is not committed"
    );
    chain.sync(&mut n, h)?;
    for extra in h + 1..=h + 2 {
        chain.blocks.push(vec![]);
        chain.sync(&mut twin, extra)?;
        chain.sync(&mut n, extra)?;
    }
    let last = h + 2;
    assert_eq!(
        n.abci.info()?,
        twin.abci.info()?,
        "the node and its twin agree"
    );
    n.process.kill9()?;
    drop(n);

    // A read-only data directory: refused at start, with the reason; fine once writable.
    mount(&["-o", "remount,ro"], &data)?;
    let mut n = NodeProcess::start(vatd(), home.path(), &free_local_address()?)?;
    let status = n
        .wait_exit(Duration::from_secs(30))?
        .expect("a node on a read-only data directory stops");
    assert!(!status.success());
    assert!(
        n.log().contains("Read-only file system"),
        "the reason names the file system: {}",
        n.log()
    );
    drop(n);
    mount(&["-o", "remount,rw"], &data)?;
    let mut n = Node::start(home.path(), &[])?;
    assert_eq!(n.abci.info()?, twin.abci.info()?);
    chain.blocks.push(vec![]);
    chain.sync(&mut twin, last + 1)?;
    chain.sync(&mut n, last + 1)?;
    assert_eq!(n.abci.info()?, twin.abci.info()?);
    n.process.kill9()?;
    twin.process.kill9()?;
    Ok(())
}

/// A disk that can no longer be read (injected: `VATD_FAIL_READS` fails every read of the
/// counter vat's vatstore) stops the node with the reason before FinalizeBlock is answered
/// (exit 75) and commits nothing; once the disk reads again, the node runs the block and
/// agrees with a twin whose disk never failed.
#[test]
fn a_store_that_cannot_be_read_stops_the_node_and_it_runs_again() -> anyhow::Result<()> {
    let mut chain = Chain::counting(4);
    let twin_home = tempfile::tempdir()?;
    let mut twin = Node::start(twin_home.path(), &[])?;
    chain.sync(&mut twin, 4)?;

    let home = tempfile::tempdir()?;
    let mut n = Node::start(home.path(), &[])?;
    chain.sync(&mut n, 2)?;
    let vat = n.abci.query_json("/vat/counter")?;
    let id = vat["vatID"].as_str().expect("vatID").to_string();
    n.process.kill9()?;
    drop(n);

    // Restarted with the counter's vatstore unreadable (nothing of it is cached yet).
    let prefix = format!("{id}.vs.");
    let mut n = Node::start(home.path(), &[("VATD_FAIL_READS", &prefix)])?;
    assert_eq!(n.abci.info()?, (2, chain.hashes[1].clone()));
    let r = n
        .abci
        .finalize_block(3, Chain::time(3), chain.blocks[2].clone());
    assert!(r.is_err(), "block 3 must not be answered: {r:?}");
    assert_eq!(n.exit_code()?, Some(75), "{}", n.process.log());
    let log = n.process.log();
    assert!(
        log.contains("the store could not be read") && log.contains("injected"),
        "{log}"
    );
    drop(n);

    let mut n = Node::start(home.path(), &[])?;
    assert_eq!(
        n.abci.info()?,
        (2, chain.hashes[1].clone()),
        "nothing committed"
    );
    chain.sync(&mut n, 4)?;
    assert_eq!(
        n.abci.query_json("/data/counter.count")?,
        serde_json::json!(count_after(4))
    );
    n.process.kill9()?;
    twin.process.kill9()?;
    Ok(())
}

//! Crash safety (seed 003): a child process commits blocks in a loop and is SIGKILLed at
//! random moments; after each kill the reopened DB must be exactly some committed block —
//! the kv length counters agree with the transcript items, and the whole content and the
//! app hash equal a replay of blocks 1..=height on an in-memory store.
//!
//! `VATCHAIN_CRASH_KILLS` sets the number of kills (default 50).

use std::process::Command;
use std::time::Duration;

use vatchain_kernel::store::{Cf, Store};

const CHILD_ENV: &str = "VATCHAIN_CRASH_CHILD_DIR";
const VATS: [&str; 3] = ["v1", "v2", "v3"];

fn transcript_key(vat: &str, pos: u64) -> Vec<u8> {
    let mut k = vat.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&pos.to_be_bytes());
    k
}

fn len_key(vat: &str) -> Vec<u8> {
    format!("{vat}.transcript.length").into_bytes()
}

/// Block `h`'s writes, split into cranks: each crank appends transcript items to one vat
/// and bumps its length in kv, so kv and transcript agree only if both commit together.
fn apply_block(store: &mut Store, h: u64) {
    for (i, vat) in VATS.iter().enumerate() {
        if (h + i as u64).is_multiple_of(3) {
            continue;
        }
        let len = store
            .get(Cf::Kv, &len_key(vat))
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
            .unwrap_or(0);
        let n = 1 + (h % 4);
        for p in len..len + n {
            // Large-ish values so a batch spans several pages.
            let item = format!(
                "{{\"block\":{h},\"pos\":{p},\"pad\":\"{}\"}}",
                "x".repeat(512)
            );
            store.set(Cf::Transcript, &transcript_key(vat, p), item.as_bytes());
        }
        store.set(Cf::Kv, &len_key(vat), &(len + n).to_be_bytes());
        store.commit_crank();
    }
    store.set(Cf::Kv, format!("block.{h}").as_bytes(), b"seen");
    if h > 1 {
        store.delete(Cf::Kv, format!("block.{}", h - 1).as_bytes());
    }
    if h.is_multiple_of(5) {
        store.set(
            Cf::Bundles,
            format!("b1-{h:04}").as_bytes(),
            &vec![h as u8; 4096],
        );
    }
    store.set(Cf::Host, b"chain.last", &h.to_be_bytes());
    store.commit_crank();
}

/// The child: commit blocks forever (until killed).
#[test]
fn crash_child_loop() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // Only meaningful as the child of `kill_at_random_moments`.
    };
    let mut store = Store::open(std::path::Path::new(&dir)).expect("child opens store");
    loop {
        let h = store.committed().height + 1;
        apply_block(&mut store, h);
        store.commit_block(h).expect("child commits");
    }
}

fn check_consistent(dir: &std::path::Path) -> u64 {
    let store = Store::open(dir).expect("reopen after kill");
    let h = store.committed().height;
    for vat in VATS {
        let len = store
            .get(Cf::Kv, &len_key(vat))
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
            .unwrap_or(0);
        let mut prefix = vat.as_bytes().to_vec();
        prefix.push(0);
        let items = store.scan_prefix(Cf::Transcript, &prefix).len() as u64;
        assert_eq!(
            items, len,
            "{vat}: transcript has {items} items but kv says {len} (height {h})"
        );
    }
    let mut model = Store::in_memory();
    for b in 1..=h {
        apply_block(&mut model, b);
        model.commit_block(b).expect("model commits");
    }
    assert_eq!(
        store.committed(),
        model.committed(),
        "app hash at height {h}"
    );
    assert!(
        store.dump() == model.dump(),
        "DB content differs from a replay to height {h}"
    );
    h
}

#[test]
fn kill_at_random_moments() {
    let kills: u32 = std::env::var("VATCHAIN_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let seed = fastrand::u64(..);
    println!("crash test seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary path");
    let mut last = 0;
    for i in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "crash_child_loop",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .spawn()
            .expect("spawn child");
        std::thread::sleep(Duration::from_millis(rng.u64(20..150)));
        child.kill().expect("SIGKILL child");
        child.wait().expect("reap child");
        let h = check_consistent(dir.path());
        assert!(h >= last, "kill {i}: height went back from {last} to {h}");
        last = h;
    }
    assert!(last > 0, "the child never committed a block");
    println!("{kills} kills, final height {last}");
}

//! Seed 004: vats keep state in plain JS variables; after a restart (a new kernel on the
//! same RocksDB, no live workers) they are rebuilt from their transcripts and answer with
//! the same state, and the app-hash sequence equals an uninterrupted run's. A kernel that
//! keeps only one live worker (evicting and replaying constantly) computes the same hashes.

use std::path::Path;

mod support;

use vatchain_kernel::store::{Hash32, Store};
use vatchain_kernel::worker::JsWorkers;
use vatchain_kernel::{KRef, Kernel, KernelConfig, PromiseState, RunBudget};

fn open(store: Store, max_live_workers: usize) -> Kernel {
    let config = KernelConfig {
        max_live_workers,
        ..KernelConfig::default()
    };
    Kernel::new(store, Box::new(JsWorkers::default()), config).expect("kernel")
}

/// The fulfilment body of a host call (panics on anything else).
fn call(k: &mut Kernel, target: KRef, body: &str, slots: &[KRef]) -> String {
    match support::js::call(k, target, body, slots) {
        PromiseState::Fulfilled(d) => d.body,
        other => panic!("{body}: {other:?}"),
    }
}

/// Block 1: two dynamic-style vats. Blocks 2..=n: pings (state in JS variables).
fn setup(k: &mut Kernel) -> (KRef, KRef) {
    support::js::pingpong_pair(k)
}

fn ping_block(k: &mut Kernel, alice: KRef, bob: KRef, n: u64) -> String {
    call(k, alice, &format!("#[\"ping\",[\"$0\",{n}]]"), &[bob])
}

#[test]
fn vats_come_back_with_their_state_after_a_restart() {
    // Uninterrupted run: 6 blocks.
    let mut straight = open(Store::in_memory(), 50);
    let (a, b) = setup(&mut straight);
    let mut want: Vec<Hash32> = vec![straight.commit_block(1).expect("commit")];
    let mut answers = Vec::new();
    for h in 2..=6 {
        answers.push(ping_block(&mut straight, a, b, h));
        want.push(straight.commit_block(h).expect("commit"));
    }
    assert_eq!(answers.last().map(String::as_str), Some("#\"alice:7/5\""));

    // Interrupted: 3 blocks, drop everything, reopen the DB, 3 more.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut got = Vec::new();
    {
        let mut k = open(Store::open(dir.path()).expect("open"), 50);
        let (a, b) = setup(&mut k);
        got.push(k.commit_block(1).expect("commit"));
        for h in 2..=3 {
            ping_block(&mut k, a, b, h);
            got.push(k.commit_block(h).expect("commit"));
        }
    }
    let mut k = open(Store::open(dir.path()).expect("reopen"), 50);
    assert_eq!(k.vats().len(), 2, "both vats are known from the DB alone");
    let a = k.vat_root(k.vat_id("alice").expect("alice")).expect("root");
    let b = k.vat_root(k.vat_id("bob").expect("bob")).expect("root");
    for h in 4..=6 {
        let answer = ping_block(&mut k, a, b, h);
        assert_eq!(
            answer,
            answers[(h - 2) as usize],
            "block {h} answers as if never restarted"
        );
        got.push(k.commit_block(h).expect("commit"));
    }
    assert_eq!(
        got, want,
        "the app-hash sequence equals the uninterrupted run's"
    );
    assert!(k.audit().is_healthy());
}

#[test]
fn evicted_workers_are_rebuilt_by_replay_with_the_same_results() {
    let run = |max_live| {
        let mut k = open(Store::in_memory(), max_live);
        let (a, b) = setup(&mut k);
        let mut out = Vec::new();
        for n in 0..5 {
            out.push(ping_block(&mut k, a, b, n));
        }
        out.push(call(&mut k, a, "#[\"getCount\",[]]", &[]));
        (out, k.commit_block(1).expect("commit"))
    };
    let (roomy, h1) = run(50);
    let (tight, h2) = run(1);
    assert_eq!(roomy, tight);
    assert_eq!(roomy.last().map(String::as_str), Some("#5"));
    assert_eq!(h1, h2);
}

/// A transcript that no longer replays is a failure of this node (its disk, its binary),
/// not of the vat: the kernel halts with both sides of the difference, terminates nobody,
/// leaves the message queued and refuses further work; once the transcript is whole again,
/// a restarted kernel delivers the message as if nothing had happened.
#[test]
fn a_tampered_transcript_halts_the_kernel_and_changes_nothing() {
    use vatchain_kernel::capdata::CapData;
    use vatchain_kernel::store::Cf;
    let mut k = open(Store::in_memory(), 50);
    let (a, b) = setup(&mut k);
    ping_block(&mut k, a, b, 1);
    k.commit_block(1).expect("commit");
    let mut store = k.into_store();
    // Rewrite one recorded syscall of v1's ping delivery: replay must notice.
    let prefix = b"v1\0".to_vec();
    let items = store.scan_prefix(Cf::Transcript, &prefix);
    let (key, original) = items
        .iter()
        .find(|(_, v)| String::from_utf8_lossy(v).contains("\"send\""))
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("a delivery that sent");
    let tampered = String::from_utf8_lossy(&original).replacen("pong", "pang", 1);
    store.set(Cf::Transcript, &key, tampered.as_bytes());
    store.commit_crank();
    store.commit_block(2).expect("commit");

    let mut k = open(store, 50);
    let ping = CapData {
        body: "#[\"ping\",[\"$0\",2]]".into(),
        slots: vec![b],
    };
    let kp = k
        .queue_to_kref(a, ping.clone(), true)
        .expect("send")
        .expect("result");
    k.run(RunBudget::UNLIMITED);
    let why = k.halted().expect("the kernel halted").to_string();
    assert!(
        why.contains("transcript divergence in v1 at position") && why.contains("pang"),
        "{why}"
    );
    assert_eq!(k.vats().len(), 2, "no vat was terminated");
    assert!(
        matches!(k.promise_state(kp), Some(PromiseState::Unresolved { .. })),
        "the message was not answered"
    );
    assert!(k.has_work(), "the message is still queued");
    let refused = k
        .queue_to_kref(a, ping, true)
        .expect_err("a halted kernel refuses work");
    assert!(
        refused.to_string().contains("failure of this node's own"),
        "{refused}"
    );
    assert!(k.run(RunBudget::UNLIMITED).cranks == 0, "nothing more runs");

    // The host does not commit a halted block. The cause goes away (the transcript is
    // whole again), the node restarts from its last commit, and the ping is answered.
    let mut store = k.into_store();
    store.abort_block();
    store.set(Cf::Transcript, &key, &original);
    store.commit_crank();
    store.commit_block(3).expect("commit");
    let mut k = open(store, 50);
    assert_eq!(ping_block(&mut k, a, b, 2), "#\"alice:3/2\"");
    assert!(k.halted().is_none());
}

const CHILD_ENV: &str = "VATCHAIN_RESTART_CHILD";

/// The child side of `a_second_process_sees_the_same_vats`: `phase1` builds the vats and
/// commits blocks 1..=3, `phase2` reopens the DB and commits 4..=6. Each prints one line per
/// block: `block <h> <app hash hex> <answer>`.
#[test]
fn restart_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return; // Only meaningful as a child process.
    };
    let (phase, dir) = spec.split_once(':').expect("phase:dir");
    let mut k = open(Store::open(Path::new(dir)).expect("open"), 50);
    if phase == "phase1" {
        let (a, b) = setup(&mut k);
        println!("block 1 {} -", hex(&k.commit_block(1).expect("commit")));
        for h in 2..=3 {
            let ans = ping_block(&mut k, a, b, h);
            println!(
                "block {h} {} {ans}",
                hex(&k.commit_block(h).expect("commit"))
            );
        }
    } else {
        let a = k.vat_root(k.vat_id("alice").expect("alice")).expect("root");
        let b = k.vat_root(k.vat_id("bob").expect("bob")).expect("root");
        for h in 4..=6 {
            let ans = ping_block(&mut k, a, b, h);
            println!(
                "block {h} {} {ans}",
                hex(&k.commit_block(h).expect("commit"))
            );
        }
    }
}

fn hex(h: &Hash32) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_second_process_sees_the_same_vats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut lines = Vec::new();
    for phase in ["phase1", "phase2"] {
        let out = std::process::Command::new(&exe)
            .args([
                "restart_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{phase}:{}", dir.path().display()))
            .output()
            .expect("run child");
        assert!(
            out.status.success(),
            "{phase} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                // The test harness may print "test restart_child ... " before our first line.
                .filter_map(|l| l.find("block ").map(|i| l[i..].to_string())),
        );
    }
    // The same six blocks in one uninterrupted kernel.
    let mut k = open(Store::in_memory(), 50);
    let (a, b) = setup(&mut k);
    let mut want = vec![format!(
        "block 1 {} -",
        hex(&k.commit_block(1).expect("commit"))
    )];
    for h in 2..=6 {
        let ans = ping_block(&mut k, a, b, h);
        want.push(format!(
            "block {h} {} {ans}",
            hex(&k.commit_block(h).expect("commit"))
        ));
    }
    assert_eq!(
        lines, want,
        "two processes give the same answers and app hashes as one"
    );
}

#[test]
fn modules_are_compiled_once_per_process() {
    let workers = JsWorkers::default();
    let cache = workers.cache.clone();
    let config = KernelConfig {
        max_live_workers: 1,
        ..KernelConfig::default()
    };
    let mut k = Kernel::new(Store::in_memory(), Box::new(workers), config).expect("kernel");
    let (a, b) = setup(&mut k);
    let after_setup = cache.borrow().len();
    // liveslots (3 modules), @endo/far, @endo/promise-kit is unused, the vat's 2 modules.
    assert!(after_setup >= 5, "{after_setup} modules cached");
    // Constant eviction rebuilds workers from the cache: nothing new is compiled.
    for n in 0..3 {
        ping_block(&mut k, a, b, n);
    }
    assert_eq!(cache.borrow().len(), after_setup);
}

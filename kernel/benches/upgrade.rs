//! Upgrade time against the amount of durable state: a vat holding D durable objects (in a
//! durable store in baggage), E ephemeral exports held outside it and P promises it
//! decides is upgraded; we time the request to the settled outcome, including the cranks
//! it causes (the rejections' notifies). The cost must not grow with D: nothing in the
//! upgrade path visits durable objects. On RocksDB, D = 10k and 100k, E = P = 1k.
//! `cargo bench -p vatchain-kernel --bench upgrade`; under `cargo test` it runs a small
//! smoke configuration.

// The allocator vatd uses (see app/src/main.rs), so the figures are the node's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Instant;

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::{JsWorkers, VatSource};
use vatchain_kernel::{Kernel, KernelConfig, PromiseState, RunBudget, UpgradeRequest, VatOptions};

fn bundle(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vats")
        .join(name);
    Bundle::from_dir(&dir, "main.js")
        .expect("bundle")
        .canonical_bytes()
}

struct Figures {
    upgrade_ms: f64,
    total_ms: f64,
    rejected: usize,
    abandoned: usize,
}

fn measure(d: u64, e: u64, p: u64) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = Kernel::new(
        Store::open(dir.path()).expect("store"),
        Box::new(JsWorkers::default()),
        KernelConfig::default(),
    )
    .expect("kernel");
    let v1 = k.install_bundle(&bundle("durable-v1")).expect("v1");
    let v2 = k.install_bundle(&bundle("durable-v2")).expect("v2");
    let v = k
        .create_vat(
            VatSource { bundle_id: v1 },
            VatOptions {
                name: "subject".into(),
                ..VatOptions::default()
            },
            CapData::data("#{}"),
        )
        .expect("vat");
    let root = k.vat_root(v).expect("root");
    k.run(RunBudget::UNLIMITED);
    let mut height = 1;
    let mut commit = |k: &mut Kernel| {
        k.commit_block(height).expect("commit");
        height += 1;
    };
    let send = |k: &mut Kernel, body: &str| {
        k.queue_to_kref(root, CapData::data(body), true)
            .expect("send")
            .expect("result")
    };
    // D durable objects, 500 per delivery.
    let batch = 500;
    let mut made = 0;
    while made < d {
        let n = batch.min(d - made);
        let kp = send(&mut k, &format!("#[\"fill\",[{made},{n}]]"));
        k.run(RunBudget::UNLIMITED);
        assert!(
            matches!(k.promise_state(kp), Some(PromiseState::Fulfilled(_))),
            "fill failed: {:?}",
            k.promise_state(kp)
        );
        k.unpin(kp);
        made += n;
        if (made / batch) % 20 == 0 {
            commit(&mut k);
        }
    }
    // E ephemeral exports held by the host, P promises the vat decides.
    let mut held = Vec::new();
    for _ in 0..e {
        let kp = send(&mut k, "#[\"makeEphemeral\",[]]");
        held.push(kp);
    }
    for _ in 0..p {
        held.push(send(&mut k, "#[\"hang\",[]]"));
    }
    k.run(RunBudget::UNLIMITED);
    commit(&mut k);

    let t0 = Instant::now();
    let report = k
        .upgrade_vat(
            v,
            UpgradeRequest {
                bundle_id: v2,
                vat_parameters: CapData::data("#{}"),
                upgrade_message: "bench".into(),
            },
        )
        .expect("upgrade");
    let upgrade_ms = t0.elapsed().as_secs_f64() * 1e3;
    k.run(RunBudget::UNLIMITED);
    let total_ms = t0.elapsed().as_secs_f64() * 1e3;
    commit(&mut k);
    Figures {
        upgrade_ms,
        total_ms,
        rejected: report.rejected_promises.len(),
        abandoned: report.abandoned_exports.len(),
    }
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let (ds, e, p): (Vec<u64>, u64, u64) = if benching {
        (vec![10_000, 100_000], 1_000, 1_000)
    } else {
        (vec![200, 2_000], 20, 20)
    };
    println!("vat upgrade, RocksDB, E = {e} ephemeral exports, P = {p} decided promises");
    let mut totals = Vec::new();
    for d in &ds {
        let f = measure(*d, e, p);
        assert_eq!(f.rejected as u64, p);
        assert!(f.abandoned as u64 >= e);
        println!(
            "  D = {d:>7} durable objects: upgrade crank {:>7.1} ms, to quiescence {:>7.1} ms",
            f.upgrade_ms, f.total_ms
        );
        totals.push(f.total_ms);
    }
    if let [a, b] = totals[..] {
        println!(
            "  growth for 10x D: {:.2}x (target: within 1.2x; SwingSet 0.33: 1.9-4.9 s at D = 1k-10k)",
            b / a
        );
    }
}

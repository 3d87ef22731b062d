//! The v2→v3 remediation (`Kernel::migrate`) on v2 DBs made by the legacy kernel through
//! real vats and real (leaky) upgrades, on RocksDB, each migrated by a freshly opened
//! kernel (cold caches), as a node starting the new binary would.
//!
//! 1. Agreeable run-53's shape (upstream #9039): 90 JS vats; the upgrades of "zoe" and
//!    "walletFactory" leak 3,128 and 38 promise entries; around them durable objects in
//!    vatstores, c-list entries between vats, unresolved promises, and work still queued.
//!    Upstream's scan alone took 0.37 s and 11,882 DB queries; our aim is under 50 ms.
//! 2. A raw (Rust) vat that exported N promises and was upgraded: N = 100k and 1M leaked
//!    entries, to show the cost is linear (aim: under 10 s at 1M).
//!
//! `cargo bench --workspace --features vatchain-kernel/legacy-v2 --bench remediation`
//! (`-- --quick` skips 1M). Without `--bench` (as `cargo test` runs it): a small smoke
//! configuration that checks the counts.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::{Duration, Instant};

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::migrate::MigrationReport;
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::{
    JsWorkers, RawWorkers, SyscallHandler, VResolution, VatDelivery, VatSource, VatSyscall,
    WorkerFactory,
};
use vatchain_kernel::{KRef, Kernel, KernelConfig, PromiseState, RunBudget, UpgradeRequest};
use vatchain_kernel::{VatId, VatOptions};

fn fixture(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vats")
        .join(name);
    Bundle::from_dir(&dir, "main.js")
        .expect("bundle")
        .canonical_bytes()
}

fn open(path: &Path, legacy: bool, factory: Box<dyn WorkerFactory>) -> Kernel {
    Kernel::new(
        Store::open(path).expect("store"),
        factory,
        KernelConfig {
            legacy_v2: legacy,
            ..KernelConfig::default()
        },
    )
    .expect("kernel")
}

fn create(k: &mut Kernel, bundle_id: &str, name: &str) -> (VatId, KRef) {
    let v = k
        .create_vat(
            VatSource {
                bundle_id: bundle_id.into(),
            },
            VatOptions {
                name: name.into(),
                ..VatOptions::default()
            },
            CapData::data("#{}"),
        )
        .expect("vat");
    (v, k.vat_root(v).expect("root"))
}

/// Sends from the host and runs until idle; the result must be fulfilled. Returns it.
fn call(k: &mut Kernel, target: KRef, body: &str, slots: &[KRef]) -> CapData<KRef> {
    let kp = k
        .queue_to_kref(
            target,
            CapData {
                body: body.into(),
                slots: slots.to_vec(),
            },
            true,
        )
        .expect("send")
        .expect("result");
    assert!(k.run(RunBudget::UNLIMITED).idle);
    let state = k.promise_state(kp);
    k.unpin(kp);
    match state {
        Some(PromiseState::Fulfilled(d)) => d,
        other => panic!("{body}: {other:?}"),
    }
}

fn upgrade(k: &mut Kernel, v: VatId, bundle_id: &str) {
    k.upgrade_vat(
        v,
        UpgradeRequest {
            bundle_id: bundle_id.into(),
            vat_parameters: CapData::data("#{}"),
            upgrade_message: "vat upgraded".into(),
        },
    )
    .expect("legacy upgrade");
}

/// The shape of agreeable run-53: `vats` JS vats, `zoe` and `wallet` entries leaked by the
/// upgrades of two of them. Returns the DB's directory.
fn make_run53(vats: usize, zoe: u64, wallet: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = open(dir.path(), true, Box::new(JsWorkers::default()));
    let v1 = k.install_bundle(&fixture("durable-v1")).expect("v1");
    let v2 = k.install_bundle(&fixture("durable-v2")).expect("v2");
    let holder_b = k.install_bundle(&fixture("holder")).expect("holder");
    let (zoe_v, zoe_root) = create(&mut k, &v1, "zoe");
    let (wallet_v, wallet_root) = create(&mut k, &v1, "walletFactory");
    let (_, holder) = create(&mut k, &holder_b, "holder");
    let fillers: Vec<KRef> = (3..vats)
        .map(|i| create(&mut k, &v1, &format!("vat-{i}")).1)
        .collect();
    k.run(RunBudget::UNLIMITED);
    let mut height = 1;
    let mut commit = |k: &mut Kernel| {
        k.commit_block(height).expect("commit");
        height += 1;
    };
    // Around the leak: durable objects (vatstore data), objects and promises across
    // c-lists, unresolved promises held by other vats.
    for (i, f) in fillers.iter().enumerate() {
        call(&mut k, *f, "#[\"fill\",[0,20]]", &[]);
        call(&mut k, *f, "#[\"makeCounter\",[1]]", &[]);
        call(
            &mut k,
            holder,
            "#[\"holdDeferred\",[\"$0.Alleged: root\"]]",
            &[*f],
        );
        if i % 10 == 9 {
            commit(&mut k);
        }
    }
    let hold = |k: &mut Kernel, target: KRef, n: u64| {
        let body = format!("#[\"holdMany\",[\"$0.Alleged: root\",{n}]]");
        call(k, holder, &body, &[target]);
    };
    hold(&mut k, zoe_root, zoe);
    hold(&mut k, wallet_root, wallet);
    commit(&mut k);
    upgrade(&mut k, zoe_v, &v2);
    upgrade(&mut k, wallet_v, &v2);
    assert!(k.run(RunBudget::UNLIMITED).idle);
    // Work still queued when the old binary halts.
    for f in fillers.iter().take(10) {
        k.queue_to_kref(*f, CapData::data("#[\"bump\",[]]"), false)
            .expect("send");
    }
    commit(&mut k);
    dir
}

/// A raw vat that exported `n` promises (in answers of 10,000 slots) and was upgraded by
/// the legacy kernel, so every one is left in its c-list with the exporter as last holder.
fn make_exporter(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let (v1, v2) = (raw_bundle("exporter v1"), raw_bundle("exporter v2"));
    let mut k = open(dir.path(), true, Box::new(exporter_workers(&v1, &v2)));
    k.install_bundle(&v1.canonical_bytes()).expect("v1");
    k.install_bundle(&v2.canonical_bytes()).expect("v2");
    let (v, root) = create(&mut k, &v1.id(), "exporter");
    k.run(RunBudget::UNLIMITED);
    let mut made = 0;
    let mut height = 1;
    while made < n {
        let batch = (n - made).min(10_000);
        let d = call(&mut k, root, &format!("#[\"export\",[{batch}]]"), &[]);
        assert_eq!(d.slots.len() as u64, batch);
        made += batch;
        if made % 100_000 == 0 || made == n {
            k.commit_block(height).expect("commit");
            height += 1;
        }
    }
    upgrade(&mut k, v, &v2.id());
    k.commit_block(height).expect("commit");
    dir
}

/// A bundle whose id names a raw vat (its JS is never run).
fn raw_bundle(label: &str) -> Bundle {
    Bundle::new(
        "main.js",
        [(
            "main.js".to_string(),
            format!("// {label}\nexport const buildRootObject = () => ({{}});\n"),
        )]
        .into(),
    )
    .expect("bundle")
}

/// v1 answers `export(n)` with `n` new promises it decides (`p+…`); v2 only starts.
fn exporter_workers(v1: &Bundle, v2: &Bundle) -> RawWorkers {
    let mut w = RawWorkers::new();
    w.register(&v1.id(), |_| {
        let mut next = 1u64;
        move |d: &VatDelivery, sys: &mut dyn SyscallHandler| {
            let VatDelivery::Message {
                methargs,
                result: Some(result),
                ..
            } = d
            else {
                return Ok(());
            };
            let n: u64 = methargs
                .body
                .trim_start_matches("#[\"export\",[")
                .trim_end_matches("]]")
                .parse()
                .map_err(|_| format!("bad export {}", methargs.body))?;
            let slots: Vec<String> = (0..n).map(|i| format!("p+{}", next + i)).collect();
            next += n;
            let body = format!(
                "#[{}]",
                (0..n)
                    .map(|i| format!("\"&{i}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            sys.syscall(VatSyscall::Resolve {
                resolutions: vec![VResolution {
                    vpid: result.clone(),
                    rejected: false,
                    data: CapData { body, slots },
                }],
            })
            .map_err(|e| e.to_string())?;
            Ok(())
        }
    });
    w.register(&v2.id(), |_| {
        |_: &VatDelivery, _: &mut dyn SyscallHandler| Ok(())
    });
    w
}

/// What migrating one DB measured.
struct Measured {
    report: MigrationReport,
    total: Duration,
    commit: Duration,
    stale_before: usize,
}

fn migrate(dir: &Path, factory: Box<dyn WorkerFactory>) -> Measured {
    let k = open(dir, false, factory);
    assert!(k.pending_migration().is_some());
    let stale_before = k.audit().stale_promise_entries.len();
    // A node's DB is compacted in the background as it runs; a DB made just now would
    // still be compacting, on the same two cores, while we measure.
    k.store().compact();
    // The audit read everything: start again with cold caches, as a node would.
    drop(k);
    let mut k = Kernel::new(
        Store::open(dir).expect("store"),
        Box::new(RawWorkers::new()),
        KernelConfig::default(),
    )
    .expect("kernel");
    let t0 = Instant::now();
    let mut last = t0;
    let report = k
        .migrate(&mut |p| {
            // Progress every 100,000 entries, timed: the pace must not fall as the crank grows.
            if p.entries
                .is_multiple_of(vatchain_kernel::migrate::PROGRESS_EVERY)
                && p.vats_done < p.vats
            {
                let now = Instant::now();
                println!(
                    "    {} entries examined, the last 100,000 in {:.0} ms",
                    p.entries,
                    ms(now - last)
                );
                last = now;
            }
        })
        .expect("migrate");
    let total = t0.elapsed();
    let t1 = Instant::now();
    let height = k.store().committed().height + 1;
    k.commit_block(height).expect("commit");
    let commit = t1.elapsed();
    assert!(k.audit().stale_promise_entries.is_empty());
    Measured {
        report,
        total,
        commit,
        stale_before,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print(label: &str, m: &Measured) {
    let c = m.report.remediation().expect("v2->v3");
    let t = m.report.timing[0];
    let io = m.report.io;
    println!("{label}");
    println!(
        "  {} vats scanned, {} promise entries examined: {} removed, {} records freed, {} skipped \
         (notify pending), {} skipped (unresolved)",
        c.vats_scanned,
        c.entries_examined,
        c.entries_removed,
        c.records_freed,
        c.skipped_pending_notify,
        c.skipped_unresolved
    );
    println!(
        "  scan {:.1} ms + fix {:.1} ms + crank end {:.1} ms = {:.1} ms (then the block commit: \
         {:.1} ms)",
        ms(t.scan),
        ms(t.fix),
        ms(m.total.saturating_sub(t.scan + t.fix)),
        ms(m.total),
        ms(m.commit)
    );
    println!(
        "  store: {} point reads ({} reached RocksDB), {} range scans ({} entries), {} writes",
        io.reads, io.disk_reads, io.scans, io.scanned, io.writes
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let quick = args.iter().any(|a| a == "--quick");
    let (vats, zoe, wallet) = if benching {
        (90, 3128, 38)
    } else {
        (12, 40, 5)
    };
    println!("v2->v3 remediation, RocksDB, DBs made by the legacy (schema 2) kernel");

    // REMEDIATION_ONLY=N: only the raw vat with N leaked entries (for profiling).
    let only: Option<u64> = std::env::var("REMEDIATION_ONLY")
        .ok()
        .and_then(|s| s.parse().ok());
    if only.is_none() {
        let dir = make_run53(vats, zoe, wallet);
        let m = migrate(dir.path(), Box::new(JsWorkers::default()));
        let c = m.report.remediation().expect("v2->v3");
        assert_eq!(c.entries_removed, zoe + wallet);
        assert_eq!(
            m.stale_before as u64,
            zoe + wallet,
            "the audit counted the leak"
        );
        print(
            &format!(
                "agreeable run-53 shape: {vats} JS vats, {zoe} + {wallet} leaked entries \
                 (upstream's scan: 0.37 s, 11,882 DB queries; aim: under 50 ms)"
            ),
            &m,
        );
    }
    let sizes: Vec<u64> = match (benching, quick) {
        _ if only.is_some() => only.into_iter().collect(),
        (false, _) => vec![2_000, 20_000],
        (true, true) => vec![100_000],
        (true, false) => vec![100_000, 1_000_000],
    };
    let mut per_entry = Vec::new();
    for n in sizes {
        let t0 = Instant::now();
        let dir = make_exporter(n);
        let made = t0.elapsed();
        let (v1, v2) = (raw_bundle("exporter v1"), raw_bundle("exporter v2"));
        let m = migrate(dir.path(), Box::new(exporter_workers(&v1, &v2)));
        let c = m.report.remediation().expect("v2->v3");
        assert_eq!(c.entries_removed, n);
        assert_eq!(c.records_freed, n);
        print(
            &format!(
                "one vat, {n} leaked entries (DB made in {:.1} s; aim at 1M: under 10 s)",
                made.as_secs_f64()
            ),
            &m,
        );
        per_entry.push((n, m.total.as_secs_f64() * 1e6 / n as f64));
    }
    if per_entry.len() > 1 {
        let figures: Vec<String> = per_entry
            .iter()
            .map(|(n, us)| format!("{us:.2} µs at {n}"))
            .collect();
        println!(
            "  per leaked entry: {} (linear: about the same)",
            figures.join(", ")
        );
    }
}

//! The raw-vat ping-pong, shared by the raw benchmark and the JS one (as its floor).

use std::time::{Duration, Instant};

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::{
    RawWorkers, SyscallHandler, VResolution, VatDelivery, VatSource, VatSyscall,
};
use vatchain_kernel::{kcapdata, CrankKind, Kernel, KernelConfig, VatOptions};

/// What one run measured.
pub struct Figures {
    pub deliveries: u64,
    pub blocks: u64,
    pub elapsed: Duration,
    pub commit_time: Duration,
}

impl Figures {
    pub fn per_second(&self) -> f64 {
        self.deliveries as f64 / self.elapsed.as_secs_f64()
    }
    pub fn ms_per_commit(&self) -> f64 {
        self.commit_time.as_secs_f64() * 1000.0 / self.blocks as f64
    }
}

/// `round_trips` raw ping-pongs, on RocksDB (or memory), a block per 1,000 deliveries.
pub fn run(round_trips: u64, memory: bool) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut workers = RawWorkers::new();
    // Pinger: on `start(ponger)` and on every answer, sends the next ping (with a fresh
    // result promise it subscribes to) until `round_trips` are done.
    workers.register("pinger", move |_| {
        let mut sent = 0u64;
        let mut next_p = 5u64;
        let mut ponger = String::new();
        move |d: &VatDelivery, sys: &mut dyn SyscallHandler| {
            match d {
                VatDelivery::Message { methargs, .. } => ponger = methargs.slots[0].clone(),
                VatDelivery::Notify { .. } => {}
                _ => return Ok(()),
            }
            if sent < round_trips {
                sent += 1;
                let p = format!("p+{next_p}");
                next_p += 1;
                sys.syscall(VatSyscall::Send {
                    target: ponger.clone(),
                    methargs: CapData::data("#[\"ping\",[]]"),
                    result: Some(p.clone()),
                })
                .map_err(|e| e.to_string())?;
                sys.syscall(VatSyscall::Subscribe { vpid: p })
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    });
    workers.register("ponger", |_| {
        |d: &VatDelivery, sys: &mut dyn SyscallHandler| {
            if let VatDelivery::Message {
                result: Some(r), ..
            } = d
            {
                sys.syscall(VatSyscall::Resolve {
                    resolutions: vec![VResolution {
                        vpid: r.clone(),
                        rejected: false,
                        data: CapData::data("#\"pong\""),
                    }],
                })
                .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    });
    let store = if memory {
        Store::in_memory()
    } else {
        Store::open(dir.path()).expect("open store")
    };
    let mut k = Kernel::new(store, Box::new(workers), KernelConfig::default()).expect("kernel");
    let mk = |name: &str| VatOptions {
        name: name.into(),
        ..VatOptions::default()
    };
    let src = |b: &str| VatSource {
        bundle_id: b.into(),
    };
    let ping = k
        .create_vat(
            src("pinger"),
            mk("pinger"),
            vatchain_kernel::capdata::undefined(),
        )
        .expect("vat");
    let pong = k
        .create_vat(
            src("ponger"),
            mk("ponger"),
            vatchain_kernel::capdata::undefined(),
        )
        .expect("vat");
    let (rp, rq) = (
        k.vat_root(ping).expect("root"),
        k.vat_root(pong).expect("root"),
    );
    k.queue_to_kref(rp, kcapdata("#[\"start\",[\"$0\"]]", &[rq]), false)
        .expect("send");

    let mut height = 0u64;
    let mut deliveries = 0u64;
    let mut since_commit = 0u64;
    let mut commit_time = Duration::ZERO;
    let start = Instant::now();
    while let Some(c) = k.step() {
        if matches!(c.kind, CrankKind::Delivery { .. }) {
            deliveries += 1;
            since_commit += 1;
        }
        if since_commit == 1000 {
            let t = Instant::now();
            height += 1;
            k.commit_block(height).expect("commit");
            commit_time += t.elapsed();
            since_commit = 0;
        }
    }
    height += 1;
    let t = Instant::now();
    k.commit_block(height).expect("commit");
    commit_time += t.elapsed();
    let elapsed = start.elapsed();
    assert!(k.audit().is_clean(), "audit after the benchmark");
    // Two startVats, the start message, a ping and a notify per round trip (plus reaps).
    assert!(
        deliveries >= 2 * round_trips + 3,
        "every round trip was delivered"
    );
    Figures {
        deliveries,
        blocks: height,
        elapsed,
        commit_time,
    }
}

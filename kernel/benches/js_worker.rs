//! The QuickJS worker alone, without the kernel: how long liveslots and a vat take per
//! delivery when every syscall is answered at once. Three figures, from the ping-pong
//! fixture's vat: a `pong` message (the answering side), a notify to a vat awaiting answers
//! in a loop (the asking side: it resumes, sends the next message and subscribes), and the
//! two alternating on two workers, as the kernel runs them.
//! `cargo bench -p vatchain-kernel --bench js_worker [-- DELIVERIES]`; under `cargo test`
//! it runs 50 of each as a smoke test.

// The allocator vatd uses (see app/src/main.rs), so the figures are the node's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Instant;

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::refs::VatId;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::{
    JsWorkers, SyscallError, SyscallHandler, SyscallReply, VResolution, VatDelivery, VatSource,
    VatSyscall, VatWorker, WorkerFactory,
};

/// Answers every syscall at once; remembers the result promise of the last send.
#[derive(Default)]
struct Kernelless {
    syscalls: u64,
    last_result: Option<String>,
}

impl SyscallHandler for Kernelless {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        self.syscalls += 1;
        if let VatSyscall::Send { result, .. } = sc {
            self.last_result = result;
        }
        Ok(SyscallReply::Done)
    }
}

fn deliver(w: &mut dyn VatWorker, d: &VatDelivery, h: &mut Kernelless) {
    let out = w.deliver(d, h);
    assert!(out.status.is_ok(), "{:?}", out.status);
}

fn pong(i: u64) -> VatDelivery {
    VatDelivery::Message {
        target: "o+0".into(),
        methargs: CapData::data(format!("#[\"pong\",[{i}]]")),
        result: Some(format!("p-{}", 60 + i)),
    }
}

/// A notify answering the last send with 1.
fn answer(h: &mut Kernelless) -> VatDelivery {
    let vpid = h.last_result.take().expect("the driver sent a message");
    VatDelivery::Notify {
        resolutions: vec![VResolution {
            vpid,
            rejected: false,
            data: CapData::data("#1"),
        }],
    }
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 20_000 } else { 50 });
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vats/driver");
    let bundle = Bundle::from_dir(&fixture, "main.js")
        .expect("bundle")
        .canonical_bytes();
    let mut factory = JsWorkers::default();
    let source = VatSource {
        bundle_id: "bench".into(),
    };
    let mut h = Kernelless::default();
    let start = VatDelivery::StartVat {
        vat_parameters: CapData::data("#{}"),
    };
    let mut ponger = factory
        .make_worker(VatId(1), &source, Some(&bundle))
        .expect("worker");
    let mut driver = factory
        .make_worker(VatId(2), &source, Some(&bundle))
        .expect("worker");
    deliver(ponger.as_mut(), &start, &mut h);
    deliver(driver.as_mut(), &start, &mut h);
    h.syscalls = 0;

    let t = Instant::now();
    for i in 0..n {
        deliver(ponger.as_mut(), &pong(i), &mut h);
    }
    let message_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    assert_eq!(h.syscalls, n, "one resolve per pong");

    // The driver awaits 2n answers: n for the notify figure, n for the alternating one.
    let run = VatDelivery::Message {
        target: "o+0".into(),
        methargs: CapData {
            body: format!("#[\"run\",[\"$0.Alleged: ponger\",{}]]", 2 * n + 1),
            slots: vec!["o-50".into()],
        },
        result: Some("p-1".into()),
    };
    deliver(driver.as_mut(), &run, &mut h);
    let t = Instant::now();
    for _ in 0..n {
        let d = answer(&mut h);
        deliver(driver.as_mut(), &d, &mut h);
    }
    let notify_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    let t = Instant::now();
    for i in 0..n {
        let d = answer(&mut h);
        deliver(driver.as_mut(), &d, &mut h);
        deliver(ponger.as_mut(), &pong(n + i), &mut h);
    }
    let round_trip_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    // The computron's worth: a plain loop metered to the per-delivery limit.
    let hostile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vats/hostile");
    let hostile = Bundle::from_dir(&hostile, "main.js")
        .expect("bundle")
        .canonical_bytes();
    let mut spinner = factory
        .make_worker(VatId(3), &source, Some(&hostile))
        .expect("worker");
    deliver(spinner.as_mut(), &start, &mut h);
    let spins = if benching { 5 } else { 1 };
    let t = Instant::now();
    let mut computrons = 0;
    for _ in 0..spins {
        let spin = VatDelivery::Message {
            target: "o+0".into(),
            methargs: CapData::data("#[\"spin\",[]]"),
            result: None,
        };
        let out = spinner.deliver(&spin, &mut h);
        assert!(out.status.is_err(), "the meter stops the loop");
        computrons += out.computrons;
    }
    let us_per_computron = t.elapsed().as_secs_f64() * 1e6 / computrons as f64;

    println!("JS worker without the kernel, {n} deliveries each:");
    println!("  pong message        {message_us:.1} us/delivery");
    println!("  notify + next send  {notify_us:.1} us/delivery");
    println!(
        "  both, alternating   {round_trip_us:.1} us/round trip = {:.0} deliveries/s",
        2e6 / round_trip_us
    );
    println!(
        "  a metered loop      {us_per_computron:.1} us/computron ({} computrons a delivery: \
         {:.0} ms)",
        computrons / spins,
        us_per_computron * (computrons / spins) as f64 / 1e3
    );
}

use std::path::Path;
use std::time::Instant;
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::refs::VatId;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::*;

#[derive(Default)]
struct H(u64, Option<String>);
impl SyscallHandler for H {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        self.0 += 1;
        if let VatSyscall::Send { result, .. } = sc {
            self.1 = result;
        }
        Ok(SyscallReply::Done)
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20000);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vats/driver");
    let bundle = Bundle::from_dir(&fixture, "main.js")
        .unwrap()
        .canonical_bytes();
    let mut f = JsWorkers::default();
    let mut w = f
        .make_worker(
            VatId(1),
            &VatSource {
                bundle_id: "x".into(),
            },
            Some(&bundle),
        )
        .unwrap();
    let mut h = H::default();
    let out = w.deliver(
        &VatDelivery::StartVat {
            vat_parameters: CapData::data("#{}"),
        },
        &mut h,
    );
    assert!(out.status.is_ok(), "{:?}", out.status);
    let t = Instant::now();
    for i in 0..n {
        let d = VatDelivery::Message {
            target: "o+0".into(),
            methargs: CapData::data(format!("#[\"pong\",[{i}]]")),
            result: Some(format!("p-{}", 60 + i)),
        };
        let out = w.deliver(&d, &mut h);
        assert!(out.status.is_ok(), "{:?}", out.status);
    }
    let e = t.elapsed();
    println!(
        "pong message: {:.1} us/delivery ({} syscalls)",
        e.as_secs_f64() * 1e6 / n as f64,
        h.0
    );
    // The driver side: run(o-50, n), then a notify per answer.
    let d = VatDelivery::Message {
        target: "o+0".into(),
        methargs: CapData {
            body: format!("#[\"run\",[\"$0.Alleged: x\",{n}]]"),
            slots: vec!["o-50".into()],
        },
        result: Some("p-1".into()),
    };
    assert!(w.deliver(&d, &mut h).status.is_ok());
    h.0 = 0;
    let t = Instant::now();
    for _ in 0..n {
        let vpid = h.1.take().expect("a send");
        let d = VatDelivery::Notify {
            resolutions: vec![VResolution {
                vpid,
                rejected: false,
                data: CapData::data("#1"),
            }],
        };
        let out = w.deliver(&d, &mut h);
        assert!(out.status.is_ok(), "{:?}", out.status);
    }
    let e = t.elapsed();
    println!(
        "driver notify: {:.1} us/delivery ({} syscalls)",
        e.as_secs_f64() * 1e6 / n as f64,
        h.0
    );
}

//! vat-admin: a JS vat creates a dynamic vat with `E(vatAdminService).createVat(bundleID,
//! { name, vatParameters })`, talks to its root, finds it again after a restart (its
//! records and source are in the DB), ends it with `terminateWithFailure`, and sees
//! `E(adminNode).done()` reject with the reason. Unknown bundles are refused with a reason.

use std::path::Path;

mod support;

use support::js::{audit, call, create, fixture, named};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::{JsWorkers, VatSource};
use vatchain_kernel::{KRef, Kernel, KernelConfig, PromiseState, RunBudget, VatOptions};

fn open(path: &Path) -> Kernel {
    Kernel::new(
        Store::open(path).expect("store"),
        Box::new(JsWorkers::default()),
        KernelConfig::default(),
    )
    .expect("kernel")
}

/// Installs vat-admin, the `child` fixture bundle and a creator vat; returns the
/// vatAdminService, the creator's root and the child bundle's id.
fn with_creator(k: &mut Kernel, child: &str) -> (KRef, KRef, String) {
    k.install_vat_admin().expect("vat-admin");
    let service = k.vat_admin_service().expect("service");
    let child = k.install_bundle(&fixture(child)).expect("install");
    let creator_bundle = k.install_bundle(&fixture("creator")).expect("install");
    let (_, creator) = create(k, &creator_bundle, named("creator"), "#{}");
    k.run(RunBudget::UNLIMITED);
    (service, creator, child)
}

fn ok(body: &str) -> PromiseState {
    PromiseState::Fulfilled(CapData::data(body))
}

#[test]
fn dynamic_vats_are_created_used_restarted_and_terminated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = open(dir.path());
    let (service, creator, pingpong) = with_creator(&mut k, "pingpong");

    let spawn = format!("#[\"spawn\",[\"$0.Alleged: vatAdminService\",\"{pingpong}\",\"kid\"]]");
    assert_eq!(call(&mut k, creator, &spawn, &[service]), ok("#42"));
    let kid = k.vat_id("kid").expect("the dynamic vat exists");
    let dynamic = k.kv_get("vat.dynamicIDs").expect("dynamicIDs");
    assert!(dynamic.contains(&format!("\"{kid}\"")), "{dynamic}");
    assert!(k
        .kv_get(&format!("{kid}.source"))
        .expect("source")
        .contains(&pingpong));
    assert_eq!(
        call(&mut k, creator, "#[\"ping\",[]]", &[]),
        ok("#\"kid:2/1\"")
    );
    assert_eq!(
        call(&mut k, creator, "#[\"outcome\",[]]", &[]),
        ok("#\"running\"")
    );
    audit(&k);
    k.commit_block(1).expect("commit");
    drop(k);

    // Restart: the dynamic vat, its creator and vat-admin all come back from the DB.
    let mut k = open(dir.path());
    assert_eq!(
        call(&mut k, creator, "#[\"ping\",[]]", &[]),
        ok("#\"kid:2/2\"")
    );
    assert_eq!(
        call(&mut k, creator, "#[\"kill\",[\"enough\"]]", &[]),
        ok("#\"#undefined\"")
    );
    assert!(k.vat_id("kid").is_none(), "terminated");
    assert_eq!(
        call(&mut k, creator, "#[\"outcome\",[]]", &[]),
        ok("#\"failed: \\\"enough\\\"\"")
    );
    let refused = call(&mut k, creator, "#[\"badSpawn\",[\"$0\"]]", &[service]);
    assert_eq!(refused, ok("#\"bundle b1-nope is not installed\""));
    audit(&k);
}

#[test]
fn done_resolves_when_a_dynamic_vat_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = open(dir.path());
    let (service, creator, keeper) = with_creator(&mut k, "keeper");
    let spawn = format!("#[\"spawnOnly\",[\"$0\",\"{keeper}\",\"kid\"]]");
    assert_eq!(call(&mut k, creator, &spawn, &[service]), ok("#\"kid\""));
    assert_eq!(
        call(&mut k, creator, "#[\"callChild\",[\"bump\",\"n\"]]", &[]),
        ok("#1")
    );
    call(&mut k, creator, "#[\"callChild\",[\"quit\",\"bye\"]]", &[]);
    assert!(k.vat_id("kid").is_none(), "the child exited");
    assert_eq!(
        call(&mut k, creator, "#[\"outcome\",[]]", &[]),
        ok("#\"done: \\\"bye\\\"\"")
    );
    audit(&k);
}

#[test]
fn only_vat_admin_may_call_kernel_hooks_and_its_name_is_reserved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = open(dir.path());
    let id = k.install_bundle(&fixture("pingpong")).expect("install");
    let err = k
        .create_vat(
            VatSource { bundle_id: id },
            VatOptions {
                name: vatchain_kernel::VAT_ADMIN_NAME.into(),
                ..VatOptions::default()
            },
            CapData::data("#{}"),
        )
        .expect_err("reserved");
    assert!(err.to_string().contains("vatAdmin"), "{err}");
    // Installing twice gives the same vat.
    let a = k.install_vat_admin().expect("first");
    assert_eq!(k.install_vat_admin().expect("second"), a);
}

/// JS workers, except bundle `crafty`: a raw vat that exits with the completion body it
/// is told to (text no liveslots would make).
struct WithCrafty(JsWorkers, &'static str);

impl vatchain_kernel::worker::WorkerFactory for WithCrafty {
    fn make_worker(
        &mut self,
        vat: vatchain_kernel::VatId,
        source: &VatSource,
        bundle: Option<&[u8]>,
    ) -> Result<Box<dyn vatchain_kernel::worker::VatWorker>, vatchain_kernel::worker::WorkerError>
    {
        use vatchain_kernel::worker::{RawWorker, VatDelivery, VatSyscall};
        if source.bundle_id != "crafty" {
            return self.0.make_worker(vat, source, bundle);
        }
        let body = self.1;
        Ok(Box::new(RawWorker(
            move |d: &VatDelivery, sys: &mut dyn vatchain_kernel::worker::SyscallHandler| {
                if matches!(d, VatDelivery::Message { .. }) {
                    sys.syscall(VatSyscall::Exit {
                        failure: false,
                        info: CapData::data(body),
                    })
                    .map_err(|e| e.to_string())?;
                }
                Ok(())
            },
        )))
    }
}

#[test]
fn a_vat_ending_with_crafted_completion_text_cannot_harm_vat_admin() {
    // The kernel tells vat-admin of the vat's end with methargs it builds itself: the
    // crafted text is replaced by a kernel error, so what vat-admin receives is always
    // well-formed capdata whose references fit its slots (read back from the slog).
    // A well-formed body is passed on as it is.
    for (body, passed) in [
        ("#{broken", None),
        ("#\"$5.Alleged: x\"", None),
        ("#[\"vatTerminated\"]]]", None),
        ("#\"bye\"", Some("bye")),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let slog = dir.path().join("slog");
        let mut k = Kernel::new(
            Store::in_memory(),
            Box::new(WithCrafty(JsWorkers::default(), body)),
            KernelConfig {
                slog: Some(slog.clone()),
                ..KernelConfig::default()
            },
        )
        .expect("kernel");
        let admin = k.install_vat_admin().expect("vat-admin");
        let v = k
            .create_vat(
                VatSource {
                    bundle_id: "crafty".into(),
                },
                VatOptions {
                    name: "crafty".into(),
                    dynamic: true,
                    ..VatOptions::default()
                },
                vatchain_kernel::capdata::undefined(),
            )
            .expect("create");
        k.run(RunBudget::UNLIMITED);
        let root = k.vat_root(v).expect("root");
        k.queue_to_kref(root, CapData::data("#[\"quit\",[]]"), false)
            .expect("send");
        let r = k.run(RunBudget::UNLIMITED);
        assert_eq!(
            r.terminated.len(),
            1,
            "{body}: only the crafty vat ends: {r:?}"
        );
        assert_eq!(r.terminated[0].0, v);
        assert!(k.vats().contains(&admin), "{body}: vat-admin lives");
        audit(&k);
        drop(k);
        let log = std::fs::read_to_string(&slog).expect("slog");
        let notice = log
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
            .find(|l| {
                l["vatID"] == serde_json::json!(admin.to_string())
                    && l["delivery"]["methargs"]["body"]
                        .as_str()
                        .is_some_and(|b| b.starts_with("#[\"vatTerminated\""))
            })
            .unwrap_or_else(|| panic!("{body}: no vatTerminated reached vat-admin"));
        let sent = notice["delivery"]["methargs"]["body"]
            .as_str()
            .expect("body");
        let parsed: serde_json::Value =
            serde_json::from_str(&sent[1..]).unwrap_or_else(|e| panic!("{sent}: {e}"));
        match passed {
            Some(v) => assert_eq!(parsed[1][2], serde_json::json!(v), "{sent}"),
            None => assert!(
                parsed[1][2]["#error"]
                    .as_str()
                    .is_some_and(|m| m.contains("not valid capdata")),
                "{body}: {sent}"
            ),
        }
        assert_eq!(notice["status"], "ok", "{body}: vat-admin handled it");
    }
}

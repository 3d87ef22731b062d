//! vat-admin is a vat like any other, and governance may upgrade it. Its state is durable
//! (adminNodes are a durable kind; creation records and outcomes are durable stores), so
//! an upgrade of vat-admin keeps every dynamic vat's adminNode working: `done()`,
//! `upgrade`, `terminateWithFailure`, with several dynamic vats, one of them in the middle
//! of its own upgrade when vat-admin is upgraded. Answers vat-admin still owed at that
//! moment are rejected with its upgrade's disconnection (promises cannot be durable), and
//! asking again answers.

mod support;

use support::js::{audit, call, call_for_objects, create, fixture, fulfilled, js_kernel, named};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::{KRef, Kernel, RunBudget, UpgradeRequest, VAT_ADMIN_JS, VAT_ADMIN_NAME};

/// The built-in vat-admin with its version number changed: the next version of vat-admin.
fn vat_admin_version(n: u32) -> Vec<u8> {
    let src = VAT_ADMIN_JS.replace("const VERSION = 1;", &format!("const VERSION = {n};"));
    assert_ne!(src, VAT_ADMIN_JS, "the version marker moved");
    Bundle::new("vat-admin.js", [("vat-admin.js".to_string(), src)].into())
        .expect("bundle")
        .canonical_bytes()
}

fn text(s: &str) -> String {
    format!("#{}", serde_json::json!(s))
}

fn body(method: &str, args: serde_json::Value) -> String {
    format!("#{}", serde_json::json!([method, args]))
}

struct World {
    k: Kernel,
    service: KRef,
    manager: KRef,
    pingpong: String,
    durable_v2: String,
}

fn world() -> World {
    let mut k = js_kernel();
    k.install_vat_admin().expect("vat-admin");
    let service = k.vat_admin_service().expect("service");
    let pingpong = k.install_bundle(&fixture("pingpong")).expect("install");
    let durable_v1 = k.install_bundle(&fixture("durable-v1")).expect("install");
    let durable_v2 = k.install_bundle(&fixture("durable-v2")).expect("install");
    let manager_bundle = k.install_bundle(&fixture("manager")).expect("install");
    let (_, manager) = create(&mut k, &manager_bundle, named("manager"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let mut w = World {
        k,
        service,
        manager,
        pingpong: pingpong.clone(),
        durable_v2,
    };
    for (name, bundle) in [("a", &pingpong), ("b", &durable_v1), ("c", &pingpong)] {
        let spawn =
            format!("#[\"spawn\",[\"$0.Alleged: vatAdminService\",\"{bundle}\",\"{name}\"]]");
        assert_eq!(
            call(&mut w.k, w.manager, &spawn, &[w.service]),
            fulfilled(&text(name))
        );
    }
    w
}

impl World {
    fn manager(&mut self, method: &str, args: serde_json::Value) -> vatchain_kernel::PromiseState {
        call(&mut self.k, self.manager, &body(method, args), &[])
    }

    fn seen(&mut self, key: &str) -> vatchain_kernel::PromiseState {
        self.manager("seen", serde_json::json!([key]))
    }

    fn upgrade_vat_admin(&mut self, version: u32) {
        let id = self
            .k
            .install_bundle(&vat_admin_version(version))
            .expect("install");
        let req = UpgradeRequest {
            bundle_id: id,
            vat_parameters: CapData::data("#{}"),
            upgrade_message: format!("vat-admin v{version}"),
        };
        let report = self
            .k
            .upgrade_vat_by_name(VAT_ADMIN_NAME, req)
            .expect("vat-admin upgrades");
        assert!(report.boyd_skipped.is_none(), "{report:?}");
        assert_eq!(
            call(&mut self.k, self.service, "#[\"version\",[]]", &[]),
            fulfilled(&format!("#{version}"))
        );
    }
}

#[test]
fn every_admin_node_keeps_working_across_vat_admin_upgrades() {
    let mut w = world();
    // a: someone waits on its done(); b: its upgrade is under way when vat-admin upgrades.
    w.manager("watchDone", serde_json::json!(["a"]));
    assert_eq!(w.seen("done:a"), fulfilled(&text("pending")));
    let next_upgrade = w.k.kv_get("vat.nextUpgradeID");
    let kp =
        w.k.queue_to_kref(
            w.manager,
            CapData::data(body("startUpgrade", serde_json::json!(["b", w.durable_v2]))),
            true,
        )
        .expect("send")
        .expect("kp");
    // Run until vat-admin has asked the kernel for b's upgrade (the kernel's upgradeVat
    // event is queued, not yet processed).
    let mut steps = 0;
    while w.k.kv_get("vat.nextUpgradeID") == next_upgrade {
        assert!(
            w.k.step().is_some(),
            "ran out of work before the upgrade was asked"
        );
        steps += 1;
        assert!(steps < 100, "vat-admin never asked for the upgrade");
    }
    w.upgrade_vat_admin(2);
    w.k.run(RunBudget::UNLIMITED);
    w.k.unpin(kp);

    // b's upgrade went through; only vat-admin's answer to it was lost with vat-admin's
    // old incarnation (as every upgraded vat's pending answers are).
    let b_root = call_for_objects(
        &mut w.k,
        w.manager,
        &body("root", serde_json::json!(["b"])),
        &[],
    )[0];
    assert_eq!(
        call(&mut w.k, b_root, "#[\"version\",[]]", &[]),
        fulfilled(&text("v2"))
    );
    assert_eq!(
        w.seen("upgrade:b"),
        fulfilled(&text("rejected: vatUpgraded vat-admin v2"))
    );
    assert_eq!(
        w.seen("done:a"),
        fulfilled(&text("rejected: vatUpgraded vat-admin v2"))
    );

    // Every adminNode works with the new vat-admin: upgrade b again, upgrade c, watch and
    // terminate a.
    assert_eq!(
        w.manager("upgrade", serde_json::json!(["b", w.durable_v2])),
        fulfilled(&text("upgraded to incarnation 2"))
    );
    assert_eq!(
        w.manager("upgrade", serde_json::json!(["c", w.pingpong])),
        fulfilled(&text("upgraded to incarnation 1"))
    );
    w.manager("watchDone", serde_json::json!(["a"]));
    assert_eq!(w.seen("done:a"), fulfilled(&text("pending")));
    w.manager("kill", serde_json::json!(["a", "enough"]));
    assert!(w.k.vat_id("a").is_none(), "a is gone");
    assert_eq!(w.seen("done:a"), fulfilled(&text("rejected: \"enough\"")));

    // A later vat-admin still knows how a ended (a durable record), and still creates vats.
    w.upgrade_vat_admin(3);
    w.manager("watchDone", serde_json::json!(["a"]));
    assert_eq!(w.seen("done:a"), fulfilled(&text("rejected: \"enough\"")));
    let spawn = format!(
        "#[\"spawn\",[\"$0.Alleged: vatAdminService\",\"{}\",\"d\"]]",
        w.pingpong
    );
    assert_eq!(
        call(&mut w.k, w.manager, &spawn, &[w.service]),
        fulfilled(&text("d"))
    );
    assert_eq!(
        w.manager("upgrade", serde_json::json!(["d", w.pingpong])),
        fulfilled(&text("upgraded to incarnation 1"))
    );
    w.manager("kill", serde_json::json!(["c", "bye"]));
    assert!(w.k.vat_id("c").is_none(), "c is gone");
    audit(&w.k);
}

#[test]
fn a_vat_admin_version_that_forgets_the_admin_node_kind_is_refused() {
    let mut w = world();
    let broken = VAT_ADMIN_JS.replace("'AdminNode'", "'SomethingElse'");
    let id =
        w.k.install_bundle(
            &Bundle::new(
                "vat-admin.js",
                [("vat-admin.js".to_string(), broken)].into(),
            )
            .expect("bundle")
            .canonical_bytes(),
        )
        .expect("install");
    let req = UpgradeRequest {
        bundle_id: id,
        vat_parameters: CapData::data("#{}"),
        upgrade_message: "oops".into(),
    };
    let err =
        w.k.upgrade_vat_by_name(VAT_ADMIN_NAME, req)
            .expect_err("the AdminNode kind must be redefined");
    assert!(err.to_string().contains("AdminNode"), "{err}");
    // The old vat-admin goes on: every adminNode still works.
    assert_eq!(
        w.manager("upgrade", serde_json::json!(["c", w.pingpong])),
        fulfilled(&text("upgraded to incarnation 1"))
    );
    audit(&w.k);
}

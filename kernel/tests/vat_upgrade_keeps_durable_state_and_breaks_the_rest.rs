//! Vat upgrade (DESIGN §6, seeds 000–003), with the old version's code never asked to
//! help: durable objects others hold keep working with the new behaviour; ephemeral and
//! virtual exports break, and sends to them reject with the upgrade's disconnection value;
//! promises the vat decided are rejected and leave no record or c-list entry behind; a
//! durable watcher on the vat's own promise hears of it in the new incarnation. Also: five
//! upgrades in a row, an upgrade with messages queued, a restart right after an upgrade,
//! the same app hash on two stores, vat-admin's `E(adminNode).upgrade(…)`, a dry run.

mod support;

use support::js::{
    audit, call, call_for_objects, create, dump_without_crank_number, fixture, fulfilled,
    js_kernel, named, upgrade_request,
};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::store::{Cf, Store};
use vatchain_kernel::worker::JsWorkers;
use vatchain_kernel::{KRef, Kernel, KernelConfig, PromiseState, RunBudget, UpgradeRequest, VatId};

fn request(bundle_id: &str, message: &str, params: &str) -> UpgradeRequest {
    upgrade_request(bundle_id, message, params)
}

/// What the promises an upgraded vat decided are rejected with.
fn disconnected(message: &str, incarnation: u64) -> PromiseState {
    PromiseState::Rejected(CapData::data(format!(
        "#{{\"incarnationNumber\":{incarnation},\"name\":\"vatUpgraded\",\"upgradeMessage\":\"{message}\"}}"
    )))
}

/// What sends to an object the upgrade abandoned are rejected with: upstream's value, which
/// upstream code checks for (not the disconnection record).
fn vat_terminated() -> PromiseState {
    PromiseState::Rejected(CapData::data(
        "#{\"#error\":\"vat terminated\",\"name\":\"Error\"}",
    ))
}

/// A kernel with both versions installed and a vat running v1; returns (vat, root, v1, v2).
fn setup(k: &mut Kernel) -> (VatId, KRef, String, String) {
    let v1 = k.install_bundle(&fixture("durable-v1")).expect("v1");
    let v2 = k.install_bundle(&fixture("durable-v2")).expect("v2");
    let (v, root) = create(k, &v1, named("counter"), "#{}");
    k.run(RunBudget::UNLIMITED);
    (v, root, v1, v2)
}

/// Sends with a result promise the host keeps, without running.
fn send(k: &mut Kernel, target: KRef, body: &str) -> KRef {
    k.queue_to_kref(target, CapData::data(body), true)
        .expect("send")
        .expect("result")
}

#[test]
fn durable_objects_keep_working_and_everything_else_is_disconnected() {
    let mut k = js_kernel();
    let (v, root, v1, v2) = setup(&mut k);
    let counter = call_for_objects(&mut k, root, "#[\"makeCounter\",[5]]", &[])[0];
    let pair = call_for_objects(&mut k, root, "#[\"makePair\",[]]", &[]);
    let eph = call_for_objects(&mut k, root, "#[\"makeEphemeral\",[]]", &[])[0];
    let virt = call_for_objects(&mut k, root, "#[\"makeVirtual\",[]]", &[])[0];
    assert_eq!(
        call(&mut k, counter, "#[\"increment\",[]]", &[]),
        fulfilled("#\"v1:6\"")
    );
    assert_eq!(
        call(&mut k, pair[1], "#[\"set\",[7]]", &[]),
        fulfilled("#\"#undefined\"")
    );
    assert_eq!(
        call(&mut k, eph, "#[\"hi\",[]]", &[]),
        fulfilled("#\"ephemeral hi\"")
    );
    assert_eq!(
        call(&mut k, virt, "#[\"hi\",[]]", &[]),
        fulfilled("#\"virtual hi\"")
    );
    assert_eq!(call(&mut k, root, "#[\"bump\",[]]", &[]), fulfilled("#1"));
    let hung = send(&mut k, root, "#[\"hang\",[]]");
    k.run(RunBudget::UNLIMITED);
    assert!(matches!(
        k.promise_state(hung),
        Some(PromiseState::Unresolved { decider: Some(d) }) if d == v
    ));
    assert!(k.kv_get(&format!("{v}.c.{hung}")).is_some());

    let report = k
        .upgrade_vat(v, request(&v2, "up1", "#{\"x\":1}"))
        .expect("upgrade");
    assert_eq!((report.old_incarnation, report.new_incarnation), (0, 1));
    assert_eq!(report.rejected_promises, vec![hung]);
    let abandoned: Vec<KRef> = report.abandoned_exports.iter().map(|(_, k)| *k).collect();
    assert!(
        abandoned.contains(&eph) && abandoned.contains(&virt),
        "{report:?}"
    );
    assert!(!abandoned.contains(&counter) && !abandoned.contains(&root));
    k.run(RunBudget::UNLIMITED);

    // Durable objects: same krefs, state kept, new behaviour (v2 counts by 10).
    assert_eq!(
        call(&mut k, counter, "#[\"increment\",[]]", &[]),
        fulfilled("#\"v2:16\"")
    );
    assert_eq!(call(&mut k, pair[0], "#[\"get\",[]]", &[]), fulfilled("#7"));
    // The root is the new incarnation's, with fresh ephemeral state and new parameters.
    assert_eq!(
        call(&mut k, root, "#[\"version\",[]]", &[]),
        fulfilled("#\"v2\"")
    );
    assert_eq!(call(&mut k, root, "#[\"bump\",[]]", &[]), fulfilled("#1"));
    assert_eq!(
        call(&mut k, root, "#[\"params\",[]]", &[]),
        fulfilled("#{\"x\":1}")
    );
    // Ephemeral and virtual exports are gone: sends reject as upstream's do.
    assert_eq!(call(&mut k, eph, "#[\"hi\",[]]", &[]), vat_terminated());
    assert_eq!(call(&mut k, virt, "#[\"hi\",[]]", &[]), vat_terminated());
    // The promise it decided is rejected, and the vat's c-list no longer names it.
    assert_eq!(k.promise_state(hung), Some(disconnected("up1", 0)));
    assert_eq!(k.kv_get(&format!("{v}.c.{hung}")), None);
    k.unpin(hung);
    assert!(
        k.kv_scan(&format!("{hung}.")).is_empty(),
        "no record of {hung} lingers"
    );

    // History: the old span is kept, the new one starts where it ended.
    let spans = k.transcript_spans(v);
    assert_eq!(spans.len(), 2);
    assert_eq!(
        (spans[0].incarnation, spans[0].bundle_id.as_str()),
        (0, v1.as_str())
    );
    assert_eq!(
        (spans[1].incarnation, spans[1].bundle_id.as_str()),
        (1, v2.as_str())
    );
    assert_eq!(spans[1].start_pos, spans[0].end_pos);
    assert!(spans[0].end_pos > spans[0].start_pos);
    let items = k
        .store()
        .scan_prefix(Cf::Transcript, format!("{v}\0").as_bytes());
    assert_eq!(
        items.len() as u64,
        spans[1].end_pos,
        "no transcript item was erased"
    );

    for o in [counter, pair[0], pair[1], eph, virt] {
        k.unpin(o);
    }
    k.run(RunBudget::UNLIMITED);
    audit(&k);
}

#[test]
fn a_durable_watcher_on_the_vats_own_promise_hears_of_the_upgrade() {
    let mut k = js_kernel();
    let (v, root, _, v2) = setup(&mut k);
    assert_eq!(
        call(&mut k, root, "#[\"watchOwn\",[\"w\"]]", &[]),
        fulfilled("#\"w\"")
    );
    let report = k
        .upgrade_vat(v, request(&v2, "up2", "#{}"))
        .expect("upgrade");
    let [watched] = report.rejected_promises[..] else {
        panic!("one promise should be rejected: {report:?}");
    };
    // Self-subscribed: the entry stays until the notify reaches the new incarnation.
    assert!(k.kv_get(&format!("{v}.c.{watched}")).is_some());
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(&mut k, root, "#[\"log\",[\"w\"]]", &[]),
        fulfilled("#\"rejected vatUpgraded up2 0\"")
    );
    assert_eq!(k.kv_get(&format!("{v}.c.{watched}")), None);
    assert!(k.kv_scan(&format!("{watched}.")).is_empty());
    audit(&k);
}

#[test]
fn a_durable_watcher_on_an_imported_promise_fires_after_the_upgrade() {
    let mut k = js_kernel();
    let (v, root, v1, v2) = setup(&mut k);
    let (_, other) = create(&mut k, &v1, named("other"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let deferred = send(&mut k, other, "#[\"defer\",[]]");
    k.run(RunBudget::UNLIMITED);
    let watch = "#[\"watchImported\",[\"&0\",\"imp\"]]";
    assert_eq!(
        call(&mut k, root, watch, &[deferred]),
        fulfilled("#\"imp\"")
    );
    k.upgrade_vat(v, request(&v2, "up", "#{}"))
        .expect("upgrade");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(&mut k, root, "#[\"log\",[\"imp\"]]", &[]),
        fulfilled("#\"none\"")
    );
    // The other vat settles it: the new incarnation's revived watcher hears of it.
    call(&mut k, other, "#[\"settle\",[42]]", &[]);
    assert_eq!(
        call(&mut k, root, "#[\"log\",[\"imp\"]]", &[]),
        fulfilled("#\"fulfilled 42\"")
    );
    k.unpin(deferred);
    k.run(RunBudget::UNLIMITED);
    audit(&k);
}

#[test]
fn a_vat_is_upgraded_by_name() {
    let mut k = js_kernel();
    let (_, root, _, v2) = setup(&mut k);
    let r = k
        .upgrade_vat_by_name("counter", request(&v2, "by name", "#{}"))
        .expect("upgrade");
    assert_eq!(r.new_incarnation, 1);
    assert_eq!(
        call(&mut k, root, "#[\"version\",[]]", &[]),
        fulfilled("#\"v2\"")
    );
    let err = k
        .upgrade_vat_by_name("nobody", request(&v2, "x", "#{}"))
        .expect_err("no such vat");
    assert!(err.to_string().contains("nobody"), "{err}");
}

#[test]
fn five_upgrades_in_a_row_keep_the_count() {
    let mut k = js_kernel();
    let (v, root, v1, v2) = setup(&mut k);
    let counter = call_for_objects(&mut k, root, "#[\"makeCounter\",[0]]", &[])[0];
    let mut expected = 0;
    for i in 0..5u64 {
        let (bundle, step, label) = if i % 2 == 0 {
            (&v2, 10, "v2")
        } else {
            (&v1, 1, "v1")
        };
        let r = k
            .upgrade_vat(v, request(bundle, &format!("up{i}"), "#{}"))
            .expect("upgrade");
        assert_eq!(r.new_incarnation, i + 1);
        expected += step;
        assert_eq!(
            call(&mut k, counter, "#[\"increment\",[]]", &[]),
            fulfilled(&format!("#\"{label}:{expected}\""))
        );
        audit(&k);
    }
    assert_eq!(k.transcript_spans(v).len(), 6);
}

#[test]
fn messages_queued_before_an_upgrade_reach_the_new_version_or_reject() {
    let mut k = js_kernel();
    let (v, root, _, v2) = setup(&mut k);
    let counter = call_for_objects(&mut k, root, "#[\"makeCounter\",[0]]", &[])[0];
    let eph = call_for_objects(&mut k, root, "#[\"makeEphemeral\",[]]", &[])[0];
    let to_counter = send(&mut k, counter, "#[\"increment\",[]]");
    let to_eph = send(&mut k, eph, "#[\"hi\",[]]");
    let to_root = send(&mut k, root, "#[\"version\",[]]");
    k.upgrade_vat(v, request(&v2, "queued", "#{}"))
        .expect("upgrade");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(k.promise_state(to_counter), Some(fulfilled("#\"v2:10\"")));
    assert_eq!(k.promise_state(to_eph), Some(vat_terminated()));
    assert_eq!(k.promise_state(to_root), Some(fulfilled("#\"v2\"")));
    for p in [to_counter, to_eph, to_root, counter, eph] {
        k.unpin(p);
    }
    k.run(RunBudget::UNLIMITED);
    audit(&k);
}

#[test]
fn a_restart_right_after_an_upgrade_replays_only_the_new_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || {
        Kernel::new(
            Store::open(dir.path()).expect("store"),
            Box::new(JsWorkers::default()),
            KernelConfig::default(),
        )
        .expect("kernel")
    };
    let mut k = open();
    let (v, root, _, v2) = setup(&mut k);
    let counter = call_for_objects(&mut k, root, "#[\"makeCounter\",[3]]", &[])[0];
    k.upgrade_vat(v, request(&v2, "restart", "#{}"))
        .expect("upgrade");
    assert_eq!(call(&mut k, root, "#[\"bump\",[]]", &[]), fulfilled("#1"));
    let hash = k.commit_block(1).expect("commit");
    drop(k);

    let mut k = open();
    assert_eq!(k.store().committed().app_hash, hash);
    let span = k.transcript_spans(v).pop().expect("span");
    assert!(span.start_pos > 0 && span.incarnation == 1);
    // The v2 worker is rebuilt from the v2 span alone: its ephemeral state comes back, and
    // replaying v1's deliveries on v2 code would have diverged.
    assert_eq!(call(&mut k, root, "#[\"bump\",[]]", &[]), fulfilled("#2"));
    assert_eq!(
        call(&mut k, counter, "#[\"increment\",[]]", &[]),
        fulfilled("#\"v2:13\"")
    );
    audit(&k);
}

#[test]
fn the_same_upgrade_scenario_gives_the_same_app_hash() {
    let run = || {
        let mut k = js_kernel();
        let (v, root, _, v2) = setup(&mut k);
        let counter = call_for_objects(&mut k, root, "#[\"makeCounter\",[1]]", &[])[0];
        call(&mut k, root, "#[\"watchOwn\",[\"a\"]]", &[]);
        send(&mut k, root, "#[\"hang\",[]]");
        k.run(RunBudget::UNLIMITED);
        k.upgrade_vat(v, request(&v2, "same", "#{}"))
            .expect("upgrade");
        k.run(RunBudget::UNLIMITED);
        call(&mut k, counter, "#[\"increment\",[]]", &[]);
        k.commit_block(1).expect("commit")
    };
    assert_eq!(run(), run());
}

#[test]
fn vat_admin_upgrades_a_dynamic_vat_and_reports_failures() {
    let mut k = js_kernel();
    k.install_vat_admin().expect("vat-admin");
    let service = k.vat_admin_service().expect("service");
    let v1 = k.install_bundle(&fixture("durable-v1")).expect("v1");
    let v2 = k.install_bundle(&fixture("durable-v2")).expect("v2");
    let creator_bundle = k.install_bundle(&fixture("creator")).expect("creator");
    let (_, creator) = create(&mut k, &creator_bundle, named("creator"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let spawn = format!("#[\"spawnOnly\",[\"$0.Alleged: vatAdminService\",\"{v1}\",\"kid\"]]");
    assert_eq!(
        call(&mut k, creator, &spawn, &[service]),
        fulfilled("#\"kid\"")
    );
    let child = |method: &str| format!("#[\"callChild\",[\"{method}\"]]");
    assert_eq!(
        call(&mut k, creator, &child("version"), &[]),
        fulfilled("#\"v1\"")
    );

    let up = format!(
        "#[\"upgrade\",[\"{v2}\",{{\"upgradeMessage\":\"by admin\",\"vatParameters\":{{\"n\":2}}}}]]"
    );
    assert_eq!(
        call(&mut k, creator, &up, &[]),
        fulfilled("#\"upgraded to incarnation 1\"")
    );
    assert_eq!(
        call(&mut k, creator, &child("version"), &[]),
        fulfilled("#\"v2\"")
    );
    assert_eq!(
        call(&mut k, creator, &child("params"), &[]),
        fulfilled("#{\"n\":2}")
    );

    // A failure names its cause, and the vat goes on with the version it had.
    let bad = "#[\"upgrade\",[\"b1-nope\",{}]]";
    let PromiseState::Fulfilled(answer) = call(&mut k, creator, bad, &[]) else {
        panic!("upgrade() should settle");
    };
    assert!(
        answer
            .body
            .contains("upgrade failed: vat-upgrade failure: bundle b1-nope is not installed"),
        "{}",
        answer.body
    );
    let odd = format!("#[\"upgrade\",[\"{v1}\",{{\"bad\":1}}]]");
    let PromiseState::Fulfilled(answer) = call(&mut k, creator, &odd, &[]) else {
        panic!("upgrade() should settle");
    };
    assert!(answer.body.contains("unknown options"), "{}", answer.body);
    assert_eq!(
        call(&mut k, creator, &child("version"), &[]),
        fulfilled("#\"v2\"")
    );
    audit(&k);
}

#[test]
fn a_dry_run_reports_the_upgrade_and_changes_nothing() {
    let mut k = js_kernel();
    let (v, root, _, v2) = setup(&mut k);
    let eph = call_for_objects(&mut k, root, "#[\"makeEphemeral\",[]]", &[])[0];
    let hung = send(&mut k, root, "#[\"hang\",[]]");
    assert_eq!(call(&mut k, root, "#[\"bump\",[]]", &[]), fulfilled("#1"));
    let before = dump_without_crank_number(&k);
    let dry = k.upgrade_dry_run(v, request(&v2, "dry", "#{}"));
    assert_eq!(dry.outcome, Ok(()));
    assert_eq!(dry.report.rejected_promises, vec![hung]);
    assert!(dry.report.abandoned_exports.iter().any(|(_, k)| *k == eph));
    assert_eq!(dump_without_crank_number(&k), before);
    // The old worker is rebuilt from its span: same code, same ephemeral state.
    assert_eq!(call(&mut k, root, "#[\"bump\",[]]", &[]), fulfilled("#2"));
    assert_eq!(
        call(&mut k, eph, "#[\"hi\",[]]", &[]),
        fulfilled("#\"ephemeral hi\"")
    );
    audit(&k);
}

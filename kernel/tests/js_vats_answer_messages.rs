//! JavaScript vats in QuickJS behind the worker seam: SwingSet-style vat code (E, Far,
//! relative imports) answers messages, calls other vats, passes objects; hostile vats are
//! terminated with a clear reason while others keep working; runs are reproducible.

mod support;

use support::js::{audit, call, create, fixture, fulfilled, named};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::{JsWorkers, VatSource};
use vatchain_kernel::{KRef, Kernel, KernelConfig, PromiseState, RunBudget, VatId, VatOptions};

fn kernel() -> Kernel {
    support::js::limited_js_kernel()
}

fn vat(k: &mut Kernel, bundle: &str, name: &str, params: &str) -> (VatId, KRef) {
    let id = k.install_bundle(&fixture(bundle)).expect("install");
    create(k, &id, named(name), params)
}

#[test]
fn js_vats_call_each_other_and_keep_state() {
    let mut k = kernel();
    let (_, alice) = vat(&mut k, "pingpong", "alice", "#{\"name\":\"alice\"}");
    let (_, bob) = vat(&mut k, "pingpong", "bob", "#{\"name\":\"bob\"}");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(
            &mut k,
            alice,
            "#[\"ping\",[\"$0.Alleged: root\",41]]",
            &[bob]
        ),
        fulfilled("#\"alice:42/1\"")
    );
    assert_eq!(
        call(
            &mut k,
            alice,
            "#[\"ping\",[\"$0.Alleged: root\",1]]",
            &[bob]
        ),
        fulfilled("#\"alice:2/2\"")
    );
    assert_eq!(
        call(&mut k, alice, "#[\"getCount\",[]]", &[]),
        fulfilled("#2")
    );
    audit(&k);
}

#[test]
fn sends_to_unresolved_promises_wait_for_the_answer() {
    let mut k = kernel();
    let (_, alice) = vat(&mut k, "pingpong", "alice", "#{}");
    let (_, bob) = vat(&mut k, "pingpong", "bob", "#{}");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(&mut k, alice, "#[\"pipeline\",[\"$0\"]]", &[bob]),
        fulfilled("#1")
    );
    audit(&k);
}

#[test]
fn objects_pass_between_js_vats() {
    let mut k = kernel();
    let (_, alice) = vat(&mut k, "pingpong", "alice", "#{}");
    let (_, bob) = vat(&mut k, "pingpong", "bob", "#{}");
    k.run(RunBudget::UNLIMITED);
    let PromiseState::Fulfilled(c) = call(&mut k, bob, "#[\"makeCounter\",[]]", &[]) else {
        panic!("makeCounter failed")
    };
    assert_eq!(c.body, "#\"$0.Alleged: counter\"");
    let counter = c.slots[0];
    // Alice calls Bob's counter twice; the second answer is 2.
    assert_eq!(
        call(&mut k, alice, "#[\"useCounter\",[\"$0\"]]", &[counter]),
        fulfilled("#2")
    );
    let PromiseState::Rejected(e) = call(&mut k, alice, "#[\"fail\",[]]", &[]) else {
        panic!()
    };
    assert_eq!(
        e.body,
        "#{\"#error\":\"deliberate\",\"name\":\"RangeError\"}"
    );
    audit(&k);
}

fn terminated_for(method: &str, reason: &str) {
    let mut k = kernel();
    let (h, hostile) = vat(&mut k, "hostile", "hostile", "#{}");
    let (_, good) = vat(&mut k, "pingpong", "good", "#{}");
    k.run(RunBudget::UNLIMITED);
    let kp = k
        .queue_to_kref(hostile, CapData::data(format!("#[\"{method}\",[]]")), true)
        .expect("send")
        .expect("a result");
    let report = k.run(RunBudget::UNLIMITED);
    // The sender sees upstream's value; the reason is the host's (and vat-admin's).
    assert_eq!(
        k.promise_state(kp),
        Some(PromiseState::Rejected(CapData::data(
            "#{\"#error\":\"vat terminated\",\"name\":\"Error\"}"
        ))),
        "{method}"
    );
    assert!(
        report
            .terminated
            .iter()
            .any(|(v, why)| *v == h && why.contains(reason)),
        "{method}: {:?}",
        report.terminated
    );
    k.unpin(kp);
    assert!(
        !k.vats().contains(&h),
        "{method}: the hostile vat is terminated"
    );
    assert_eq!(
        call(&mut k, good, "#[\"pong\",[1]]", &[]),
        fulfilled("#2"),
        "others still work"
    );
    audit(&k);
}

// Running out of computrons or heap in a message rolls it back instead:
// `messages_at_a_limit_roll_back.rs`.

#[test]
fn a_vat_calling_the_privileged_kernel_hook_is_terminated() {
    terminated_for("forge", "only the vat-admin vat may call kernel hooks");
}

#[test]
fn deep_recursion_terminates_the_vat() {
    terminated_for("recurse", "stack overflow");
}

#[test]
fn intrinsics_are_frozen_and_nondeterminism_removed() {
    let mut k = kernel();
    let (_, hostile) = vat(&mut k, "hostile", "hostile", "#{}");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(&mut k, hostile, "#[\"random\",[]]", &[]),
        fulfilled("#\"undefined\"")
    );
    assert_eq!(
        call(&mut k, hostile, "#[\"date\",[]]", &[]),
        fulfilled("#\"undefined\"")
    );
    let PromiseState::Rejected(e) = call(&mut k, hostile, "#[\"tamper\",[]]", &[]) else {
        panic!()
    };
    assert!(e.body.contains("TypeError"), "{}", e.body);
    audit(&k);
}

#[test]
fn throwing_in_build_root_object_terminates_the_vat_with_the_reason() {
    let mut k = kernel();
    let (h, root) = vat(&mut k, "hostile", "hostile", "#{\"throwAtStart\":true}");
    let r = k.run(RunBudget::UNLIMITED);
    assert_eq!(r.terminated.len(), 1);
    assert!(
        r.terminated[0].1.contains("refusing to start"),
        "{:?}",
        r.terminated
    );
    assert!(!k.vats().contains(&h));
    // Nothing held the dead vat's root: it is gone.
    assert!(k
        .queue_to_kref(root, CapData::data("#[\"ok\",[]]"), false)
        .is_err());
    audit(&k);
}

#[test]
fn bad_bundles_are_refused_with_the_reason() {
    let mut k = kernel();
    let err = k
        .install_bundle(b"{\"not\":\"a bundle\"}")
        .expect_err("refused");
    assert!(err.to_string().contains("bad bundle"), "{err}");
    // A syntax error and an unresolvable import surface when the vat starts.
    for (src, reason) in [
        ("export function buildRootObject( {", "SyntaxError"),
        (
            "import { x } from '@agoric/nothing'; export const buildRootObject = () => x;",
            "@agoric/nothing",
        ),
    ] {
        let b = Bundle::new("main.js", [("main.js".to_string(), src.to_string())].into())
            .expect("bundle");
        let id = k.install_bundle(&b.canonical_bytes()).expect("install");
        let v = k
            .create_vat(
                VatSource { bundle_id: id },
                VatOptions {
                    name: format!("bad{}", reason.len()),
                    ..VatOptions::default()
                },
                CapData::data("#{}"),
            )
            .expect("create");
        let r = k.run(RunBudget::UNLIMITED);
        assert!(!k.vats().contains(&v));
        assert!(
            r.terminated.iter().any(|(_, why)| why.contains(reason)),
            "{reason}: {:?}",
            r.terminated
        );
    }
    audit(&k);
}

#[test]
fn the_same_js_scenario_gives_the_same_app_hash() {
    let run = || {
        let mut k = kernel();
        let (_, alice) = vat(&mut k, "pingpong", "alice", "#{\"name\":\"a\"}");
        let (_, bob) = vat(&mut k, "pingpong", "bob", "#{}");
        let (_, hostile) = vat(&mut k, "hostile", "hostile", "#{}");
        k.run(RunBudget::UNLIMITED);
        call(&mut k, alice, "#[\"ping\",[\"$0\",1]]", &[bob]);
        call(&mut k, hostile, "#[\"spin\",[]]", &[]);
        k.commit_block(1).expect("commit")
    };
    assert_eq!(run(), run());
}

#[test]
fn vats_keep_data_in_their_vatstore() {
    let mut k = kernel();
    let (v, keeper) = vat(&mut k, "keeper", "keeper", "#{}");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(&mut k, keeper, "#[\"bump\",[\"b\"]]", &[]),
        fulfilled("#1")
    );
    assert_eq!(
        call(&mut k, keeper, "#[\"bump\",[\"b\"]]", &[]),
        fulfilled("#2")
    );
    assert_eq!(
        call(&mut k, keeper, "#[\"bump\",[\"a\"]]", &[]),
        fulfilled("#1")
    );
    assert_eq!(
        call(&mut k, keeper, "#[\"names\",[]]", &[]),
        fulfilled("#[\"a\",\"b\"]")
    );
    assert_eq!(
        k.kv_get(&format!("{v}.vs.vvs.b")).as_deref(),
        Some("2"),
        "confined under vvs."
    );
    call(&mut k, keeper, "#[\"forget\",[\"a\"]]", &[]);
    assert_eq!(
        call(&mut k, keeper, "#[\"names\",[]]", &[]),
        fulfilled("#[\"b\"]")
    );
    let PromiseState::Rejected(e) = call(&mut k, keeper, "#[\"badValue\",[]]", &[]) else {
        panic!()
    };
    assert!(e.body.contains("vatstore values are strings"), "{}", e.body);
    audit(&k);
}

#[test]
fn a_vat_can_exit_and_its_promises_reject_with_the_completion() {
    let mut k = kernel();
    let (v, keeper) = vat(&mut k, "keeper", "keeper", "#{}");
    k.run(RunBudget::UNLIMITED);
    let s = call(&mut k, keeper, "#[\"quit\",[\"done here\"]]", &[]);
    // exit(false) keeps the crank: the answer resolved in that delivery stands, and the
    // vat is gone afterwards.
    assert!(!k.vats().contains(&v));
    assert_eq!(s, fulfilled("#\"quitting\""));
    audit(&k);
}

#[test]
fn the_slog_records_each_delivery_with_its_syscalls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slog.jsonl");
    let config = KernelConfig {
        slog: Some(path.clone()),
        ..KernelConfig::default()
    };
    let mut k =
        Kernel::new(Store::in_memory(), Box::new(JsWorkers::default()), config).expect("kernel");
    let (_, alice) = vat(&mut k, "pingpong", "alice", "#{}");
    let (_, bob) = vat(&mut k, "pingpong", "bob", "#{}");
    k.run(RunBudget::UNLIMITED);
    call(&mut k, alice, "#[\"ping\",[\"$0\",1]]", &[bob]);
    k.commit_block(1).expect("commit");
    let text = std::fs::read_to_string(&path).expect("slog written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(lines.len() >= 5, "{text}");
    let ping = lines
        .iter()
        .find(|l| {
            l["delivery"]["type"] == "message"
                && l["syscalls"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|c| c["s"]["type"] == "send"))
        })
        .expect("alice's ping delivery, which sent to bob");
    assert_eq!(ping["status"], "ok");
    assert!(ping["crank"].as_u64().is_some() && ping["computrons"].as_u64().is_some());
    assert!(lines.iter().any(|l| l["delivery"]["type"] == "startVat"));
}

#[test]
fn imports_a_vat_no_longer_holds_are_dropped_at_bring_out_your_dead() {
    let mut k = kernel();
    let id = k.install_bundle(&fixture("pingpong")).expect("install");
    let mut roots = Vec::new();
    let mut ids = Vec::new();
    for name in ["alice", "bob"] {
        // Reap after every delivery, so BOYD follows at once.
        let opts = VatOptions {
            reap_interval: Some(1),
            ..named(name)
        };
        let (v, root) = create(&mut k, &id, opts, "#{}");
        ids.push(v);
        roots.push(root);
    }
    k.run(RunBudget::UNLIMITED);
    let PromiseState::Fulfilled(c) = call(&mut k, roots[1], "#[\"makeCounter\",[]]", &[]) else {
        panic!()
    };
    let counter = c.slots[0];
    assert_eq!(
        call(&mut k, roots[0], "#[\"useCounter\",[\"$0\"]]", &[counter]),
        fulfilled("#2")
    );
    // Alice kept no reference to the counter: after her BOYD she drops and retires the
    // import, and Bob (the exporter) is told to drop and retire the export.
    assert!(
        k.kv_get(&format!("{}.c.{counter}", ids[0])).is_none(),
        "alice's import is gone"
    );
    assert!(
        k.kv_get(&format!("{}.c.{counter}", ids[1])).is_none(),
        "bob's export is retired"
    );
    assert!(
        k.kv_get(&format!("{counter}.refCount")).is_none(),
        "the kernel object is deleted"
    );
    audit(&k);
}

#[test]
fn arguments_too_deep_to_decode_reject_the_message_and_the_vat_goes_on() {
    // Whoever sends it (another vat, or a client), data nested past marshal's limit is
    // refused with an ordinary error before any vat code runs: the message's result is
    // rejected and the receiver is not harmed. (Left to the engine, deep data would
    // exhaust the native stack, which liveslots treats as fatal.)
    let mut k = kernel();
    let (v, bob) = vat(&mut k, "pingpong", "bob", "#{\"name\":\"bob\"}");
    k.run(RunBudget::UNLIMITED);
    let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    let state = call(&mut k, bob, &format!("#[\"pong\",[{deep}]]"), &[]);
    let PromiseState::Rejected(why) = state else {
        panic!("not rejected: {state:?}");
    };
    assert!(
        why.body.contains("bad message") && why.body.contains("nests deeper than 64"),
        "{}",
        why.body
    );
    assert!(k.vats().contains(&v), "bob is alive");
    assert_eq!(call(&mut k, bob, "#[\"pong\",[41]]", &[]), fulfilled("#42"));
    // Within the limit, deep data is delivered as usual.
    let ok = format!("{}1{}", "[".repeat(60), "]".repeat(60));
    assert!(matches!(
        call(&mut k, bob, &format!("#[\"getCount\",[{ok}]]"), &[]),
        PromiseState::Fulfilled(_)
    ));
    audit(&k);
}

//! A message whose delivery reaches a resource limit (the meter, the heap, a per-delivery
//! cap, the storage quota) is rolled back: its result is rejected with the reason and the
//! vat goes on exactly as it was before the message (heap, vatstore, c-lists), rebuilt
//! from its transcript. What the vat runs on its own schedule (startVat) and illegal
//! syscalls still terminate it: that is the line between the sender's doing and the
//! vat's own.

mod support;

use support::js::{audit, call, create, fixture, fulfilled, named};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget, VatId, VatOptions};

fn kernel() -> Kernel {
    support::js::limited_js_kernel()
}

fn vat(k: &mut Kernel, bundle: &str, options: VatOptions, params: &str) -> (VatId, KRef) {
    let id = k.install_bundle(&fixture(bundle)).expect("install");
    create(k, &id, options, params)
}

/// A hostile vat (with `n` bumped to 2) and a good one, both started.
fn scene(options: VatOptions) -> (Kernel, VatId, KRef, KRef) {
    let mut k = kernel();
    let (h, hostile) = vat(&mut k, "hostile", options, "#{}");
    let (_, good) = vat(&mut k, "pingpong", named("good"), "#{}");
    k.run(RunBudget::UNLIMITED);
    for want in ["#1", "#2"] {
        assert_eq!(
            call(&mut k, hostile, "#[\"bump\",[]]", &[]),
            fulfilled(want)
        );
    }
    (k, h, hostile, good)
}

/// Sends `body` to `target` (with an optional allowance), runs until idle; returns the
/// settlement and what the run reported.
fn send(
    k: &mut Kernel,
    target: KRef,
    body: &str,
    slots: &[KRef],
    allowance: Option<u64>,
) -> (PromiseState, vatchain_kernel::RunReport) {
    let methargs = CapData {
        body: body.into(),
        slots: slots.to_vec(),
    };
    let kp = k
        .queue_to_kref_metered(target, methargs, true, allowance)
        .expect("send")
        .expect("result");
    let run = k.run(RunBudget::UNLIMITED);
    assert!(run.idle);
    let state = k.promise_state(kp).expect("result exists");
    k.unpin(kp);
    (state, run)
}

/// Asserts `body` was rolled back for `reason` and left the vat as it was: alive, its
/// ephemeral counter at 2 (the next bump answers 3), its vatstore mark unset, the good
/// vat unaffected, the audit clean.
fn rolled_back(k: &mut Kernel, h: VatId, hostile: KRef, good: KRef, body: &str, reason: &str) {
    let (state, run) = send(k, hostile, body, &[], None);
    let PromiseState::Rejected(e) = state else {
        panic!("{body}: {state:?}")
    };
    assert!(e.body.contains("rolled back"), "{body}: {}", e.body);
    assert!(e.body.contains(reason), "{body}: {}", e.body);
    assert_eq!(run.rolled_back.len(), 1, "{body}: {run:?}");
    assert_eq!(run.rolled_back[0].0, h);
    assert!(run.terminated.is_empty(), "{body}: nothing terminated");
    assert!(k.vats().contains(&h), "{body}: the vat lives");
    assert_eq!(
        call(k, hostile, "#[\"mark\",[]]", &[]),
        fulfilled("#\"#undefined\""),
        "{body}: its vatstore write was undone"
    );
    assert_eq!(
        call(k, hostile, "#[\"bump\",[]]", &[]),
        fulfilled("#3"),
        "{body}: its heap is as before the message"
    );
    assert_eq!(call(k, good, "#[\"pong\",[1]]", &[]), fulfilled("#2"));
    audit(k);
}

#[test]
fn running_out_of_computrons_rolls_the_message_back() {
    let (mut k, h, hostile, good) = scene(named("hostile"));
    rolled_back(
        &mut k,
        h,
        hostile,
        good,
        "#[\"bumpThenSpin\",[]]",
        "computron limit exceeded",
    );
    // Again and again: each time the vat comes back as it was.
    for _ in 0..3 {
        let (s, _) = send(&mut k, hostile, "#[\"spin\",[]]", &[], None);
        assert!(matches!(s, PromiseState::Rejected(_)));
    }
    assert_eq!(
        call(&mut k, hostile, "#[\"bump\",[]]", &[]),
        fulfilled("#4")
    );
    audit(&k);
}

#[test]
fn the_heap_limit_and_builtins_roll_the_message_back() {
    let (mut k, h, hostile, good) = scene(named("hostile"));
    rolled_back(
        &mut k,
        h,
        hostile,
        good,
        "#[\"hog\",[]]",
        "memory limit exceeded",
    );
    let (s, run) = send(&mut k, hostile, "#[\"bigString\",[]]", &[], None);
    assert!(matches!(s, PromiseState::Rejected(_)), "{s:?}");
    assert_eq!(run.rolled_back.len(), 1);
    assert_eq!(
        call(&mut k, hostile, "#[\"bump\",[]]", &[]),
        fulfilled("#4")
    );
    audit(&k);
}

#[test]
fn a_flood_of_writes_is_stopped_and_undone() {
    let (mut k, h, hostile, good) = scene(named("hostile"));
    rolled_back(
        &mut k,
        h,
        hostile,
        good,
        "#[\"flood\",[]]",
        "computron limit exceeded",
    );
    assert!(
        k.kv_scan(&format!("{h}.vs.vvs.k")).is_empty(),
        "no flooded value was kept"
    );
}

#[test]
fn per_delivery_caps_on_sends_and_writes_roll_the_message_back() {
    let (mut k, h, hostile, good) = scene(named("hostile"));
    // Within the caps: 1,000 sends and 10,000 writes are fine...
    let (s, _) = send(
        &mut k,
        hostile,
        "#[\"sendMany\",[\"$0.Alleged: root\",1000]]",
        &[good],
        None,
    );
    assert_eq!(s, fulfilled("#1000"));
    // ...one more is refused, and everything the delivery did is undone.
    let (s, run) = send(
        &mut k,
        hostile,
        "#[\"sendMany\",[\"$0.Alleged: root\",1001]]",
        &[good],
        None,
    );
    let PromiseState::Rejected(e) = s else {
        panic!("{s:?}")
    };
    assert!(e.body.contains("at most 1000 messages"), "{}", e.body);
    assert_eq!(run.rolled_back.len(), 1);
    assert_eq!(
        run.deliveries, 1,
        "none of the refused delivery's sends went out"
    );
    assert_eq!(
        call(&mut k, hostile, "#[\"bump\",[]]", &[]),
        fulfilled("#4")
    );
    let (s, run) = send(&mut k, hostile, "#[\"writeMany\",[10001]]", &[], None);
    let PromiseState::Rejected(e) = s else {
        panic!("{s:?}")
    };
    assert!(
        e.body.contains("at most 10000 vatstore writes"),
        "{}",
        e.body
    );
    assert_eq!(run.rolled_back[0].0, h);
    assert!(k.kv_scan(&format!("{h}.vs.vvs.w")).is_empty());
    assert_eq!(
        call(&mut k, hostile, "#[\"bump\",[]]", &[]),
        fulfilled("#5")
    );
    audit(&k);
}

#[test]
fn a_write_past_the_storage_quota_rolls_the_message_back() {
    let options = VatOptions {
        name: "keeper".into(),
        vatstore_quota: Some(400),
        ..VatOptions::default()
    };
    let mut k = kernel();
    let (v, keeper) = vat(&mut k, "keeper", options, "#{}");
    k.run(RunBudget::UNLIMITED);
    let mut last = fulfilled("#0");
    let mut kept = 0;
    for i in 0..200 {
        last = call(
            &mut k,
            keeper,
            &format!("#[\"bump\",[\"name-{i:04}\"]]"),
            &[],
        );
        if !matches!(last, PromiseState::Fulfilled(_)) {
            break;
        }
        kept += 1;
    }
    let PromiseState::Rejected(why) = last else {
        panic!("the quota never bit: {last:?}");
    };
    assert!(
        why.body.contains("storage quota of 400 bytes"),
        "{}",
        why.body
    );
    assert!(
        k.vats().contains(&v),
        "a refused write does not kill the vat"
    );
    // What it kept before is still there and still counts.
    assert_eq!(
        call(&mut k, keeper, "#[\"bump\",[\"name-0000\"]]", &[]),
        fulfilled("#2")
    );
    assert!(kept > 0);
    audit(&k);
}

#[test]
fn a_message_allowance_lowers_the_limit_for_that_message_only() {
    let (mut k, h, hostile, _) = scene(named("hostile"));
    // About 200 computrons of work: fine under the vat's limit...
    let body = "#[\"work\",[1000000]]";
    let (s, run) = send(&mut k, hostile, body, &[], None);
    assert_eq!(s, fulfilled("#2"), "the work fits the per-delivery limit");
    assert!(run.computrons > 100, "{}", run.computrons);
    // ...but not under an allowance of 10, which rolls it back.
    let (s, run) = send(&mut k, hostile, body, &[], Some(10));
    let PromiseState::Rejected(e) = s else {
        panic!("{s:?}")
    };
    assert!(e.body.contains("past 10 computrons"), "{}", e.body);
    assert_eq!(run.rolled_back[0].0, h);
    assert!(k.vats().contains(&h));
    // The chain's per-delivery limit applies to every delivery, consensus state in kv.
    k.set_delivery_limit(50).expect("set the limit");
    assert_eq!(k.delivery_limit(), Some(50));
    let (s, _) = send(&mut k, hostile, body, &[], None);
    let PromiseState::Rejected(e) = s else {
        panic!("{s:?}")
    };
    assert!(e.body.contains("past 50 computrons"), "{}", e.body);
    // An allowance above the limit does not raise it.
    let (s, _) = send(&mut k, hostile, body, &[], Some(1_000_000));
    assert!(matches!(s, PromiseState::Rejected(_)));
    assert_eq!(
        call(&mut k, hostile, "#[\"bump\",[]]", &[]),
        fulfilled("#3")
    );
    audit(&k);
}

#[test]
fn a_rolled_back_message_charges_the_rebuild_and_replays_the_same_everywhere() {
    // Two kernels given the same inputs end in the same state, and the rollback's charge
    // includes the replay of the vat's span (recorded costs, not this node's timing).
    let run_scene = || {
        let (mut k, _, hostile, _) = scene(named("hostile"));
        let (_, run) = send(&mut k, hostile, "#[\"spin\",[]]", &[], None);
        (run.computrons, support::js::dump_without_crank_number(&k))
    };
    let (c1, d1) = run_scene();
    let (c2, d2) = run_scene();
    assert_eq!(c1, c2);
    assert!(
        c1 > 2_000,
        "the failed delivery (2,000) plus the rebuild: {c1}"
    );
    assert!(d1 == d2, "the same state on both kernels");
}

#[test]
fn what_the_vat_runs_on_its_own_still_terminates_it() {
    // startVat out of computrons: the vat's own code at its own time.
    let mut k = kernel();
    let (h, _) = vat(&mut k, "hostile", named("h"), "#{\"spinAtStart\":true}");
    let r = k.run(RunBudget::UNLIMITED);
    assert_eq!(r.terminated.len(), 1, "{r:?}");
    assert_eq!(r.terminated[0].0, h);
    assert!(r.rolled_back.is_empty());
    // An illegal syscall in a message: the vat's own fault.
    let (mut k, h, hostile, _) = scene(named("hostile"));
    let (s, run) = send(&mut k, hostile, "#[\"forge\",[]]", &[], None);
    assert!(matches!(s, PromiseState::Rejected(_)));
    assert_eq!(run.terminated.len(), 1);
    assert!(run.rolled_back.is_empty());
    assert!(!k.vats().contains(&h));
    audit(&k);
}

//! Sends to imports, to promises (parked until resolution) and pipelined to the decider;
//! resolutions to data, to objects and to promises; subscriptions before and after
//! resolution. Every scenario ends with a clean audit.

mod support;

use support::*;
use vatchain_kernel::worker::{VatDelivery, VatSyscall};
use vatchain_kernel::{PromiseState, VatId};

/// Alice is introduced to Bob by the host: `init(bob)`.
fn introduce(w: &mut World, alice: VatId, bob: VatId) -> vatchain_kernel::RunReport {
    let bob_root = w.kernel.vat_root(bob).expect("bob root");
    let alice_root = w.kernel.vat_root(alice).expect("alice root");
    w.kernel
        .queue_to_kref(alice_root, kmethargs("init", &[bob_root]), false)
        .expect("host send");
    w.run()
}

fn notify_data(d: &VatDelivery) -> Option<(String, bool, String, Vec<String>)> {
    match d {
        VatDelivery::Notify { resolutions } => {
            let r = &resolutions[0];
            Some((
                r.vpid.clone(),
                r.rejected,
                r.data.body.clone(),
                r.data.slots.clone(),
            ))
        }
        _ => None,
    }
}

#[test]
fn send_to_an_import_and_resolve_to_data() {
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            let bob = &arg_slots(d)[0];
            send(sys, bob, "ping", &[], Some("p+5"));
            subscribe(sys, "p+5");
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("ping") {
            resolve(sys, &result_of(d).expect("result"), false, "#\"pong\"", &[]);
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    introduce(&mut w, a, b);

    let got = w.received(b);
    assert_eq!(got.len(), 1);
    let VatDelivery::Message { target, result, .. } = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(target, "o+0");
    assert_eq!(result.as_deref(), Some("p-60"));

    let notes: Vec<_> = w.received(a).iter().filter_map(notify_data).collect();
    assert_eq!(
        notes,
        vec![("p+5".to_string(), false, "#\"pong\"".to_string(), vec![])]
    );
    // The promise is gone from both c-lists and from the kernel.
    assert!(w.kernel.kv_scan(&format!("{a}.c.kp")).is_empty());
    assert!(w.kernel.kv_scan(&format!("{b}.c.kp")).is_empty());
    assert!(w.kernel.kv_scan("kp").iter().all(|(k, _)| k == "kp.nextID"));
    w.audit();
}

#[test]
fn send_to_a_promise_waits_and_follows_its_resolution_to_an_object() {
    // Alice asks Bob for a thing and, without waiting, sends `use` to the answer.
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            let bob = &arg_slots(d)[0];
            send(sys, bob, "getThing", &[], Some("p+5"));
            send(sys, "p+5", "use", &[], Some("p+6"));
            subscribe(sys, "p+6");
        }
        Ok(())
    });
    let bob_results = cell::<Vec<String>>();
    let seen = bob_results.clone();
    let bob: Behavior = Box::new(move |d, sys| {
        match method_of(d).as_deref() {
            Some("getThing") => {
                // Hold the answer for a while: resolve only on `release`.
                seen.borrow_mut().push(result_of(d).expect("result"));
            }
            Some("release") => {
                let r = seen.borrow()[0].clone();
                resolve(sys, &r, false, "#\"$0.Alleged: thing\"", &["o+1"]);
            }
            Some("use") => resolve(sys, &result_of(d).expect("result"), false, "#\"used\"", &[]),
            _ => {}
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    introduce(&mut w, a, b);

    // `use` is parked on the unresolved answer: Bob has only seen getThing.
    let methods: Vec<_> = w.received(b).iter().filter_map(method_of).collect();
    assert_eq!(methods, ["getThing"]);
    let kp = w
        .kernel
        .kv_get(&format!("{a}.c.p+5"))
        .expect("alice still knows p+5");
    assert!(
        w.kernel.kv_get(&format!("{kp}.queue.{:020}", 1)).is_some(),
        "use is parked on {kp}"
    );
    w.audit();

    let bob_root = w.kernel.vat_root(b).expect("root");
    w.kernel
        .queue_to_kref(bob_root, kmethargs("release", &[]), false)
        .expect("send");
    w.run();
    let got = w.received(b);
    let last = got
        .iter()
        .rev()
        .find(|d| method_of(d).is_some())
        .expect("a message");
    assert_eq!(method_of(last).as_deref(), Some("use"));
    let VatDelivery::Message { target, .. } = last else {
        unreachable!()
    };
    assert_eq!(
        target, "o+1",
        "the parked message went to the object the promise became"
    );
    let notes: Vec<_> = w.received(a).iter().filter_map(notify_data).collect();
    assert_eq!(
        notes.last().map(|n| n.2.clone()).as_deref(),
        Some("#\"used\"")
    );
    w.audit();
}

#[test]
fn pipelined_sends_go_straight_to_the_decider() {
    // Once Bob holds the (unresolved) answer, Alice's `use` on it goes to Bob at once
    // instead of waiting on the promise.
    let alice: Behavior = Box::new(|d, sys| {
        match method_of(d).as_deref() {
            Some("init") => send(sys, &arg_slots(d)[0], "getThing", &[], Some("p+5")),
            Some("pipeline") => send(sys, "p+5", "use", &[], None),
            _ => {}
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|_, _| Ok(()));
    let mut w = world_with(
        vec![("alice", alice), ("bob", bob)],
        |o| o.enable_pipelining = o.name == "bob",
        Default::default(),
    );
    let (a, b) = (w.vats[0], w.vats[1]);
    introduce(&mut w, a, b);
    let ra = w.kernel.vat_root(a).expect("root");
    w.kernel
        .queue_to_kref(ra, kmethargs("pipeline", &[]), false)
        .expect("send");
    w.run();
    let got = w.received(b);
    assert_eq!(got.len(), 2, "{got:?}");
    let VatDelivery::Message { target, .. } = &got[1] else {
        panic!()
    };
    assert_eq!(
        target, "p-60",
        "use is delivered to the unresolved result promise Bob decides"
    );
    w.audit();
}

#[test]
fn resolve_to_data_holding_a_promise_and_subscribe_after_resolution() {
    // Bob answers `get` with a record holding a second promise of his own (p+7), resolves
    // p+7 later; Alice subscribes to it only after it was resolved and still hears of it.
    let alice: Behavior = Box::new(|d, sys| {
        match method_of(d).as_deref() {
            Some("init") => {
                let bob = &arg_slots(d)[0];
                send(sys, bob, "get", &[], Some("p+5"));
                subscribe(sys, "p+5");
            }
            Some("subscribeNow") => {
                subscribe(sys, "p-60");
            }
            _ => {}
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|d, sys| {
        match method_of(d).as_deref() {
            Some("get") => {
                resolve(
                    sys,
                    &result_of(d).expect("result"),
                    false,
                    "#{\"later\":\"&0\"}",
                    &["p+7"],
                );
            }
            Some("settle") => resolve(sys, "p+7", false, "#\"done\"", &[]),
            _ => {}
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    introduce(&mut w, a, b);
    let notes: Vec<_> = w.received(a).iter().filter_map(notify_data).collect();
    assert_eq!(notes[0].0, "p+5");
    assert_eq!(
        notes[0].3,
        vec!["p-60".to_string()],
        "the inner promise arrives as an import"
    );
    let inner = w
        .kernel
        .kv_get(&format!("{a}.c.p-60"))
        .expect("alice holds p-60");
    w.audit();

    let (ra, rb) = (
        w.kernel.vat_root(a).expect("root"),
        w.kernel.vat_root(b).expect("root"),
    );
    w.kernel
        .queue_to_kref(rb, kmethargs("settle", &[]), false)
        .expect("send");
    w.run();
    assert!(matches!(
        w.kernel.promise_state(inner.parse().expect("kref")),
        Some(PromiseState::Fulfilled(_))
    ));
    assert_eq!(
        w.received(a).iter().filter_map(notify_data).count(),
        1,
        "not subscribed yet"
    );
    w.kernel
        .queue_to_kref(ra, kmethargs("subscribeNow", &[]), false)
        .expect("send");
    w.run();
    let notes: Vec<_> = w.received(a).iter().filter_map(notify_data).collect();
    assert_eq!(notes.len(), 2);
    assert_eq!(
        (notes[1].0.as_str(), notes[1].2.as_str()),
        ("p-60", "#\"done\"")
    );
    assert!(w.kernel.kv_get(&format!("{a}.c.p-60")).is_none());
    w.audit();
}

#[test]
fn fulfilling_a_promise_to_a_bare_promise_is_illegal() {
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            send(sys, &arg_slots(d)[0], "get", &[], Some("p+5"));
            subscribe(sys, "p+5");
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|d, sys| {
        if let Some(r) = result_of(d) {
            let e = sys.syscall(VatSyscall::Resolve {
                resolutions: vec![vatchain_kernel::worker::VResolution {
                    vpid: r,
                    rejected: false,
                    data: vatchain_kernel::capdata::CapData {
                        body: "#\"&0\"".into(),
                        slots: vec!["p+9".into()],
                    },
                }],
            });
            assert!(e.is_err());
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    let report = introduce(&mut w, a, b);
    assert!(!w.live(b), "bob is terminated");
    assert!(
        report
            .terminated
            .iter()
            .any(|(v, why)| *v == b && why.contains("cannot be fulfilled to a promise")),
        "{:?}",
        report.terminated
    );
    let notes: Vec<_> = w.received(a).iter().filter_map(notify_data).collect();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].1, "alice's answer is rejected");
    // Upstream's value; the cause is in the host's report (below).
    assert_eq!(
        notes[0].2,
        "#{\"#error\":\"vat terminated\",\"name\":\"Error\"}"
    );
    w.audit();
}

#[test]
fn messages_to_a_promise_rejected_later_are_rejected_with_the_same_reason() {
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            send(sys, &arg_slots(d)[0], "get", &[], Some("p+5"));
            send(sys, "p+5", "use", &[], Some("p+6"));
            subscribe(sys, "p+6");
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|d, sys| {
        if let Some(r) = result_of(d) {
            resolve(
                sys,
                &r,
                true,
                "#{\"#error\":\"no thing\",\"name\":\"Error\"}",
                &[],
            );
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    introduce(&mut w, a, b);
    let notes: Vec<_> = w.received(a).iter().filter_map(notify_data).collect();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].1 && notes[0].2.contains("no thing"), "{notes:?}");
    assert_eq!(w.received(b).len(), 1, "use never reached bob");
    w.audit();
}

#[test]
fn sends_to_a_promise_fulfilled_to_data_are_rejected() {
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            send(sys, &arg_slots(d)[0], "get", &[], Some("p+5"));
            send(sys, "p+5", "use", &[], Some("p+6"));
            subscribe(sys, "p+6");
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|d, sys| {
        if let Some(r) = result_of(d) {
            resolve(sys, &r, false, "#42", &[]);
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    introduce(&mut w, a, b);
    let notes: Vec<_> = w.received(a).iter().filter_map(notify_data).collect();
    assert!(
        notes[0].1 && notes[0].2.contains("fulfilled to data"),
        "{notes:?}"
    );
    w.audit();
}

#[test]
fn host_sends_get_a_pinned_result_promise() {
    let bob: Behavior = Box::new(|d, sys| {
        if let Some(r) = result_of(d) {
            resolve(sys, &r, false, "#\"hello\"", &[]);
        }
        Ok(())
    });
    let mut w = world(vec![("bob", bob)]);
    let root = w.kernel.vat_root(w.vats[0]).expect("root");
    let kp = w
        .kernel
        .queue_to_kref(root, kmethargs("hi", &[]), true)
        .expect("send")
        .expect("result");
    w.run();
    assert_eq!(
        w.kernel.promise_state(kp),
        Some(PromiseState::Fulfilled(vatchain_kernel::kcapdata(
            "#\"hello\"",
            &[]
        )))
    );
    w.audit();
    w.kernel.unpin(kp);
    assert_eq!(
        w.kernel.promise_state(kp),
        None,
        "unpinned and unreferenced: deleted"
    );
    w.audit();
}

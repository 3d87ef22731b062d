//! Termination: `exit` with and without failure, and every illegal syscall, each of which
//! terminates the offending vat with a clear reason, rolls its crank back, rejects the
//! promises it decided and leaves every other vat working. Also the vatstore and reaping.

mod support;

use support::*;
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::worker::{SyscallHandler, SyscallReply, VResolution, VatDelivery, VatSyscall};
use vatchain_kernel::{KernelConfig, VatId};

/// What every promise a terminated vat decided, and every send to its objects, is rejected
/// with: upstream's value, whatever the vat died of (that goes to vat-admin's `done()`).
const VAT_TERMINATED: &str = "#{\"#error\":\"vat terminated\",\"name\":\"Error\"}";

/// Alice asks Bob `get` (and listens); Bob keeps the answer undecided. Then the host tells
/// Bob `act`, and Bob runs `act`: first a legal send to Alice (which must vanish if the
/// crank is rolled back), then whatever `act` does.
fn scenario(
    act: impl FnMut(&mut dyn SyscallHandler) + 'static,
) -> (World, VatId, VatId, vatchain_kernel::RunReport) {
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            send(sys, &arg_slots(d)[0], "get", &["o+0"], Some("p+5"));
            subscribe(sys, "p+5");
        }
        Ok(())
    });
    let mut act = act;
    let bob: Behavior = Box::new(move |d, sys| {
        if method_of(d).as_deref() == Some("act") {
            send(sys, "o-50", "fromBob", &[], None);
            act(sys);
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    let (ra, rb) = (
        w.kernel.vat_root(a).expect("root"),
        w.kernel.vat_root(b).expect("root"),
    );
    w.kernel
        .queue_to_kref(ra, kmethargs("init", &[rb]), false)
        .expect("send");
    w.run();
    w.kernel
        .queue_to_kref(rb, kmethargs("act", &[]), false)
        .expect("send");
    let report = w.run();
    (w, a, b, report)
}

fn alice_answer(w: &World, a: VatId) -> Option<VResolution> {
    w.received(a).into_iter().find_map(|d| match d {
        VatDelivery::Notify { resolutions } => Some(resolutions[0].clone()),
        _ => None,
    })
}

fn from_bob_arrived(w: &World, a: VatId) -> bool {
    w.received(a)
        .iter()
        .any(|d| method_of(d).as_deref() == Some("fromBob"))
}

fn assert_terminated_for(act: impl FnMut(&mut dyn SyscallHandler) + 'static, reason: &str) {
    let (w, a, b, report) = scenario(act);
    assert!(!w.live(b), "bob should be terminated ({reason})");
    assert!(w.live(a));
    assert!(
        !from_bob_arrived(&w, a),
        "the crank was rolled back ({reason})"
    );
    let ans = alice_answer(&w, a).expect("alice's promise is settled");
    assert!(ans.rejected, "{reason}");
    // Upstream's value for every promise a terminated vat decided; the reason goes to
    // vat-admin's done() and the host's report.
    assert_eq!(ans.data.body, VAT_TERMINATED, "({reason})");
    assert!(
        report
            .terminated
            .iter()
            .any(|(v, why)| *v == b && why.contains(reason)),
        "the report should name {reason:?}: {:?}",
        report.terminated
    );
    assert!(
        w.kernel.kv_scan(&format!("{b}.")).is_empty(),
        "no keys of a dead vat remain"
    );
    w.audit();
}

fn illegal(sc: VatSyscall) -> impl FnMut(&mut dyn SyscallHandler) + 'static {
    move |sys| {
        assert!(sys.syscall(sc.clone()).is_err(), "{sc:?} should be refused");
        // Further syscalls of a faulted delivery fail too.
        assert!(sys
            .syscall(VatSyscall::VatstoreGet { key: "x".into() })
            .is_err());
    }
}

#[test]
fn sending_to_an_unknown_import() {
    assert_terminated_for(
        illegal(VatSyscall::Send {
            target: "o-99".into(),
            methargs: methargs("x", &[]),
            result: None,
        }),
        "unknown vref o-99",
    );
}

#[test]
fn malformed_vrefs_in_targets_and_slots() {
    assert_terminated_for(
        illegal(VatSyscall::Send {
            target: "x+1".into(),
            methargs: methargs("x", &[]),
            result: None,
        }),
        "malformed vref",
    );
    assert_terminated_for(
        illegal(VatSyscall::Send {
            target: "o-50".into(),
            methargs: CapData {
                body: "#[]".into(),
                slots: vec!["o+1,2".into()],
            },
            result: None,
        }),
        "malformed vref",
    );
}

#[test]
fn resolving_a_promise_the_vat_does_not_decide() {
    assert_terminated_for(
        |sys| {
            send(sys, "o-50", "q", &[], Some("p+8"));
            assert!(sys
                .syscall(VatSyscall::Resolve {
                    resolutions: vec![VResolution {
                        vpid: "p+8".into(),
                        rejected: false,
                        data: vatchain_kernel::capdata::undefined(),
                    }],
                })
                .is_err());
        },
        "decided by another vat or the kernel",
    );
}

#[test]
fn resolving_nothing() {
    assert_terminated_for(
        illegal(VatSyscall::Resolve {
            resolutions: vec![],
        }),
        "no resolutions",
    );
}

#[test]
fn exit_with_failure_naming_objects_of_the_rolled_back_crank() {
    // The info's slot o+9 was allocated in the crank that exit(true) rolls back.
    let (w, a, b, _) = scenario(|sys| {
        syscall(
            sys,
            VatSyscall::Exit {
                failure: true,
                info: CapData {
                    body: "#\"$0\"".into(),
                    slots: vec!["o+9".into()],
                },
            },
        )
    });
    assert!(!w.live(b));
    let ans = alice_answer(&w, a).expect("settled");
    assert!(ans.rejected && ans.data.body == VAT_TERMINATED, "{ans:?}");
    w.audit();
}

#[test]
fn a_result_that_is_not_a_promise() {
    assert_terminated_for(
        illegal(VatSyscall::Send {
            target: "o-50".into(),
            methargs: methargs("x", &[]),
            result: Some("o+5".into()),
        }),
        "is not a promise",
    );
}

#[test]
fn subscribing_to_an_object_and_gc_of_the_wrong_kind() {
    assert_terminated_for(
        illegal(VatSyscall::Subscribe {
            vpid: "o-50".into(),
        }),
        "is not a promise",
    );
    assert_terminated_for(
        illegal(VatSyscall::DropImports {
            vrefs: vec!["o+0".into()],
        }),
        "is not an imported object",
    );
    assert_terminated_for(
        illegal(VatSyscall::AbandonExports {
            vrefs: vec!["o-50".into()],
        }),
        "is not an exported object",
    );
    assert_terminated_for(
        illegal(VatSyscall::RetireImports {
            vrefs: vec!["o-50".into()],
        }),
        "still reachable",
    );
}

#[test]
fn oversized_vatstore_keys_and_values_roll_the_message_back() {
    // A size limit is a resource limit, not an illegal syscall: the message is rolled
    // back (its send never leaves) and bob lives on (messages_at_a_limit_roll_back.rs).
    for (sc, reason) in [
        (
            VatSyscall::VatstoreSet {
                key: "k".repeat(5000),
                value: "v".into(),
            },
            "over the 1024-byte limit",
        ),
        (
            VatSyscall::VatstoreSet {
                key: "k".into(),
                value: "v".repeat((1 << 20) + 1),
            },
            "byte limit",
        ),
    ] {
        let (w, a, b, _) = scenario(move |sys| {
            let e = sys.syscall(sc.clone()).expect_err("refused");
            assert!(e.0.contains(reason), "{e}");
            assert!(sys
                .syscall(VatSyscall::VatstoreGet { key: "x".into() })
                .is_err());
        });
        assert!(w.live(b), "bob lives ({reason})");
        assert!(!from_bob_arrived(&w, a), "the send was undone ({reason})");
        assert!(
            alice_answer(&w, a).is_none(),
            "alice's question still waits"
        );
        w.audit();
    }
}

#[test]
fn a_failed_delivery() {
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            send(sys, &arg_slots(d)[0], "get", &[], Some("p+5"));
            subscribe(sys, "p+5");
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("get") {
            send(sys, "o-50", "never", &[], None);
            return Err("boom".into());
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    let (ra, rb) = (
        w.kernel.vat_root(a).expect("root"),
        w.kernel.vat_root(b).expect("root"),
    );
    // Bob imports alice's root first so that o-50 exists for him.
    w.kernel
        .queue_to_kref(rb, kmethargs("meet", &[ra]), false)
        .expect("send");
    w.run();
    w.kernel
        .queue_to_kref(ra, kmethargs("init", &[rb]), false)
        .expect("send");
    let report = w.run();
    assert_eq!(report.terminated.len(), 1);
    assert!(
        report.terminated[0]
            .1
            .contains("message delivery failed: boom"),
        "{:?}",
        report.terminated
    );
    assert!(!w.live(b));
    let ans = alice_answer(&w, a).expect("settled");
    assert!(ans.rejected && ans.data.body == VAT_TERMINATED, "{ans:?}");
    w.audit();
}

#[test]
fn exit_without_failure_keeps_the_crank_and_rejects_as_upstream_does() {
    let (w, a, b, _) = scenario(|sys| {
        syscall(
            sys,
            VatSyscall::Exit {
                failure: false,
                info: CapData::data("#\"goodbye\""),
            },
        )
    });
    assert!(!w.live(b));
    assert!(from_bob_arrived(&w, a), "exit(false) commits the crank");
    let ans = alice_answer(&w, a).expect("settled");
    assert!(ans.rejected);
    assert_eq!(ans.data.body, VAT_TERMINATED);
    w.audit();
}

#[test]
fn exit_with_failure_rolls_the_crank_back() {
    let (w, a, b, _) = scenario(|sys| {
        syscall(
            sys,
            VatSyscall::Exit {
                failure: true,
                info: CapData::data("#\"broken\""),
            },
        )
    });
    assert!(!w.live(b));
    assert!(!from_bob_arrived(&w, a));
    assert_eq!(
        alice_answer(&w, a).expect("settled").data.body,
        VAT_TERMINATED
    );
    w.audit();
}

#[test]
fn messages_queued_to_a_dead_vat_are_rejected_and_other_vats_carry_on() {
    // Carol answers pings; Bob dies; Alice's later sends to Bob reject, to Carol succeed.
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("init") {
            let s = arg_slots(d);
            send(sys, &s[0], "die", &[], None);
            send(sys, &s[0], "afterDeath", &[], Some("p+5"));
            subscribe(sys, "p+5");
            send(sys, &s[1], "ping", &[], Some("p+6"));
            subscribe(sys, "p+6");
        }
        Ok(())
    });
    let bob: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("die") {
            syscall(
                sys,
                VatSyscall::Exit {
                    failure: true,
                    info: CapData::data("#\"dead\""),
                },
            );
        }
        Ok(())
    });
    let carol: Behavior = Box::new(|d, sys| {
        if let Some(r) = result_of(d) {
            resolve(sys, &r, false, "#\"pong\"", &[]);
        }
        Ok(())
    });
    let mut w = world(vec![("alice", alice), ("bob", bob), ("carol", carol)]);
    let (a, b, c) = (w.vats[0], w.vats[1], w.vats[2]);
    let roots: Vec<_> = [a, b, c]
        .iter()
        .map(|v| w.kernel.vat_root(*v).expect("root"))
        .collect();
    w.kernel
        .queue_to_kref(roots[0], kmethargs("init", &[roots[1], roots[2]]), false)
        .expect("send");
    w.run();
    assert!(!w.live(b) && w.live(c));
    let answers: Vec<VResolution> = w
        .received(a)
        .into_iter()
        .filter_map(|d| match d {
            VatDelivery::Notify { resolutions } => Some(resolutions[0].clone()),
            _ => None,
        })
        .collect();
    let by_vpid = |p: &str| answers.iter().find(|r| r.vpid == p).cloned().expect(p);
    assert!(by_vpid("p+5").rejected);
    // Sends to the dead vat's objects are rejected as upstream rejects them.
    assert_eq!(by_vpid("p+5").data.body, VAT_TERMINATED);
    assert_eq!(by_vpid("p+6").data.body, "#\"pong\"");
    assert!(!w
        .received(b)
        .iter()
        .any(|d| method_of(d).as_deref() == Some("afterDeath")));
    w.audit();
}

#[test]
fn the_vatstore_reads_writes_and_iterates_in_key_order() {
    let seen = cell::<Vec<Option<String>>>();
    let out = seen.clone();
    let bob: Behavior = Box::new(move |d, sys| {
        if method_of(d).as_deref() == Some("go") {
            for (k, v) in [("b", "2"), ("a", "1"), ("c", "3")] {
                syscall(
                    sys,
                    VatSyscall::VatstoreSet {
                        key: k.into(),
                        value: v.into(),
                    },
                );
            }
            syscall(sys, VatSyscall::VatstoreDelete { key: "c".into() });
            let mut out = out.borrow_mut();
            let get = |sys: &mut dyn SyscallHandler, sc| match sys.syscall(sc) {
                Ok(SyscallReply::Value(v)) => v,
                other => panic!("{other:?}"),
            };
            out.push(get(sys, VatSyscall::VatstoreGet { key: "a".into() }));
            out.push(get(sys, VatSyscall::VatstoreGet { key: "c".into() }));
            out.push(get(
                sys,
                VatSyscall::VatstoreGetNextKey { prior: "".into() },
            ));
            out.push(get(
                sys,
                VatSyscall::VatstoreGetNextKey { prior: "a".into() },
            ));
            out.push(get(
                sys,
                VatSyscall::VatstoreGetNextKey { prior: "b".into() },
            ));
        }
        Ok(())
    });
    let mut w = world(vec![("other", idle()), ("bob", bob)]);
    let rb = w.kernel.vat_root(w.vats[1]).expect("root");
    w.kernel
        .queue_to_kref(rb, kmethargs("go", &[]), false)
        .expect("send");
    w.run();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(*seen.borrow(), vec![s("1"), None, s("a"), s("b"), None]);
    assert_eq!(
        w.kernel.kv_get(&format!("{}.vs.b", w.vats[1])).as_deref(),
        Some("2")
    );
    w.audit();
}

#[test]
fn vats_are_reaped_after_their_interval() {
    let mut w = world_with(
        vec![("bob", idle())],
        |o| o.reap_interval = Some(3),
        KernelConfig::default(),
    );
    let b = w.vats[0];
    let rb = w.kernel.vat_root(b).expect("root");
    for _ in 0..7 {
        w.kernel
            .queue_to_kref(rb, kmethargs("tick", &[]), false)
            .expect("send");
    }
    w.run();
    let boyds = w
        .received(b)
        .iter()
        .filter(|d| matches!(d, VatDelivery::BringOutYourDead))
        .count();
    assert_eq!(boyds, 2, "7 deliveries with interval 3: two reaps");
    assert_eq!(
        w.kernel.kv_get(&format!("{b}.reapDirt")).as_deref(),
        Some("1")
    );
    w.audit();
}

//! Cross-vat GC: the importer drops then retires, or both at once, the exporter retires
//! after a drop, the exporter abandons an export (orphaning it), and illegal retirements.
//! Every scenario ends with a clean audit and no kernel record of the object.

mod support;

use support::*;
use vatchain_kernel::worker::{VatDelivery, VatSyscall};
use vatchain_kernel::VatId;

/// Bob exports `o+1` to Alice when asked (`give`); Alice follows the host's orders.
fn setup(alice: Behavior, bob: Behavior) -> (World, VatId, VatId) {
    let mut w = world(vec![("alice", alice), ("bob", bob)]);
    let (a, b) = (w.vats[0], w.vats[1]);
    let rb = w.kernel.vat_root(b).expect("root");
    let ra = w.kernel.vat_root(a).expect("root");
    // Bob is told about Alice and gives her o+1.
    w.kernel
        .queue_to_kref(rb, kmethargs("give", &[ra]), false)
        .expect("send");
    w.run();
    // Alice's first import is Bob's o+1.
    assert!(w.kernel.kv_get(&format!("{a}.c.o-50")).is_some());
    (w, a, b)
}

fn bob_gives() -> Behavior {
    Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("give") {
            send(sys, &arg_slots(d)[0], "take", &["o+1"], None);
        }
        Ok(())
    })
}

fn ko_of(w: &World, v: VatId, vref: &str) -> String {
    w.kernel
        .kv_get(&format!("{v}.c.{vref}"))
        .expect("c-list entry")
}

fn gc_deliveries(w: &World, v: VatId) -> Vec<VatDelivery> {
    w.received(v)
        .into_iter()
        .filter(|d| {
            matches!(
                d,
                VatDelivery::DropExports { .. }
                    | VatDelivery::RetireExports { .. }
                    | VatDelivery::RetireImports { .. }
            )
        })
        .collect()
}

fn order(w: &mut World, a: VatId, method: &str) {
    let ra = w.kernel.vat_root(a).expect("root");
    w.kernel
        .queue_to_kref(ra, kmethargs(method, &[]), false)
        .expect("send");
    w.run();
}

fn alice_obeys() -> Behavior {
    Box::new(|d, sys| {
        match method_of(d).as_deref() {
            Some("drop") => syscall(
                sys,
                VatSyscall::DropImports {
                    vrefs: vec!["o-50".into()],
                },
            ),
            Some("retire") => syscall(
                sys,
                VatSyscall::RetireImports {
                    vrefs: vec!["o-50".into()],
                },
            ),
            Some("dropAndRetire") => {
                syscall(
                    sys,
                    VatSyscall::DropImports {
                        vrefs: vec!["o-50".into()],
                    },
                );
                syscall(
                    sys,
                    VatSyscall::RetireImports {
                        vrefs: vec!["o-50".into()],
                    },
                );
            }
            Some("use") => send(sys, "o-50", "hello", &[], Some("p+5")),
            Some("useAndListen") => {
                send(sys, "o-50", "hello", &[], Some("p+5"));
                subscribe(sys, "p+5");
            }
            _ => {}
        }
        Ok(())
    })
}

#[test]
fn importer_drops_then_retires() {
    let (mut w, a, b) = setup(alice_obeys(), bob_gives());
    let ko = ko_of(&w, a, "o-50");
    assert_eq!(
        w.kernel.kv_get(&format!("{ko}.refCount")).as_deref(),
        Some("1,1")
    );
    order(&mut w, a, "drop");
    assert_eq!(
        w.kernel.kv_get(&format!("{ko}.refCount")).as_deref(),
        Some("0,1")
    );
    assert_eq!(
        gc_deliveries(&w, b),
        vec![VatDelivery::DropExports {
            vrefs: vec!["o+1".into()]
        }]
    );
    assert_eq!(
        w.kernel.kv_get(&format!("{b}.c.{ko}")).as_deref(),
        Some("_ o+1")
    );
    w.audit();
    order(&mut w, a, "retire");
    assert_eq!(
        gc_deliveries(&w, b),
        vec![
            VatDelivery::DropExports {
                vrefs: vec!["o+1".into()]
            },
            VatDelivery::RetireExports {
                vrefs: vec!["o+1".into()]
            },
        ]
    );
    assert!(
        w.kernel.kv_scan(&format!("{ko}.")).is_empty(),
        "object deleted"
    );
    assert!(w.kernel.kv_get(&format!("{b}.c.o+1")).is_none());
    w.audit();
}

#[test]
fn importer_drops_and_retires_in_one_delivery() {
    let (mut w, a, b) = setup(alice_obeys(), bob_gives());
    let ko = ko_of(&w, a, "o-50");
    order(&mut w, a, "dropAndRetire");
    // Drop comes first, then retire, in separate deliveries.
    assert_eq!(
        gc_deliveries(&w, b),
        vec![
            VatDelivery::DropExports {
                vrefs: vec!["o+1".into()]
            },
            VatDelivery::RetireExports {
                vrefs: vec!["o+1".into()]
            },
        ]
    );
    assert!(w.kernel.kv_scan(&format!("{ko}.")).is_empty());
    w.audit();
}

#[test]
fn exporter_retires_after_a_drop_and_the_importer_is_told() {
    let bob: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("give") {
            send(sys, &arg_slots(d)[0], "take", &["o+1"], None);
        }
        if matches!(d, VatDelivery::DropExports { .. }) {
            syscall(
                sys,
                VatSyscall::RetireExports {
                    vrefs: vec!["o+1".into()],
                },
            );
        }
        Ok(())
    });
    let (mut w, a, b) = setup(alice_obeys(), bob);
    let ko = ko_of(&w, a, "o-50");
    order(&mut w, a, "drop");
    assert_eq!(
        gc_deliveries(&w, a),
        vec![VatDelivery::RetireImports {
            vrefs: vec!["o-50".into()]
        }]
    );
    assert!(w.kernel.kv_scan(&format!("{ko}.")).is_empty());
    assert!(w.kernel.kv_get(&format!("{a}.c.o-50")).is_none());
    assert!(w.kernel.kv_get(&format!("{b}.c.o+1")).is_none());
    w.audit();
}

#[test]
fn abandoned_exports_are_orphans_that_reject_sends_and_retire_when_dropped() {
    let bob: Behavior = Box::new(|d, sys| {
        match method_of(d).as_deref() {
            Some("give") => send(sys, &arg_slots(d)[0], "take", &["o+1"], None),
            Some("abandon") => syscall(
                sys,
                VatSyscall::AbandonExports {
                    vrefs: vec!["o+1".into()],
                },
            ),
            _ => {}
        }
        Ok(())
    });
    let (mut w, a, b) = setup(alice_obeys(), bob);
    let ko = ko_of(&w, a, "o-50");
    order(&mut w, b, "abandon");
    assert!(
        w.kernel.kv_get(&format!("{ko}.owner")).is_none(),
        "orphaned"
    );
    assert!(w.kernel.kv_get(&format!("{b}.c.o+1")).is_none());
    w.audit();
    order(&mut w, a, "useAndListen");
    let note = w
        .received(a)
        .into_iter()
        .find_map(|d| match d {
            VatDelivery::Notify { resolutions } => Some(resolutions[0].clone()),
            _ => None,
        })
        .expect("alice hears back");
    assert!(
        note.rejected && note.data.body.contains("vat terminated"),
        "{note:?}"
    );
    assert!(
        gc_deliveries(&w, b).is_empty(),
        "bob hears nothing of an abandoned export"
    );
    order(&mut w, a, "drop");
    // Unreachable orphan: retired to its remaining recognizer, then deleted.
    assert_eq!(
        gc_deliveries(&w, a),
        vec![VatDelivery::RetireImports {
            vrefs: vec!["o-50".into()]
        }]
    );
    assert!(w.kernel.kv_scan(&format!("{ko}.")).is_empty());
    w.audit();
}

#[test]
fn retiring_a_reachable_import_is_illegal_and_rolls_the_crank_back() {
    let alice: Behavior = Box::new(|d, sys| {
        if method_of(d).as_deref() == Some("badRetire") {
            // A legal send first: it must vanish with the crank.
            send(sys, "o-50", "shouldNotArrive", &[], None);
            let r = sys.syscall(VatSyscall::RetireImports {
                vrefs: vec!["o-50".into()],
            });
            assert!(r.is_err());
        }
        Ok(())
    });
    let (mut w, a, b) = setup(alice, bob_gives());
    let ko = ko_of(&w, a, "o-50");
    order(&mut w, a, "badRetire");
    assert!(!w.live(a), "alice terminated");
    assert!(w
        .received(b)
        .iter()
        .all(|d| method_of(d).as_deref() != Some("shouldNotArrive")));
    // Alice's import is gone with her; Bob's export is dropped and retired.
    assert_eq!(
        gc_deliveries(&w, b),
        vec![
            VatDelivery::DropExports {
                vrefs: vec!["o+1".into()]
            },
            VatDelivery::RetireExports {
                vrefs: vec!["o+1".into()]
            },
        ]
    );
    assert!(w.kernel.kv_scan(&format!("{ko}.")).is_empty());
    assert!(
        w.kernel.kv_scan(&format!("{a}.")).is_empty(),
        "dead vat keeps no keys"
    );
    w.audit();
}

#[test]
fn retiring_a_reachable_export_is_illegal() {
    let bob: Behavior = Box::new(|d, sys| {
        match method_of(d).as_deref() {
            Some("give") => send(sys, &arg_slots(d)[0], "take", &["o+1"], None),
            Some("badRetire") => {
                assert!(sys
                    .syscall(VatSyscall::RetireExports {
                        vrefs: vec!["o+1".into()]
                    })
                    .is_err());
            }
            _ => {}
        }
        Ok(())
    });
    let (mut w, a, b) = setup(alice_obeys(), bob);
    order(&mut w, b, "badRetire");
    assert!(!w.live(b));
    assert!(w.live(a));
    let ko = ko_of(&w, a, "o-50");
    assert!(
        w.kernel.kv_get(&format!("{ko}.owner")).is_none(),
        "bob's export is orphaned"
    );
    w.audit();
}

#[test]
fn dropping_an_import_then_receiving_it_again_makes_it_reachable_again() {
    let bob: Behavior = Box::new(|d, sys| {
        if matches!(method_of(d).as_deref(), Some("give") | Some("giveAgain")) {
            send(sys, &arg_slots(d)[0], "take", &["o+1"], None);
        }
        Ok(())
    });
    let (mut w, a, b) = setup(alice_obeys(), bob);
    let ko = ko_of(&w, a, "o-50");
    order(&mut w, a, "drop");
    let ra = w.kernel.vat_root(a).expect("root");
    let rb = w.kernel.vat_root(b).expect("root");
    w.kernel
        .queue_to_kref(rb, kmethargs("giveAgain", &[ra]), false)
        .expect("send");
    w.run();
    assert_eq!(
        w.kernel.kv_get(&format!("{a}.c.{ko}")).as_deref(),
        Some("R o-50")
    );
    assert_eq!(
        w.kernel.kv_get(&format!("{b}.c.{ko}")).as_deref(),
        Some("R o+1")
    );
    assert_eq!(
        w.kernel.kv_get(&format!("{ko}.refCount")).as_deref(),
        Some("1,1")
    );
    w.audit();
}

//! `run(budget)` stops after the crank that spends its budget and reports what it did;
//! the rest of the work waits in the persistent queues for the next run (block).

mod support;

use support::*;
use vatchain_kernel::{RunBudget, VatId};

#[test]
fn leftover_work_runs_in_the_next_budget() {
    // Echo answers every message; each answer is a notify back to the host-pinned promise.
    let echo: Behavior = Box::new(|d, sys| {
        if let Some(r) = result_of(d) {
            resolve(sys, &r, false, "#\"ok\"", &[]);
        }
        Ok(())
    });
    let mut w = world(vec![("echo", echo)]);
    let v: VatId = w.vats[0];
    let root = w.kernel.vat_root(v).expect("root");
    let kps: Vec<_> = (0..10)
        .map(|_| {
            w.kernel
                .queue_to_kref(root, kmethargs("hi", &[]), true)
                .expect("send")
                .expect("result")
        })
        .collect();
    // Each delivery costs 2 computrons (1 + one resolve syscall); routing costs none.
    let first = w.kernel.run(RunBudget::computrons(6));
    assert!(!first.idle);
    assert_eq!(first.deliveries, 3, "{first:?}");
    assert_eq!(first.computrons, 6);
    let settled = |w: &World| {
        kps.iter()
            .filter(|k| {
                !w.kernel
                    .promise_state(**k)
                    .is_some_and(|s| s.is_unresolved())
            })
            .count()
    };
    assert_eq!(settled(&w), 3);
    w.audit();
    let rest = w.kernel.run(RunBudget::UNLIMITED);
    assert!(rest.idle);
    assert_eq!(rest.deliveries, 7);
    assert_eq!(settled(&w), 10);
    let by_cranks = w.kernel.run(RunBudget {
        computrons: u64::MAX,
        cranks: 1,
    });
    assert_eq!(by_cranks.cranks, 0, "nothing left to do");
    w.audit();
}

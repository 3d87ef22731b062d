//! Fairness: the host's sends (clients' txs) and the run-queue (work vats made) take turns,
//! so a vat that feeds itself forever cannot hold back anyone else's messages, and every
//! crank costs at least a computron, so a budget bounds how many run.

mod support;

use support::js::{create, fixture, js_kernel, named};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::{PromiseState, RunBudget};

/// `forker.fork(partner)`: from then on each delivery makes two more, between the two.
fn start_forking(
    k: &mut vatchain_kernel::Kernel,
    forker: vatchain_kernel::KRef,
    partner: vatchain_kernel::KRef,
) {
    k.queue_to_kref(
        forker,
        CapData {
            body: "#[\"fork\",[\"$0.Alleged: root\"]]".into(),
            slots: vec![partner],
        },
        false,
    )
    .expect("send");
}

#[test]
fn a_self_feeding_vat_does_not_hold_back_the_hosts_messages() {
    let mut k = js_kernel();
    let forker_b = k.install_bundle(&fixture("forker")).expect("forker");
    let pong_b = k.install_bundle(&fixture("pingpong")).expect("pingpong");
    let (fa, forker) = create(&mut k, &forker_b, named("forker"), "#{}");
    let (fb, partner) = create(&mut k, &forker_b, named("partner"), "#{}");
    let (_, bob) = create(&mut k, &pong_b, named("bob"), "#{}");
    k.run(RunBudget::UNLIMITED);
    start_forking(&mut k, forker, partner);
    // Let the flood grow: hundreds of forks queued and more every crank.
    let r = k.run(RunBudget::computrons(1_000));
    assert!(!r.idle, "the forker never stops");

    assert!(
        k.vats().contains(&fa) && k.vats().contains(&fb),
        "the forkers run on"
    );
    for round in 0..5 {
        let kp = k
            .queue_to_kref(bob, CapData::data(format!("#[\"pong\",[{round}]]")), true)
            .expect("send")
            .expect("result");
        // A few cranks suffice (the forks routed meanwhile among them), however long
        // the run-queue is.
        k.run(RunBudget {
            computrons: u64::MAX,
            cranks: 8,
        });
        assert_eq!(
            k.promise_state(kp),
            Some(PromiseState::Fulfilled(CapData::data(format!(
                "#{}",
                round + 1
            )))),
            "round {round}: bob answered while the forker runs"
        );
        k.unpin(kp);
    }
}

#[test]
fn every_crank_costs_a_computron_so_budgets_bound_cheap_cranks() {
    let mut k = js_kernel();
    let forker_b = k.install_bundle(&fixture("forker")).expect("forker");
    let (_, forker) = create(&mut k, &forker_b, named("forker"), "#{}");
    let (_, partner) = create(&mut k, &forker_b, named("partner"), "#{}");
    k.run(RunBudget::UNLIMITED);
    start_forking(&mut k, forker, partner);
    let r = k.run(RunBudget::computrons(300));
    assert!(
        r.cranks <= 300,
        "{} cranks on a 300-computron budget",
        r.cranks
    );
    assert!(r.computrons >= r.cranks);
}

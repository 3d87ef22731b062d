//! Fairness: the host's sends (clients' txs) and the run-queue (work vats made) take turns,
//! so a vat that feeds itself forever cannot hold back anyone else's messages, and every
//! crank costs at least a computron, so a budget bounds how many run.

mod support;

use support::js::{create, fixture, js_kernel, named};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget};

/// `forker.<method>(partner)`: from then on each delivery sends more between the two
/// (`fork`: two each, `relay`: one each).
fn start(k: &mut Kernel, method: &str, forker: KRef, partner: KRef) {
    k.queue_to_kref(
        forker,
        CapData {
            body: format!("#[\"{method}\",[\"$0.Alleged: root\"]]"),
            slots: vec![partner],
        },
        false,
    )
    .expect("send");
}

fn start_forking(k: &mut Kernel, forker: KRef, partner: KRef) {
    start(k, "fork", forker, partner);
}

#[test]
fn a_self_feeding_vat_does_not_hold_back_the_hosts_messages() {
    for method in ["fork", "relay"] {
        busy_run_queue_lets_the_host_through(method);
    }
}

/// With two vats sending `method`s to each other forever, the host's sends to a third vat
/// are answered within a few cranks each, whatever the run-queue holds.
fn busy_run_queue_lets_the_host_through(method: &str) {
    let mut k = js_kernel();
    let forker_b = k.install_bundle(&fixture("forker")).expect("forker");
    let pong_b = k.install_bundle(&fixture("pingpong")).expect("pingpong");
    let (fa, forker) = create(&mut k, &forker_b, named("forker"), "#{}");
    let (fb, partner) = create(&mut k, &forker_b, named("partner"), "#{}");
    let (_, bob) = create(&mut k, &pong_b, named("bob"), "#{}");
    k.run(RunBudget::UNLIMITED);
    start(&mut k, method, forker, partner);
    // Let the traffic run a while, and start at any crank parity.
    let r = k.run(RunBudget::computrons(1_000));
    assert!(!r.idle, "{method}: the forkers never stop");
    assert!(
        k.vats().contains(&fa) && k.vats().contains(&fb),
        "the forkers run on"
    );
    for round in 0..6 {
        let kp = k
            .queue_to_kref(bob, CapData::data(format!("#[\"pong\",[{round}]]")), true)
            .expect("send")
            .expect("result");
        // A few cranks suffice (the sends routed meanwhile among them), however long the
        // run-queue is.
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
            "{method}, round {round}: bob answered while the forkers run"
        );
        k.unpin(kp);
        // Shift the crank parity for the next round.
        k.run(RunBudget {
            computrons: u64::MAX,
            cranks: 1 + round % 2,
        });
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

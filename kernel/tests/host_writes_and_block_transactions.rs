//! The host's facet of the store: its writes go to the `host` family only, each
//! `update_host` is a crank of its own, the store's own keys are out of reach, and a block
//! transaction undoes everything done through it (host writes, kernel calls, deliveries,
//! the vats' heaps included) unless it is kept.

mod support;

use support::js::{call, create, fixture, fulfilled, js_kernel, named};
use vatchain_kernel::store::Cf;
use vatchain_kernel::{HostRead, KRef, Kernel};

/// alice and bob, two pingpong vats, started.
fn two_vats() -> (Kernel, KRef, KRef) {
    let mut k = js_kernel();
    let b = k.install_bundle(&fixture("pingpong")).expect("bundle");
    let (_, alice) = create(&mut k, &b, named("alice"), "#{}");
    let (_, bob) = create(&mut k, &b, named("bob"), "#{}");
    assert!(k.run(vatchain_kernel::RunBudget::UNLIMITED).idle);
    (k, alice, bob)
}

fn ping(k: &mut Kernel, alice: KRef, bob: KRef) {
    let r = call(k, alice, "#[\"ping\",[\"$0\",1]]", &[bob]);
    assert!(
        matches!(r, vatchain_kernel::PromiseState::Fulfilled(_)),
        "{r:?}"
    );
}

fn count(k: &mut Kernel, alice: KRef) -> vatchain_kernel::PromiseState {
    call(k, alice, "#[\"getCount\",[]]", &[])
}

#[test]
fn host_writes_land_in_the_host_family_as_a_crank_of_their_own() {
    let (mut k, _, _) = two_vats();
    let before = k.pending_app_hash();
    let kv_before: Vec<_> = k
        .store()
        .dump()
        .into_iter()
        .filter(|(cf, _, _)| *cf != Cf::Host)
        .collect();
    k.update_host(|h| {
        h.set("acct/x", b"1");
        h.set("acct/y", b"2");
        h.delete("acct/y");
        assert_eq!(
            h.get("acct/x").as_deref(),
            Some(&b"1"[..]),
            "reads its writes"
        );
    });
    assert_ne!(k.pending_app_hash(), before, "the crank is in the app hash");
    assert_eq!(k.host().get("acct/x").as_deref(), Some(&b"1"[..]));
    assert_eq!(k.host().get("acct/y"), None);
    assert_eq!(k.host().scan("acct/").len(), 1);
    let kv_after: Vec<_> = k
        .store()
        .dump()
        .into_iter()
        .filter(|(cf, _, _)| *cf != Cf::Host)
        .collect();
    assert_eq!(kv_before, kv_after, "no other family was touched");

    // A closure that writes nothing leaves the hash alone.
    let h = k.pending_app_hash();
    k.update_host(|_| ());
    assert_eq!(k.pending_app_hash(), h);

    // The store's own records are invisible to the host once a block committed them.
    k.commit_block(1).expect("commit");
    assert!(k
        .host()
        .scan("")
        .iter()
        .all(|(key, _)| !key.starts_with("store.")));
}

#[test]
#[should_panic(expected = "the host wrote the store's own key")]
fn the_store_keys_are_out_of_the_hosts_reach() {
    let (mut k, _, _) = two_vats();
    k.update_host(|h| h.set("store.height", b"99"));
}

#[test]
fn a_dropped_block_transaction_undoes_everything_done_through_it() {
    let (mut k, alice, bob) = two_vats();
    let (dump, hash) = (k.store().dump(), k.pending_app_hash());
    {
        let mut tx = k.begin_block_tx();
        tx.update_host(|h| h.set("gov/p/1", b"{}"));
        tx.install_bundle(&fixture("holder")).expect("bundle");
        // alice's heap counts the ping: dropping the transaction must drop that heap too.
        ping(&mut tx, alice, bob);
    }
    assert_eq!(k.store().dump(), dump, "every family as before");
    assert_eq!(k.pending_app_hash(), hash, "and the app hash");
    assert_eq!(
        count(&mut k, alice),
        fulfilled("#0"),
        "alice's worker was rebuilt from her transcript, without the undone ping"
    );
}

#[test]
fn a_kept_block_transaction_keeps_and_an_inner_one_can_still_be_undone() {
    let (mut k, alice, bob) = two_vats();
    let mut outer = k.begin_block_tx();
    ping(&mut outer, alice, bob);
    {
        let mut inner = outer.begin_block_tx();
        inner.update_host(|h| h.set("x", b"inner"));
        ping(&mut inner, alice, bob);
    }
    outer.update_host(|h| h.set("y", b"outer"));
    outer.keep();
    assert_eq!(k.host().get("x"), None, "the inner transaction was dropped");
    assert_eq!(k.host().get("y").as_deref(), Some(&b"outer"[..]));
    assert_eq!(
        count(&mut k, alice),
        fulfilled("#1"),
        "only the outer ping stays"
    );

    // The kept block commits as one that ran the same work without transactions.
    let (mut twin, ta, tb) = two_vats();
    ping(&mut twin, ta, tb);
    twin.update_host(|h| h.set("y", b"outer"));
    assert_eq!(count(&mut twin, ta), fulfilled("#1"));
    assert_eq!(
        k.commit_block(1).expect("commit"),
        twin.commit_block(1).expect("twin")
    );
}

//! Block savepoints: several cranks undone at once (a transaction's or a proposal's
//! messages), nested savepoints released into their parent, and the app hash back where it
//! was — against both a copy of the store's contents and a second store that never ran
//! the undone cranks.

use vatchain_kernel::store::{Cf, Store};

fn crank(s: &mut Store, writes: &[(&str, Option<&str>)]) {
    for (k, v) in writes {
        match v {
            Some(v) => s.set(Cf::Kv, k.as_bytes(), v.as_bytes()),
            None => s.delete(Cf::Kv, k.as_bytes()),
        }
    }
    s.commit_crank();
}

fn base(s: &mut Store) {
    crank(s, &[("a", Some("1")), ("b", Some("2"))]);
    s.commit_block(1).expect("block 1");
    crank(s, &[("c", Some("3")), ("a", Some("10"))]);
}

#[test]
fn rollback_restores_contents_and_hash() {
    let mut s = Store::in_memory();
    base(&mut s);
    let (dump, hash) = (s.dump(), s.pending_app_hash());

    let sp = s.block_savepoint().expect("no crank open");
    crank(&mut s, &[("a", Some("11")), ("b", None), ("d", Some("4"))]);
    let inner = s.block_savepoint().expect("nested");
    crank(&mut s, &[("c", None), ("a", Some("12")), ("e", Some("5"))]);
    s.release_block(inner);
    crank(&mut s, &[("d", Some("44"))]);
    s.set(Cf::Kv, b"open", b"crank");
    s.rollback_block(sp);

    assert_eq!(s.dump(), dump, "every family as at the savepoint");
    assert_eq!(
        s.pending_app_hash(),
        hash,
        "the undone cranks left the hash"
    );
    assert!(!s.crank_is_dirty(), "the open crank went too");

    // The block goes on and commits like one that never ran them.
    crank(&mut s, &[("z", Some("26"))]);
    let mut twin = Store::in_memory();
    base(&mut twin);
    crank(&mut twin, &[("z", Some("26"))]);
    assert_eq!(
        s.commit_block(2).expect("block 2"),
        twin.commit_block(2).expect("twin")
    );
    assert_eq!(s.dump(), twin.dump());
}

#[test]
fn release_keeps_and_an_inner_rollback_leaves_the_outer_writes() {
    let mut s = Store::in_memory();
    base(&mut s);
    let outer = s.block_savepoint().expect("savepoint");
    crank(&mut s, &[("a", Some("20"))]);
    let (dump, hash) = (s.dump(), s.pending_app_hash());
    let inner = s.block_savepoint().expect("nested");
    crank(&mut s, &[("a", Some("21")), ("f", Some("6"))]);
    s.rollback_block(inner);
    assert_eq!((s.dump(), s.pending_app_hash()), (dump.clone(), hash));
    s.release_block(outer);
    assert_eq!(s.get(Cf::Kv, b"a").as_deref(), Some(&b"20"[..]));
    assert!(s.block_savepoint().is_some());
    s.set(Cf::Kv, b"x", b"1");
    assert!(s.block_savepoint().is_none(), "not while a crank is open");
}

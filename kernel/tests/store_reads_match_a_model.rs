//! The store's merged view (crank ← block ← committed) behaves like one ordered map, under
//! random writes (including `set_new` of keys the committed layer lacks), savepoint rollbacks, crank aborts, block commits and reopens.

use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::prelude::*;
use vatchain_kernel::store::{Cf, Store};

#[derive(Clone, Debug)]
enum Op {
    Set(Cf, u8, u8),
    /// `set_new` of a kv key, when the committed layer lacks it (its contract).
    SetNew(u8, u8),
    Delete(Cf, u8),
    Savepoint,
    Rollback,
    CommitCrank,
    AbortCrank,
    CommitBlock,
    Reopen,
}

fn cf() -> impl Strategy<Value = Cf> {
    prop_oneof![
        Just(Cf::Kv),
        Just(Cf::Transcript),
        Just(Cf::Bundles),
        Just(Cf::Host)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (cf(), 0u8..24, any::<u8>()).prop_map(|(c, k, v)| Op::Set(c, k, v)),
        2 => (0u8..24, any::<u8>()).prop_map(|(k, v)| Op::SetNew(k, v)),
        3 => (cf(), 0u8..24).prop_map(|(c, k)| Op::Delete(c, k)),
        1 => Just(Op::Savepoint),
        1 => Just(Op::Rollback),
        2 => Just(Op::CommitCrank),
        1 => Just(Op::AbortCrank),
        1 => Just(Op::CommitBlock),
        1 => Just(Op::Reopen),
    ]
}

fn key(k: u8) -> Vec<u8> {
    // Keys of different lengths sharing prefixes, to exercise ordering and prefix scans.
    format!("k{}", k % 12)
        .repeat(1 + (k / 12) as usize)
        .into_bytes()
}

type Model = BTreeMap<(Cf, Vec<u8>), Vec<u8>>;

/// Model of the three layers: committed, block, crank (+ savepoint snapshots of the crank).
struct Layers {
    committed: Model,
    block: Model,
    crank: Model,
    savepoints: Vec<Model>,
}

fn check(store: &Store, model: &Model) {
    for c in [Cf::Kv, Cf::Transcript, Cf::Bundles, Cf::Host] {
        let want: Vec<(Vec<u8>, Vec<u8>)> = model
            .iter()
            .filter(|((mc, _), _)| *mc == c)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        let got: Vec<(Vec<u8>, Vec<u8>)> = store
            .range(c, b"", None)
            .into_iter()
            .filter(|(k, _)| !k.starts_with(b"store."))
            .collect();
        assert_eq!(got, want, "full scan of {c:?}");
        for k in 0..24u8 {
            let kk = key(k);
            assert_eq!(store.get(c, &kk), model.get(&(c, kk.clone())).cloned());
            let next = want
                .iter()
                .find(|(wk, _)| *wk > kk)
                .map(|(wk, _)| wk.clone());
            let got_next = store
                .first_after(c, Bound::Excluded(&kk))
                .map(|(k, _)| k)
                .filter(|k| !k.starts_with(b"store."));
            assert_eq!(got_next, next, "next key after {kk:?} in {c:?}");
            let prefix = &kk[..2];
            let want_prefix: Vec<_> = want
                .iter()
                .filter(|(wk, _)| wk.starts_with(prefix))
                .cloned()
                .collect();
            assert_eq!(store.scan_prefix(c, prefix), want_prefix);
        }
    }
}

fn run_ops(ops: Vec<Op>, on_disk: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || {
        if on_disk {
            Store::open(dir.path()).expect("open")
        } else {
            Store::in_memory()
        }
    };
    let mut store = open();
    let mut m = Layers {
        committed: Model::new(),
        block: Model::new(),
        crank: Model::new(),
        savepoints: Vec::new(),
    };
    let mut sps = Vec::new();
    let mut height = 0;
    for op in ops {
        match op {
            Op::Set(c, k, v) => {
                store.set(c, &key(k), &[v]);
                m.crank.insert((c, key(k)), vec![v]);
            }
            Op::SetNew(k, v) => {
                if m.committed.contains_key(&(Cf::Kv, key(k))) {
                    store.set(Cf::Kv, &key(k), &[v]);
                } else {
                    store.set_new(&key(k), &[v]);
                }
                m.crank.insert((Cf::Kv, key(k)), vec![v]);
            }
            Op::Delete(c, k) => {
                store.delete(c, &key(k));
                m.crank.remove(&(c, key(k)));
            }
            Op::Savepoint => {
                sps.push(store.savepoint());
                m.savepoints.push(m.crank.clone());
            }
            Op::Rollback => {
                if let (Some(sp), Some(snap)) = (sps.pop(), m.savepoints.pop()) {
                    store.rollback_to(sp);
                    m.crank = snap;
                }
            }
            Op::CommitCrank => {
                store.commit_crank();
                m.block = m.crank.clone();
                sps.clear();
                m.savepoints.clear();
            }
            Op::AbortCrank => {
                store.abort_crank();
                m.crank = m.block.clone();
                sps.clear();
                m.savepoints.clear();
            }
            Op::CommitBlock => {
                store.commit_crank();
                height += 1;
                store.commit_block(height).expect("commit");
                m.committed = m.crank.clone();
                m.block = m.crank.clone();
                sps.clear();
                m.savepoints.clear();
            }
            Op::Reopen => {
                if on_disk {
                    drop(store);
                    store = open();
                    m.crank = m.committed.clone();
                    m.block = m.committed.clone();
                    sps.clear();
                    m.savepoints.clear();
                    assert_eq!(store.committed().height, height);
                }
            }
        }
        // The model's crank layer is the full merged view.
        check(&store, &m.crank);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn memory_store_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        run_ops(ops, false);
    }

    #[test]
    fn rocksdb_store_matches_model(ops in proptest::collection::vec(op(), 1..80)) {
        run_ops(ops, true);
    }
}

#[test]
fn same_writes_give_same_app_hash_in_memory_and_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut disk = Store::open(dir.path()).expect("open");
    let mut mem = Store::in_memory();
    for s in [&mut disk, &mut mem] {
        for h in 1..=3u64 {
            s.set(Cf::Kv, format!("a{h}").as_bytes(), b"x");
            s.commit_crank();
            s.delete(Cf::Kv, b"a1");
            s.set(Cf::Transcript, &h.to_be_bytes(), b"t");
            s.commit_crank();
            s.commit_block(h).expect("commit");
        }
    }
    assert_eq!(disk.committed(), mem.committed());
    assert_ne!(disk.committed().app_hash, [0u8; 32]);
    drop(disk);
    let reopened = Store::open(dir.path()).expect("reopen");
    assert_eq!(reopened.committed(), mem.committed());
}

#[test]
fn aborted_cranks_do_not_change_the_app_hash() {
    let mut a = Store::in_memory();
    let mut b = Store::in_memory();
    a.set(Cf::Kv, b"k", b"v");
    a.commit_crank();
    b.set(Cf::Kv, b"junk", b"1");
    b.abort_crank();
    b.set(Cf::Kv, b"k", b"v");
    b.commit_crank();
    assert_eq!(a.pending_app_hash(), b.pending_app_hash());
    a.commit_block(1).expect("commit");
    b.commit_block(1).expect("commit");
    assert_eq!(a.committed(), b.committed());
}

#[test]
fn commit_block_refuses_an_open_crank_and_a_stale_height() {
    let mut s = Store::in_memory();
    s.set(Cf::Kv, b"k", b"v");
    assert!(s.commit_block(1).is_err());
    s.commit_crank();
    s.commit_block(1).expect("commit");
    assert!(s.commit_block(1).is_err());
    s.commit_block(2).expect("an empty block commits");
}

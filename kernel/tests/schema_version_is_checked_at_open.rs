//! The kernel writes its schema version in the first block and refuses, with a hint, a DB
//! written at another version: migrations never run silently.

use vatchain_kernel::store::{Cf, Store};
use vatchain_kernel::worker::RawWorkers;
use vatchain_kernel::{Kernel, KernelConfig, KernelError, SCHEMA_VERSION};

#[test]
fn a_fresh_db_gets_the_current_version_in_its_first_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = Kernel::new(
        Store::open(dir.path()).expect("open"),
        Box::new(RawWorkers::new()),
        KernelConfig::default(),
    )
    .expect("fresh kernel");
    k.commit_block(1).expect("commit");
    drop(k);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        store.get(Cf::Kv, b"version"),
        Some(SCHEMA_VERSION.to_string().into_bytes())
    );
    Kernel::new(store, Box::new(RawWorkers::new()), KernelConfig::default())
        .expect("reopens at the same version");
}

#[test]
fn older_and_newer_dbs_are_refused_with_a_hint() {
    for (found, hint) in [(2u32, "upgrade handler"), (4, "newer binary")] {
        let mut store = Store::in_memory();
        store.set(Cf::Kv, b"version", found.to_string().as_bytes());
        store.commit_crank();
        match Kernel::new(store, Box::new(RawWorkers::new()), KernelConfig::default()) {
            Err(e @ KernelError::SchemaVersion { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&format!("version {found}")) && msg.contains(hint),
                    "{msg}"
                );
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("version {found} accepted"),
        }
    }
}

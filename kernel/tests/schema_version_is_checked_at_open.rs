//! The kernel writes its schema version in the first block. A DB at another version is
//! refused with a hint, except an older one this binary can migrate, which opens pending
//! migration: readable, but nothing runs until the host migrates it (never silently).

use vatchain_kernel::migrate::{MigrateError, PendingMigration};
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
fn newer_dbs_and_dbs_with_no_migration_path_are_refused_with_a_hint() {
    for (found, hint) in [
        (1u32, "no migration from that version"),
        (4, "newer binary"),
    ] {
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
                assert!(
                    !msg.contains("vatd migrate"),
                    "names no command that does not exist"
                );
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("version {found} accepted"),
        }
    }
}

#[test]
fn an_older_db_with_a_migration_opens_pending_and_runs_nothing_until_migrated() {
    let mut store = Store::in_memory();
    store.set(Cf::Kv, b"version", b"2");
    store.commit_crank();
    let mut k = Kernel::new(store, Box::new(RawWorkers::new()), KernelConfig::default())
        .expect("a v2 DB opens pending");
    assert_eq!(
        k.pending_migration(),
        Some(PendingMigration {
            from: 2,
            to: SCHEMA_VERSION
        })
    );
    assert!(matches!(
        k.install_bundle(b"{}"),
        Err(KernelError::MigrationPending { from: 2, to: 3 })
    ));
    let report = k.migrate(&mut |_| {}).expect("migrate");
    assert_eq!((report.from, report.to), (2, 3));
    assert_eq!(k.pending_migration(), None);
    assert_eq!(k.kv_get("version").as_deref(), Some("3"));
    assert!(matches!(
        k.migrate(&mut |_| {}),
        Err(MigrateError::NothingPending(3))
    ));
}

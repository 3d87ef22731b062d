//! The v2→v3 migration on real v2 DBs: a schema-version-2 kernel (feature `legacy-v2`)
//! runs real JS vats through real upgrades (by the host, and by `E(adminNode).upgrade` for
//! a dynamic vat), which leak promise c-list entries exactly as upstream's #9039 did. The
//! current kernel then opens that DB pending migration (nothing runs), the audit counts the
//! leak exactly, and the migration removes exactly those entries: unresolved promises and
//! entries with a notify pending are left alone, promises others hold lose only the leaked
//! reference, terminated vats are not touched. Afterwards the audit is clean, the schema
//! version is 3, vats answer and upgrade without leaking; a migration lost to a crash
//! before its block commits runs again with the same result, and two copies of one DB
//! migrate to the same app hash.

mod support;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use support::js::{call, create, fixture, named, upgrade_request};
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::migrate::{MigrateError, PendingMigration, RemediationCounts};
use vatchain_kernel::store::{Cf, Store};
use vatchain_kernel::worker::JsWorkers;
use vatchain_kernel::{
    KRef, Kernel, KernelConfig, KernelError, PromiseState, RunBudget, UpgradeError, VatId,
};

fn open(path: &Path, legacy: bool) -> Kernel {
    Kernel::new(
        Store::open(path).expect("store"),
        Box::new(JsWorkers::default()),
        KernelConfig {
            legacy_v2: legacy,
            ..KernelConfig::default()
        },
    )
    .expect("kernel")
}

/// The kernel again on `store` (with what its buffers hold), as `open` makes it.
fn reopen(store: Store) -> Kernel {
    Kernel::new(
        store,
        Box::new(JsWorkers::default()),
        KernelConfig::default(),
    )
    .expect("kernel")
}

fn run(k: &mut Kernel) {
    assert!(k.run(RunBudget::UNLIMITED).idle);
}

/// The promises in `v`'s c-list (kref-keyed entries).
fn promise_entries(k: &Kernel, v: VatId) -> Vec<KRef> {
    let prefix = format!("{v}.c.");
    k.kv_scan(&format!("{v}.c.kp"))
        .into_iter()
        .map(|(key, _)| key[prefix.len()..].parse().expect("kref"))
        .collect()
}

fn subscribers(k: &Kernel, kp: KRef) -> Vec<String> {
    k.kv_get(&format!("{kp}.subscribers"))
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What a v2 upgrade of `v` leaks, worked out from the state before it: every unresolved
/// promise `v` decides that it has not subscribed to itself (a self-subscribed one gets a
/// notify, whose delivery removes the entry).
fn leaks_of_upgrading(k: &Kernel, v: VatId) -> BTreeSet<(VatId, KRef)> {
    promise_entries(k, v)
        .into_iter()
        .filter(|kp| {
            matches!(k.promise_state(*kp), Some(PromiseState::Unresolved { decider: Some(d) }) if d == v)
                && !subscribers(k, *kp).contains(&v.to_string())
        })
        .map(|kp| (v, kp))
        .collect()
}

fn send(k: &mut Kernel, target: KRef, body: &str, slots: &[KRef]) -> KRef {
    k.queue_to_kref(
        target,
        CapData {
            body: body.into(),
            slots: slots.to_vec(),
        },
        true,
    )
    .expect("send")
    .expect("result")
}

/// A v2 DB made by the legacy kernel, and what its upgrades leaked.
struct V2Db {
    dir: tempfile::TempDir,
    leaked: BTreeSet<(VatId, KRef)>,
    /// Entries of settled promises whose notify to their vat is still queued.
    notify_pending: usize,
    server: VatId,
    holder: KRef,
    server_root: KRef,
    v2_bundle: String,
}

/// Builds the v2 chain state: a service vat whose clients hold promises it decides, a
/// durable watcher on its own promise, a host-held result, a dynamic vat upgraded by its
/// creator through vat-admin, a vat upgraded and then terminated, a vat never upgraded
/// (its promises stay unresolved), and a second upgrade whose notifies are still queued
/// when the block commits.
fn make_v2_db() -> V2Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = open(dir.path(), true);
    assert_eq!(k.binary_version(), 2);
    k.install_vat_admin().expect("vat-admin");
    let service = k.vat_admin_service().expect("service");
    let v1 = k.install_bundle(&fixture("durable-v1")).expect("v1");
    let v2 = k.install_bundle(&fixture("durable-v2")).expect("v2");
    let holder_b = k.install_bundle(&fixture("holder")).expect("holder");
    let creator_b = k.install_bundle(&fixture("creator")).expect("creator");
    let (server, server_root) = create(&mut k, &v1, named("server"), "#{}");
    let (_, holder) = create(&mut k, &holder_b, named("holder"), "#{}");
    let (_, bystander) = create(&mut k, &v1, named("bystander"), "#{}");
    let (doomed, doomed_root) = create(&mut k, &v1, named("doomed"), "#{}");
    let (_, creator) = create(&mut k, &creator_b, named("creator"), "#{}");
    run(&mut k);

    let hold = |k: &mut Kernel, target: KRef, n: u32| {
        let body = format!("#[\"holdMany\",[\"$0.Alleged: root\",{n}]]");
        call(k, holder, &body, &[target]);
    };
    hold(&mut k, server_root, 5);
    call(
        &mut k,
        holder,
        "#[\"holdDeferred\",[\"$0.Alleged: root\"]]",
        &[server_root],
    );
    hold(&mut k, bystander, 2);
    hold(&mut k, doomed_root, 2);
    call(&mut k, server_root, "#[\"watchOwn\",[\"w1\"]]", &[]);
    // A result only the host holds: once released, the leaked entry is its last holder.
    let hostage = send(&mut k, server_root, "#[\"hang\",[]]", &[]);
    let spawn = format!("#[\"spawnOnly\",[\"$0.Alleged: vatAdminService\",\"{v1}\",\"kid\"]]");
    call(&mut k, creator, &spawn, &[service]);
    let kid = k.vat_id("kid").expect("kid");
    for _ in 0..2 {
        send(&mut k, creator, "#[\"callChild\",[\"hang\"]]", &[]);
    }
    run(&mut k);

    let mut leaked = leaks_of_upgrading(&k, server);
    let r = k
        .upgrade_vat(server, upgrade_request(&v2, "up1", "#{}"))
        .expect("legacy upgrade of server");
    assert_eq!(r.new_incarnation, 1);
    k.unpin(hostage);
    leaked.extend(leaks_of_upgrading(&k, kid));
    let up = format!("#[\"upgrade\",[\"{v2}\",{{}}]]");
    assert_eq!(
        call(&mut k, creator, &up, &[]),
        PromiseState::Fulfilled(CapData::data("#\"upgraded to incarnation 1\""))
    );
    assert!(!leaks_of_upgrading(&k, doomed).is_empty());
    k.upgrade_vat(doomed, upgrade_request(&v2, "up1", "#{}"))
        .expect("legacy upgrade of doomed");
    run(&mut k);
    k.terminate_vat(doomed, "retired").expect("terminate");
    run(&mut k);
    let a = k.audit();
    assert!(a.problems.is_empty(), "refcounts stay right: {a}");
    assert_eq!(
        a.stale_promise_entries
            .iter()
            .copied()
            .collect::<BTreeSet<_>>(),
        leaked,
        "the legacy kernel leaks exactly the decided, not self-subscribed promises"
    );

    // A second upgrade whose notifies to the holder are still queued at the commit.
    hold(&mut k, server_root, 3);
    let before = k.audit().stale_promise_entries.len();
    let second = leaks_of_upgrading(&k, server);
    assert_eq!(second.len(), 3);
    k.upgrade_vat(server, upgrade_request(&v2, "up2", "#{}"))
        .expect("second legacy upgrade");
    leaked.extend(second);
    assert_eq!(k.audit().stale_promise_entries.len(), before + 3);
    k.commit_block(1).expect("commit");
    drop(k);
    V2Db {
        dir,
        leaked,
        notify_pending: 3,
        server,
        holder,
        server_root,
        v2_bundle: v2,
    }
}

/// Settled or not, the promise entries of live vats (what the migration examines).
fn unresolved_entries(k: &Kernel) -> u64 {
    k.vats()
        .into_iter()
        .flat_map(|v| promise_entries(k, v))
        .filter(|kp| k.promise_state(*kp).is_some_and(|s| s.is_unresolved()))
        .count() as u64
}

#[test]
fn the_migration_removes_exactly_what_v2_upgrades_leaked() {
    let db = make_v2_db();
    let mut k = open(db.dir.path(), false);
    assert_eq!(
        k.pending_migration(),
        Some(PendingMigration { from: 2, to: 3 })
    );

    // Nothing runs on a DB awaiting migration, and nothing is written trying.
    let before = (k.store().dump(), k.store().pending_app_hash());
    let pending = |r: Result<(), KernelError>| {
        assert!(
            matches!(r, Err(KernelError::MigrationPending { from: 2, to: 3 })),
            "{r:?}"
        )
    };
    let send = k.queue_to_kref(db.server_root, CapData::data("#[\"version\",[]]"), true);
    pending(send.map(|_| ()));
    pending(k.pin(db.server_root));
    pending(k.terminate_vat(db.server, "no"));
    pending(k.install_bundle(&fixture("holder")).map(|_| ()));
    pending(k.install_vat_admin().map(|_| ()));
    let made = k.create_vat(
        vatchain_kernel::worker::VatSource {
            bundle_id: db.v2_bundle.clone(),
        },
        named("late"),
        CapData::data("#{}"),
    );
    pending(made.map(|_| ()));
    assert_eq!(
        k.upgrade_vat(db.server, upgrade_request(&db.v2_bundle, "x", "#{}"))
            .expect_err("no upgrade while the migration is pending"),
        UpgradeError::MigrationPending
    );
    let dry = k.upgrade_dry_run(db.server, upgrade_request(&db.v2_bundle, "x", "#{}"));
    assert_eq!(dry.outcome, Err(UpgradeError::MigrationPending));
    assert!(catch_unwind(AssertUnwindSafe(|| k.step())).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| k.unpin(db.server_root))).is_err());
    assert!(
        (k.store().dump(), k.store().pending_app_hash()) == before,
        "a refused request wrote nothing"
    );

    // The audit sees the leak, entry by entry, and nothing else wrong.
    let a = k.audit();
    assert!(a.problems.is_empty(), "{a}");
    let stale: BTreeSet<_> = a.stale_promise_entries.iter().copied().collect();
    assert_eq!(stale, db.leaked);
    let only_held_by_the_leak = db
        .leaked
        .iter()
        .filter(|(_, kp)| k.kv_get(&format!("{kp}.refCount")).as_deref() == Some("1"))
        .count() as u64;
    assert!(only_held_by_the_leak > 0);
    let unresolved = unresolved_entries(&k);
    assert!(
        unresolved >= 4,
        "the bystander's promises and their holders'"
    );

    let report = k.migrate(&mut |_| {}).expect("migrate");
    let c: &RemediationCounts = report.remediation().expect("v2->v3 ran");
    assert_eq!((report.from, report.to), (2, 3));
    assert_eq!(c.vats_scanned, k.vats().len() as u64);
    assert_eq!(c.entries_removed, db.leaked.len() as u64);
    assert_eq!(c.records_freed, only_held_by_the_leak);
    assert_eq!(c.skipped_pending_notify, db.notify_pending as u64);
    assert_eq!(c.skipped_unresolved, unresolved);
    assert_eq!(
        c.entries_examined,
        c.entries_removed + c.skipped_pending_notify + c.skipped_unresolved
    );
    let kid = k.vat_id("kid").expect("kid").to_string();
    assert!(c.removed_by_vat.iter().any(|(v, n)| *v == kid && *n >= 2));
    assert_eq!(k.pending_migration(), None);
    assert_eq!(k.db_version(), 3);
    for (v, kp) in &db.leaked {
        assert!(k.kv_get(&format!("{v}.c.{kp}")).is_none());
    }
    let a = k.audit();
    assert!(a.is_healthy(), "{a}");

    // The queued notifies finish the second upgrade's cleanup the normal way.
    run(&mut k);
    assert!(k.audit().is_healthy());
    for (_, kp) in &db.leaked {
        assert_eq!(k.promise_state(*kp), None, "{kp} was freed");
    }
    assert_eq!(
        call(&mut k, db.holder, "#[\"counts\",[]]", &[]),
        PromiseState::Fulfilled(CapData::data(
            "#{\"fulfilled\":0,\"held\":13,\"rejected\":11}"
        ))
    );
    k.commit_block(2).expect("commit");
    drop(k);

    // Committed: the DB opens ready at version 3; vats answer and upgrade without leaking.
    let mut k = open(db.dir.path(), false);
    assert_eq!(k.pending_migration(), None);
    assert!(matches!(
        k.migrate(&mut |_| {}),
        Err(MigrateError::NothingPending(3))
    ));
    let server_root = db.server_root;
    call(
        &mut k,
        db.holder,
        "#[\"holdMany\",[\"$0.Alleged: root\",4]]",
        &[server_root],
    );
    k.upgrade_vat(db.server, upgrade_request(&db.v2_bundle, "up3", "#{}"))
        .expect("a v3 upgrade");
    run(&mut k);
    let a = k.audit();
    assert!(a.is_healthy(), "a v3 upgrade leaks nothing: {a}");
    assert_eq!(
        call(&mut k, server_root, "#[\"version\",[]]", &[]),
        PromiseState::Fulfilled(CapData::data("#\"v2\""))
    );
}

#[test]
fn a_migration_lost_to_a_crash_runs_again_and_copies_agree() {
    let db = make_v2_db();
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(db.dir.path(), copy.path());

    // Migrate, then "crash" before the block commits: nothing of it reached disk.
    let mut k = open(db.dir.path(), false);
    let first = k.migrate(&mut |_| {}).expect("migrate");
    let first_hash = k.store().pending_app_hash();
    drop(k);
    let mut k = open(db.dir.path(), false);
    assert!(
        k.pending_migration().is_some(),
        "the crash lost the migration"
    );
    let mut heard = Vec::new();
    let again = k.migrate(&mut |p| heard.push(p)).expect("migrate again");
    assert_eq!(
        again.steps, first.steps,
        "the same repair, counted the same"
    );
    assert_eq!(k.store().pending_app_hash(), first_hash);
    assert!(
        heard.last().is_some_and(|p| p.vats_done == p.vats),
        "progress reaches the last vat: {heard:?}"
    );
    let hash = k.commit_block(2).expect("commit");

    // Another node with the same DB makes the same repair and the same app hash.
    let mut other = open(copy.path(), false);
    let theirs = other.migrate(&mut |_| {}).expect("migrate the copy");
    assert_eq!(theirs.steps, first.steps);
    assert_eq!(other.commit_block(2).expect("commit"), hash);
}

#[test]
fn a_corrupt_db_stops_the_migration_with_the_reason_and_changes_nothing() {
    let db = make_v2_db();
    let mut k = open(db.dir.path(), false);
    let &(v, kp) = db.leaked.iter().next().expect("a leaked entry");
    let vref = k.kv_get(&format!("{v}.c.{kp}")).expect("entry")[2..].to_string();
    let corruptions: [(&str, Option<&str>, &str); 4] = [
        ("state", Some("bogus"), "state is \"bogus\""),
        ("refCount", None, "refCount is None"),
        ("data.body", None, "has no data"),
        ("reverse", Some("kp1"), "but"),
    ];
    for (field, value, said) in corruptions {
        let key = if field == "reverse" {
            format!("{v}.c.{vref}")
        } else {
            format!("{kp}.{field}")
        };
        // The kernel hands no one its families: corrupt the store itself and reopen.
        let mut store = k.into_store();
        match value {
            Some(val) => store.set(Cf::Kv, key.as_bytes(), val.as_bytes()),
            None => store.delete(Cf::Kv, key.as_bytes()),
        }
        store.commit_crank();
        k = reopen(store);
        let before = (k.store().dump(), k.store().pending_app_hash());
        match k.migrate(&mut |_| {}) {
            Err(MigrateError::Corrupt(why)) => assert!(why.contains(said), "{field}: {why}"),
            other => panic!("{field}: {other:?}"),
        }
        assert!(k.pending_migration().is_some(), "{field}: still pending");
        assert!(
            (k.store().dump(), k.store().pending_app_hash()) == before,
            "{field}: the failed migration left nothing"
        );
        let mut store = k.into_store();
        store.abort_block();
        k = reopen(store);
    }
    let report = k.migrate(&mut |_| {}).expect("the intact DB migrates");
    assert_eq!(
        report.remediation().expect("v2->v3").entries_removed,
        db.leaked.len() as u64
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

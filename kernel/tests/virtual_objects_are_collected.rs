//! The virtual object manager collects garbage at bringOutYourDead, by upstream's rules: a
//! virtual or durable object stays while a representative, stored data or the kernel holds
//! it; when none does, its records go, the imports only it held are dropped and retired
//! (upstream's order: dropImports, retireImports, retireExports), weak store entries keyed
//! by it go, and the kernel forgets what it exported. After an upgrade, the old
//! incarnation's merely-virtual objects are deleted a budget's worth per reap.
//!
//! The `collector` fixture (`fixtures/vats/collector`) reaps after every delivery. (A
//! million objects churned: `a_million_virtual_objects_leave_the_vatstore_flat.rs`.)

mod support;

use support::js::{
    audit, call, call_for_objects, fixture, reaping_vat, slog_lines, upgrade_request,
};
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget, VatId};

struct Scene {
    k: Kernel,
    slog: tempfile::TempDir,
    bundle: String,
    collector: VatId,
    croot: KRef,
    groot: KRef,
    height: u64,
}

fn scene() -> Scene {
    let slog = tempfile::tempdir().expect("tempdir");
    let mut k = support::js::js_kernel_with_slog(&slog.path().join("slog"));
    let bundle = k.install_bundle(&fixture("collector")).expect("install");
    let (collector, croot) = reaping_vat(&mut k, &bundle, "collector");
    let (_, groot) = reaping_vat(&mut k, &bundle, "giver");
    k.run(RunBudget::UNLIMITED);
    assert!(k.halted().is_none(), "{:?}", k.halted());
    Scene {
        k,
        slog,
        bundle,
        collector,
        croot,
        groot,
        height: 0,
    }
}

impl Scene {
    /// A heap object of the giver, pinned by the host.
    fn heap(&mut self, label: &str) -> KRef {
        call_for_objects(
            &mut self.k,
            self.groot,
            &format!("#[\"makeHeap\",[\"{label}\"]]"),
            &[],
        )[0]
    }

    fn tell(&mut self, method: &str, args: &str, slots: &[KRef]) -> PromiseState {
        let s = call(
            &mut self.k,
            self.croot,
            &format!("#[\"{method}\",{args}]"),
            slots,
        );
        // The collector reaps after every delivery; one more delivery reaps what this one
        // let go of (its own reap came first).
        call(&mut self.k, self.croot, "#[\"has\",[\"-\"]]", &[]);
        s
    }

    /// The collector's vatstore keys (liveslots' records included) starting with `prefix`.
    fn vatstore(&self, prefix: &str) -> Vec<String> {
        let base = format!("{}.vs.", self.collector);
        self.k
            .kv_scan(&format!("{base}{prefix}"))
            .into_iter()
            .map(|(key, _)| key[base.len()..].to_string())
            .collect()
    }

    /// The collector's c-list entry for kernel object `ko`, if any.
    fn imports(&self, ko: KRef) -> bool {
        self.k
            .kv_get(&format!("{}.c.{ko}", self.collector))
            .is_some()
    }

    /// The GC syscalls the collector made, in order, as (type, vrefs).
    fn gc_syscalls(&mut self) -> Vec<(String, Vec<String>)> {
        // The slog is flushed when a block commits.
        self.height += 1;
        self.k.commit_block(self.height).expect("commit");
        let mut out = Vec::new();
        for line in slog_lines(&self.slog.path().join("slog")) {
            if line["type"] != "deliver" || line["vatID"] != self.collector.to_string() {
                continue;
            }
            for s in line["syscalls"].as_array().into_iter().flatten() {
                let sc = &s["s"];
                let t = sc["type"].as_str().unwrap_or_default();
                if ["dropImports", "retireImports", "retireExports"].contains(&t) {
                    let vrefs = sc["vrefs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|v| v.as_str().unwrap_or_default().to_string())
                        .collect();
                    out.push((t.to_string(), vrefs));
                }
            }
        }
        out
    }
}

#[test]
fn an_unreferenced_virtual_object_goes_with_the_imports_only_it_held() {
    let mut s = scene();
    let h = s.heap("a");
    let h2 = s.heap("b");
    s.tell("keep", "[\"a\",\"$0.Alleged: heap\"]", &[h]);
    s.tell("keepChain", "[\"b\",\"$0.Alleged: heap\"]", &[h2]);
    let things = s.vatstore("vom.o+v");
    assert_eq!(things.len(), 3, "{things:?}");
    assert!(s.imports(h) && s.imports(h2));
    // Held by the store: a reap keeps everything.
    assert_eq!(s.vatstore("vom.o+v").len(), 3);

    s.tell("forget", "[\"a\"]", &[]);
    assert_eq!(
        s.vatstore("vom.o+v").len(),
        2,
        "the forgotten object's state is gone"
    );
    assert!(!s.imports(h), "its import was dropped and retired");
    assert!(s.imports(h2));
    // A chain goes whole: the outer object releases the inner, which releases the import.
    s.tell("forget", "[\"b\"]", &[]);
    assert!(s.vatstore("vom.o+v").is_empty());
    assert!(!s.imports(h2));
    // What counts remain are baggage's (a kind handle, the durable store it holds).
    let counted = s.vatstore("vom.rc.");
    assert!(
        counted.iter().all(|k| k.starts_with("vom.rc.o+d")),
        "{counted:?}"
    );

    // Each import: dropped, then retired, in one reap each.
    let gc = s.gc_syscalls();
    let kinds: Vec<&str> = gc.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "dropImports",
            "retireImports",
            "dropImports",
            "retireImports"
        ],
        "{gc:?}"
    );
    assert_eq!(gc[0].1, gc[1].1);
    for k in [h, h2] {
        s.k.unpin(k);
    }
    s.k.run(RunBudget::UNLIMITED);
    audit(&s.k);
}

#[test]
fn a_presence_freed_during_a_collection_is_dropped_once() {
    let mut s = scene();
    let h = s.heap("a");
    s.tell("keepWithCloser", "[\"c\",\"$0.Alleged: heap\"]", &[h]);
    s.tell("forget", "[\"c\"]", &[]);
    s.tell("has", "[\"c\"]", &[]);
    assert!(s.k.halted().is_none(), "{:?}", s.k.halted());
    assert!(!s.imports(h), "the import was released");
    let drops = s
        .gc_syscalls()
        .into_iter()
        .filter(|(t, _)| t == "dropImports")
        .count();
    assert_eq!(drops, 1);
    assert_eq!(
        call(&mut s.k, s.croot, "#[\"has\",[\"c\"]]", &[]),
        support::js::fulfilled("#false"),
        "the vat lives on"
    );
    s.k.unpin(h);
    s.k.run(RunBudget::UNLIMITED);
    audit(&s.k);
}

#[test]
fn a_loose_virtual_object_or_store_goes_at_the_next_reap() {
    let mut s = scene();
    let h = s.heap("a");
    s.tell("makeLoose", "[\"$0.Alleged: heap\"]", &[h]);
    assert!(s.vatstore("vom.o+v").is_empty());
    assert!(!s.imports(h));
    let stores_before = s.vatstore("vc.").len();
    s.tell("looseStore", "[\"$0.Alleged: heap\"]", &[h]);
    assert_eq!(
        s.vatstore("vc.").len(),
        stores_before,
        "the loose store's entries went"
    );
    assert!(s.vatstore("vom.o+v").is_empty());
    assert!(!s.imports(h));
    s.k.unpin(h);
    s.k.run(RunBudget::UNLIMITED);
    audit(&s.k);
}

#[test]
fn weak_store_entries_go_when_their_keys_do() {
    let mut s = scene();
    let h = s.heap("value");
    // Keyed by a virtual object nothing holds: the entry goes, and with it the import
    // its value named.
    s.tell("weaklyByThing", "[\"$0.Alleged: heap\"]", &[h]);
    assert!(
        s.vatstore("vom.ir.").is_empty(),
        "{:?}",
        s.vatstore("vom.ir.")
    );
    assert!(s.vatstore("vom.o+v").is_empty());
    assert!(!s.imports(h));

    // Keyed by an import: dropped when its presence goes, but still recognized, so not
    // retired; when its exporter retires it, the entry goes.
    let key = s.heap("key");
    s.tell("weaklyByImport", "[\"$0.Alleged: heap\"]", &[key]);
    assert_eq!(s.vatstore("vom.ir.").len(), 1);
    let gc = s.gc_syscalls();
    assert_eq!(
        gc.last().map(|(t, _)| t.as_str()),
        Some("dropImports"),
        "{gc:?}"
    );
    assert!(s.imports(key), "a recognized import keeps its c-list entry");
    let weak_entries = |s: &Scene| {
        s.vatstore("vc.")
            .iter()
            .filter(|k| k.contains(".ro-"))
            .count()
    };
    assert_eq!(weak_entries(&s), 1);
    s.k.unpin(key);
    s.k.run(RunBudget::UNLIMITED);
    // The giver retired its export; the kernel retired the collector's import.
    call(&mut s.k, s.groot, "#[\"makeHeap\",[\"reap\"]]", &[]);
    s.k.run(RunBudget::UNLIMITED);
    assert!(!s.imports(key));
    assert!(s.vatstore("vom.ir.").is_empty());
    assert_eq!(weak_entries(&s), 0);
    s.k.unpin(h);
    s.k.run(RunBudget::UNLIMITED);
    audit(&s.k);
}

#[test]
fn exported_virtual_objects_stay_until_the_kernel_drops_them() {
    let mut s = scene();
    let t = call_for_objects(&mut s.k, s.croot, "#[\"exportThing\",[\"x\"]]", &[])[0];
    call(&mut s.k, s.croot, "#[\"has\",[\"-\"]]", &[]);
    assert_eq!(s.vatstore("vom.o+v").len(), 1, "the kernel can reach it");
    assert_eq!(s.vatstore("vom.es.").len(), 1);
    assert_eq!(
        call(&mut s.k, t, "#[\"label\",[]]", &[]),
        support::js::fulfilled("#\"x\"")
    );
    // The giver keys a weak store by it, so once the host lets go the kernel drops it
    // but can still recognize it: the collector deletes it and retires it.
    call(
        &mut s.k,
        s.groot,
        "#[\"weaklyByImport\",[\"$0.Alleged: Thing\"]]",
        &[t],
    );
    s.k.unpin(t);
    s.k.run(RunBudget::UNLIMITED);
    call(&mut s.k, s.croot, "#[\"has\",[\"-\"]]", &[]);
    call(&mut s.k, s.groot, "#[\"has\",[\"-\"]]", &[]);
    assert!(s.vatstore("vom.o+v").is_empty());
    assert!(s.vatstore("vom.es.").is_empty());
    let gc = s.gc_syscalls();
    assert_eq!(
        gc.last().map(|(t, _)| t.as_str()),
        Some("retireExports"),
        "{gc:?}"
    );
    // The giver was told, and its weak store forgot the entry.
    let giver = s.k.vat_id("giver").expect("giver");
    let giver_ir = s.k.kv_scan(&format!("{giver}.vs.vom.ir."));
    assert!(giver_ir.is_empty(), "{giver_ir:?}");
    audit(&s.k);

    // With nothing left that could recognize it, the kernel retires the export itself.
    let u = call_for_objects(&mut s.k, s.croot, "#[\"exportThing\",[\"y\"]]", &[])[0];
    s.k.unpin(u);
    s.k.run(RunBudget::UNLIMITED);
    call(&mut s.k, s.croot, "#[\"has\",[\"-\"]]", &[]);
    assert!(s.vatstore("vom.o+v").is_empty());
    assert!(s.vatstore("vom.es.").is_empty());
    audit(&s.k);
}

#[test]
fn durable_objects_reachable_from_baggage_stay() {
    let mut s = scene();
    s.tell("keepDurable", "[\"kept\"]", &[]);
    s.tell("makeLooseDurable", "[\"lost\"]", &[]);
    assert_eq!(
        s.vatstore("vom.o+d").len(),
        1,
        "{:?}",
        s.vatstore("vom.o+d")
    );
    let v = s.collector;
    s.k.upgrade_vat(v, upgrade_request(&s.bundle.clone(), "again", "#null"))
        .expect("upgrade");
    s.k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(&mut s.k, s.croot, "#[\"durableLabel\",[\"kept\"]]", &[]),
        support::js::fulfilled("#\"kept\"")
    );
    audit(&s.k);
}

#[test]
fn an_upgrade_deletes_the_old_incarnations_virtual_objects_a_reap_at_a_time() {
    let mut s = scene();
    let h = s.heap("held");
    s.tell("keepMany", "[500,\"$0.Alleged: heap\"]", &[h]);
    assert_eq!(s.vatstore("vom.o+v").len(), 500);
    let v = s.collector;
    s.k.upgrade_vat(v, upgrade_request(&s.bundle.clone(), "again", "#null"))
        .expect("upgrade");
    s.k.run(RunBudget::UNLIMITED);
    // The store that held them is garbage too; each reap deletes a budget's worth.
    let old_entries = |s: &Scene| {
        s.vatstore("vc.")
            .iter()
            .filter(|k| k.contains(".smany"))
            .count()
    };
    let mut left = vec![s.vatstore("vom.o+v").len() + old_entries(&s)];
    while *left.last().expect("a count") > 0 && left.len() < 20 {
        call(&mut s.k, s.croot, "#[\"has\",[\"-\"]]", &[]);
        left.push(s.vatstore("vom.o+v").len() + old_entries(&s));
    }
    assert_eq!(left.last(), Some(&0), "{left:?}");
    assert!(
        left.len() > 3,
        "the work was spread over several reaps: {left:?}"
    );
    assert!(!s.imports(h), "the import they held was released");
    s.k.unpin(h);
    s.k.run(RunBudget::UNLIMITED);
    audit(&s.k);
}
